"""Image folders in and out: a folder per class (or one flat folder), read with Pillow at any size and
mode and brought to one resolution; written back as PNG, a folder per class.

Images are held as ``uint8`` arrays of shape ``(n, height, width, channels)``; ``labels`` are indices
into ``classes`` (one class named ``""`` for a flat folder).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import InputError

#: File endings read as images.
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: Largest side the models train at on a CPU within minutes; larger images are brought down to it.
MAX_RESOLUTION = 64
#: Pillow modes by family: grey-level modes become ``L`` (1 channel), colour modes ``RGB`` (3 channels).
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F", "La"}


@dataclass
class ImageSet:
    """Images of one resolution and mode, with class labels.

    Examples
    --------
    >>> s = ImageSet(np.zeros((4, 8, 8, 1), np.uint8), np.array([0, 0, 1, 1]), ["a", "b"])
    >>> s.resolution, s.channels, s.counts()
    (8, 1, {'a': 2, 'b': 2})
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    @property
    def mode(self) -> str:
        return "L" if self.channels == 1 else "RGB"

    def __len__(self) -> int:
        return len(self.images)

    def counts(self) -> dict[str, int]:
        """Images per class."""
        c = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(k) for name, k in zip(self.classes, c)}

    def subset(self, index: Any) -> ImageSet:
        """The images at ``index`` (an index array or a boolean mask), with the same classes."""
        files = list(np.asarray(self.files, dtype=object)[index]) if self.files else []
        return ImageSet(self.images[index], self.labels[index], list(self.classes), files, list(self.notes))

    def split(self, fraction: float, *, random_state: int | None = 0) -> tuple[ImageSet, ImageSet]:
        """A stratified split: ``(rest, held_out)`` with about ``fraction`` of each class held out."""
        rng = np.random.default_rng(random_state)
        hold = np.zeros(len(self), bool)
        for k in range(len(self.classes)):
            idx = np.flatnonzero(self.labels == k)
            take = int(round(len(idx) * fraction))
            hold[rng.choice(idx, size=min(take, len(idx) - 1), replace=False)] = True
        return self.subset(~hold), self.subset(hold)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def _layout(root: Path) -> dict[str, list[Path]]:
    """Class name -> files: one class per sub-folder holding images, or one class ``""`` for a flat folder."""
    if not root.exists():
        raise InputError(f"The image folder '{root}' does not exist.")
    if not root.is_dir():
        raise InputError(f"'{root}' is not a folder; give a folder of images, or a folder with a sub-folder per class.")
    subdirs = {d.name: _image_files(d) for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    subdirs = {k: v for k, v in subdirs.items() if v}
    loose = _image_files(root)
    if subdirs and loose:
        raise InputError(f"'{root}' holds both images ({len(loose)}, e.g. '{loose[0].name}') and class folders "
                         f"({', '.join(list(subdirs)[:5])}); move the loose images into a class folder or remove them.")
    if not subdirs and not loose:
        raise InputError(f"'{root}' holds no images (looked for {', '.join(EXTENSIONS)}, directly or one folder down); "
                         "give a folder of images or a folder with a sub-folder per class.")
    return subdirs or {"": loose}


def _family(mode: str) -> str:
    return "L" if mode in GREY_MODES else "RGB"


def _open_all(files: list[Path]) -> list[Any]:
    from PIL import Image, UnidentifiedImageError

    opened, bad = [], []
    for f in files:
        try:
            im = Image.open(f)
            im.load()
            opened.append(im)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            bad.append(f"'{f}' ({type(exc).__name__})")
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise InputError(f"{len(bad)} of {len(files)} files cannot be read as images: {', '.join(bad[:3])}{more}; "
                         "remove or re-save them.")
    return opened


def choose_resolution(sizes: list[tuple[int, int]], resolution: int | None, max_resolution: int = MAX_RESOLUTION) -> tuple[int, list[str]]:
    """The model resolution (a multiple of 4, at least 8) for images of ``sizes``, and notes for the user.

    An explicit ``resolution`` above ``max_resolution`` is refused; without one, the largest side is used,
    brought down to ``max_resolution`` with a note.

    Examples
    --------
    >>> choose_resolution([(8, 8)], None)
    (8, [])
    >>> choose_resolution([(28, 28), (27, 25)], None)[0]
    28
    >>> choose_resolution([(500, 400)], None)[1][0][:45]
    'Images up to 500x400 are too large to train o'
    """
    notes: list[str] = []
    if resolution is not None:
        if resolution > max_resolution:
            raise InputError(f"Resolution {resolution} is too large to train on a CPU in minutes (at most "
                             f"{max_resolution}); use resolution {max_resolution} or less (--resolution, resolution=), "
                             "or from Python raise max_resolution= of read_image_folder if you have the time.")
        if resolution < 8 or resolution % 4:
            raise InputError(f"Resolution {resolution} is not usable; the models need a multiple of 4, at least 8 "
                             f"(e.g. {max(8, resolution // 4 * 4)}).")
        return resolution, notes
    w = max(s[0] for s in sizes)
    h = max(s[1] for s in sizes)
    side = max(w, h)
    if side > max_resolution:
        notes.append(f"Images up to {w}x{h} are too large to train on a CPU in minutes; they are resized to "
                     f"{max_resolution}x{max_resolution} (choose another size with --resolution, at most {max_resolution}).")
        return max_resolution, notes
    chosen = max(8, -(-side // 4) * 4)  # rounded up to a multiple of 4
    if chosen > max_resolution:
        chosen = max_resolution
    if chosen != side or w != h or len(set(sizes)) > 1:
        notes.append(f"Images ({', '.join(f'{a}x{b}' for a, b in sorted(set(sizes))[:4])}) are resized to {chosen}x{chosen}.")
    return chosen, notes


def read_image_folder(path: str | Path, *, resolution: int | None = None, mode: str | None = None,
                      max_resolution: int = MAX_RESOLUTION, min_per_class: int = 2) -> ImageSet:
    """Read a folder of images: a sub-folder per class, or flat (one class).

    Every image is converted to ``mode`` (``'L'`` grey or ``'RGB'``; by default the one mode all images
    share) and resized to ``resolution`` x ``resolution`` (by default the largest side, at most
    ``max_resolution``). Empty folders, unreadable files, mixed grey and colour images without ``mode``,
    and classes with fewer than ``min_per_class`` images are refused with a message saying what to do.
    """
    from PIL import Image

    root = Path(path)
    layout = _layout(root)
    few = {k: len(v) for k, v in layout.items() if len(v) < min_per_class}
    if few:
        shown = ", ".join(f"'{k}' ({n})" for k, n in list(few.items())[:5])
        raise InputError(f"Class(es) {shown} in '{root}' have fewer than {min_per_class} images; a class needs at least "
                         f"{min_per_class} to be learned and evaluated. Add images or remove the class folder.")
    files = [f for v in layout.values() for f in v]
    labels = np.concatenate([np.full(len(v), k) for k, v in enumerate(layout.values())])
    opened = _open_all(files)
    if mode is not None and mode not in ("L", "RGB"):
        raise InputError(f"Unknown image mode {mode!r}; use 'L' (grey) or 'RGB' (colour).")
    families = Counter(_family(im.mode) for im in opened)
    if mode is None and len(families) > 1:
        grey = next(f for f, im in zip(files, opened) if _family(im.mode) == "L")
        colour = next(f for f, im in zip(files, opened) if _family(im.mode) == "RGB")
        raise InputError(f"'{root}' mixes grey ({families['L']}, e.g. '{grey.relative_to(root)}') and colour images "
                         f"({families['RGB']}, e.g. '{colour.relative_to(root)}'); choose one mode (--mode L or RGB, "
                         "mode='L' or 'RGB' in Python) and every image is converted to it.")
    target = mode or next(iter(families))
    side, notes = choose_resolution([im.size for im in opened], resolution, max_resolution)
    arrays = []
    for im in opened:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            background = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(background, im.convert("RGBA"))  # transparent pixels on white
        if im.mode in ("I", "I;16", "F"):
            a = np.asarray(im, dtype=np.float64)
            lo, hi = float(a.min()), float(a.max())
            im = Image.fromarray(((a - lo) / (hi - lo or 1.0) * 255).round().astype(np.uint8))
        im = im.convert(target)
        if im.size != (side, side):
            im = im.resize((side, side), Image.Resampling.BICUBIC if max(im.size) < side else Image.Resampling.LANCZOS)
        a = np.asarray(im, dtype=np.uint8)
        arrays.append(a[:, :, None] if a.ndim == 2 else a)
    return ImageSet(np.stack(arrays), labels.astype(np.int64), list(layout), [str(f) for f in files], notes)


def write_image_folder(images: np.ndarray, labels: np.ndarray, classes: list[str], path: str | Path, *,
                       prefix: str = "img") -> list[Path]:
    """Write images as PNG files, a sub-folder per class (flat for the single class ``""``)."""
    from PIL import Image

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    width = max(5, len(str(len(images))))
    for i, (a, k) in enumerate(zip(images, labels)):
        folder = root / classes[int(k)] if classes[int(k)] else root
        folder.mkdir(exist_ok=True)
        out = folder / f"{prefix}{i:0{width}d}.png"
        Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a).save(out)
        written.append(out)
    return written


def to_model(images: np.ndarray) -> np.ndarray:
    """``uint8`` NHWC -> ``float32`` NCHW in [-1, 1]."""
    return (images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0).copy()


def from_model(x: np.ndarray) -> np.ndarray:
    """``float`` NCHW in [-1, 1] -> ``uint8`` NHWC."""
    return np.clip((x.transpose(0, 2, 3, 1) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
