"""Export a trained classifier as a frozen graph, labels and manifest (and a SavedModel).

The exported graph takes uint8 RGB images [batch, H, W, 3] and returns
softmax ``probabilities`` [batch, classes]; the backbone's own normalisation is
inside it, so any runtime that can feed pixels can use it. The manifest
carries the labels, the backbone and, for spectrum models, the preprocessing
contract that the server renders signals with.
"""

from __future__ import annotations

from pathlib import Path

from .manifest import GRAPH_FILE, Manifest, TensorInfo, sha256_file
from .tfenv import tf

__all__ = ["export_classifier", "INPUT", "OUTPUT", "LABELS_FILE"]

INPUT = "images"
OUTPUT = "probabilities"
LABELS_FILE = "labels.txt"


def export_classifier(model: "tf.keras.Model", out: Path, *, name: str, classes: list[str], image_size: int,
                      details: dict, saved_model: bool = True) -> Manifest:
    """Freeze ``model`` (float RGB in [0, 255] -> probabilities) behind a uint8 input."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    @tf.function(input_signature=[tf.TensorSpec([None, image_size, image_size, 3], tf.uint8, name=INPUT)])
    def serve(images):
        probs = model(tf.cast(images, tf.float32), training=False)
        return {OUTPUT: tf.identity(probs, name=OUTPUT)}

    concrete = serve.get_concrete_function()
    graph_def = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
    names = {n.name for n in graph_def.node}
    if INPUT not in names or OUTPUT not in names:
        raise RuntimeError(f"frozen classifier lacks {INPUT!r} or {OUTPUT!r}; TensorFlow renamed them")
    (out / GRAPH_FILE).write_bytes(graph_def.SerializeToString(deterministic=True))
    (out / LABELS_FILE).write_text("".join(c + "\n" for c in classes))
    if saved_model:
        module = tf.Module()
        module.model = model
        module.serve = serve
        tf.saved_model.save(module, str(out / "saved_model"), signatures={"serving_default": concrete})
    manifest = Manifest(
        name=name,
        kind="classifier",
        inputs={"images": TensorInfo(f"{INPUT}:0", "uint8", [None, image_size, image_size, 3],
                                     "RGB images, values 0-255")},
        outputs={"probabilities": TensorInfo(f"{OUTPUT}:0", "float32", [None, len(classes)],
                                             f"softmax over the labels in {LABELS_FILE}, in that order")},
        sha256=sha256_file(out / GRAPH_FILE),
        tensorflow_version=tf.__version__,
        details={"labels": classes, "labels_file": LABELS_FILE, "image_size": image_size, **details},
    )
    manifest.write(out)
    return manifest
