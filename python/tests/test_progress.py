"""Progress bars: in place on a terminal, whole lines in a log."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = ("import sys, time\nfrom sigop.progress import bar\n"
          "with bar(total=5, desc='work', unit='step', mininterval=0, maxinterval=0) as b:\n"
          "    for _ in range(5):\n        b.update()\n")


def test_a_redirected_log_gets_one_line_per_update_and_no_carriage_returns(tmp_path):
    log = tmp_path / "log"
    with open(log, "w") as err:
        run = subprocess.run([sys.executable, "-c", SCRIPT], stderr=err, timeout=120)
    assert run.returncode == 0
    text = log.read_text()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) >= 2 and all(line.startswith("work:") for line in lines), lines
    assert "5/5" in lines[-1]


def test_a_terminal_gets_the_bar_redrawn_in_place(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    run = subprocess.run([sys.executable, "-c", SCRIPT], stderr=follower, stdout=follower, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert run.returncode == 0 and b"\r" in out and b"5/5" in out


def test_a_training_run_s_epoch_bar_writes_a_few_lines_into_a_log_not_one_per_epoch(tmp_path):
    script = ("import numpy as np\nfrom sigop.tfenv import tf\nfrom sigop.training.callbacks import EpochBar\n"
              "m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])\n"
              "m.compile(loss='mse')\n"
              "m.fit(np.zeros((4, 2)), np.zeros(4), epochs=60, verbose=0, callbacks=[EpochBar(60, 'head')])\n")
    log = tmp_path / "log"
    with open(log, "w") as err:
        run = subprocess.run([sys.executable, "-c", script], stderr=err, timeout=300)
    assert run.returncode == 0, log.read_text()
    lines = [line for line in log.read_text().splitlines() if line.startswith("head:")]
    assert 1 <= len(lines) <= 4 and "60/60" in lines[-1], lines
