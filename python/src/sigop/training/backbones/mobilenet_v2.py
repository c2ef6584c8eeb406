"""MobileNetV2 in Keras, laid out exactly like torchvision's, with its weights.

Keras's own MobileNetV2 pads stride-2 convolutions (0, 1) and uses BatchNorm
eps 1e-3; torchvision pads (1, 1) and uses eps 1e-5. To reuse torchvision's
ImageNet weights bit-compatibly, every 3x3 convolution here is
``ZeroPadding2D(1)`` + ``valid``, BatchNorm eps is 1e-5, activations are ReLU6,
and inputs are normalised with torchvision's mean and std. Layer names follow
the state dict's keys, so weights are copied by name.
"""

from __future__ import annotations

import numpy as np

from ...tfenv import tf

__all__ = ["build_mobilenet_v2", "load_torchvision_weights", "TORCHVISION_MEAN", "TORCHVISION_STD", "FEATURES"]

keras = tf.keras
layers = keras.layers

TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
FEATURES = 1280
_BN_EPS = 1e-5
# (expand ratio t, output channels c, repeats n, first stride s), torchvision's table.
_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _conv_bn(x, filters, kernel, stride, name, relu=True, depthwise=False):
    """torchvision's Conv2dNormActivation: conv (no bias), BN, ReLU6."""
    if kernel == 3:
        x = layers.ZeroPadding2D(1, name=f"{name}.pad")(x)
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="valid", use_bias=False, name=f"{name}.0")(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=False, name=f"{name}.0")(x)
    x = layers.BatchNormalization(epsilon=_BN_EPS, name=f"{name}.1")(x)
    return layers.ReLU(6.0, name=f"{name}.relu6")(x) if relu else x


def _inverted_residual(x, in_c, out_c, stride, t, name):
    y = x
    i = 0
    if t != 1:
        y = _conv_bn(y, in_c * t, 1, 1, f"{name}.conv.{i}")
        i += 1
    y = _conv_bn(y, in_c * t, 3, stride, f"{name}.conv.{i}", depthwise=True)
    y = layers.Conv2D(out_c, 1, use_bias=False, name=f"{name}.conv.{i + 1}")(y)
    y = layers.BatchNormalization(epsilon=_BN_EPS, name=f"{name}.conv.{i + 2}")(y)
    if stride == 1 and in_c == out_c:
        y = layers.Add(name=f"{name}.add")([x, y])
    return y


def build_mobilenet_v2(input_shape=(224, 224, 3), include_top: bool = True, classes: int = 1000) -> "keras.Model":
    """MobileNetV2 taking RGB images with values in [0, 255].

    With include_top the output is ImageNet logits; without, the 1280-wide
    globally pooled features that transfer learning trains a head on.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    mean = np.array(TORCHVISION_MEAN, dtype="float32") * 255.0
    std = np.array(TORCHVISION_STD, dtype="float32") * 255.0
    x = layers.Normalization(mean=mean, variance=std**2, name="torchvision_normalize")(inputs)
    x = _conv_bn(x, 32, 3, 2, "features.0")
    in_c, block = 32, 1
    for t, c, n, s in _SETTINGS:
        for i in range(n):
            x = _inverted_residual(x, in_c, c, s if i == 0 else 1, t, f"features.{block}")
            in_c, block = c, block + 1
    x = _conv_bn(x, FEATURES, 1, 1, f"features.{block}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if include_top:
        x = layers.Dense(classes, name="classifier.1")(x)
    return keras.Model(inputs, x, name="mobilenet_v2")


def load_torchvision_weights(model: "keras.Model", state: dict[str, np.ndarray]) -> int:
    """Copy a torchvision MobileNetV2 state dict into ``model``; returns arrays copied.

    Transposes: convolution (out, in, kh, kw) -> (kh, kw, in, out); depthwise
    (c, 1, kh, kw) -> (kh, kw, c, 1); dense (out, in) -> (in, out).
    """
    copied, used = 0, set()
    for layer in model.layers:
        name = layer.name
        if isinstance(layer, layers.DepthwiseConv2D):
            layer.set_weights([state[f"{name}.weight"].transpose(2, 3, 0, 1)])
        elif isinstance(layer, layers.Conv2D):
            layer.set_weights([state[f"{name}.weight"].transpose(2, 3, 1, 0)])
        elif isinstance(layer, layers.BatchNormalization):
            layer.set_weights([state[f"{name}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")])
        elif isinstance(layer, layers.Dense):
            layer.set_weights([state[f"{name}.weight"].T, state[f"{name}.bias"]])
        else:
            continue
        copied += len(layer.weights)
        used.update(k for k in state if k.startswith(f"{layer.name}."))
    has_top = any(layer.name == "classifier.1" for layer in model.layers)
    unused = sorted(
        k for k in set(state) - used
        if not k.endswith("num_batches_tracked") and (has_top or not k.startswith("classifier."))
    )
    if unused:
        raise ValueError(f"state dict entries with no layer to go to: {unused[:5]}…")
    return copied
