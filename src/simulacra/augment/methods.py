"""The augmentations compared by the uplift experiment: each turns a real training split into the
training set of the downstream model. Only the training split is ever passed in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from simulacra.augment.tables import CONSISTENCY, SynthesizerSpec, balance_table, class_targets
from simulacra.errors import InputError, require

TableMethod = Callable[..., pd.DataFrame]


def _targets(train: pd.DataFrame, target: str, ratio: float, mode: str) -> dict[Any, int]:
    counts = train[target].value_counts(sort=False).to_dict()
    if mode == "balance":
        return class_targets(counts, balance=ratio)
    if mode == "mix":
        return class_targets(counts, ratio=ratio)
    raise InputError(f"mode must be 'balance' or 'mix', got {mode!r}")


def table_none(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int, **_: Any) -> pd.DataFrame:
    """Real rows only: the baseline."""
    return train


def table_random(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int, **_: Any) -> pd.DataFrame:
    """Random oversampling: real rows of each class repeated (drawn with replacement)."""
    rng = np.random.default_rng(seed)
    parts = [train]
    for cls, want in _targets(train, target, ratio, mode).items():
        idx = np.flatnonzero((train[target] == cls).to_numpy())
        need = want - len(idx)
        if need > 0:
            parts.append(train.iloc[rng.choice(idx, size=need, replace=True)])
    return pd.concat(parts, ignore_index=True)


def table_smote(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int, **_: Any) -> pd.DataFrame:
    """SMOTE (numbers only), SMOTE-NC (numbers and categories) or SMOTE-N (categories only), from
    imbalanced-learn. Missing values are filled first (median, or the category 'missing'), as SMOTE needs."""
    over: Any = require("imblearn.over_sampling", "augment", "the SMOTE baseline")
    features = [c for c in train.columns if c != target]
    x = train[features].copy()
    cats = [c for c in features if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c])]
    for c in features:
        if c in cats:
            x[c] = x[c].astype("string").fillna("missing").astype(object)
        elif x[c].isna().any():
            x[c] = x[c].fillna(x[c].median())
    y = train[target]
    targets = _targets(train, target, ratio, mode)
    k = int(max(1, min(5, y.value_counts().min() - 1)))
    if not cats:
        sampler = over.SMOTE(sampling_strategy=targets, k_neighbors=k, random_state=seed)
    elif len(cats) == len(features):
        sampler = over.SMOTEN(sampling_strategy=targets, k_neighbors=k, random_state=seed)
    else:
        sampler = over.SMOTENC(categorical_features=cats, sampling_strategy=targets, k_neighbors=k, random_state=seed)
    xs, ys = sampler.fit_resample(x, y)
    out = pd.DataFrame(xs, columns=features)
    out[target] = np.asarray(ys)
    for c in features:
        if c not in cats:
            out[c] = pd.to_numeric(out[c], errors="coerce")
    return out[list(train.columns)]


def table_synth(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int,
                synthesizer: SynthesizerSpec = None, strategy: str = "auto", cache: dict[Any, Any] | None = None,
                consistency: float | None = CONSISTENCY, **_: Any) -> pd.DataFrame:
    """Synthetic rows per class from synthesizers fitted on the training split only (one per class
    when every class has 50+ rows, else one model sampled conditionally on the class)."""
    if mode not in ("balance", "mix"):
        raise InputError(f"mode must be 'balance' or 'mix', got {mode!r}")
    return balance_table(train, target, balance=ratio if mode == "balance" else None,
                         ratio=ratio if mode == "mix" else None, synthesizer=synthesizer, random_state=seed,
                         strategy=strategy, source_column=None, cache=cache, consistency=consistency)


def table_synth_conditional(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int,
                            synthesizer: SynthesizerSpec = None, **kw: Any) -> pd.DataFrame:
    """One synthesizer fitted on the whole training split, sampled conditionally on each class."""
    return table_synth(train, target, ratio, mode, seed, synthesizer=synthesizer, strategy="conditional",
                       cache=kw.get("cache"))


def table_synth_per_class(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int,
                          synthesizer: SynthesizerSpec = None, **kw: Any) -> pd.DataFrame:
    """One synthesizer per class, fitted on that class's training rows only."""
    return table_synth(train, target, ratio, mode, seed, synthesizer=synthesizer, strategy="per-class",
                       cache=kw.get("cache"))


def table_synth_unfiltered(train: pd.DataFrame, target: str, ratio: float, mode: str, seed: int,
                           synthesizer: SynthesizerSpec = None, **kw: Any) -> pd.DataFrame:
    """``synth`` without the class-consistency filter (every sampled row is kept)."""
    return table_synth(train, target, ratio, mode, seed, synthesizer=synthesizer, cache=kw.get("cache"),
                       consistency=None)


TABLE_METHODS: dict[str, TableMethod] = {
    "none": table_none,
    "random": table_random,
    "smote": table_smote,
    "synth": table_synth,
    "synth-conditional": table_synth_conditional,
    "synth-per-class": table_synth_per_class,
    "synth-unfiltered": table_synth_unfiltered,
}


# -- text ----------------------------------------------------------------------------------------

def text_none(train: pd.DataFrame, text: str, label: str, ratio: float | None, seed: int, **_: Any) -> pd.DataFrame:
    """Real examples only: the baseline."""
    return train


def text_eda(train: pd.DataFrame, text: str, label: str, ratio: float | None, seed: int,
             eda_params: dict[str, Any] | None = None, **_: Any) -> pd.DataFrame:
    """EDA with ``ratio`` augmented sentences per real one (the paper's number for the data size when None)."""
    from simulacra.text.perturb import EDA

    n_aug = None if ratio is None else round(ratio)
    return EDA(random_state=seed, **(eda_params or {})).augment_frame(train, text, n_aug=n_aug, source_column=None)


def text_eda_filtered(train: pd.DataFrame, text: str, label: str, ratio: float | None, seed: int,
                      eda_params: dict[str, Any] | None = None, threshold: float = 0.6, **_: Any) -> pd.DataFrame:
    """EDA, then the label-consistency filter: augmented sentences that a classifier trained on the
    real examples assigns to another class with probability >= ``threshold`` are dropped."""
    from simulacra.augment.text import LabelConsistencyFilter

    aug = text_eda(train, text, label, ratio, seed, eda_params=eda_params)
    new = aug.iloc[len(train):]
    keep = LabelConsistencyFilter(threshold=threshold, random_state=seed).fit(train[text], train[label]).keep(new[text], new[label])
    return pd.concat([aug.iloc[: len(train)], new[keep]], ignore_index=True)


def text_llm(train: pd.DataFrame, text: str, label: str, ratio: float | None, seed: int,
             generator: Any = None, threshold: float = 0.6, **_: Any) -> pd.DataFrame:
    """LLM paraphrases (``ratio`` per real example, 1 when None), label-consistency filtered."""
    from simulacra.augment.text import llm_augment

    if generator is None:
        raise InputError("The 'llm' method needs a text generator (an LLM backend); pass generator=... or --backend.")
    per = 1 if ratio is None else round(ratio)
    aug = llm_augment(train, text, label, generator, mode="paraphrase", per_example=per, filter_threshold=threshold,
                      random_state=seed, source_column=None)
    return aug


TEXT_METHODS: dict[str, Callable[..., pd.DataFrame]] = {
    "none": text_none,
    "eda": text_eda,
    "eda-filtered": text_eda_filtered,
    "llm": text_llm,
}
