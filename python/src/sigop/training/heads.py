"""The Keras head every trainer puts on backbone features, and the backbone + head stack."""

from __future__ import annotations

from ..tfenv import tf

__all__ = ["dense_head", "stack"]

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
