"""The model repository: every exported graph under a graphs directory, by
name and version, reloaded while serving.

Layout: ``graphs/<name>/<version>/manifest.json`` (version a positive
integer), or ``graphs/<name>/manifest.json``, which counts as version 1. The
folder names the model. A request without a version gets the newest one.

``refresh()`` (on a timer or SIGHUP) loads new versions — warmed up before
anyone can reach them — and forgets removed ones; in-flight calls keep their
reference to a removed graph, so it drains instead of failing. A new version
that does not load (bad manifest, sha256 mismatch, unreadable graph) is logged
and recorded as FAILED; whatever served before keeps serving.

A graphs folder without an ``fft`` model still serves the FFT: the
exporter's graph (the committed graphs/fft), made at start-up.

A graphs folder that is itself one model (its own ``manifest.json``, or
numbered version folders holding one: how KServe mounts a model at
``/mnt/models``) serves that model, named ``model_name`` (``sigop serve
--model-name``, or $MODEL_NAME) or else by its manifest.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..limits import clip
from ..manifest import DEFAULT_FFT_MODEL, MANIFEST_FILE, parse_version
from ..runtime.fft import builtin_fft_folder
from ..runtime.load import Model, load_model, warm_up
from .errors import ModelNotFound

__all__ = ["ModelRepository", "VersionStatus", "ModelNotFound", "BUILTIN_FFT_NOTE"]

log = logging.getLogger(__name__)


BUILTIN_FFT_NOTE = f"built in: the graphs folder has no {DEFAULT_FFT_MODEL!r} model (sigop export-fft writes one)"


@dataclass
class VersionStatus:
    version: int
    folder: Path
    message: str = ""
    model: Model | None = None  # None: its files did not load
    stamp: tuple = ()
    failed_stamp: tuple = field(default=(), repr=False)

    @property
    def state(self) -> str:
        return "AVAILABLE" if self.model is not None else "FAILED"


def _stamp(folder: Path) -> tuple:
    st = (folder / MANIFEST_FILE).stat()
    return (st.st_mtime_ns, st.st_size)


def _versions(model_dir: Path) -> dict[int, Path]:
    """{version: folder} of one model's folder: numbered version folders, and its own manifest as version 1."""
    versions = {n: v for v in model_dir.iterdir()
                if v.is_dir() and (n := parse_version(v.name)) and (v / MANIFEST_FILE).is_file()}
    if (model_dir / MANIFEST_FILE).is_file():
        if 1 in versions:
            log.warning("%s: both a manifest and a version folder 1; using %s", model_dir, versions[1])
        else:
            versions[1] = model_dir
    return versions


def discover(root: Path, model_name: str = "") -> dict[str, dict[int, Path]]:
    """{name: {version: folder}} for every manifest in the layout above."""
    own = _versions(root)
    if own:  # the folder is one model
        try:  # the name alone: Manifest.read would hash the graph on every poll
            named = json.loads((own[max(own)] / MANIFEST_FILE).read_text())["name"]
        except (OSError, ValueError, KeyError, TypeError):
            named = root.name
        return {model_name or str(named): own}
    if model_name:
        log.warning("--model-name %s names the model of a folder that is one model; %s holds several, each named "
                    "by its folder", clip(model_name), root)
    found: dict[str, dict[int, Path]] = {}
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if versions := _versions(model_dir):
            found[model_dir.name] = versions
    return found


class ModelRepository:
    def __init__(self, root: Path, *, intra_op_threads: int = 0, inter_op_threads: int = 0, warm_batch: int = 1,
                 runtime: str = "auto", precision: str = "float32", model_name: str = ""):
        self.root = Path(root)
        self.model_name = model_name
        self._runtime = {"runtime": runtime, "precision": precision}
        self._warm_batch = warm_batch
        if not self.root.is_dir():
            raise FileNotFoundError(f"graphs directory {self.root} does not exist")
        self._threads = (intra_op_threads, inter_op_threads)
        self._lock = threading.Lock()  # guards _models; loading happens outside it
        self._refresh_lock = threading.Lock()  # one refresh at a time
        self._models: dict[str, dict[int, VersionStatus]] = {}

    def refresh(self) -> bool:
        """Load new or changed versions, forget removed ones; True if what serves changed."""
        with self._refresh_lock:
            found = discover(self.root, self.model_name)
            if DEFAULT_FFT_MODEL not in found:
                found[DEFAULT_FFT_MODEL] = {1: builtin_fft_folder()}
            changed = False
            with self._lock:
                current = {n: dict(vs) for n, vs in self._models.items()}
            for name, versions in found.items():
                for version, folder in sorted(versions.items()):
                    old = current.get(name, {}).get(version)
                    try:
                        stamp = _stamp(folder)
                    except OSError:
                        continue  # removed while scanning
                    if old is not None and stamp in (old.stamp, old.failed_stamp):
                        continue
                    status = self._load(name, version, folder, stamp, old)
                    changed |= status.model is not (old.model if old else None)
                    current.setdefault(name, {})[version] = status
            for name in list(current):
                for version in list(current[name]):
                    if version not in found.get(name, {}):
                        log.info("model %s version %d removed; in-flight calls finish on it", name, version)
                        del current[name][version]
                        changed = True
                if not current[name]:
                    del current[name]
            with self._lock:
                self._models = current
            return changed

    def _load(self, name: str, version: int, folder: Path, stamp: tuple, old: VersionStatus | None) -> VersionStatus:
        try:
            model, note = load_model(folder, **self._runtime, intra_op_threads=self._threads[0],
                                     inter_op_threads=self._threads[1])
            warm_up(model, self._warm_batch)
        except Exception as e:  # any broken export: bad JSON, hash, GraphDef, tensors
            # The log names the files; the message ListModels shows clients names them inside graphs/ only.
            message = f"{type(e).__name__}: {e}".replace(str(folder), f"{name}/{version}")
            message = message.replace(str(self.root.resolve()), "graphs").replace(str(self.root), "graphs")
            log.error("model %s version %d in %s: %s: %s", name, version, folder, type(e).__name__, e)
            if old is not None and old.model is not None:
                log.error("model %s version %d: new files rejected, previous load keeps serving", name, version)
                return VersionStatus(version, folder, f"reload rejected: {message}", old.model,
                                     old.stamp, stamp)
            log.error("model %s version %d not loaded", name, version)
            return VersionStatus(version, folder, message, None, (), stamp)
        notes = [note] if note else []
        if model.manifest.name != name:
            log.info("model folder %s holds a manifest named %r; serving it as %r", folder, model.manifest.name, name)
        if folder.parent != self.root and model.manifest.version != version:
            # An export copied into a version folder (or `sigop train --version`'s, whose manifest agrees): the
            # folder's name is the version, as documented; nothing to warn about.
            log.info("model %s: its manifest says version %d; served as version %d, its folder's name", name,
                     model.manifest.version, version)
        if not folder.is_relative_to(self.root):
            notes.append(BUILTIN_FFT_NOTE)
        note = "; ".join(notes)
        log.info("loaded model %s version %d (%s, %s) from %s", name, version, model.manifest.kind, model.runtime, folder)
        return VersionStatus(version, folder, note, model, stamp)

    def get(self, name: str, version: int = 0) -> tuple[Model, int]:
        """The model and its version: the newest available one when version is 0."""
        with self._lock:
            versions = self._models.get(name)
            names = sorted(self._models)
        if not versions:
            raise ModelNotFound(f"model {clip(name)} is not loaded; loaded: {names}")
        available = {v: s for v, s in versions.items() if s.model is not None}
        if version == 0:
            if not available:
                raise ModelNotFound(f"model {clip(name)} has no version that loaded")
            version = max(available)
        if version not in available:
            raise ModelNotFound(f"model {clip(name)} has no available version {version}; available: {sorted(available)}")
        return available[version].model, version

    def names(self, kind: str | None = None) -> list[str]:
        with self._lock:
            models = dict(self._models)
        return sorted(n for n, vs in models.items()
                      if any(s.model is not None and (kind is None or s.model.manifest.kind == kind)
                             for s in vs.values()))

    def on_disk(self) -> list[str]:
        """Names with a loaded version from the graphs folder (the built-in FFT is not)."""
        return sorted(n for n, vs in self.status().items()
                      if any(s.model is not None and s.folder.is_relative_to(self.root) for s in vs.values()))

    def status(self) -> dict[str, dict[int, VersionStatus]]:
        with self._lock:
            return {n: dict(vs) for n, vs in self._models.items()}

    def close(self) -> None:
        with self._lock:
            for versions in self._models.values():
                for s in versions.values():
                    if s.model is not None:
                        s.model.close()
            self._models = {}
