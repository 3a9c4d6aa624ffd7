"""Tiny image folders (8x8, two or three classes) shared by the image tests; torch on one thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def shapes(n: int, seed: int = 0, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Three easy classes: a bright top half, a bright left half, a bright centre; with noise."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, (n, size, size, 1)).astype(np.uint8)
    y = np.arange(n) % 3
    h = size // 2
    x[y == 0, :h] += 200
    x[y == 1, :, :h] += 200
    x[y == 2, h // 2:h + h // 2, h // 2:h + h // 2] += 200
    return x, y


def write_folder(root: Path, n: int = 30, seed: int = 0, size: int = 8, mode: str = "L") -> Path:
    from PIL import Image

    x, y = shapes(n, seed, size)
    for i, (a, k) in enumerate(zip(x, y)):
        d = root / f"c{k}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a[:, :, 0]).convert(mode).save(d / f"{i}.png")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "real")
