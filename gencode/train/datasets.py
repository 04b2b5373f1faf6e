"""Training data: a procedural dataset or a folder of images → batches of (images, captions).

Every batch is a pure function of (seed, step), so a resumed run sees exactly the batches an
uninterrupted one would, with no data-loader state to save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gencode.data import DATASETS, dataset
from gencode.data.words import split_words

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def step_seed(seed: int, step: int) -> int:
    """A well-mixed 63-bit seed for one training step."""
    return int(np.random.SeedSequence([seed, step]).generate_state(2, np.uint64)[0] >> np.uint64(1))


@dataclass
class TrainData:
    """A source of captioned images at one size, with the words its captions use."""

    name: str
    size: int
    vocabulary: list[str]
    aliases: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # words that are neither known nor unknown
    images: np.ndarray | None = None  # (N, H, W, 3) uint8, folder datasets only
    captions: list[str] = field(default_factory=list)

    def batch(self, seed: int, step: int, n: int) -> tuple[np.ndarray, list[str]]:
        """n images (N, H, W, 3) uint8 and their captions for one step."""
        s = step_seed(seed, step)
        if self.images is None:
            images, labels = dataset(self.name).generate(n, s, self.size)
            return images, [lb["caption"] for lb in labels]
        idx = np.random.default_rng(s).integers(0, len(self.images), n)
        return self.images[idx], [self.captions[i] for i in idx]

    def word_ids(self, caption: str) -> list[int]:
        """Vocabulary indices of a caption's known words (unknown ones are dropped)."""
        from gencode.data.words import tokenize_with

        known, _ = tokenize_with(caption, self.vocabulary, self.aliases)
        return [self.vocabulary.index(w) for w in known]


def load_data(spec: str, size: int) -> TrainData:
    """TrainData for a procedural dataset name or a folder path."""
    if spec in DATASETS:
        mod = dataset(spec)
        return TrainData(
            spec,
            size,
            list(mod.VOCABULARY),
            dict(getattr(mod, "ALIASES", {})),
            sorted(getattr(mod, "FILLERS", ())),
        )
    folder = Path(spec)
    if not folder.is_dir():
        known = ", ".join(sorted(DATASETS))
        raise ValueError(f"dataset {spec!r} is neither a built-in ({known}) nor a folder")
    return _load_folder(folder, size)


def _read_captions(folder: Path) -> dict[str, str]:
    """`captions.txt` lines "file.png: a caption" (or tab-separated), keyed by file name."""
    path = folder / "captions.txt"
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            sep = "\t" if "\t" in line else ":"
            if sep in line:
                name, text = line.split(sep, 1)
                out[name.strip()] = text.strip()
    return out


def _load_image(path: Path, size: int) -> np.ndarray:
    """An image centre-cropped to a square and resized to size x size, uint8 (H, W, 3)."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
        return np.asarray(im, dtype=np.uint8)


def _load_folder(folder: Path, size: int) -> TrainData:
    """All images of a folder, captioned from captions.txt or else from their file stems."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    table = _read_captions(folder)
    captions = [table.get(p.name, p.stem.replace("_", " ").replace("-", " ")) for p in files]
    captions = [" ".join(w for w in c.split() if not w.isdigit()) for c in captions]
    vocab = sorted({w for c in captions for w in split_words(c)})
    images = np.stack([_load_image(p, size) for p in files])  # (N, H, W, 3)
    return TrainData(folder.name, size, vocab, images=images, captions=captions)
