"""Third-party Open Inference Protocol clients calling a server: run in their own virtual environment.

Not sigop's code and not sigop's stubs: NVIDIA's ``tritonclient[grpc]`` and
KServe's ``InferenceGRPCClient`` (pinned in requirements-clients.txt; both
need protobuf < 7, so they cannot share sigop's environment). Reads signals
from an .npy file, prints one JSON object of what the client got, for
test_oip_clients.py to compare with sigop's own answers.
"""

import argparse
import asyncio
import json
import sys

import numpy as np


def code(error) -> str:
    """A client error's gRPC status code name, e.g. "INVALID_ARGUMENT"."""
    status = error.status() if hasattr(error, "status") else error.code()
    return str(status).rsplit(".", 1)[-1]


def triton(address: str, model: str, x: np.ndarray) -> dict:
    import tritonclient.grpc as tc
    from tritonclient.utils import InferenceServerException

    c = tc.InferenceServerClient(address)
    out = {"live": c.is_server_live(), "ready": c.is_server_ready(), "model_ready": c.is_model_ready(model),
           "unknown_model_ready": c.is_model_ready("no-such-model"),
           "server": c.get_server_metadata(as_json=True), "metadata": c.get_model_metadata(model, as_json=True)}
    signals = tc.InferInput("signals", list(x.shape), "FP64")
    signals.set_data_from_numpy(x)  # raw_input_contents
    r = c.infer(model, [signals], request_id="triton-1",
                outputs=[tc.InferRequestedOutput("probabilities"), tc.InferRequestedOutput("label")])
    out |= {"id": r.get_response().id, "version": r.get_response().model_version,
            "probabilities": r.as_numpy("probabilities").tolist(),
            "label": [v.decode() for v in r.as_numpy("label")]}
    # The classification extension on one output; the unknown score asked beside it, as the protocol names outputs.
    r = c.infer(model, [signals], outputs=[tc.InferRequestedOutput("probabilities", class_count=1),
                                           tc.InferRequestedOutput("unknown"), tc.InferRequestedOutput("is_unknown")])
    out["classification"] = [[v.decode() for v in row] for row in r.as_numpy("probabilities")]
    out["classification_unknown"] = r.as_numpy("unknown").tolist()
    out["classification_is_unknown"] = r.as_numpy("is_unknown").tolist()
    fft = tc.InferInput("signals", [1, 8], "FP64")
    fft.set_data_from_numpy(np.arange(8, dtype=np.float64)[None])
    out["fft_magnitude"] = c.infer("fft", [fft], outputs=[tc.InferRequestedOutput("magnitude")]).as_numpy("magnitude").tolist()
    bad = x.copy()
    bad[0, 3] = np.nan
    signals.set_data_from_numpy(bad)
    out["errors"] = {}
    for name, call in (("nan", lambda: c.infer(model, [signals])), ("unknown_model", lambda: c.infer("no-such-model", [fft]))):
        try:
            call()
            out["errors"][name] = "OK"
        except InferenceServerException as e:
            out["errors"][name] = code(e)
    return out


async def kserve(address: str, model: str, x: np.ndarray) -> dict:
    import grpc
    from kserve import InferenceGRPCClient, InferInput, InferRequest

    c = InferenceGRPCClient(address, timeout=120, retries=0)
    out = {"live": await c.is_server_live(), "ready": await c.is_server_ready(),
           "model_ready": await c.is_model_ready(model)}
    typed = InferInput("signals", list(x.shape), "FP64", data=x.reshape(-1).tolist())  # typed contents
    r = await c.infer(InferRequest(model, [typed], request_id="kserve-1"))
    got = {o.name: o for o in r.outputs}
    out |= {"id": r.id, "probabilities": got["probabilities"].as_numpy().tolist(),
            "label": [v.decode() if isinstance(v, bytes) else v for v in got["label"].as_numpy().tolist()]}
    try:
        await c.infer(InferRequest(model, [InferInput("signals", [1, 2], "FP64", data=[1.0])]))
        out["short_contents"] = "OK"
    except grpc.RpcError as e:
        out["short_contents"] = code(e)
    await c.close()
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--address", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--signals", required=True, help=".npy file of float64 signals [batch, n]")
    # One client per process: each registers its own copy of the protocol's messages (package inference) in
    # protobuf's global pool, and a second copy in the same process is refused as a duplicate.
    p.add_argument("--client", choices=["triton", "kserve"], required=True)
    a = p.parse_args()
    x = np.load(a.signals)
    got = triton(a.address, a.model, x) if a.client == "triton" else asyncio.run(kserve(a.address, a.model, x))
    json.dump(got, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
