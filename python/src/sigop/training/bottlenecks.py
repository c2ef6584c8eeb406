"""Backbone features ("bottlenecks") cached on disk.

A forward pass through an ImageNet CNN costs ~0.03-0.1 s per image on two
cores and is the same for every head trained on top, so each feature vector
is stored under a key made of the backbone's weights id and the exact input
(file content, contract, augmentation): a second run with other head settings
reads them back instead of recomputing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from ..progress import bar as progress_bar

from ..tfenv import tf
from .backbones import Backbone
from .digest import content_key

__all__ = ["BottleneckCache"]


class BottleneckCache:
    def __init__(self, backbone: Backbone, weights: str, cache_dir: Path | None, batch_size: int = 16):
        self.backbone = backbone
        self.weights = weights
        self.weights_id = backbone.weights_id(weights)
        self.dir = None if cache_dir is None else Path(cache_dir) / self.weights_id.replace(":", "-")
        self.batch_size = batch_size
        self._keras = None
        self._fn = None
        self.hits = self.misses = 0

    def backbone_model(self):
        """The backbone as a Keras model, built (weights loaded) once and shared with the caller."""
        if self._keras is None:
            self._keras = self.backbone.build(self.weights)
        return self._keras

    def _model(self):
        if self._fn is None:
            model = self.backbone_model()
            self._fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        return self._fn

    def _path(self, key: str) -> Path | None:
        return None if self.dir is None else self.dir / key[:2] / f"{key}.npy"

    def features(self, keys: Sequence[str], make_image: Callable[[int], np.ndarray], progress: bool = True,
                 desc: str = "bottlenecks") -> np.ndarray:
        """Features for each key; make_image(i) gives input i's uint8 RGB image when it is not cached."""
        out = np.zeros((len(keys), self.backbone.features), dtype=np.float32)
        todo = []
        for i, key in enumerate(keys):
            path = self._path(key)
            if path is not None and path.is_file():
                out[i] = np.load(path)
                self.hits += 1
            else:
                todo.append(i)
        self.misses += len(todo)
        with progress_bar(total=len(todo), desc=desc, unit="img", disable=not progress or not todo) as bar:
            for start in range(0, len(todo), self.batch_size):
                idx = todo[start:start + self.batch_size]
                batch = np.stack([make_image(i) for i in idx]).astype(np.float32)
                feats = self._model()(tf.constant(batch)).numpy()
                for i, f in zip(idx, feats):
                    out[i] = f
                    path = self._path(keys[i])
                    if path is not None:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_suffix(".tmp.npy")
                        np.save(tmp, f)
                        tmp.replace(path)  # atomic: a killed run leaves no half-written entry
                bar.update(len(idx))
        return out


