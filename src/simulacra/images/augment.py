"""Classic image augmentation through albumentations: flips, rotations, crops, colour, blur, noise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simulacra.errors import InputError, require
from simulacra.images.data import ImageSet


def _transforms() -> dict[str, Callable[[], Any]]:
    A: Any = require("albumentations", "images", "classic image augmentation")
    border = {"border_mode": 0, "fill": 0}
    return {
        "flip": lambda: A.HorizontalFlip(p=0.5),
        "vflip": lambda: A.VerticalFlip(p=0.5),
        "rotate": lambda: A.Rotate(limit=15, p=0.8, **border),
        "shift": lambda: A.Affine(translate_percent=(-0.1, 0.1), p=0.8, **border),
        "crop": lambda: A.RandomResizedCrop(size=(1, 1), scale=(0.75, 1.0), ratio=(0.9, 1.1), p=0.8),
        "color": lambda: A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8),
        "blur": lambda: A.GaussianBlur(blur_limit=(3, 3), p=0.5),
        "noise": lambda: A.GaussNoise(std_range=(0.02, 0.08), p=0.5),
        "elastic": lambda: A.ElasticTransform(alpha=1.0, sigma=4.0, p=0.5, **border),
    }


#: The names of the classic augmentations.
METHODS = ("flip", "vflip", "rotate", "shift", "crop", "color", "blur", "noise", "elastic")


def parse_methods(text: str | Sequence[str]) -> list[str]:
    """Method names from ``'flip,rotate'`` or a list, checked.

    Examples
    --------
    >>> parse_methods("rotate, crop")
    ['rotate', 'crop']
    """
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise InputError(f"Unknown augmentation(s) {', '.join(unknown) or '(none given)'}; choose among {', '.join(METHODS)}.")
    return names


def pipeline(methods: Sequence[str], resolution: int, seed: int) -> Any:
    """An albumentations pipeline of ``methods`` (each applied at random), seeded."""
    A: Any = require("albumentations", "images", "classic image augmentation")
    made = _transforms()
    steps = []
    for m in parse_methods(methods):
        t = made[m]()
        if m == "crop":
            t = A.RandomResizedCrop(size=(resolution, resolution), scale=(0.75, 1.0), ratio=(0.9, 1.1), p=0.8)
        elif m == "shift":  # whole pixels: a share of a small image would round to no move at all
            k = max(1, round(resolution / 8))
            t = A.Affine(translate_px=(-k, k), p=0.8, border_mode=0, fill=0)
        steps.append(t)
    return A.Compose(steps, seed=seed)


def augment_images(data: ImageSet, methods: Sequence[str] | str, *, per_image: int = 1,
                   random_state: int | None = None) -> ImageSet:
    """``per_image`` augmented copies of every image (the real images are not included), classes kept.

    Examples
    --------
    >>> s = ImageSet(np.arange(2 * 8 * 8 * 3, dtype=np.uint8).reshape(2, 8, 8, 3), np.array([0, 1]), ["a", "b"])
    >>> out = augment_images(s, "flip,rotate", per_image=3, random_state=0)
    >>> out.images.shape, out.labels.tolist()
    ((6, 8, 8, 3), [0, 0, 0, 1, 1, 1])
    """
    if per_image < 1:
        raise InputError(f"per_image must be at least 1, got {per_image}.")
    names = parse_methods(methods)
    aug = pipeline(names, data.resolution, 0 if random_state is None else int(random_state))
    out = np.empty((len(data) * per_image, *data.images.shape[1:]), np.uint8)
    for i, a in enumerate(data.images):
        src = a[:, :, 0] if data.channels == 1 else a
        for j in range(per_image):
            b = np.asarray(aug(image=src)["image"], dtype=np.uint8)
            out[i * per_image + j] = b[:, :, None] if b.ndim == 2 else b
    return ImageSet(out, np.repeat(data.labels, per_image), list(data.classes))
