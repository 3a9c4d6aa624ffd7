"""The image uplift experiment: a small CNN trained on a few real images per class, alone and with
classic augmentation, synthetic images, or both, scored on a held-out real test set over repeats.

The result is the same :class:`~simulacra.augment.uplift.UpliftResult` as for tables and text, with the
same verdict rule (a gain counts when it exceeds the seed-to-seed noise); every method is judged against
real-only and, when classic augmentation is in the plan, against classic augmentation too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.images.data import ImageSet

#: The methods of the image uplift experiment.
METHODS = ("none", "classic", "synth", "classic+synth")


def draw_per_class(data: ImageSet, per_class: int | None, seed: int) -> ImageSet:
    """``per_class`` images of every class drawn at random (all of them for None)."""
    if per_class is None:
        return data
    rng = np.random.default_rng(seed)
    idx = []
    for c in range(len(data.classes)):
        own = np.flatnonzero(data.labels == c)
        if len(own) < per_class:
            raise InputError(f"Class {data.classes[c]!r} has {len(own)} training images, fewer than the "
                             f"{per_class} per class asked; lower per_class.")
        idx.append(rng.choice(own, size=per_class, replace=False))
    return data.subset(np.sort(np.concatenate(idx)))


def _join(*sets: ImageSet) -> ImageSet:
    return ImageSet(np.concatenate([s.images for s in sets]), np.concatenate([s.labels for s in sets]), list(sets[0].classes))


def run_image_uplift(train: ImageSet, test: ImageSet, *, methods: Sequence[str] = METHODS, per_class: int | None = 10,
                     repeats: int = 5, seed: int = 0, classic: Sequence[str] | str = ("rotate", "shift", "crop"),
                     classic_per_image: int = 4, synth_per_image: int = 4, generator: str = "diffusion",
                     generator_params: dict[str, Any] | None = None, classifier_steps: int | None = None,
                     progress: Callable[[str], None] | None = None) -> Any:
    """Accuracy (and the other uplift metrics) of a small CNN on ``test`` for each method and repeat.

    Each repeat draws ``per_class`` training images per class; classic augmentation adds
    ``classic_per_image`` copies of each, and the generator (fitted on that repeat's images only, never on
    the test set) adds ``synth_per_image`` synthetic images per real one, in the same classes. The CNN
    gets the same number of training steps in every arm (``classifier_steps``; default: three per real
    image of a repeat, between 60 and 400).
    """
    from simulacra.augment.models import classification_metrics
    from simulacra.augment.uplift import UpliftResult
    from simulacra.images.augment import augment_images, parse_methods
    from simulacra.images.cnn import ImageClassifier, auto_steps
    from simulacra.images.registry import make_generator

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown method(s) {', '.join(unknown)}; available: {', '.join(METHODS)}")
    if test.classes != train.classes:
        raise InputError(f"The test set's classes ({', '.join(test.classes[:10])}) differ from the training set's "
                         f"({', '.join(train.classes[:10])}); give folders with the same class sub-folders.")
    if repeats < 1:
        raise InputError("repeats must be at least 1.")
    classic_names = parse_methods(classic)
    plan = list(dict.fromkeys(["none", *methods]))
    classes = np.asarray(train.classes, dtype=object).astype(str)
    minority = classes[0]
    y_test = classes[test.labels]
    steps = classifier_steps or auto_steps(len(train) if per_class is None else per_class * len(classes), 400)
    rows = []
    for r in range(repeats):
        s = seed + r
        part = draw_per_class(train, per_class, s)
        made: dict[str, ImageSet] = {}
        for method in plan:
            if progress:
                progress(f"repeat {r + 1}/{repeats}: {method}")
            start = time.perf_counter()
            sets = [part]
            if "classic" in method.split("+"):
                made.setdefault("classic", augment_images(part, classic_names, per_image=classic_per_image, random_state=s))
                sets.append(made["classic"])
            if "synth" in method.split("+"):
                if "synth" not in made:
                    gen = make_generator(generator, **{"random_state": s, **(generator_params or {})}).fit(part)
                    made["synth"] = gen.sample(synth_per_image * len(part), random_state=s)
                sets.append(made["synth"])
            data = _join(*sets)
            clf = ImageClassifier(steps=steps, random_state=s).fit(data.images, data.labels, len(classes))
            scores = classification_metrics(y_test, clf.predict_proba(test.images), classes, minority)
            rows.append({"method": method, "ratio": np.nan, "repeat": r, "seed": s, **scores,
                         "n_real": len(part), "n_train": len(data), "seconds": round(time.perf_counter() - start, 3)})
    info = {"model": f"small CNN ({steps} Adam steps)", "per_class": per_class, "n_train": len(train),
            "n_test": len(test), "repeats": repeats, "classic": ",".join(classic_names),
            "classic_per_image": classic_per_image, "generator": generator, "synth_per_image": synth_per_image,
            "generator_params": dict(generator_params or {})}
    baselines = ("none", "classic") if "classic" in plan else ("none",)
    return UpliftResult("image", pd.DataFrame(rows), info, headline="accuracy", baselines=baselines)
