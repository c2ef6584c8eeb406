"""sigop watch-set: event clips become windows with the event anywhere, part-events and background as "none"."""

import numpy as np
import soundfile

from sigop.audio import read_audio
from sigop.watchset import NONE, make_watch_set, trim

RATE = 8000


def burst(n: int, hz: float) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * hz * np.arange(n) / RATE)


def test_trim_drops_quiet_ends_only():
    x = np.concatenate([np.zeros(50), 1e-5 * np.ones(10), 0.5 * np.ones(100), np.zeros(30)])
    assert trim(x).tolist() == [0.5] * 100  # 1e-5 is below 1e-3 of the peak
    assert trim(np.zeros(10)).size == 0


def test_clips_land_anywhere_in_the_window_most_of_a_clip_is_its_class_a_little_is_none(tmp_path):
    data = tmp_path / "clips"
    for label, hz in (("low", 300.0), ("high", 2000.0)):
        (data / label).mkdir(parents=True)
        for i in range(3):
            clip = np.concatenate([np.zeros(200), burst(2000, hz), np.zeros(300)])  # 0.25 s of sound
            soundfile.write(data / label / f"dev{i}_take.wav", clip, RATE)
    counts = make_watch_set(data, tmp_path / "out", window=1.0, placements=4, partials=2, background_windows=5,
                            seed=1, progress=False)
    assert counts == {"high": 3 * (4 + 2), "low": 3 * (4 + 2), NONE: 2 * 3 * 2 + 5}
    starts = []
    for path in sorted((tmp_path / "out" / "low").glob("*-p*.wav")):
        x, rate = read_audio(path)
        assert rate == RATE and x.size == RATE  # one window of the model's length
        loud = np.flatnonzero(np.abs(x) > 0.1)
        assert loud[-1] - loud[0] >= 1900  # the whole burst
        assert path.name.startswith("dev")  # the clip's stem first: --group still splits by device
        starts.append(loud[0])
    assert len(set(starts)) > 1  # at different places
    for folder, pattern, low, high in (("low", "*-c*.wav", 0.6, 0.95), (NONE, "dev*-q*.wav", 0.1, 0.4)):
        partial = sorted((tmp_path / "out" / folder).glob(pattern))
        assert len(partial) == 6 * (2 if folder == NONE else 1)
        for path in partial:
            x, _ = read_audio(path)
            loud = np.flatnonzero(np.abs(x) > 0.1)
            assert low * 2000 - 10 <= loud[-1] - loud[0] + 1 <= high * 2000 + 10  # that share of the burst
            assert loud[0] < 20 or loud[-1] > RATE - 20  # at an edge
    quiet = [read_audio(p)[0] for p in sorted((tmp_path / "out" / NONE).glob("background-*.wav"))]
    assert len(quiet) == 5 and max(np.abs(x).max() for x in quiet) < 0.01


def test_background_recordings_are_cut_into_none_windows(tmp_path):
    (tmp_path / "clips" / "on").mkdir(parents=True)
    soundfile.write(tmp_path / "clips" / "on" / "a.wav", burst(1000, 400), RATE)
    (tmp_path / "bg").mkdir()
    soundfile.write(tmp_path / "bg" / "hum.wav", burst(int(2.5 * RATE), 50), RATE)
    counts = make_watch_set(tmp_path / "clips", tmp_path / "out", placements=1, partials=0, background=tmp_path / "bg",
                            background_windows=0, progress=False)
    assert counts == {"on": 1, NONE: 2}  # two whole seconds of hum; the half second left over is not padded out
    assert sorted(p.name for p in (tmp_path / "out" / NONE).iterdir()) == ["hum-b0.wav", "hum-b1.wav"]
