"""Keras models that take waveforms: front end inside, then a network.

- ``cnn``: the fix seed 002's answer proposes. Strided convolutions grow the
  receptive field (1-D: five stride-2 layers of kernel 9 see ~250 bins), and
  a global max-pooling head replaces flatten, so the answer does not depend
  on where along the axis a shape sits: meant to be shift-invariant.
- ``dense``: seed 002's model as asked about — one wide convolution (kernel
  128, stride 1), max pooling, flatten, dense. A baseline: its dense layer
  has one weight per position, so it is translation-sensitive.
- ``transfer``: the front end drawn as an image for an ImageNet backbone
  (seed 001), with a dropout + dense head; trained on cached bottlenecks.
"""

from __future__ import annotations

from ..frontend import FrontEnd
from ..tfenv import tf
from .audio_augment import AudioAugment
from .config import NETWORKS, SHIFT_INVARIANT
from .spec_augment import spec_mask

__all__ = ["NETWORKS", "SHIFT_INVARIANT", "FrontEndLayer", "SpecAugment", "build_network", "waveform_model"]

keras = tf.keras


class FrontEndLayer(keras.layers.Layer):
    """The front end's TensorFlow ops as a layer (no weights)."""

    def __init__(self, front_end: FrontEnd, image_size: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.front_end = front_end
        self.image_size = image_size

    def call(self, waveforms):
        features = self.front_end(waveforms)
        return self.front_end.to_image(features, self.image_size) if self.image_size else features

    def compute_output_shape(self, input_shape):
        if self.image_size:
            return (input_shape[0], self.image_size, self.image_size, 3)
        return (input_shape[0], *self.front_end.shape)


class SpecAugment(keras.layers.Layer):
    """SpecAugment masks while training; the identity at inference (and so in exported graphs)."""

    def __init__(self, augment: AudioAugment, **kwargs):
        super().__init__(**kwargs)
        self.augment = augment

    def call(self, features, training=None):
        return spec_mask(features, self.augment) if training else features

    def compute_output_shape(self, input_shape):
        return input_shape


def build_network(kind: str, shape: tuple[int, ...], classes: int, dropout: float) -> "keras.Model":
    """The network after the front end: features of ``shape`` -> softmax over ``classes``."""
    one_d = len(shape) == 2
    conv = keras.layers.Conv1D if one_d else keras.layers.Conv2D
    inputs = keras.Input(shape, name="features")
    x = inputs
    if kind == "cnn":
        widths = (16, 32, 64, 64, 128) if one_d else (16, 32, 64, 128)
        for i, filters in enumerate(widths):
            x = conv(filters, 9 if one_d else 3, strides=2, padding="same", activation="relu", name=f"conv{i}")(x)
        x = (keras.layers.GlobalMaxPooling1D if one_d else keras.layers.GlobalAveragePooling2D)(name="global_pool")(x)
    elif kind == "dense":
        if one_d:
            x = conv(64, 128, strides=1, padding="same", name="conv")(x)  # no activation, as in seed 002
            x = keras.layers.MaxPooling1D(16, strides=2, name="pool")(x)
        else:
            x = conv(32, 3, strides=1, padding="same", activation="relu", name="conv")(x)
            x = keras.layers.MaxPooling2D(4, strides=2, name="pool")(x)
        x = keras.layers.Flatten(name="flatten")(x)
    else:
        raise ValueError(f"network {kind!r} is not one of ('cnn', 'dense')")
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=kind)


def waveform_model(front_end: FrontEnd, body: "keras.Model", augment: AudioAugment | None = None,
                   image_size: int = 0) -> "keras.Model":
    """float32 waveforms [batch, (channels,) samples] -> probabilities, front end included."""
    inputs = keras.Input(front_end.input_shape, name="waveforms")
    x = FrontEndLayer(front_end, image_size, name="front_end")(inputs)
    if augment is not None and augment.masks:
        x = SpecAugment(augment, name="spec_augment")(x)
    return keras.Model(inputs, body(x), name="waveform_classifier")
