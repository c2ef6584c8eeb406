"""Plainly wrong inputs to a GunPoint model: top probabilities of 1.0000, and the unknown score on them.

GunPoint (sktime's bundled UCR copy) written as class folders at a declared
150 Hz, the default command trained on its official training split, then
ten inputs of each kind sent to a real server: official test signals,
4-sample rows (zero-padded by the server), test signals declared at twice
their rate, white noise. Prints the mean top probability and the unknown
scores of each kind (docs/unknown.md).
"""
import argparse
import json
import subprocess
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
from sktime.datasets import load_gunpoint  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--sigop", required=True)
p.add_argument("--out", default="out/bench/gunpoint")
args = p.parse_args()
root = Path(args.out)
for split in ("train", "test"):
    x, y = load_gunpoint(split=split, return_type="numpy2d")
    for i, (s, label) in enumerate(zip(x, y)):
        d = root / "data" / split / f"class_{label}"
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / f"{i:03d}.npy", np.asarray(s, float))
    (root / "data" / split / "signals.json").write_text(json.dumps({"sample_rate": 150}))
sigop = args.sigop
subprocess.run([sigop, "train", "--data", str(root / "data/train"), "--out", str(root / "graphs/gunpoint"), "--no-saved-model"],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
m = json.loads((root / "graphs/gunpoint/manifest.json").read_text())
print("model", m["details"]["model"], "temperature", m["details"].get("linear", {}).get("temperature"), "unknown", m["details"]["unknown"])
ev = json.loads(subprocess.run([sigop, "evaluate", "--model", str(root / "graphs/gunpoint"), "--data", str(root / "data/test"), "--json"],
                               check=True, capture_output=True, text=True).stdout)
print("test accuracy", ev["accuracy"], "known test files over the threshold", ev["unknown_rejected"])
import grpc  # noqa: E402

from sigop.operator.v1 import operator_pb2 as pb  # noqa: E402
from sigop.operator.v1 import operator_pb2_grpc as g  # noqa: E402
from sigop.serving.server import Server, ServerConfig  # noqa: E402

srv = Server(ServerConfig(graphs=root / "graphs", address="127.0.0.1:0", poll_seconds=0)).start()
stub = g.OperatorStub(grpc.insecure_channel(srv.address))
def ask(x, rate=0.0):
    x = np.asarray(x, "<f8")
    r = stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="gunpoint"), top_k=1, sample_rate=rate,
                            signals=pb.Float64Tensor(shape=list(x.shape), content=x.tobytes())))
    return [(c.classes[0].score, round(c.unknown_score, 2), c.unknown) for c in r.classifications]
xt, _ = load_gunpoint(split="test", return_type="numpy2d")
rng = np.random.default_rng(0)
cases = {
    "test signals (known)": xt[:10],
    "4-sample rows (padded by the server)": rng.normal(size=(10, 4)),
    "a test signal sent at twice its rate (300 Hz)": (xt[:10], 300.0),
    "white noise, 150 samples": rng.normal(size=(10, 150)),
}
for name, case in cases.items():
    x, rate = case if isinstance(case, tuple) else (case, 0.0)
    a = ask(x, rate)
    print(f"{name}: top probability {np.mean([s for s, _, _ in a]):.4f}, unknown scores {[u for _, u, _ in a]}, flagged {sum(f for *_, f in a)}/10")
srv.stop(0)
