"""The layout's promises: serving never imports training, training and evaluate never import serving, the
serving core knows no transport, the command line starts without TensorFlow, and no hand-written module grows
past ~300 lines."""

from __future__ import annotations

import ast
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


def loaded_by(code: str) -> list[str]:
    """The sigop modules (and grpc and tensorflow, if loaded) after running ``code`` in a fresh interpreter."""
    return fresh(code + "\nimport sys\nprint(' '.join(sorted(m for m in sys.modules "
                 "if m.startswith('sigop.') or m in ('grpc', 'tensorflow'))))").split()


def test_the_serve_command_loads_no_training_or_dataset_module():
    # What `sigop serve` imports: its parser, then the server (main builds the parser for the command it runs).
    loaded = loaded_by("from sigop.cli import build_parser\nbuild_parser('serve').parse_args(['serve'])\n"
                       "import sigop.serving.server, sigop.serving.process")
    assert "sigop.serving.service" in loaded and "sigop.plan" in loaded  # the probe imported what it meant to
    assert not [m for m in loaded if m.startswith(("sigop.training", "sigop.datasets"))], loaded


def test_training_evaluate_and_export_lite_import_nothing_from_serving():
    import pkgutil

    import sigop.datasets
    import sigop.training

    modules = [m.name for p in (sigop.training, sigop.datasets) for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")]
    assert "sigop.training.export_check" in modules and "sigop.datasets.digits" in modules
    loaded = loaded_by("import " + ", ".join(modules + ["sigop.evaluate", "sigop.lite_export", "sigop.cli_train"]))
    assert "sigop.runtime.frozen" in loaded
    assert not [m for m in loaded if m.startswith("sigop.serving")], loaded


def test_the_serving_core_knows_no_transport_and_no_runtime():
    # The Open Inference Protocol's plane (its view of models) sits with the core: arrays, no protobuf.
    loaded = loaded_by("import sigop.serving.core, sigop.serving.stream, sigop.serving.events, sigop.serving.oip_plane")
    assert "sigop.serving.core" in loaded and "sigop.plan" in loaded and "sigop.serving.signal_checks" in loaded
    assert not [m for m in loaded if m in ("grpc", "tensorflow") or m.startswith(("sigop.operator", "sigop.inference"))
                or m == "sigop.serving.oip_codec"], loaded


def test_the_front_end_and_streams_touch_no_private_member_of_another_object():
    for name in ("service.py", "stream.py", "events.py", "core.py", "oip_service.py", "oip_plane.py"):
        tree = ast.parse((PACKAGE / "serving" / name).read_text())
        foreign = [f"{name}:{node.lineno} .{node.attr}" for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                   and not (isinstance(node.value, ast.Name) and node.value.id == "self")]
        assert foreign == [], foreign


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
             for p in PACKAGE.rglob("*.py") if not p.name.endswith(("_pb2.py", "_pb2_grpc.py"))}
    assert len(sizes) > 30
    assert {p: n for p, n in sizes.items() if n > 300} == {}


def test_a_serving_only_install_says_which_training_package_is_missing():
    """The image leaves out [train]: a training command names the missing package and the extra, without a
    traceback; any other missing module is still a traceback (a bug, not an install choice)."""
    def train_without(module):
        script = (f"import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):\n"
                  f"        if name == {module!r} or name.startswith({module + '.'!r}):\n"
                  f"            raise ModuleNotFoundError(name=name)\n"
                  f"sys.meta_path.insert(0, Block())\nfrom sigop.cli import main\n"
                  f"sys.exit(main(['train', '--data', 'x', '--out', 'y']))\n")
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)

    run = train_without("scipy")
    assert run.returncode == 2 and "needs the Python package 'scipy'" in run.stderr, run.stderr
    assert "pip install 'sigop[train]'" in run.stderr and "Traceback" not in run.stderr
    run = train_without("sigop.render")
    assert run.returncode == 1 and "ModuleNotFoundError" in run.stderr and "Traceback" in run.stderr, run.stderr


def test_the_training_modules_cli_names_are_the_train_extras():
    """cli.TRAINING_MODULES (import names) and pyproject.toml's [train] extra (distributions) list the same
    packages: one added to the extra without its module would get a traceback in the image, not the message."""
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    from sigop.cli import TRAINING_MODULES

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    pyproject = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    extras = {norm(re.split(r"[<>=!~\[; ]", r)[0]) for r in pyproject["project"]["optional-dependencies"]["train"]}
    provided = {m: {norm(d) for d in ds} for m, ds in packages_distributions().items()}
    assert {d for m in TRAINING_MODULES for d in provided.get(m, {"?" + m})} == extras
