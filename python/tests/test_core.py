"""The serving core and the input plan against a fake repository and stand-in models: no TensorFlow graph, no
training, no server process, no gRPC. Each stand-in scores what it was fed, so a wrong input shows in its scores."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sigop.inputs import InvalidInput, Unsupported
from sigop.limits import Limits, StreamLimit, TooLarge
from sigop.manifest import Manifest, TensorInfo
from sigop.plan import InputPlan
from sigop.render import SpectrumContract
from sigop.serving.batching import BatchConfig
from sigop.serving.core import Call, Core, top_k
from sigop.serving.errors import ModelNotFound
from sigop.serving.events import Event
from sigop.serving.stream import StreamSession, StreamSettings, WindowResult

LABELS = ["quiet", "loud"]


def manifest(name: str, kind: str = "classifier", **details) -> Manifest:
    if kind == "fft":
        inputs = {"signals": TensorInfo("signals:0", "float64", [None, None])}
    elif "front_end" in details:
        inputs = {"signals": TensorInfo("signals:0", "float32", [None, details["front_end"]["samples"]])}
    else:
        inputs = {"images": TensorInfo("images:0", "uint8", [None, details["image_size"], details["image_size"], 3])}
    return Manifest(name=name, kind=kind, inputs=inputs, outputs={}, sha256="", tensorflow_version="",
                    details={"labels": LABELS, **details} if kind == "classifier" else details)


class Loudness:
    """A stand-in classifier: 'loud' scores the mean |input| of each row (scaled into [0, 1])."""

    runtime = "stand-in"

    def __init__(self, m: Manifest, scale: float = 1.0):
        self.manifest, self.scale, self.calls = m, scale, []

    def __call__(self, x: np.ndarray, outputs) -> dict:
        self.calls.append(x.shape)
        loud = np.clip(np.abs(x.reshape(len(x), -1)).mean(axis=1) / self.scale, 0, 1)
        return {"probabilities": np.stack([1 - loud, loud], axis=1).astype(np.float32)}


class NumpyFFT:
    runtime = "stand-in"
    manifest = manifest("fft", "fft")

    def __call__(self, x, outputs):
        return {"magnitude": np.abs(np.fft.rfft(x, axis=1))}


class FakeRepository:
    """{name: {version: model}}, as ModelRepository answers for loaded versions."""

    def __init__(self, models: dict):
        self.models = models

    def get(self, name: str, version: int = 0):
        versions = self.models.get(name)
        if not versions:
            raise ModelNotFound(f"model {name!r} is not loaded")
        version = version or max(versions)
        if version not in versions:
            raise ModelNotFound(f"model {name!r} has no available version {version}")
        return versions[version], version

    def names(self, kind=None):
        return sorted(n for n, vs in self.models.items()
                      if any(kind is None or m.manifest.kind == kind for m in vs.values()))


WAVE = {"kind": "waveform", "sample_rate": 100.0, "samples": 100, "version": 1, "normalize": False}
CONTRACT = SpectrumContract(n=64, width=16, height=16).to_json()


@pytest.fixture
def wave():
    return Loudness(manifest("wave", front_end=WAVE))


def core_with(models: dict, **kw) -> Core:
    return Core(FakeRepository(models), **kw)


def test_classify_runs_the_plan_and_answers_the_newest_version_unless_asked(wave):
    old = Loudness(manifest("wave", front_end=WAVE), scale=100.0)
    core = core_with({"wave": {1: old, 2: wave}})
    served = core.classifier()  # the only classifier: no name needed
    assert (served.name, served.version, served.model) == ("wave", 2, wave)
    x = np.array([np.zeros(100), np.full(100, 0.8)])
    probs = core.classify(served, served.plan.signals(x), "test").probabilities
    np.testing.assert_allclose(probs[:, 1], [0.0, 0.8], atol=1e-6)
    assert top_k(probs, 1).tolist() == [[0], [1]] and top_k(probs, 0).shape == (2, 2)
    assert core.classifier("wave", 1).model is old


def test_a_signal_at_twice_the_rate_is_resampled_to_the_models_window(wave):
    core = core_with({"wave": {1: wave}})
    served = core.classifier("wave")
    assert served.plan.window(served.plan.rate(200)) == 200
    core.classify(served, served.plan.signals(np.ones((1, 200)), 200), "test")
    assert wave.calls == [(1, 100)]


def test_which_classifier_is_ambiguous_and_kinds_are_checked(wave):
    other = Loudness(manifest("other", front_end=WAVE))
    core = core_with({"wave": {1: wave}, "other": {1: other}, "fft": {1: NumpyFFT()}})
    with pytest.raises(InvalidInput, match=r"model_spec.name is required: this server has classifiers \['other', 'wave'\]"):
        core.classifier()
    with pytest.raises(InvalidInput, match="is a fft model, not classifier"):
        core.classifier("fft")
    with pytest.raises(ModelNotFound):
        core.classifier("wave", 7)


def test_one_decision_for_rates_on_every_path(tmp_path):
    """A rate for a model trained without one is refused the same way by the server's path and a file's path."""
    nominal = Loudness(manifest("gunpoint", front_end={**WAVE, "sample_rate": 1.0}, sample_rate_declared=False))
    core = core_with({"gunpoint": {1: nominal}})
    plan = core.classifier().plan
    for rate in (30.0, 0.5):
        with pytest.raises(InvalidInput, match="without a declared sample rate"):
            plan.signals(np.ones((1, 100)), rate)
    np.save(tmp_path / "x.npy", np.ones(100))
    with pytest.raises(InvalidInput, match="x.npy: .*without a declared sample rate"):
        InputPlan(nominal.manifest).file(tmp_path / "x.npy", rate=30.0)
    assert plan.rate(0) == plan.rate(1.0) == 1.0  # its own nominal rate is fine
    with pytest.raises(InvalidInput, match="expected 0 .* or a positive rate"):
        InputPlan(manifest("wave", front_end=WAVE)).rate(float("nan"))


def test_spectrum_models_draw_through_the_fft_graph_or_say_what_is_missing(tmp_path):
    spectral = Loudness(manifest("article", image_size=16, spectrum_contract=CONTRACT), scale=255.0)
    plain = Loudness(manifest("photos", image_size=16))
    without_fft = core_with({"article": {1: spectral}})
    with pytest.raises(Unsupported, match="needs the FFT model 'fft', which is not loaded"):
        without_fft.classifier("article").plan.signals(np.ones((1, 64)))
    core = core_with({"article": {1: spectral}, "photos": {1: plain}, "fft": {1: NumpyFFT()}})
    served = core.classifier("article")
    assert served.plan.rate(0) is None and served.plan.window(None) == 64
    t = np.arange(64)
    probs = core.classify(served, served.plan.signals(np.stack([np.zeros(64), 1e3 * np.sin(t)])), "test").probabilities
    assert probs[0, 1] < probs[1, 1]  # the tone draws white columns; silence draws none
    with pytest.raises(InvalidInput, match="draws spectra by FFT bin and has no sample rate"):
        served.plan.signals(np.ones((1, 64)), 8000)
    with pytest.raises(Unsupported, match="without a spectrum contract"):
        core.classifier("photos").plan.signals(np.ones((1, 64)))
    np.save(tmp_path / "x.npy", np.ones(64))
    with pytest.raises(Unsupported, match="x.npy: .*without a spectrum contract"):
        InputPlan(plain.manifest).file(tmp_path / "x.npy")  # evaluate's path: the same error as the server's
    with pytest.raises(Unsupported, match="not images"):
        core_with({"wave": {1: Loudness(manifest("wave", front_end=WAVE))}}).classifier().plan.images([b"x"])
    with pytest.raises(Unsupported, match="not waveforms"):
        served.plan.audio([b"RIFF"])


def test_the_memory_budget_and_non_finite_scores(wave):
    core = core_with({"wave": {1: wave}}, limits=Limits(inflight_bytes=1000))
    served = core.classifier()
    with pytest.raises(TooLarge, match="this test call needs"):
        core.classify(served, served.plan.signals(np.ones((64, 100))), "test")

    class Broken(Loudness):
        def __call__(self, x, outputs):
            p = super().__call__(x, outputs)["probabilities"]
            p[1] = np.nan
            return {"probabilities": p}

    broken = core_with({"b": {1: Broken(manifest("b", front_end=WAVE))}})
    b = broken.classifier()
    with pytest.raises(InvalidInput, match=r"signals\[1\]: the model's scores for it are not finite"):
        broken.classify(b, b.plan.signals(np.ones((3, 100))), "test")
    with pytest.raises(InvalidInput, match="top_k is -1"):
        top_k(np.ones((1, 2)), -1)


def test_batching_merges_calls_and_answers_each_its_own_rows(wave):
    core = core_with({"wave": {1: wave}}, batching=BatchConfig(max_batch=8, max_delay=0.05))
    served = core.classifier()
    levels = np.linspace(0, 1, 6)
    got = {}

    def one(level):
        got[level] = core.classify(served, served.plan.signals(np.full((1, 100), level)), "test", Call()).probabilities[0, 1]

    threads = [threading.Thread(target=one, args=(v,)) for v in levels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    core.close()
    np.testing.assert_allclose([got[v] for v in levels], levels, atol=1e-6)
    assert sum(n for n, _ in wave.calls) == 6


def test_stream_slots_are_held_and_given_back(wave):
    core = core_with({"wave": {1: wave}}, limits=Limits(max_streams=1))
    with core.stream_slot():
        with pytest.raises(StreamLimit, match="1 streams are open"):
            with core.stream_slot():
                pass
    with core.stream_slot():  # released
        pass


def test_a_stream_session_windows_scores_and_reports_label_changes(wave):
    core = core_with({"wave": {1: wave}})
    session = StreamSession(core, StreamSettings(hop=0.5, top_k=1), Call())
    signal = np.concatenate([np.zeros(200), np.ones(200)])  # 4 s at 100 Hz: quiet, then loud
    results = [r for chunk in np.array_split(signal, 7) for r in session.feed(chunk)] + list(session.finish())
    windows = [r for r in results if isinstance(r, WindowResult)]
    assert [w.start for w in windows] == [0, 50, 100, 150, 200, 250, 300]
    assert all(w.end - w.start == 100 and len(w.best) == 1 for w in windows)
    np.testing.assert_allclose([w.probabilities[1] for w in windows], [0, 0, 0, 0.5, 1, 1, 1], atol=1e-6)
    events = [(r.label, r.start, r.start_seconds, r.previous) for r in results if isinstance(r, Event)]
    # The half-loud window at 1.5 s ties and keeps "quiet"; the change is put at the middle of the first loud one:
    # in samples, and in seconds at the model's 100 Hz.
    assert events == [("quiet", 0, 0.0, ""), ("loud", 250, 2.5, "quiet")]
    with pytest.raises(InvalidInput, match="config.hop"):
        StreamSession(core, StreamSettings(hop=float("inf")), Call())


def test_a_model_trained_without_a_rate_reports_none_and_its_stream_takes_one_as_its_clock():
    """A waveform model of no declared rate is taken at a nominal 1 Hz: it reports no rate (as a spectrum model),
    its stream's times are samples (seconds 0) unless the stream states a rate, which is then only the clock."""
    nominal = Loudness(manifest("gunpoint", front_end={**WAVE, "sample_rate": 1.0}, sample_rate_declared=False))
    core = core_with({"gunpoint": {1: nominal}})
    assert core.classifier().plan.form().sample_rate == 0.0
    assert core_with({"wave": {1: Loudness(manifest("wave", front_end=WAVE))}}).classifier().plan.form().sample_rate == 100
    signal = np.concatenate([np.zeros(200), np.ones(200)])
    for rate, hop, seconds in ((0.0, 50, (None, None)), (100.0, 0.5, (0.0, 2.5))):
        session = StreamSession(core, StreamSettings(hop=hop, top_k=1, sample_rate=rate), Call())
        results = [r for r in session.feed(signal)] + list(session.finish())
        events = [(r.label, r.start, r.start_seconds) for r in results if isinstance(r, Event)]
        assert events == [("quiet", 0, seconds[0]), ("loud", 250, seconds[1])], rate
        windows = [r for r in results if isinstance(r, WindowResult)]
        assert windows[1].start == 50 and windows[1].start_seconds == (0.5 if rate else 0.0)


def test_manifests_list_only_what_their_front_end_computes_with():
    from sigop.frontend import FrontEnd

    for kind, absent in (("waveform", "mel_bins"), ("power_spectrum", "frame_length"), ("log_mel", "normalize"),
                         ("mfcc", "top_db")):
        fe = FrontEnd(kind=kind, sample_rate=16000, samples=16000)
        assert absent not in fe.to_json() and FrontEnd.from_json(fe.to_json()) == fe


def test_a_stream_keeps_its_models_batcher_through_a_reload_and_unary_calls_get_the_new_one(wave):
    models = {"wave": {1: wave}}
    core = core_with(models, batching=BatchConfig(max_batch=4, max_delay=0.001))
    old = core.classifier()
    x = np.full((1, 100), 0.5)
    with core.holding(old):
        core.classify(old, old.plan.signals(x), "stream")
        reloaded = Loudness(manifest("wave", front_end=WAVE), scale=2.0)
        models["wave"] = {1: reloaded}  # the same version's files replaced, as a hot reload does
        core.release_unloaded()
        new = core.classifier()
        for _ in range(3):  # interleaved: neither model's batcher evicts the other's
            assert core.classify(new, new.plan.signals(x), "unary").probabilities[0, 1] == pytest.approx(0.25)
            assert core.classify(old, old.plan.signals(x), "stream").probabilities[0, 1] == pytest.approx(0.5)
    batchers = [t for t in threading.enumerate() if t.name == "batcher-wave-1"]
    assert len(batchers) == 1  # its last stream ended: the old model's batcher is gone, the new one's serves
    # A call that resolved the old version before the reload drains on it, unbatched, without a batcher of its own.
    assert core.classify(old, old.plan.signals(x), "late").probabilities[0, 1] == pytest.approx(0.5)
    assert [t for t in threading.enumerate() if t.name == "batcher-wave-1"] == batchers
    core.close()


def test_stream_configs_beyond_what_the_server_represents_are_refused_by_field(wave):
    core = core_with({"wave": {1: wave}})
    for settings, says in ((StreamSettings(sample_rate=0.004), "config.sample_rate 0.004 Hz makes the model's window"),
                           (StreamSettings(hop=1e305), "config.hop 1e\\+305 seconds is"),
                           (StreamSettings(hop=1, min_duration=1e308), "config.min_duration 1e\\+308 seconds"),
                           (StreamSettings(hop=0.01, min_duration=1e8), "more than 2147483647 hops")):
        with pytest.raises(InvalidInput, match=says):
            StreamSession(core, settings, Call())


def test_spectrum_models_and_the_fft_refuse_values_whose_spectrum_overflows():
    spectral = Loudness(manifest("article", image_size=16, spectrum_contract=CONTRACT), scale=255.0)
    core = core_with({"article": {1: spectral}, "fft": {1: NumpyFFT()}})
    huge = np.full((1, 64), 1e308)
    with pytest.raises(InvalidInput, match="could overflow float64"):
        core.classifier().plan.signals(huge)
    with pytest.raises(InvalidInput, match="could overflow float64"):
        core.fft("fft", 0, huge, ["magnitude"])


def test_a_stream_that_sends_nothing_is_ended_and_one_that_sends_is_not():
    import queue as q

    from sigop.limits import StreamIdle
    from sigop.serving.arrivals import within

    silent = q.Queue()  # a client that never sends: its iterator blocks until the test ends
    with pytest.raises(StreamIdle, match="no message \\(its config\\) for 0.05 s"):
        next(within(iter(silent.get, None), first=0.05, idle=10))
    slow_after_config = within(iter([1, 2, 3]), first=10, idle=10)
    assert list(slow_after_config) == [1, 2, 3]

    def config_then_silence():
        yield "config"
        silent.get()

    messages = within(config_then_silence(), first=10, idle=0.05)
    assert next(messages) == "config"
    with pytest.raises(StreamIdle, match="\\(samples\\) for 0.05 s"):
        next(messages)
    silent.put(None)  # the calls are over: both readers end, as they do when a call ends
    silent.put(None)


class LoudnessWithUnknown(Loudness):
    """Loudness whose unknown score is 4 x its loudness: over the threshold (1) from a loudness of 0.25."""

    def __init__(self):
        m = manifest("wave", front_end=WAVE, unknown={"method": "stand-in", "threshold": 1.0, "rate": 0.05,
                                                      "scale": 1.0})
        m.outputs["unknown"] = TensorInfo("unknown:0", "float32", [None])
        super().__init__(m)

    def __call__(self, x: np.ndarray, outputs) -> dict:
        out = super().__call__(x, outputs)
        out["unknown"] = 4 * out["probabilities"][:, 1]
        return {k: out[k] for k in outputs}


@pytest.mark.parametrize("batching", [BatchConfig(), BatchConfig(max_batch=8, max_delay=0.01)])
def test_a_models_unknown_score_comes_back_beside_its_probabilities_batched_or_not(batching):
    model = LoudnessWithUnknown()
    core = core_with({"wave": {1: model}}, batching=batching)
    served = core.classifier("wave")
    scores = core.classify(served, served.plan.signals(np.array([np.full(100, 0.1), np.full(100, 0.5)])), "test")
    np.testing.assert_allclose(scores.probabilities[:, 1], [0.1, 0.5], atol=1e-6)
    np.testing.assert_allclose(scores.unknown, [0.4, 2.0], atol=1e-6)
    assert scores.threshold == 1.0 and scores.is_unknown.tolist() == [False, True]
    assert core.metrics.registry.get_sample_value("sigop_unknown_answers_total", {"model": "wave"}) == 1
    plain = core_with({"wave": {1: Loudness(manifest("wave", front_end=WAVE))}})
    served = plain.classifier("wave")
    assert plain.classify(served, served.plan.signals(np.ones((1, 100))), "test").unknown is None
