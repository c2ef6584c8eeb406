"""Find and load every exported graph under a graphs directory."""

from __future__ import annotations

import logging
from pathlib import Path

from .frozen import FrozenGraph
from .manifest import MANIFEST_FILE, ManifestError

__all__ = ["load_models"]

log = logging.getLogger(__name__)


def load_models(root: Path, *, intra_op_threads: int = 0, inter_op_threads: int = 0) -> dict[str, FrozenGraph]:
    """Load each folder below ``root`` that holds a manifest, keyed by model name.

    A folder whose manifest or graph is broken is logged and skipped, so one
    bad export does not take the others down; no loadable model is an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"graphs directory {root} does not exist")
    models: dict[str, FrozenGraph] = {}
    for manifest_path in sorted(root.rglob(MANIFEST_FILE)):
        folder = manifest_path.parent
        try:
            model = FrozenGraph(folder, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads)
        except (ManifestError, OSError, ValueError) as e:
            log.error("skipping %s: %s", folder, e)
            continue
        name = model.manifest.name
        if name in models:
            log.error("skipping %s: model name %r already loaded from %s", folder, name, models[name].folder)
            model.close()
            continue
        models[name] = model
        log.info("loaded model %r (%s) from %s", name, model.manifest.kind, folder)
    if not models:
        raise FileNotFoundError(f"no loadable graph (folder with {MANIFEST_FILE}) under {root}")
    return models
