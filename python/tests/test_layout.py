"""The layout's promises: serving never imports training, the command line starts without
TensorFlow, and no hand-written module grows past ~300 lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sigop

PACKAGE = Path(sigop.__file__).parent


def fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it prints."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_serving_never_imports_training():
    loaded = fresh("import sys, sigop.serving.server, sigop.serving.process, sigop.inputs\n"
                   "print(' '.join(sorted(m for m in sys.modules if m.startswith('sigop.'))))").split()
    assert "sigop.serving.service" in loaded and "sigop.inputs" in loaded  # the probe imported what it meant to
    assert not [m for m in loaded if m.startswith(("sigop.training", "sigop.datasets"))], loaded


def test_the_command_line_shows_its_help_without_tensorflow():
    loaded = fresh("import sys\nfrom sigop.cli import build_parser\nbuild_parser()\n"
                   "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'grpc')))")
    assert loaded.strip() == ""
    run = subprocess.run([str(Path(sys.executable).with_name("sigop")), "serve", "--help"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.startswith("usage: sigop serve") and run.stderr == ""
    assert "(default: 32)" in run.stdout  # --compute-batch, read from Limits


def test_no_hand_written_module_is_over_300_lines():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py") if "operator" not in p.relative_to(PACKAGE).parts}
    assert len(sizes) > 30
    assert {p: n for p, n in sizes.items() if n > 300} == {}
