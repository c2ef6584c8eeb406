"""Run a frozen GraphDef loaded from disk.

Each set of fetched outputs gets its own callable (so a magnitude-only
request never computes Re/Im copies it won't send), made with the C++
``Session::MakeCallable``: TensorFlow's public ``make_callable`` with a feed
list only wraps ``Session.run``, which rebuilds its fetch handler on every
call (0.20 ms per 1024-point FFT against 0.05 ms here, measured on two
cores; the graph's own work is the rest).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..manifest import Manifest
from ..tfenv import callable_options, session_config, tf

__all__ = ["FrozenGraph"]


class FrozenGraph:
    """A frozen graph and its manifest, callable by output names."""

    runtime = "tensorflow"

    def __init__(self, folder: Path, *, intra_op_threads: int = 0, inter_op_threads: int = 0,
                 manifest: Manifest | None = None):
        """``manifest``: the folder's, already read (and its graph's sha256 checked) by the caller."""
        self.folder = Path(folder)
        self.manifest = manifest or Manifest.read(self.folder)
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString((self.folder / self.manifest.graph).read_bytes())
        self._graph = tf.Graph()
        with self._graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        self._session = tf.compat.v1.Session(
            graph=self._graph, config=session_config(intra_op_threads, inter_op_threads)
        )
        (self._input_name,) = [info.tensor for info in self.manifest.inputs.values()]
        self._input = self._graph.get_tensor_by_name(self._input_name)
        self._dtype = self._input.dtype.as_numpy_dtype  # the callable takes no other; Session.run cast for us
        self._callables: dict[tuple[str, ...], object] = {}
        self._lock = threading.Lock()

    def __call__(self, x: np.ndarray, outputs: Sequence[str]) -> dict[str, np.ndarray]:
        """Feed ``x`` to the graph's input and fetch the named outputs."""
        key = tuple(outputs)
        fn = self._callables.get(key)
        if fn is None:
            with self._lock:
                fn = self._callables.get(key)
                if fn is None:
                    fetches = [self.manifest.outputs[o].tensor for o in key]
                    for name in fetches:  # a clear error for a graph that lacks one
                        self._graph.get_tensor_by_name(name)
                    fn = self._session._make_callable_from_options(callable_options(self._input_name, fetches))
                    self._callables[key] = fn
        return dict(zip(key, fn(np.ascontiguousarray(x, dtype=self._dtype))))

    def close(self) -> None:
        self._session.close()
