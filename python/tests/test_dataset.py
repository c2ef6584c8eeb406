import io
import json

import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile

from sigop.training.augment import Augment, shift_frequency
from sigop.training.dataset import item_image, load_signal, scan, split_of
from sigop.images import decode_image
from sigop.render import render_signal, SpectrumContract


def test_split_is_stable_and_roughly_proportional():
    names = [f"red/sig_{i}.npy" for i in range(4000)]
    splits = [split_of(n, 10, 20) for n in names]
    assert splits == [split_of(n, 10, 20) for n in names]  # same answer every time
    counts = {s: splits.count(s) / len(names) for s in ("train", "validation", "test")}
    assert counts["test"] == pytest.approx(0.2, abs=0.03) and counts["validation"] == pytest.approx(0.1, abs=0.03)
    # Adding files never moves existing ones.
    assert [split_of(n, 10, 20) for n in names[:100]] == splits[:100]


def _png(path, value, size=(40, 30)):
    Image.new("RGB", size, (value, value, value)).save(path)


def test_scan_images_png_and_jpeg(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            _png(tmp_path / cls / f"{i}.png", 10)
        Image.new("RGB", (8, 8)).save(tmp_path / cls / "x.jpg")
        (tmp_path / cls / "notes.md").write_text("ignored")
    ds = scan(tmp_path)
    assert ds.classes == ["a", "b"] and len(ds.items) == 12 and ds.contract is None
    assert {i.path.suffix for i in ds.items} == {".png", ".jpg"}
    img = item_image(ds.items[0], ds, 32)
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8


def test_scan_errors_name_what_was_expected(tmp_path):
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match="at least 2"):
        scan(tmp_path)
    (tmp_path / "empty").mkdir()
    _png(tmp_path / "only" / "0.png", 1)
    with pytest.raises(ValueError, match="no images"):
        scan(tmp_path)


def test_signal_formats_load_alike(tmp_path):
    x = np.linspace(-1, 1, 64)
    np.save(tmp_path / "s.npy", x)
    (tmp_path / "s.csv").write_text(",".join(str(float(v)) for v in x))
    (tmp_path / "s.txt").write_text("\n".join(str(float(v)) for v in x))
    wavfile.write(tmp_path / "s.wav", 8000, np.stack([x, x], axis=1).astype(np.float32))  # stereo: averaged
    for name in ("s.npy", "s.csv", "s.txt", "s.wav"):
        np.testing.assert_allclose(load_signal(tmp_path / name), x, rtol=0, atol=1e-6)
    (tmp_path / "bad.csv").write_text("1,nan,2")
    with pytest.raises(ValueError, match="NaN"):
        load_signal(tmp_path / "bad.csv")


def test_signal_dataset_uses_its_contract_and_fits_other_lengths(tmp_path):
    c = SpectrumContract(n=64, width=16, height=16)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        np.save(tmp_path / cls / "ok.npy", np.ones(64))
    (tmp_path / "contract.json").write_text(json.dumps(c.to_json()))
    ds = scan(tmp_path)
    assert ds.contract == c
    assert item_image(ds.items[0], ds, 16).shape == (16, 16, 3)
    np.save(tmp_path / "a" / "short.npy", np.ones(50))
    ds = scan(tmp_path)
    short = next(i for i in ds.items if i.path.name == "short.npy")
    np.save(tmp_path / "padded.npy", np.pad(np.ones(50), (0, 14)))
    padded = render_signal(np.load(tmp_path / "padded.npy"), ds.contract)[0]
    np.testing.assert_array_equal(item_image(short, ds, 16)[..., 0], padded)  # zero-padded to n, as served


def test_decode_image_resizes_and_rejects_garbage():
    buf = io.BytesIO()
    Image.new("L", (10, 20), 200).save(buf, "PNG")
    img = decode_image(buf.getvalue(), 8)
    assert img.shape == (8, 8, 3) and (img == 200).all()
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        decode_image(b"hello", 8)
    noisy = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(noisy, "PNG")
    with pytest.raises(ValueError, match="not a decodable"):
        decode_image(noisy.getvalue()[: len(noisy.getvalue()) // 2], 8)  # pixel data cut in half


def test_a_grey_image_of_the_models_size_decodes_as_rgb_conversion_does():
    grey = np.random.default_rng(1).integers(0, 256, (16, 16), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buf, "PNG")
    img = decode_image(buf.getvalue(), 16)  # the fast path: no resize, grey copied to R, G, B
    want = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    assert img.dtype == np.uint8 and img.shape == (16, 16, 3) and (img == want).all()
    assert (decode_image(buf.getvalue(), 8) == np.asarray(Image.fromarray(grey).convert("RGB").resize(
        (8, 8), Image.BILINEAR))).all()


def test_augmentations_keep_frequencies_unless_shift_is_allowed():
    t = np.arange(1024)
    x = np.sin(2 * np.pi * 50 * t / 1024)
    rng = np.random.default_rng(0)
    y = Augment(noise=0.1, amplitude=0.2).apply(x, rng)
    assert not np.allclose(x, y)
    assert np.argmax(np.abs(np.fft.rfft(y))) == 50
    assert np.argmax(np.abs(np.fft.rfft(shift_frequency(x, 7)))) == 57
    assert np.argmax(np.abs(np.fft.rfft(shift_frequency(x, -7)))) == 43
    shifted = [np.argmax(np.abs(np.fft.rfft(Augment(noise=0, amplitude=0, max_shift_bins=3).apply(x, rng))))
               for _ in range(30)]
    assert set(shifted) <= set(range(47, 54)) and len(set(shifted)) > 1


def test_a_16_bit_wav_and_the_same_sound_as_flac_give_the_same_training_input(tmp_path):
    import soundfile

    rate, n = 8000, 1024
    t = np.arange(n) / rate
    sound = np.round(0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)  # exactly representable
    c = SpectrumContract(n=n, max_bin=136)
    for cls, subtype in (("wav", "PCM_16"), ("flac", "PCM_16")):
        (tmp_path / cls).mkdir()
        soundfile.write(tmp_path / cls / f"tone.{cls}", sound, rate, subtype=subtype)
    (tmp_path / "contract.json").write_text(json.dumps(c.to_json()))
    ds = scan(tmp_path)
    wav, flac = sorted(ds.items, key=lambda i: i.path.suffix != ".wav")
    np.testing.assert_array_equal(load_signal(wav.path), load_signal(flac.path))
    assert np.abs(load_signal(wav.path)).max() <= 1.0  # floats in [-1, 1], not raw 16-bit counts
    np.testing.assert_array_equal(item_image(wav, ds, 224), item_image(flac, ds, 224))


def test_validation_is_topped_up_per_class_and_class_weights_balance(tmp_path):
    from sigop.training.config import TrainConfig
    from sigop.training.weights import class_weights

    for cls, n in (("many", 200), ("few", 12)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            np.save(tmp_path / cls / f"{i}.npy", np.ones(8))
    ds = scan(tmp_path, validation_pct=10, test_pct=10)
    val = {c: sum(1 for i in ds.split("validation") if ds.classes[i.label] == c) for c in ds.classes}
    assert val["few"] >= 2 and val["many"] >= 15
    again = scan(tmp_path, validation_pct=10, test_pct=10)
    assert [i.split for i in again.items] == [i.split for i in ds.items]  # stable
    labels = np.array([0] * 30 + [1] * 10)
    w = class_weights(labels, TrainConfig(data=tmp_path, out=tmp_path))
    assert w[0] * 30 == pytest.approx(w[1] * 10)  # each class weighs the same in total
    assert class_weights(labels, TrainConfig(data=tmp_path, out=tmp_path, class_weight="none")) is None
