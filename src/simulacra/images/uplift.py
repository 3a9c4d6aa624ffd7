"""The image uplift experiment: a small CNN trained on a few real images per class, alone and with
classic augmentation, synthetic images, or both, scored on a held-out real test set over repeats.

The result is the same :class:`~simulacra.augment.uplift.UpliftResult` as for tables and text, with the
same verdict rule (a gain counts when it exceeds the seed-to-seed noise); every method is judged against
real-only and, when classic augmentation is in the plan, against classic augmentation too.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.images.data import ImageSet

#: The methods of the image uplift experiment.
METHODS = ("none", "classic", "synth", "classic+synth")
#: Two-stage training of the arms with synthetic images: none (one stage on everything), pre-training on
#: the synthetic images alone or on the whole arm, then fine-tuning on the real images (and classic copies).
PRETRAIN = ("none", "synth", "all")
#: The arms that get the training levers (mixing, weight averaging): those with synthetic images, or all.
LEVERS_ON = ("synth", "all")


def draw_per_class(data: ImageSet, per_class: int | None, seed: int) -> ImageSet:
    """``per_class`` images of every class drawn at random (all of them for None)."""
    return data if per_class is None else data.subset(draw_indices(data, per_class, seed))


def draw_indices(data: ImageSet, per_class: int, seed: int) -> np.ndarray:
    """The sorted positions of the images :func:`draw_per_class` draws (the rest can validate a choice)."""
    rng = np.random.default_rng(seed)
    idx = []
    for c in range(len(data.classes)):
        own = np.flatnonzero(data.labels == c)
        if len(own) < per_class:
            raise InputError(f"Class {data.classes[c]!r} has {len(own)} training images, fewer than the "
                             f"{per_class} per class asked; lower per_class.")
        idx.append(rng.choice(own, size=per_class, replace=False))
    return np.sort(np.concatenate(idx))


def _join(*sets: ImageSet) -> ImageSet:
    return ImageSet(np.concatenate([s.images for s in sets]), np.concatenate([s.labels for s in sets]), list(sets[0].classes))


def classifier_steps_for(n_images: int, epochs: int, batch_size: int = 64, least: int = 60) -> int:
    """Adam steps for ``epochs`` passes over ``n_images`` in batches of ``batch_size`` (at least ``least``).

    Examples
    --------
    >>> classifier_steps_for(100, 150), classifier_steps_for(900, 150), classifier_steps_for(10, 150)
    (235, 2110, 60)
    """
    return int(max(least, math.ceil(epochs * n_images / batch_size)))


def keep_confident(synth: ImageSet, judge: Any, per_class: np.ndarray) -> ImageSet:
    """Of each class's synthetic images, the ``per_class[c]`` that ``judge`` (a classifier trained on real
    images) gives the highest probability of their own class, among those it puts in that class."""
    proba = judge.predict_proba(synth.images)
    own = proba[np.arange(len(synth)), synth.labels]
    right = proba.argmax(axis=1) == synth.labels
    keep = []
    for c, k in enumerate(per_class):
        idx = np.flatnonzero((synth.labels == c) & right)
        keep.append(idx[np.argsort(-own[idx], kind="stable")][: int(k)])
    return synth.subset(np.sort(np.concatenate(keep)))


def _synthetic(part: ImageSet, classic: ImageSet | None, s: int, *, generator: str, params: dict[str, Any],
               per_image: int, oversample: float, epochs: int, device: str = "auto") -> tuple[ImageSet, int]:
    """The synthetic images of one repeat, and how many the filter dropped (drawn minus kept)."""
    from simulacra.images.cnn import ImageClassifier
    from simulacra.images.registry import make_generator

    fit_on = part if classic is None else _join(part, classic)
    gen = make_generator(generator, **{"random_state": s, "device": device, **params}).fit(fit_on)
    wanted = per_image * np.bincount(part.labels, minlength=len(part.classes))
    if oversample <= 1:
        return gen.sample(int(wanted.sum()), random_state=s), 0
    drawn = gen.sample(int(np.ceil(oversample * wanted.sum())), random_state=s)
    judge = ImageClassifier(steps=classifier_steps_for(len(fit_on), epochs), random_state=s, device=device)
    kept = keep_confident(drawn, judge.fit(fit_on.images, fit_on.labels, len(part.classes)), wanted)
    return kept, len(drawn) - len(kept)


def train_teachers(fit_on: ImageSet, teachers: int, *, seed: int, steps: int, device: str = "auto") -> list[Any]:
    """``teachers`` CNNs trained on ``fit_on`` with seeds ``seed``, ``seed + 1``, ... (``steps`` each)."""
    from simulacra.images.cnn import ImageClassifier

    return [ImageClassifier(steps=steps, random_state=seed + i, device=device).fit(
                fit_on.images, fit_on.labels, len(fit_on.classes))
            for i in range(teachers)]


def soft_labels(teachers: Sequence[Any], images: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The mean of the teachers' class probabilities at ``temperature``: the soft labels of distillation."""
    return np.asarray(np.mean([t.predict_proba(images, temperature=temperature) for t in teachers], axis=0))


def train_student(data: ImageSet, n_synth: int, *, pretrain: str, steps_for: Callable[[int], int], seed: int,
                  weight: np.ndarray | None = None, targets: np.ndarray | None = None, fine_targets: bool = False,
                  **cnn: Any) -> tuple[Any, int]:
    """The CNN of one arm, and its steps. ``data`` ends with its ``n_synth`` synthetic images.

    ``pretrain`` "none": one stage on all of ``data``. "synth" or "all": a first stage on the synthetic images
    (or on all of ``data``), then a fine-tune, from those weights, on the images before the synthetic ones
    (the real images and classic copies) with the budget of an arm without synthetic images. ``steps_for``
    gives each stage's steps from its number of images; the fine-tune keeps the real images' soft labels
    only with ``fine_targets`` (distilled real images), otherwise their hard labels. An arm with a single
    synthetic image (too few to pre-train on) is trained in one stage, with a warning.
    """
    from simulacra.images.cnn import ImageClassifier

    k = len(data.classes)
    if pretrain == "synth" and n_synth == 1:  # (the filter of synth_oversample may keep that few)
        warnings.warn("pretrain='synth': one synthetic image in this arm, too few to pre-train on; the arm is "
                      "trained in one stage.", UserWarning, stacklevel=2)
    if pretrain == "none" or n_synth == 0 or (pretrain == "synth" and n_synth < 2):
        steps = steps_for(len(data))
        clf = ImageClassifier(steps=steps, random_state=seed, **cnn).fit(data.images, data.labels, k,
                                                                        sample_weight=weight, targets=targets)
        return clf, steps
    head = len(data) - n_synth  # the real images and classic copies come first
    first = slice(head, None) if pretrain == "synth" else slice(None)
    pre_steps, fine_steps = steps_for(len(data.images[first])), steps_for(head)
    pre = ImageClassifier(steps=pre_steps, random_state=seed, **cnn).fit(
        data.images[first], data.labels[first], k, sample_weight=None if weight is None else weight[first],
        targets=None if targets is None else targets[first])
    clf = ImageClassifier(steps=fine_steps, random_state=seed, **cnn).fit(
        data.images[:head], data.labels[:head], k, targets=targets[:head] if targets is not None and fine_targets
        else None, init=pre)
    return clf, pre_steps + fine_steps


def run_image_uplift(train: ImageSet, test: ImageSet, *, methods: Sequence[str] = METHODS, per_class: int | None = 10,
                     repeats: int = 5, seed: int = 0, classic: Sequence[str] | str = ("rotate", "shift", "crop"),
                     classic_per_image: int = 4, synth_per_image: int = 4, generator: str = "diffusion",
                     generator_params: dict[str, Any] | None = None, generator_on_classic: bool = False,
                     synth_oversample: float = 1.0, classifier_epochs: int = 100,
                     classifier_steps: int | None = None, synth_weight: float = 1.0, synth_classic: bool = False,
                     teachers: int = 0, teacher_temperature: float = 1.0, distill_real: bool = False,
                     pretrain: str = "none", mix: str = "none", mix_alpha: float = 1.0, swa: float = 0.0,
                     levers_on: str = "synth", device: str = "auto",
                     progress: Callable[[str], None] | None = None) -> Any:
    """Accuracy (and the other uplift metrics) of a small CNN on ``test`` for each method and repeat.

    Each repeat draws ``per_class`` training images per class; classic augmentation adds
    ``classic_per_image`` copies of each, and the generator (fitted on that repeat's images only, never on
    the test set) adds ``synth_per_image`` synthetic images per real one, in the same classes.

    Every arm of a repeat starts from the same draw and the same CNN seed (the verdicts pair arms by
    repeat). The CNN makes ``classifier_epochs`` passes over its own training set in every arm (a fixed
    number of steps would give the larger augmented sets fewer passes); ``classifier_steps`` fixes the
    steps instead. ``generator_on_classic`` fits the generator on the real images plus their classic
    copies (the same copies as the classic arm's), so it sees more than the few real images;
    ``synth_oversample`` > 1 draws that many times the synthetic images needed and keeps, per class, those
    a CNN trained on the generator's training images labels as their class with the highest probability.
    ``synth_weight`` weights each synthetic image's loss in the CNN against 1 for a real image or a classic
    copy (e.g. 0.5: a synthetic digit counts half); ``synth_classic`` puts each synthetic image through the
    classic transforms too (one transformed copy in its place, so the number of images is unchanged).

    ``teachers`` >= 1 labels the synthetic images with soft labels (knowledge distillation) instead of the
    generator's class: the mean class probabilities, at ``teacher_temperature``, of that many CNNs (seeds
    r, r + 1, ...) trained on what the generator was fitted on (the repeat's real images, plus their
    classic copies with ``generator_on_classic``), each with the budget of a CNN on that set; the arms
    with synthetic images then train on the cross-entropy against those probabilities. ``distill_real``
    gives the real images and classic copies of those arms the teachers' probabilities too (the arms
    without synthetic images keep their hard labels).

    How the CNN uses the synthetic images: ``pretrain`` "synth" (or "all") trains the arms with synthetic
    images in two stages, first on the synthetic images (or on the whole arm), then a fine-tune on the real
    images and classic copies with the budget of the arm without synthetic images (see
    :func:`train_student`); ``mix`` ("mixup" or "cutmix", Beta(``mix_alpha``, ``mix_alpha``)) mixes the
    images of each batch in pairs, labels mixed alike, so real, classic and synthetic images blend; ``swa``
    (a share of the steps) ends training with stochastic weight averaging. ``levers_on`` "synth" gives the
    mixing and the averaging to the arms with synthetic images only; "all" to every arm (the control: is a
    gain the synthetic images' or the training's?).

    ``device`` is where every network of the experiment trains (the generators, the filter's and teachers'
    CNNs, the students): ``"auto"`` (a CUDA GPU when torch sees one), ``"cpu"`` or ``"cuda"``. The CPU gives
    the same figures for the same seeds; a GPU slightly different ones. The result's ``info`` names it.
    """
    from simulacra.augment.models import classification_metrics
    from simulacra.augment.uplift import UpliftResult
    from simulacra.images.augment import augment_images, parse_methods
    from simulacra.images.base import device_name, resolve_device
    from simulacra.images.cnn import ImageClassifier

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown method(s) {', '.join(unknown)}; available: {', '.join(METHODS)}")
    if test.classes != train.classes:
        raise InputError(f"The test set's classes ({', '.join(test.classes[:10])}) differ from the training set's "
                         f"({', '.join(train.classes[:10])}); give folders with the same class sub-folders.")
    if repeats < 1:
        raise InputError("repeats must be at least 1.")
    if classifier_epochs < 1 or (classifier_steps is not None and classifier_steps < 1):
        raise InputError("classifier_epochs (and classifier_steps, when given) must be at least 1.")
    if not (math.isfinite(synth_weight) and synth_weight > 0):
        raise InputError(f"synth_weight must be a positive number (1: a synthetic image counts as a real one), "
                         f"got {synth_weight}.")
    if teachers < 0 or not (math.isfinite(teacher_temperature) and teacher_temperature > 0):
        raise InputError(f"teachers must be 0 (hard labels) or more, and teacher_temperature a positive number; "
                         f"got {teachers} and {teacher_temperature}.")
    if distill_real and not teachers:
        raise InputError("distill_real needs teachers >= 1 (the CNNs whose probabilities label the images).")
    if synth_oversample < 1:
        raise InputError(f"synth_oversample must be at least 1 (1: no filtering), got {synth_oversample}.")
    if pretrain not in PRETRAIN or levers_on not in LEVERS_ON:
        raise InputError(f"pretrain must be one of {', '.join(PRETRAIN)} and levers_on one of {', '.join(LEVERS_ON)}; "
                         f"got {pretrain!r} and {levers_on!r}.")
    levers: dict[str, Any] = {"mix": mix, "mix_alpha": mix_alpha, "swa": swa}
    ImageClassifier(**levers)._check_options()  # refused now, not after the generators are fitted
    where = resolve_device(device)  # likewise an unusable device

    def steps_for(n: int) -> int:  # a CNN's budget on n images, the same rule for teachers and students
        return classifier_steps or classifier_steps_for(n, classifier_epochs)

    classic_names = parse_methods(classic)
    plan = list(dict.fromkeys(["none", *methods]))
    classes = np.asarray(train.classes, dtype=object).astype(str)
    minority = classes[0]
    y_test = classes[test.labels]
    rows = []
    for r in range(repeats):
        s = seed + r
        part = draw_per_class(train, per_class, s)
        made: dict[str, ImageSet] = {}
        trained: list[Any] = []
        dropped = 0
        for method in plan:
            if progress:
                progress(f"repeat {r + 1}/{repeats}: {method}")
            start = time.perf_counter()
            parts = method.split("+")
            sets = [part]
            if "classic" in parts or ("synth" in parts and generator_on_classic):
                made.setdefault("classic", augment_images(part, classic_names, per_image=classic_per_image, random_state=s))
            if "classic" in parts:
                sets.append(made["classic"])
            if "synth" in parts:
                if "synth" not in made:
                    made["synth"], dropped = _synthetic(
                        part, made["classic"] if generator_on_classic else None, s, generator=generator,
                        params=dict(generator_params or {}), per_image=synth_per_image, oversample=synth_oversample,
                        epochs=classifier_epochs, device=device)
                    if synth_classic:
                        made["synth"] = augment_images(made["synth"], classic_names, per_image=1, random_state=s)
                sets.append(made["synth"])
            data = _join(*sets)
            weight = None
            if "synth" in parts and synth_weight != 1:
                weight = np.ones(len(data), np.float32)
                weight[len(data) - len(made["synth"]):] = synth_weight  # the synthetic images come last
            targets = None
            if "synth" in parts and teachers:
                if not trained:  # the teachers see what the generator saw, and are trained once per repeat
                    fit_on = _join(part, made["classic"]) if generator_on_classic else part
                    trained = train_teachers(fit_on, teachers, seed=s, steps=steps_for(len(fit_on)), device=device)
                targets = np.concatenate([
                    soft_labels(trained, b.images, teacher_temperature) if b is made["synth"] or distill_real
                    else np.eye(len(classes))[b.labels] for b in sets])
            n_synth = len(made["synth"]) if "synth" in parts else 0
            clf, steps = train_student(
                data, n_synth, pretrain=pretrain, steps_for=steps_for, seed=s, weight=weight, targets=targets,
                fine_targets=distill_real, device=device, **(levers if n_synth or levers_on == "all" else {}))
            scores = classification_metrics(y_test, clf.predict_proba(test.images), classes, minority)
            rows.append({"method": method, "ratio": np.nan, "repeat": r, "seed": s, **scores,
                         "n_real": len(part), "n_train": len(data), "cnn_steps": steps,
                         "synth_dropped": dropped if "synth" in parts else 0,
                         "seconds": round(time.perf_counter() - start, 3)})
    budget = f"{classifier_steps} Adam steps in every arm" if classifier_steps else f"{classifier_epochs} epochs in every arm"
    info = {"model": f"small CNN ({budget})", "per_class": per_class, "n_train": len(train),
            "n_test": len(test), "repeats": repeats, "classic": ",".join(classic_names),
            "classic_per_image": classic_per_image, "generator": generator, "synth_per_image": synth_per_image,
            "generator_params": dict(generator_params or {}), "generator_on_classic": generator_on_classic,
            "synth_oversample": synth_oversample, "classifier_epochs": None if classifier_steps else classifier_epochs,
            "classifier_steps": classifier_steps, "synth_weight": synth_weight, "synth_classic": synth_classic,
            "teachers": teachers, "teacher_temperature": teacher_temperature, "distill_real": distill_real,
            "pretrain": pretrain, "mix": mix, "mix_alpha": mix_alpha, "swa": swa, "levers_on": levers_on,
            "device": device_name(where)}
    baselines = ("none", "classic") if "classic" in plan else ("none",)
    return UpliftResult("image", pd.DataFrame(rows), info, headline="accuracy", baselines=baselines)
