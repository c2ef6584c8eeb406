"""Waveform classifiers served: ClassifyAudio and ClassifySignal with a sample rate."""

import io
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
import soundfile

from sigop.audio import read_audio
from sigop.serving.batching import BatchConfig
from sigop.training.dataset import scan
from sigop.datasets.digits import SPEAKER_GROUP
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.server import Server, ServerConfig
from sigop.datasets.shifted import CLASSES


@pytest.fixture(scope="module")
def graphs(digits_model, shifted_models, article_model, fft_graph_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("audio-served")
    shutil.copytree(digits_model[0], root / "digits")
    shutil.copytree(shifted_models[0]["cnn"], root / "spectra")
    shutil.copytree(article_model[0], root / "article")
    shutil.copytree(fft_graph_dir, root / "fft")
    return root


@pytest.fixture(scope="module")
def stub(graphs):
    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", poll_seconds=0)).start()
    yield pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    server.stop(0)


@pytest.fixture(scope="module")
def held_out(digits_model):
    """(wav bytes, digit) for the speakers the model never heard."""
    _, _, data = digits_model
    ds = scan(data, group=SPEAKER_GROUP)
    return [(item.path.read_bytes(), ds.classes[item.label]) for item in ds.split("test")]


def tensor(x):
    x = np.asarray(x, dtype="<f8")
    return pb.Float64Tensor(shape=list(x.shape), content=x.tobytes())


def top(response):
    return [c.classes[0].label for c in response.classifications]


def test_classify_audio_recognises_held_out_speakers(stub, held_out):
    r = stub.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"),
                                                   audio=[w for w, _ in held_out], top_k=3))
    assert r.model_spec.name == "digits" and r.model_spec.version == 1
    assert all(len(c.classes) == 3 for c in r.classifications)
    right = sum(label == digit for label, (_, digit) in zip(top(r), held_out))
    assert right >= 0.8 * len(held_out)


def test_audio_and_signals_at_the_files_rate_get_the_same_answer(stub, held_out):
    wav = held_out[0][0]
    x, rate = read_audio(wav)
    assert rate == 22050  # espeak-ng's rate; the model's is 16000: both paths resample
    by_audio = stub.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"), audio=[wav]))
    by_signal = stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="digits"), signals=tensor(x),
                                                             sample_rate=rate))
    a, s = by_audio.classifications[0].classes, by_signal.classifications[0].classes
    assert [c.label for c in a] == [c.label for c in s]
    assert [c.score for c in a] == pytest.approx([c.score for c in s], abs=1e-5)


def test_stereo_flac_at_44k1_gets_the_answer_of_the_mono_wav(stub, held_out):
    wav, _ = held_out[1]
    x, rate = read_audio(wav)
    from sigop.audio import resample

    y = resample(x, rate, 44100)
    buf = io.BytesIO()
    soundfile.write(buf, np.stack([y, y], axis=1), 44100, format="FLAC")
    r = stub.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"), audio=[wav, buf.getvalue()]))
    assert top(r)[0] == top(r)[1]
    assert r.classifications[0].classes[0].score == pytest.approx(r.classifications[1].classes[0].score, abs=0.05)


def test_shift_invariant_spectral_cnn_served(stub, shifted_models):
    _, data = shifted_models
    x, y = [], []
    for name in CLASSES:
        for f in sorted((data / "test-shifted" / name).glob("*.npy"))[:10]:
            x.append(np.load(f))
            y.append(name)
    r = stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="spectra"), signals=tensor(x)))
    assert sum(a == b for a, b in zip(top(r), y)) >= 38


def silence_wav(rate=16000, channels=1):
    buf = io.BytesIO()
    soundfile.write(buf, np.zeros((rate // 2, channels), np.float32), rate, format="WAV")
    return buf.getvalue()


@pytest.mark.parametrize(
    "call, code, match",
    [
        (lambda s: s.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"),
                                                           audio=[silence_wav(), b"RIFF....WAVEnot audio"])),
         grpc.StatusCode.INVALID_ARGUMENT, r"audio\[1\]: .*not a sound file libsndfile can read"),
        (lambda s: s.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"))),
         grpc.StatusCode.INVALID_ARGUMENT, "at least one WAV"),
        (lambda s: s.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="article"), audio=[silence_wav()])),
         grpc.StatusCode.FAILED_PRECONDITION, "not waveforms"),
        (lambda s: s.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="article"),
                                                             signals=tensor(np.zeros(1024)), sample_rate=8000)),
         grpc.StatusCode.INVALID_ARGUMENT, "has no sample rate; send 0"),
        (lambda s: s.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="digits"),
                                                             signals=tensor(np.zeros(100)), sample_rate=-8000)),
         grpc.StatusCode.INVALID_ARGUMENT, r"sample_rate is -8000 Hz; expected 0 \(the model's own 16000 Hz\)"),
        (lambda s: s.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="digits"),
                                                             signals=tensor(np.zeros(100)), sample_rate=float("nan"))),
         grpc.StatusCode.INVALID_ARGUMENT, "sample_rate is nan"),
        (lambda s: s.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="digits"),
                                                             signals=tensor(np.zeros(100)), sample_rate=1e9)),
         grpc.StatusCode.INVALID_ARGUMENT, r"sample_rate is 1e\+09 Hz; expected .* positive rate up to 10 MHz"),
        (lambda s: s.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="digits"),
                                                             signals=tensor([[0.0, np.inf]]))),
         grpc.StatusCode.INVALID_ARGUMENT, "finite"),
    ],
)
def test_bad_audio_requests_get_their_codes_and_the_server_keeps_serving(stub, held_out, call, code, match):
    with pytest.raises(grpc.RpcError) as e:
        call(stub)
    assert e.value.code() == code
    assert re.search(match, e.value.details()), e.value.details()
    r = stub.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"), audio=[held_out[0][0]]))
    assert len(r.classifications) == 1


def test_waveform_models_batch_like_image_models(graphs, stub, held_out):
    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", poll_seconds=0,
                                 batching=BatchConfig(max_batch=8, max_delay=0.02))).start()
    try:
        batched = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        wavs = [w for w, _ in held_out[:16]]
        call = lambda s, w: top(s.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="digits"),  # noqa: E731
                                                                        audio=[w])))[0]
        want = [call(stub, w) for w in wavs]
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lambda w: call(batched, w), wavs)) == want
    finally:
        server.stop(0)
