"""`sigop generate`: the article's two classes as signals and spectrum images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from ..progress import bar as progress_bar

from ..render import CONTRACT_FILE, SpectrumContract, render_signal
from .article import CLASSES, Params, generate

__all__ = ["generate_dataset"]

PREVIEW = 4  # spectra per class in preview.png


def generate_dataset(out: Path, per_class: int, seed: int, contract: SpectrumContract = SpectrumContract(),
                     params: Params | None = None, images: bool = True, progress: bool = True) -> dict[str, int]:
    """Write ``out/signals/<class>/*.npy`` and, with images, ``out/images/<class>/*.png``.

    Either folder is a dataset for ``sigop train``; both hold the contract
    that draws their spectra, so a model trained on either can classify
    signals. ``out/preview.png`` shows the first spectra of each class, a row
    per class.
    """
    out = Path(out)
    params = params or Params(n=contract.n)
    if params.n != contract.n:
        raise ValueError(f"signal length {params.n} differs from the contract's n={contract.n}")
    rng = np.random.default_rng(seed)
    counts, preview = {}, []
    bar = progress_bar(total=per_class * len(CLASSES), desc="generate", unit="signal", disable=not progress)
    for cls in CLASSES:
        (out / "signals" / cls.name).mkdir(parents=True, exist_ok=True)
        if images:
            (out / "images" / cls.name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            x = generate(cls, rng, params)
            stem = f"{cls.name}_{seed}_{i:05d}"
            np.save(out / "signals" / cls.name / f"{stem}.npy", x)
            if images or i < PREVIEW:
                img = render_signal(x, contract)[0]
                if images:
                    Image.fromarray(img).save(out / "images" / cls.name / f"{stem}.png")
                if i < PREVIEW:
                    preview.append(img)
            bar.update()
        counts[cls.name] = per_class
    bar.close()
    _write_preview(out / "preview.png", preview, len(CLASSES))
    for sub in ("signals", "images") if images else ("signals",):
        (out / sub / CONTRACT_FILE).write_text(json.dumps(contract.to_json(), indent=2) + "\n")
    return counts


def _write_preview(path: Path, images: list[np.ndarray], rows: int) -> None:
    """A grid with a grey gutter: one row per class, in CLASSES order."""
    if not images:
        return
    h, w = images[0].shape
    cols = len(images) // rows
    grid = np.full((rows * (h + 4) - 4, cols * (w + 4) - 4), 128, dtype=np.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, cols)
        grid[r * (h + 4):r * (h + 4) + h, c * (w + 4):c * (w + 4) + w] = img
    Image.fromarray(grid).save(path)
