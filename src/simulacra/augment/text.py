"""Generative text augmentation: LLM paraphrases and new labelled examples, per-class quotas, and the
label-consistency filter (a classifier trained on the real data rejects generated examples it
confidently assigns to another class)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import BackendError, InputError, ShortfallError


class LabelConsistencyFilter:
    """Rejects generated examples that a classifier trained on the real examples confidently puts in
    another class (probability of some other class >= ``threshold``).

    Examples
    --------
    >>> f = LabelConsistencyFilter(threshold=0.6).fit(["good fun", "great fun", "bad dull", "awful dull"] * 5,
    ...                                                ["pos", "pos", "neg", "neg"] * 5)
    >>> f.keep(["great good fun", "awful bad dull"], ["pos", "pos"]).tolist()
    [True, False]
    """

    def __init__(self, *, threshold: float = 0.6, random_state: int | None = None) -> None:
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, texts: Iterable[str], labels: Iterable[Any]) -> LabelConsistencyFilter:
        from simulacra.augment.models import fit_text_model

        texts_s, labels_s = pd.Series(list(texts)), pd.Series(list(labels))
        if labels_s.nunique() < 2:
            raise InputError("The label-consistency filter needs real examples of at least two classes.")
        # class-balanced: a classifier biased towards the majority would reject the minority's new examples
        self.model_ = fit_text_model(texts_s, labels_s, seed=self.random_state or 0, class_weight="balanced")
        return self

    def keep(self, texts: Iterable[str], labels: Iterable[Any]) -> np.ndarray:
        """True for each example to keep."""
        texts_l = [str(t) for t in texts]
        if not texts_l:
            return np.zeros(0, dtype=bool)
        proba = self.model_.predict_proba(texts_l)
        classes = np.asarray(self.model_.classes_).astype(str)
        own = np.asarray([str(x) for x in labels])[:, None] == classes[None, :]
        other_best = np.where(own, 0.0, proba).max(axis=1)
        return other_best < self.threshold


def class_quotas(counts: pd.Series, *, per_example: int = 1, balance: bool = False) -> dict[Any, int]:
    """New examples to make per class: ``per_example`` per real one, or (``balance``) enough to bring
    every class to the size of the largest.

    Examples
    --------
    >>> class_quotas(pd.Series({"ham": 10, "spam": 3}), balance=True)
    {'ham': 0, 'spam': 7}
    """
    if balance:
        top = int(counts.max())
        return {k: top - int(v) for k, v in counts.items()}
    return {k: per_example * int(v) for k, v in counts.items()}


def llm_augment(data: pd.DataFrame, text: str, label: str, generator: Any, *, mode: str = "paraphrase",
                per_example: int = 1, balance: bool = False, filter_threshold: float | None = 0.6,
                n_shots: int = 5, max_tries: int = 3, random_state: int | None = None,
                source_column: str | None = "augmentation",
                progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The real rows plus LLM-made rows: paraphrases of real examples or new examples of each class.

    Per-class quotas come from :func:`class_quotas`. ``generator`` is a :class:`simulacra.text.Engine`, an
    LLM backend, or a backend's description (``'local'`` for the embedded model, a ``.gguf`` path, an
    OpenAI-compatible URL, ``'fake'`` for tests); generation runs through the engine (cache, structured
    output, retries) and the text task :func:`simulacra.text.tasks.paraphrase.augment_labelled`. Slots
    left empty or filled with a copy are asked again, up to ``max_tries`` rounds. The label-consistency
    filter then drops examples the real-data classifier puts in another class. ``result.attrs['report']``
    counts rows requested, made, unfilled, rejected (by reason) and kept.

    Examples
    --------
    >>> df = pd.DataFrame({"t": ["good fun", "bad dull", "great fun"], "y": ["p", "n", "p"]})
    >>> out = llm_augment(df, "t", "y", "fake", filter_threshold=None, random_state=0)
    >>> len(out), out.attrs["report"]["kept"]
    (6, 3)
    """
    from simulacra.text.tasks.paraphrase import COPY, EMPTY, augment_labelled

    for col in (text, label):
        if col not in data.columns:
            raise InputError(f"Column '{col}' is not in the table; columns are: {', '.join(map(str, data.columns))}")
    if mode not in ("paraphrase", "new"):
        raise InputError(f"mode must be 'paraphrase' or 'new', got {mode!r}")
    engine = as_text_engine(generator)
    rng = np.random.default_rng(random_state)
    real = data.reset_index(drop=True)
    quotas = class_quotas(real[label].value_counts(sort=False), per_example=per_example, balance=balance)
    slots: list[int] = []  # the real row each new example comes from (paraphrase) or is labelled like
    for cls, quota in quotas.items():
        pool = np.flatnonzero((real[label] == cls).to_numpy())
        if quota:
            slots.extend(int(i) for i in (pool[np.arange(quota) % len(pool)] if mode == "paraphrase"
                                          else rng.choice(pool, size=quota)))
    report = {"requested": len(slots), "made": 0, "unfilled": 0, "empty": 0, "copy_or_duplicate": 0,
              "label_inconsistent": 0}
    texts = real[text].astype(str).tolist()
    labels = real[label].tolist()
    made: list[dict[str, Any]] = []
    todo = list(slots)
    for _round in range(max(1, max_tries)):
        if not todo:
            break
        res = augment_labelled(texts + [m[text] for m in made], labels + [m[label] for m in made], todo, mode=mode,
                               n_shots=n_shots, seed=int(rng.integers(2**31 - 1)), engine=engine)
        for stage in res.stages:
            report["empty"] += stage.filtered.get(EMPTY, 0)
            report["copy_or_duplicate"] += stage.filtered.get(COPY, 0)
        filled = Counter(r["source"] for r in res.records)
        made += [{**real.iloc[r["source"]].to_dict(), text: r["text"]} for r in res.records]
        left = []
        for i in todo:  # a slot counts as filled once per record made from it
            if filled[i]:
                filled[i] -= 1
            else:
                left.append(i)
        todo = left
        if progress:
            progress(len(made), report["requested"])
    report["made"] = len(made)
    report["unfilled"] = len(slots) - len(made)
    _check_backend(engine, len(slots), len(made))
    new = pd.DataFrame(made, columns=real.columns)
    if filter_threshold is not None and len(new):
        keep = LabelConsistencyFilter(threshold=filter_threshold, random_state=random_state).fit(
            real[text].astype(str), real[label]).keep(new[text], new[label])
        report["label_inconsistent"] = int((~keep).sum())
        new = new[keep]
    report["kept"] = len(new)
    if source_column:
        real = real.assign(**{source_column: "real"})
        new = new.assign(**{source_column: f"llm-{mode}"})
    result = pd.concat([real, new], ignore_index=True)
    result.attrs["report"] = report
    return result


def _check_backend(engine: Any, asked: int, made: int) -> None:
    """Fail when the backend stopped the run, or failed so that no example at all was made."""
    if engine.gave_up:
        raise BackendError(f"{engine.gave_up}; {made} of {asked} new examples were made; nothing was written")
    failures = engine.failure_summary()
    if asked and not made and failures:
        raise ShortfallError(f"no new example was made: {failures}; check the LLM backend and run again")


def as_text_engine(generator: Any) -> Any:
    """A :class:`simulacra.text.Engine` for ``generator``: an engine, a backend or a backend description."""
    from simulacra.text.backends import Backend
    from simulacra.text.engine import Engine

    if isinstance(generator, Engine):
        return generator
    if isinstance(generator, (str, Backend)):
        return Engine(generator)
    raise InputError(f"{type(generator).__name__} is not an LLM backend: give a simulacra.text.Engine, a backend, or "
                     "a description ('local', a .gguf path, an OpenAI-compatible URL, 'fake'); a Python function "
                     "can answer requests through simulacra.testing.llm.FakeBackend(responder=...).")
