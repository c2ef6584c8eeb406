#!/usr/bin/env python3
"""The MQTT bridge under load: simulated devices (three axes at 100 Hz, 1 s windows, hop 0.5 s) on a local Mosquitto.

For each device count, `sigop-bench bridge` publishes every device's samples
in real time (10 samples a message, QoS 1) for --seconds and times each
window's scores on sigop/+/windows from the moment the message holding the
window's last sample was published. The bridge (sigop-bridge, in-process
MiniRocket through package edge) runs as its own process; its CPU time and
peak RSS are read from /proc. Every expected window must arrive.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model(sigop: str, cache: Path) -> Path:
    """The default recipe on three-axis signals at 100 Hz, cut to 1 s windows (cached)."""
    out = cache / "imu_1s"
    if (out / "manifest.json").is_file():
        return out
    data = cache / "axes"
    subprocess.run([sys.executable, "-m", "sigop.datasets.axes", "--out", str(data), "--per-class", "40", "--seed", "6"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sigop, "train", "--data", str(data), "--out", str(out), "--duration", "1", "--no-saved-model",
                    "--no-lite"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def broker(dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    conf = dir / "mosquitto.conf"
    # 1,000 QoS 1 messages in flight per client: the bridge acknowledges each once handled
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\n"
                    f"max_queued_messages 1000000\nlog_type error\n")
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)])
    for _ in range(1500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"tcp://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("mosquitto did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(args, url: str, folder: Path, devices: int) -> dict:
    bridge = subprocess.Popen([args.bridge_bin, "-broker", url, "-client-id", f"bench-{devices}-{time.time_ns()}",
                               "-route", f"plant/+device/vibration={folder}", "-hop", "0.5", "-smooth", "1",
                               "-windows-topic", "sigop/{device}/windows", "-http", "127.0.0.1:0"]
                              + (["-cpuprofile", str(args.cpuprofile)] if args.cpuprofile else []),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = bridge.stdout.readline().strip()
        for _ in range(1500):  # healthy: connected to the broker
            try:
                import urllib.request
                if urllib.request.urlopen(f"http://{addr}/healthz", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.02)
        cpu0, t0 = cpu_seconds(bridge.pid), time.perf_counter()
        out = subprocess.run([args.bench_bin, "bridge", "-broker", url, "-devices", str(devices),
                              "-seconds", str(args.seconds)], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout)
        r["bridge_cpu_cores"] = (cpu_seconds(bridge.pid) - cpu0) / (time.perf_counter() - t0)
        r["bridge_peak_rss_mib"] = peak_rss_mib(bridge.pid)
        import urllib.request
        r["bridge_stats"] = json.loads(urllib.request.urlopen(f"http://{addr}/stats", timeout=5).read())
        return r
    finally:
        bridge.terminate()
        bridge.wait(timeout=30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True)
    p.add_argument("--bench-bin", required=True, help="sigop-bench")
    p.add_argument("--bridge-bin", required=True, help="sigop-bridge")
    p.add_argument("--devices", default="100,1000")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--cpuprofile", type=Path, help="the bridge's CPU profile (go tool pprof), of the last count")
    p.add_argument("--cache", type=Path, default=ROOT / ".cache" / "bench-bridge")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench" / "bridge.json")
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    folder = model(args.sigop, args.cache)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = broker(Path(tmp))
        try:
            for n in (int(v) for v in args.devices.split(",")):
                rows.append(run(args, url, folder, n))
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "bridge_stats"}), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{'devices':>8s} {'msgs/s':>8s} {'windows/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s} {'lost':>6s} "
          f"{'bridge CPU':>11s} {'RSS MiB':>8s}")
    for r in rows:
        lost = r["windows_expected"] - r["windows_received"]
        print(f"{r['devices']:8d} {r['messages_per_second']:8.0f} {r['windows_per_second']:10.0f} "
              f"{1e3 * r['latency_p50_seconds']:8.1f} {1e3 * r['latency_p99_seconds']:8.1f} {lost:6d} "
              f"{r['bridge_cpu_cores']:10.2f}c {r['bridge_peak_rss_mib']:8.0f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
