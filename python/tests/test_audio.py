"""Sound files in, waveforms out; the TensorFlow front ends; audio augmentations."""

import io

import numpy as np
import pytest
import soundfile

from sigop.audio import AudioError, fit_length, prepare, read_audio, resample
from sigop.training.audio_augment import AudioAugment, add_noise, pitch_shift, time_shift, time_stretch
from sigop.training.spec_augment import spec_mask
from sigop.frontend import FrontEnd


def tone(freq, rate, seconds=1.0, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(x, rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.fft.rfftfreq(x.size, 1 / rate)[spectrum.argmax()]


def encode(x, rate, fmt="WAV", subtype="PCM_16"):
    buf = io.BytesIO()
    soundfile.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("FLAC", "PCM_16")])
def test_read_audio_formats_give_the_same_samples(fmt, subtype):
    x = tone(440, 22050)
    y, rate = read_audio(encode(x, 22050, fmt, subtype))
    assert rate == 22050 and y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) < 1e-4


def test_stereo_is_averaged_and_paths_work(tmp_path):
    left, right = tone(440, 16000), tone(1000, 16000, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    y, rate = read_audio(path)
    assert rate == 16000 and np.allclose(y, (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("data, match", [(b"", "not a sound file sigop decodes"), (b"RIFF\x00\x00\x00\x00WAVEjunk", "not a sound file"),
                                         (encode(np.zeros(0, np.float32), 8000), "no samples")])
def test_read_audio_rejects_what_it_cannot_use(data, match):
    with pytest.raises(AudioError, match=match):
        read_audio(data)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_keeps_frequency_and_duration(rate):
    y = resample(tone(1000, rate), rate, 16000)
    assert abs(y.size - 16000) <= 1
    assert dominant_hz(y, 16000) == pytest.approx(1000, abs=2)


def test_resample_rejects_nonsense_rates_and_is_identity_at_the_same_rate():
    x = tone(100, 8000)
    assert resample(x, 8000, 8000) is not None and np.array_equal(resample(x, 8000, 8000), x)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(AudioError, match="sample rate"):
            resample(x, bad, 8000)


def test_fit_length_pads_and_truncates_at_the_end():
    x = np.arange(1, 6, dtype=np.float32)
    assert fit_length(x, 3).tolist() == [1, 2, 3]
    assert fit_length(x, 7).tolist() == [1, 2, 3, 4, 5, 0, 0]
    assert prepare(tone(440, 44100, 0.5), 44100, 16000, 16000).shape == (16000,)


# ---- front ends -------------------------------------------------------------

def test_power_spectrum_peaks_at_the_tone_and_is_scaled_to_unit_range():
    fe = FrontEnd(kind="power_spectrum", sample_rate=8000, samples=2048)
    f = fe(np.stack([tone(1000, 8000, 2048 / 8000), tone(2500, 8000, 2048 / 8000)])).numpy()
    assert f.shape == (2, 1025, 1) and f.min() >= 0 and f.max() == pytest.approx(1)
    assert f[0, :, 0].argmax() == 256 and f[1, :, 0].argmax() == 640  # 1000 Hz, 2500 Hz at 3.90625 Hz per bin


def test_power_spectrum_ignores_loudness():
    fe = FrontEnd(kind="power_spectrum", sample_rate=8000, samples=2048)
    x = tone(700, 8000, 2048 / 8000) + 0.01 * np.random.default_rng(0).standard_normal(2048).astype(np.float32)
    assert np.allclose(fe(x[None]).numpy(), fe(10 * x[None]).numpy(), atol=1e-4)


def test_log_mel_band_follows_the_tone_and_image_puts_low_frequencies_at_the_bottom():
    fe = FrontEnd(kind="log_mel")
    low, high = fe(np.stack([tone(300, 16000), tone(4000, 16000)])).numpy()[..., 0]
    assert low.shape == (fe.frames, 64) == (98, 64)
    assert low.mean(axis=0).argmax() < high.mean(axis=0).argmax()
    img = fe.to_image(fe(tone(300, 16000)[None]), 224).numpy()[0]
    assert img.shape == (224, 224, 3) and np.array_equal(img[..., 0], img[..., 2])
    rows = img[..., 0].mean(axis=1)
    assert rows[-40:].mean() > rows[:40].mean()  # 300 Hz: bright near the bottom rows


def test_mfcc_has_13_coefficients_normalised_over_time():
    fe = FrontEnd(kind="mfcc", sample_rate=22050, samples=22050, frame_length=551, frame_step=220, fft_length=1024)
    noise = np.random.default_rng(1).standard_normal(22050).astype(np.float32)
    f = fe((noise * np.linspace(0, 1, 22050, dtype=np.float32))[None]).numpy()[0, :, :, 0]
    assert f.shape == (fe.frames, 13) and 0 <= f.min() and f.max() <= 1
    assert np.allclose(f.mean(axis=0), 0.5, atol=0.08)  # z-scores centred, mapped from [-3, 3]


def test_front_end_rejects_what_it_cannot_compute():
    with pytest.raises(ValueError, match="not one of"):
        FrontEnd(kind="spectrogram")
    with pytest.raises(ValueError, match="fewer than one"):
        FrontEnd(kind="log_mel", samples=100)
    with pytest.raises(ValueError, match="version 2"):
        FrontEnd.from_json({**FrontEnd().to_json(), "version": 2})


# ---- augmentations: each changes what it says and nothing else ----------------

def test_noise_is_added_at_the_asked_snr():
    x = tone(440, 16000)
    y = add_noise(x, 10.0, np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    assert snr == pytest.approx(10.0, abs=0.3) and dominant_hz(y, 16000) == pytest.approx(440, abs=2)


def test_time_shift_delays_and_advances_with_silence():
    x = np.arange(1, 11, dtype=np.float32)
    assert time_shift(x, 3).tolist() == [0, 0, 0] + list(range(1, 8))
    assert time_shift(x, -2).tolist() == list(range(3, 11)) + [0, 0]


def test_time_stretch_changes_duration_not_pitch():
    y = time_stretch(tone(500, 16000), 1.25)
    assert y.size == pytest.approx(16000 / 1.25, rel=0.01)
    assert dominant_hz(y, 16000) == pytest.approx(500, abs=8)


def test_pitch_shift_changes_pitch_not_duration():
    y = pitch_shift(tone(500, 16000), 16000, 12.0)
    assert y.size == 16000 and dominant_hz(y, 16000) == pytest.approx(1000, abs=10)


def test_waveform_augment_is_off_by_default_and_seeded():
    x = tone(440, 16000)
    assert np.array_equal(AudioAugment().waveform(x, 16000, np.random.default_rng(0)), x)
    aug = AudioAugment(noise_snr_db=(5, 20), shift_seconds=0.1, stretch=0.1, pitch_semitones=1)
    a = aug.waveform(x, 16000, np.random.default_rng(7))
    b = aug.waveform(x, 16000, np.random.default_rng(7))
    assert np.array_equal(a, b) and not np.array_equal(a, x[:a.size])


def test_spec_masks_zero_whole_bands_and_frames_only():
    aug = AudioAugment(freq_masks=1, freq_mask_width=5, time_masks=1, time_mask_width=7)
    x = np.ones((64, 20, 16, 1), np.float32)
    y = spec_mask(x, aug, seed=3).numpy()[..., 0]
    zero = y == 0
    assert zero.any() and set(np.unique(y)) <= {0.0, 1.0}
    bands = zero.all(axis=1)  # [batch, bands]: masked in every frame
    frames = zero.all(axis=2)  # [batch, frames]: masked in every band
    assert np.array_equal(zero, bands[:, None, :] | frames[:, :, None])  # nothing but whole bands and frames
    assert bands.sum(axis=1).max() <= 5 and frames.sum(axis=1).max() <= 7
    one_d = spec_mask(np.ones((8, 100, 1), np.float32), AudioAugment(freq_masks=2, freq_mask_width=10), seed=1).numpy()
    assert (one_d == 0).sum(axis=1).max() <= 20 and (one_d == 0).any()


def test_time_shift_moves_a_short_clip_within_the_models_window():
    clip = np.ones(3200, np.float32)  # 0.2 s at 16 kHz, shifted within a 1 s window: it may land past its own length
    aug = AudioAugment(shift_seconds=0.5)
    placed = [aug.waveform(clip, 16000, np.random.default_rng(seed), samples=16000) for seed in range(20)]
    assert all(x.size == 16000 for x in placed)
    delayed = [x for x in placed if np.flatnonzero(x).size and np.flatnonzero(x)[0] >= 4000]
    assert delayed and all(np.count_nonzero(x) == 3200 for x in delayed)  # later than 0.25 s, and whole
