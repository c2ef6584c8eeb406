"""Keras pieces every trainer shares: the head on backbone features, the
backbone + head stack, and the callbacks (early stopping, reduce-on-plateau,
TensorBoard, a tqdm bar per epoch)."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from ..tfenv import tf

__all__ = ["dense_head", "stack", "fit_callbacks", "EpochBar"]

keras = tf.keras


def dense_head(features: int, classes: int, dropout: float) -> "keras.Model":
    """Dropout + dense softmax on a backbone's pooled features."""
    inputs = keras.Input((features,), name="features")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inputs)
    outputs = keras.layers.Dense(classes, activation="softmax", name="head_dense")(x)
    return keras.Model(inputs, outputs, name="head")


def stack(base: "keras.Model", head: "keras.Model", size: int) -> "keras.Model":
    """Images [size, size, 3] in [0, 255] -> probabilities, the backbone in inference mode."""
    inputs = keras.Input((size, size, 3), name="image")
    return keras.Model(inputs, head(base(inputs, training=False), training=False), name="classifier")


def fit_callbacks(monitor: str, patience: int, report_dir: Path, epochs: int, desc: str, progress: bool) -> list:
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.3, patience=max(2, patience // 3)),
        keras.callbacks.TensorBoard(str(Path(report_dir) / "tensorboard"), write_graph=False),
    ]
    if progress:
        callbacks.append(EpochBar(epochs, desc))
    return callbacks


class EpochBar(keras.callbacks.Callback):
    def __init__(self, epochs: int, desc: str):
        super().__init__()
        self.bar = tqdm(total=epochs, desc=desc, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_loss", "val_accuracy")})
        self.bar.update()

    def on_train_end(self, logs=None):
        self.bar.close()
