"""Images: read image folders, fit a class-conditional generator (diffusion, or a VAE baseline), sample,
evaluate against the real images, augment with classic transforms, and measure the uplift on a small CNN.

Needs the ``images`` extra (``pip install 'simulacra[images]'``: torch, diffusers, albumentations,
Pillow); those packages are imported only when a function that needs them runs.

Examples
--------
>>> from simulacra import images
>>> sorted(images.GENERATOR_NAMES)
['diffusion', 'vae']
"""

from __future__ import annotations

from typing import Any

#: The generators' short names (see :mod:`simulacra.images.registry`).
GENERATOR_NAMES = ("diffusion", "vae")

_LAZY = {
    "ImageSet": "simulacra.images.data",
    "read_image_folder": "simulacra.images.data",
    "write_image_folder": "simulacra.images.data",
    "ImageGenerator": "simulacra.images.base",
    "TrainingInterrupted": "simulacra.images.base",
    "TrainingProgress": "simulacra.images.base",
    "load_image_model": "simulacra.images.base",
    "ImageDiffusion": "simulacra.images.diffusion",
    "ImageVAE": "simulacra.images.vae",
    "make_generator": "simulacra.images.registry",
    "ImageClassifier": "simulacra.images.cnn",
    "evaluate_images": "simulacra.images.evaluate",
    "ImageEvaluation": "simulacra.images.evaluate",
    "augment_images": "simulacra.images.augment",
    "run_image_uplift": "simulacra.images.uplift",
}

__all__ = sorted([*_LAZY, "GENERATOR_NAMES"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulacra.images' has no attribute {name!r}")
