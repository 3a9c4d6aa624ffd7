"""A small convolutional classifier: the feature space of the image evaluation and the downstream model
of the image uplift experiment. Trained here, on the user's images, so nothing is downloaded."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.errors import InputError, NotFittedError
from simulacra.images.base import torch_module
from simulacra.images.data import to_model
from simulacra.random import torch_seeded

#: Size of the feature vector (the layer before the class scores).
FEATURES = 64


def _network(channels: int, n_classes: int) -> Any:
    nn = torch_module().nn
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, FEATURES, 3, padding=1), nn.BatchNorm2d(FEATURES), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(FEATURES, n_classes),
    )


def auto_steps(n_images: int, most: int) -> int:
    """Training steps for ``n_images`` real images: three per image, between 60 and ``most``.

    Examples
    --------
    >>> auto_steps(30, 600), auto_steps(100, 400), auto_steps(5000, 600)
    (90, 300, 600)
    """
    return int(min(most, max(60, 3 * n_images)))


class ImageClassifier:
    """A three-layer CNN trained with Adam for a fixed number of steps (the same for every training set
    size, so arms of an uplift experiment get the same budget).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros((40, 8, 8, 1), np.uint8); x[20:, :4] = 255   # class 1: bright top half
    >>> y = np.repeat([0, 1], 20)
    >>> clf = ImageClassifier(steps=60, random_state=0).fit(x, y)
    >>> (clf.predict(x) == y).mean()
    np.float64(1.0)
    """

    def __init__(self, *, steps: int = 400, batch_size: int = 64, learning_rate: float = 3e-3,
                 random_state: int | None = None) -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, images: np.ndarray, labels: np.ndarray, n_classes: int | None = None, *,
            sample_weight: np.ndarray | None = None, targets: np.ndarray | None = None) -> ImageClassifier:
        """Train on ``uint8`` NHWC images with integer labels (``0 .. n_classes - 1``).

        ``sample_weight`` (one non-negative number per image) weights each image's loss: a batch's loss is
        the weighted mean of its images' cross-entropies (None: every image counts the same). ``targets``
        (soft labels: one row of class probabilities per image, e.g. a teacher's) replaces the one-hot
        labels in the cross-entropy (knowledge distillation); ``labels`` still gives the number of classes.
        """
        torch = torch_module()
        labels = np.asarray(labels, dtype=np.int64)
        if len(images) < 2 or len(images) != len(labels):
            raise InputError("The classifier needs at least two images, with one label each.")
        w = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float32)
            if weights.shape != (len(labels),) or not np.isfinite(weights).all() or (weights < 0).any() \
                    or weights.sum() <= 0:
                raise InputError(f"sample_weight needs one finite, non-negative weight per image ({len(labels)}), "
                                 "not all zero.")
            w = torch.from_numpy(weights)
        k = int(n_classes if n_classes is not None else labels.max() + 1)
        soft = None
        if targets is not None:
            t = np.asarray(targets, dtype=np.float32)
            if t.shape != (len(labels), k) or not np.isfinite(t).all() or (t < 0).any() \
                    or not np.allclose(t.sum(axis=1), 1, atol=1e-3):
                raise InputError(f"targets needs one row of {k} class probabilities (non-negative, summing to 1) "
                                 f"per image ({len(labels)}).")
            soft = torch.from_numpy(t)
        seed = 0 if self.random_state is None else int(self.random_state)
        self.classes_ = np.arange(k)
        self.net_ = torch_seeded(torch, seed, lambda: _network(images.shape[3], k))
        x = torch.from_numpy(to_model(images))
        y = torch.from_numpy(labels)
        opt = torch.optim.Adam(self.net_.parameters(), lr=float(self.learning_rate))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(self.learning_rate), total_steps=int(self.steps))
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(seed)

        def train() -> None:
            for _ in range(int(self.steps)):
                idx = torch.from_numpy(rng.integers(0, len(x), size=min(int(self.batch_size), len(x))))
                xb = x[idx]
                shift = torch.randint(-1, 2, (2,), generator=gen).tolist()  # a pixel of jitter against overfitting
                xb = torch.roll(xb, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
                if soft is not None:  # cross-entropy against the soft labels
                    each = -(soft[idx] * torch.log_softmax(self.net_(xb), dim=1)).sum(dim=1)
                elif w is None:
                    each = torch.nn.functional.cross_entropy(self.net_(xb), y[idx])
                else:
                    each = torch.nn.functional.cross_entropy(self.net_(xb), y[idx], reduction="none")
                loss = each.mean() if w is None else (each * w[idx]).sum() / w[idx].sum().clamp_min(1e-12)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()

        self.net_.train()
        torch_seeded(torch, seed, train)  # dropout draws from the global generator: seeded in a fork
        self.net_.eval()
        return self

    def _run(self, images: np.ndarray, upto: int | None) -> np.ndarray:
        torch = torch_module()
        if not hasattr(self, "net_"):
            raise NotFittedError("Fit the classifier first.")
        layers = self.net_ if upto is None else self.net_[:upto]
        out = []
        with torch.no_grad():
            for lo in range(0, len(images), 512):
                out.append(layers(torch.from_numpy(to_model(images[lo:lo + 512]))).numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURES if upto else len(self.classes_)))

    def features(self, images: np.ndarray) -> np.ndarray:
        """The 64 pooled features of each image (the layer before the class scores)."""
        return self._run(images, upto=len(self.net_) - 2)

    def predict_proba(self, images: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Class probabilities: the softmax of the class scores divided by ``temperature`` (> 1: softer)."""
        logits = self._run(images, upto=None) / float(temperature)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(images).argmax(axis=1)])
