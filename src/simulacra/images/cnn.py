"""A small convolutional classifier: the feature space of the image evaluation and the downstream model
of the image uplift experiment. Trained here, on the user's images, so nothing is downloaded."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulacra.errors import InputError, NotFittedError
from simulacra.images.base import resolve_device, torch_module
from simulacra.images.data import to_model
from simulacra.random import torch_seeded

#: Size of the feature vector (the layer before the class scores).
FEATURES = 64
#: The ways of mixing the images of a batch (with their labels) in training.
MIXES = ("none", "mixup", "cutmix")


def _network(channels: int, n_classes: int) -> Any:
    nn = torch_module().nn
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, FEATURES, 3, padding=1), nn.BatchNorm2d(FEATURES), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(FEATURES, n_classes),
    )


def _mix_batch(torch: Any, xb: Any, tb: Any, wb: Any, how: str, alpha: float,
               rng: np.random.Generator) -> tuple[Any, Any, Any]:
    """A batch mixed in pairs (each image with one of a random permutation): the images by mixup or cutmix,
    the label rows and the weights (when given) in the same proportion."""
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(len(xb))).to(xb.device)
    if how == "mixup":
        xb = lam * xb + (1 - lam) * xb[perm]
    else:  # cutmix: a box of the partner, of area about 1 - lam, at a random place
        h, w = xb.shape[2], xb.shape[3]
        bh, bw = int(round(h * math.sqrt(1 - lam))), int(round(w * math.sqrt(1 - lam)))
        top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        xb = xb.clone()
        xb[:, :, top:top + bh, left:left + bw] = xb[perm][:, :, top:top + bh, left:left + bw]
        lam = 1 - bh * bw / (h * w)  # the share actually kept
    tb = lam * tb + (1 - lam) * tb[perm]
    return xb, tb, None if wb is None else lam * wb + (1 - lam) * wb[perm]


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

    ``mix`` mixes the images of each batch in pairs, with their labels mixed in the same proportion
    (``"mixup"``: a weighted mean of the two images; ``"cutmix"``: a box of one pasted into the other), the
    proportion drawn from Beta(``mix_alpha``, ``mix_alpha``). ``swa`` > 0 spends that share of the steps on
    stochastic weight averaging: the one-cycle schedule runs over the other steps, then the learning rate
    stays at ``swa_lr`` (default: a tenth of ``learning_rate``) and the network kept is the mean of the
    weights after each of those steps, with its batch-norm statistics recomputed on the training images.

    ``device`` (``"auto"``: a CUDA GPU when torch sees one, else the CPU; ``"cpu"``; ``"cuda"``) is where it
    trains and predicts; the training images go onto it once per fit, and ``predict_proba`` and
    ``features`` return numpy arrays. Random draws (batches, jitter, mixing) are made on the CPU on every
    device; a GPU gives results slightly different from the CPU's (and dropout draws there).

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
                 mix: str = "none", mix_alpha: float = 1.0, swa: float = 0.0, swa_lr: float | None = None,
                 random_state: int | None = None, device: str = "auto") -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.mix = mix
        self.mix_alpha = mix_alpha
        self.swa = swa
        self.swa_lr = swa_lr
        self.random_state = random_state
        self.device = device

    def _device(self) -> Any:
        return resolve_device(self.device)

    def fit(self, images: np.ndarray, labels: np.ndarray, n_classes: int | None = None, *,
            sample_weight: np.ndarray | None = None, targets: np.ndarray | None = None,
            init: ImageClassifier | None = None) -> ImageClassifier:
        """Train on ``uint8`` NHWC images with integer labels (``0 .. n_classes - 1``).

        ``sample_weight`` (one non-negative number per image) weights each image's loss: a batch's loss is
        the weighted mean of its images' cross-entropies (None: every image counts the same). ``targets``
        (soft labels: one row of class probabilities per image, e.g. a teacher's) replaces the one-hot
        labels in the cross-entropy (knowledge distillation); ``labels`` still gives the number of classes.
        ``init`` (a fitted classifier with the same classes and channels) gives the starting weights instead
        of fresh ones: fine-tuning after pre-training.
        """
        torch = torch_module()
        dev = self._device()
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
            w = torch.from_numpy(weights).to(dev)
        k = int(n_classes if n_classes is not None else labels.max() + 1)
        soft = None
        if targets is not None:
            t = np.asarray(targets, dtype=np.float32)
            if t.shape != (len(labels), k) or not np.isfinite(t).all() or (t < 0).any() \
                    or not np.allclose(t.sum(axis=1), 1, atol=1e-3):
                raise InputError(f"targets needs one row of {k} class probabilities (non-negative, summing to 1) "
                                 f"per image ({len(labels)}).")
            soft = torch.from_numpy(t).to(dev)
        self._check_options()
        seed = 0 if self.random_state is None else int(self.random_state)
        self.classes_ = np.arange(k)
        self.net_ = torch_seeded(torch, seed, lambda: _network(images.shape[3], k)).to(dev)  # drawn on the CPU
        if init is not None:
            if not hasattr(init, "net_") or len(init.classes_) != k:
                raise InputError(f"init must be a fitted classifier with the same {k} classes.")
            try:
                self.net_.load_state_dict(init.net_.state_dict())
            except RuntimeError:
                raise InputError("init was fitted on images with another number of channels.") from None
        x = torch.from_numpy(to_model(images)).to(dev)  # on the device once, not per batch
        y = torch.from_numpy(labels).to(dev)
        if self.mix != "none" and soft is None:  # mixing mixes the labels: one-hot rows to mix
            soft = torch.nn.functional.one_hot(y, k).float()
        steps = int(self.steps)
        # at least one averaged step when asked for (a small share of few steps would round to none)
        averaged = min(steps - 1, max(1, int(round(self.swa * steps)))) if self.swa > 0 else 0
        opt = torch.optim.Adam(self.net_.parameters(), lr=float(self.learning_rate))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(self.learning_rate), total_steps=steps - averaged)
        rng = np.random.default_rng(seed)
        mix_rng = np.random.default_rng([seed, 1])  # its own stream: without mixing, the batches are unchanged
        gen = torch.Generator().manual_seed(seed)
        swa_model = None

        def train() -> None:
            nonlocal swa_model
            for step in range(steps):
                idx = torch.from_numpy(rng.integers(0, len(x), size=min(int(self.batch_size), len(x)))).to(dev)
                xb = x[idx]
                shift = torch.randint(-1, 2, (2,), generator=gen).tolist()  # a pixel of jitter against overfitting
                xb = torch.roll(xb, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
                tb = None if soft is None else soft[idx]
                wb = None if w is None else w[idx]
                if self.mix != "none":
                    xb, tb, wb = _mix_batch(torch, xb, tb, wb, self.mix, float(self.mix_alpha), mix_rng)
                if tb is not None:  # cross-entropy against the soft (or mixed) labels
                    each = -(tb * torch.log_softmax(self.net_(xb), dim=1)).sum(dim=1)
                elif w is None:
                    each = torch.nn.functional.cross_entropy(self.net_(xb), y[idx])
                else:
                    each = torch.nn.functional.cross_entropy(self.net_(xb), y[idx], reduction="none")
                loss = each.mean() if wb is None else (each * wb).sum() / wb.sum().clamp_min(1e-12)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if step < steps - averaged:
                    sched.step()
                    continue
                if swa_model is None:  # the averaging phase: a constant learning rate, the weights averaged
                    swa_model = torch.optim.swa_utils.AveragedModel(self.net_)
                    for group in opt.param_groups:
                        group["lr"] = float(self.swa_lr if self.swa_lr is not None else self.learning_rate / 10)
                swa_model.update_parameters(self.net_)
            if swa_model is not None:
                batches = [x[lo:lo + 256] for lo in range(0, len(x), 256)]
                torch.optim.swa_utils.update_bn(batches, swa_model)
                self.net_ = swa_model.module

        self.net_.train()
        torch_seeded(torch, seed, train, device=dev)  # dropout draws from the device's global generator: seeded in a fork
        self.net_.eval()
        return self

    def _check_options(self) -> None:
        if self.mix not in MIXES:
            raise InputError(f"Unknown mix {self.mix!r}; use one of {', '.join(MIXES)}.")
        if not (math.isfinite(self.mix_alpha) and self.mix_alpha > 0):
            raise InputError(f"mix_alpha must be a positive number (the Beta distribution's), got {self.mix_alpha}.")
        if not 0 <= self.swa < 1:
            raise InputError(f"swa is the share of the steps spent averaging weights: at least 0, below 1; got {self.swa}.")
        if self.swa_lr is not None and not (math.isfinite(self.swa_lr) and self.swa_lr > 0):
            raise InputError(f"swa_lr must be a positive learning rate, got {self.swa_lr}.")

    def _run(self, images: np.ndarray, upto: int | None) -> np.ndarray:
        torch = torch_module()
        if not hasattr(self, "net_"):
            raise NotFittedError("Fit the classifier first.")
        dev = self._device()
        layers = (self.net_ if upto is None else self.net_[:upto]).to(dev)
        out = []
        with torch.no_grad():
            for lo in range(0, len(images), 512):
                out.append(layers(torch.from_numpy(to_model(images[lo:lo + 512])).to(dev)).cpu().numpy())
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
