"""Image evaluation with nothing downloaded: distances between real and synthetic images in the feature
space of a small CNN trained here on the real images, manifold precision and recall, per-class accuracy
of that real-trained classifier on the synthetic images, and memorisation (nearest-neighbour distances in
pixel space, against a holdout's).

Why not the Inception FID: the Inception network is a 100 MB download trained on ImageNet photographs;
its features say little about 8x8 digits or any small grey images and cannot be had offline. A CNN
trained on the user's own real images sees what separates their classes. The numbers are therefore
comparable between models evaluated against the same real images (and the same seed), not with FIDs
published elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.images.cnn import ImageClassifier, auto_steps
from simulacra.images.data import ImageSet


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3))
    >>> round(frechet_distance(x, x), 6), frechet_distance(x, x + 2) > 11
    (0.0, True)
    """
    from scipy import linalg

    mu = a.mean(0) - b.mean(0)
    eps = 1e-6 * np.eye(a.shape[1])  # dead features (zero variance) would make the product singular
    ca, cb = np.cov(a, rowvar=False) + eps, np.cov(b, rowvar=False) + eps
    root = linalg.sqrtm(ca @ cb)
    root = np.real(root[0] if isinstance(root, tuple) else root)
    return float(max(0.0, mu @ mu + np.trace(ca + cb - 2 * root)))


def kernel_distance(a: np.ndarray, b: np.ndarray, *, max_n: int = 1000, random_state: int = 0) -> float:
    """Unbiased squared MMD with the cubic polynomial kernel (the KID formula), on up to ``max_n`` of each.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> abs(kernel_distance(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)))) < 0.05
    True
    """
    rng = np.random.default_rng(random_state)
    a = a[rng.permutation(len(a))[:max_n]]
    b = b[rng.permutation(len(b))[:max_n]]
    d = a.shape[1]
    kaa, kbb, kab = ((x @ y.T / d + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    m, n = len(a), len(b)
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * kab.mean())


def precision_recall(real: np.ndarray, synth: np.ndarray, *, k: int = 3) -> tuple[float, float]:
    """Manifold precision (share of synthetic points inside the real k-NN balls) and recall (share of
    real points inside the synthetic balls), after Kynkäänniemi et al. (2019).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 2))
    >>> p, r = precision_recall(x, x * 0.2)      # collapsed: precise, but covers little
    >>> p > 0.9, r < 0.5
    (True, True)
    """
    from sklearn.neighbors import NearestNeighbors

    def radii(x: np.ndarray) -> np.ndarray:
        dist, _ = NearestNeighbors(n_neighbors=min(k + 1, len(x))).fit(x).kneighbors(x)
        return np.asarray(dist[:, -1])

    def inside(points: np.ndarray, centres: np.ndarray, r: np.ndarray) -> float:
        dist, idx = NearestNeighbors(n_neighbors=min(k + 1, len(centres))).fit(centres).kneighbors(points)
        # a point is covered when it lies in the ball of any of its nearest centres
        return float(np.mean((dist <= r[idx]).any(axis=1)))

    return inside(synth, real, radii(real)), inside(real, synth, radii(synth))


def nearest_distance(query: np.ndarray, reference: np.ndarray, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-space Euclidean distance (pixels in [0, 1], divided by sqrt(pixels)) of each query image to
    its nearest reference image, and that image's index."""
    from sklearn.neighbors import NearestNeighbors

    def flat(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype(np.float32) / 255.0

    q, r = flat(query), flat(reference)
    nn = NearestNeighbors(n_neighbors=2 if exclude_self else 1).fit(r)
    dist, idx = nn.kneighbors(q)
    col = 1 if exclude_self else 0
    return dist[:, col] / np.sqrt(r.shape[1]), idx[:, col]


@dataclass
class ImageEvaluation:
    """Scores of synthetic images against real ones (see :func:`evaluate_images`)."""

    scores: dict[str, Any]
    per_class: list[dict[str, Any]]
    memorisation: dict[str, Any]
    reference: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pairs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    grids: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"scores": self.scores, "per_class": self.per_class, "memorisation": self.memorisation,
                "reference": self.reference, "notes": self.notes}

    def to_text(self) -> str:
        from simulacra.images.report import evaluation_text

        return evaluation_text(self)

    def save_html(self, path: Any) -> None:
        from simulacra.evaluate import page
        from simulacra.images.report import evaluation_html

        page.write(path, evaluation_html(self))


def _align(real: ImageSet, synth: ImageSet) -> ImageSet:
    """The synthetic set, its labels mapped to the real class order, at the real resolution and mode."""
    from PIL import Image

    unknown = sorted(set(synth.classes) - set(real.classes))
    if unknown and synth.classes != [""]:
        raise InputError(f"Synthetic class(es) {', '.join(map(repr, unknown[:5]))} are not among the real classes "
                         f"({', '.join(map(repr, real.classes[:10]))}); give folders with the same class names.")
    images = synth.images
    if synth.resolution != real.resolution or synth.channels != real.channels:
        mode = real.mode
        out = []
        for a in images:
            im = Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a).convert(mode)
            im = im.resize((real.resolution, real.resolution), Image.Resampling.LANCZOS)
            b = np.asarray(im, dtype=np.uint8)
            out.append(b[:, :, None] if b.ndim == 2 else b)
        images = np.stack(out)
    labels = (np.full(len(synth), -1) if synth.classes == [""] and real.classes != [""]
              else np.array([real.classes.index(synth.classes[k]) for k in synth.labels]))
    return ImageSet(images, labels, list(real.classes))


def evaluate_images(real: ImageSet, synth: ImageSet, *, holdout: ImageSet | None = None, k: int = 3,
                    classifier_steps: int | None = None, random_state: int = 0, device: str = "auto") -> ImageEvaluation:
    """Compare synthetic images with the real (training) images.

    ``holdout``: real images the generator never saw; it gives the reference values (what a fresh real
    sample scores) and the memorisation baseline. ``classifier_steps``: training steps of the feature
    CNN (default: three per real image, between 60 and 600). Without it, a fifth of ``real`` is held out for the
    reference, and memorisation is compared with each real image's distance to its nearest other one.
    ``device``: where the feature CNN trains (``"auto"``, ``"cpu"``, ``"cuda"``; see :class:`ImageClassifier`).
    """
    if len(synth) < 2:
        raise InputError(f"{len(synth)} synthetic image(s) are too few to evaluate; give at least 2.")
    synth = _align(real, synth)
    notes = [
        "Distances are measured in the feature space of a small CNN trained here on the real images, not "
        "Inception features: nothing is downloaded and the features fit small images; compare models "
        "against the same real images, not with published FIDs.",
    ]
    if holdout is not None:
        holdout = _align(real, holdout)
        train_real = real
        seen = {a.tobytes() for a in real.images}
        shared = sum(a.tobytes() in seen for a in holdout.images)
        if shared:
            notes.append(f"{shared:,} of the {len(holdout):,} holdout images ({shared / len(holdout):.0%}) are also among "
                         "the real images, pixel for pixel: the reference scores and the memorisation baseline then "
                         "compare the real images with themselves; give a holdout kept apart from the training images.")
    else:
        train_real, holdout = real.split(0.2, random_state=random_state)
        notes.append("No holdout was given: a fifth of the real images was held out from the feature classifier "
                     "for the reference scores; memorisation uses each real image's nearest other real image.")
    clf = ImageClassifier(steps=classifier_steps or auto_steps(len(train_real), 600), random_state=random_state,
                          device=device)
    clf.fit(train_real.images, train_real.labels, n_classes=len(real.classes))
    f_real, f_syn, f_hold = (clf.features(s.images) for s in (train_real, synth, holdout))
    precision, recall = precision_recall(f_real, f_syn, k=k)
    scores: dict[str, Any] = {
        "n_real": len(train_real), "n_synthetic": len(synth),
        "frechet_distance": frechet_distance(f_real, f_syn), "kernel_distance": kernel_distance(f_real, f_syn),
        "precision": precision, "recall": recall,
    }
    ref_p, ref_r = precision_recall(f_real, f_hold, k=k)
    reference: dict[str, Any] = {"n_holdout": len(holdout), "frechet_distance": frechet_distance(f_real, f_hold),
                                 "kernel_distance": kernel_distance(f_real, f_hold), "precision": ref_p, "recall": ref_r,
                                 "class_accuracy": float(np.mean(clf.predict(holdout.images) == holdout.labels))}
    per_class: list[dict[str, Any]] = []
    if (synth.labels >= 0).all():
        pred = clf.predict(synth.images)
        scores["class_accuracy"] = float(np.mean(pred == synth.labels))
        for c, name in enumerate(real.classes):
            mask = synth.labels == c
            hold = holdout.labels == c
            per_class.append({"class": name, "n": int(mask.sum()),
                              "accuracy": float(np.mean(pred[mask] == c)) if mask.any() else None,
                              "holdout_accuracy": float(np.mean(clf.predict(holdout.images[hold]) == c)) if hold.any() else None})
    else:
        notes.append("The synthetic images carry no class (a flat folder): per-class accuracy is not measured.")
    memo = _memorisation(real, synth, holdout if train_real is real else None)
    pairs_idx = np.argsort(memo.pop("_syn_dist"))[:12]
    near = memo.pop("_syn_index")
    rng = np.random.default_rng(random_state)
    return ImageEvaluation(
        scores, per_class, memo, reference, notes,
        pairs={"synthetic": synth.images[pairs_idx], "real": real.images[near[pairs_idx]]},
        grids={"real": _per_class_grid(real, rng), "synthetic": _per_class_grid(synth, rng), "classes": real.classes},
    )


def _memorisation(train: ImageSet, synth: ImageSet, holdout: ImageSet | None) -> dict[str, Any]:
    d_syn, i_syn = nearest_distance(synth.images, train.images)
    if holdout is not None:
        d_ref, _ = nearest_distance(holdout.images, train.images)
        ref = "holdout"
    else:
        d_ref, _ = nearest_distance(train.images, train.images, exclude_self=True)
        ref = "real (leave one out)"
    p5 = float(np.quantile(d_ref, 0.05))
    syn_median, ref_median = float(np.median(d_syn)), float(np.median(d_ref))
    share = float(np.mean(d_syn < p5))
    # "no closer": the typical synthetic image is as far from the training images as a fresh real one
    # (within 5 %, the sampling noise of a median), and few synthetic images are unusually close
    return {"reference": ref, "synthetic_median": syn_median, "reference_median": ref_median,
            "synthetic_p5": float(np.quantile(d_syn, 0.05)), "reference_p5": p5,
            "share_closer_than_reference_p5": share, "exact_copies": int(np.sum(d_syn < 1e-3)),
            "no_closer_than_reference": bool(syn_median >= 0.95 * ref_median and share <= 0.10),
            "_syn_dist": d_syn, "_syn_index": i_syn}


def _per_class_grid(data: ImageSet, rng: np.random.Generator, per_class: int = 8) -> np.ndarray:
    """Up to ``per_class`` images of each class, a row per class (blank cells where a class has fewer)."""
    classes = max(1, len(data.classes))
    cells = np.full((classes, per_class, *data.images.shape[1:]), 255, np.uint8)
    for c in range(classes):
        idx = np.flatnonzero(data.labels == c) if data.labels.min() >= 0 else np.arange(len(data))
        take = rng.permutation(idx)[:per_class]
        cells[c, :len(take)] = data.images[take]
    return cells
