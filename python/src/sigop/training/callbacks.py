"""The callbacks every training run uses: early stopping, reduce-on-plateau,
TensorBoard logs, and a tqdm bar per epoch."""

from __future__ import annotations

from pathlib import Path

from ..progress import bar as progress_bar

from ..tfenv import tf

__all__ = ["fit_callbacks", "EpochBar"]

keras = tf.keras


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
        self.bar = progress_bar(total=epochs, desc=desc, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # refresh=False: the bar's own interval decides when it is drawn (a forced redraw is a log line per epoch)
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_loss", "val_accuracy")},
                             refresh=False)
        self.bar.update()

    def on_train_end(self, logs=None):
        self.bar.close()
