"""The uplift experiment: does augmentation make the downstream model better on the user's real test set?

The same model is trained on the real training rows alone and on real + each augmentation, over
several ratios and repeated seeds, and scored on the real test set. Augmentations (synthesizers,
SMOTE, EDA, LLMs) only ever see the training split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.augment import models
from simulacra.augment.methods import TABLE_METHODS, TEXT_METHODS
from simulacra.errors import InputError

Progress = Callable[[str], None]


@dataclass
class UpliftResult:
    """Every run of an uplift experiment, with summaries, verdicts and renderings.

    ``runs`` holds one row per (method, ratio, repeat) with the metrics on the real test set.
    """

    task: str
    runs: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    headline: str = "macro_f1"
    #: Methods every other method is judged against (real-only first).
    baselines: tuple[str, ...] = ("none",)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation over repeats of every metric, per method and ratio."""
        from simulacra.augment.report import summarize

        return summarize(self.runs)

    def verdicts(self, metric: str | None = None, *, baseline: str = "none") -> list[dict[str, Any]]:
        """Per method and ratio: the gain over ``baseline`` (real-only by default) and whether it exceeds
        the seed-to-seed noise."""
        from simulacra.augment.report import verdicts

        return verdicts(self.runs, metric or self.headline, baseline)

    def to_text(self) -> str:
        from simulacra.augment.report import render_text

        return render_text(self)

    def to_dict(self) -> dict[str, Any]:
        from simulacra.augment.report import to_dict

        return to_dict(self)

    def save_json(self, path: Any) -> None:
        from simulacra.augment.report import save_json

        save_json(self, path)

    def save_html(self, path: Any) -> None:
        from simulacra.augment.report import save_html

        save_html(self, path)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"The {what} set has no column {', '.join(map(repr, missing))}; columns are: "
                         f"{', '.join(map(str, frame.columns))}")


def _draw(train: pd.DataFrame, size: int | None, label: str, seed: int) -> pd.DataFrame:
    """The training rows of one repeat: all of them, or ``size`` drawn at random (every class kept)."""
    if size is None or size >= len(train):
        return train.reset_index(drop=True)
    for k in range(100):
        part = train.sample(n=size, random_state=seed * 100 + k)
        if part[label].nunique() == train[label].nunique():
            return part.reset_index(drop=True)
    raise InputError(f"Could not draw {size} training rows holding every class; use a larger train_size.")


def _plan(methods: Sequence[str], ratios: Sequence[float | None], known: dict[str, Any]) -> list[tuple[str, float | None]]:
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise InputError(f"Unknown method(s) {', '.join(unknown)}; available: {', '.join(known)}")
    plan: list[tuple[str, float | None]] = []
    for m in dict.fromkeys(["none", *methods]):
        plan.extend([(m, None)] if m == "none" else [(m, r) for r in ratios])
    return plan


def _run(plan: list[tuple[str, float | None]], repeats: int, seed: int, train_size: int | None,
         train: pd.DataFrame, label: str, one: Callable[[str, float | None, pd.DataFrame, int], dict[str, Any]],
         progress: Progress | None, threads: int | None = 1) -> pd.DataFrame:
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    if threads is None:
        return _run_all(plan, repeats, seed, train_size, train, label, one, progress)
    # small models on a shared CPU: one thread each is many times faster than oversubscribed OpenMP
    with threadpool_limits(limits=threads):
        return _run_all(plan, repeats, seed, train_size, train, label, one, progress)


def _run_all(plan: list[tuple[str, float | None]], repeats: int, seed: int, train_size: int | None,
             train: pd.DataFrame, label: str, one: Callable[[str, float | None, pd.DataFrame, int], dict[str, Any]],
             progress: Progress | None) -> pd.DataFrame:
    rows = []
    for r in range(repeats):
        s = seed + r
        part = _draw(train, train_size, label, s)
        for method, ratio in plan:
            if progress:
                progress(f"repeat {r + 1}/{repeats}: {method}" + ("" if ratio is None else f" @ {ratio:g}"))
            start = time.perf_counter()
            out = one(method, ratio, part, s)
            rows.append({"method": method, "ratio": np.nan if ratio is None else float(ratio), "repeat": r,
                         "seed": s, **out, "seconds": round(time.perf_counter() - start, 3)})
    return pd.DataFrame(rows)


def run_table_uplift(train: pd.DataFrame, test: pd.DataFrame, target: str, *,
                     methods: Sequence[str] = ("none", "smote", "synth"), ratios: Sequence[float] = (1.0,),
                     mode: str = "balance", repeats: int = 5, seed: int = 0, train_size: int | None = None,
                     synthesizer: Any = None, threads: int | None = 1, progress: Progress | None = None) -> UpliftResult:
    """Uplift of table augmentations for gradient boosting (HistGradientBoosting) on ``test``.

    ``mode='balance'``: a ratio is the minority size as a share of the majority (1 = balanced).
    ``mode='mix'``: a ratio is synthetic rows per real row, classes kept in proportion.
    ``train_size`` draws that many training rows per repeat (scarcity experiments); the synthesizer
    is fitted on the rows of that repeat only. ``threads`` caps the BLAS/OpenMP threads of the models
    (None: no cap; 1 is fastest for small tables on a busy machine).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "z": rng.normal(size=400)})
    >>> df["y"] = np.where(df.x + rng.normal(scale=.5, size=400) > 1.2, "yes", "no")
    >>> res = run_table_uplift(df[:300], df[300:], "y", methods=["none", "random"], repeats=2)
    >>> sorted(res.runs["method"].unique()), len(res.runs)
    (['none', 'random'], 4)
    """
    _check_columns(train, [target], "training")
    _check_columns(test, [target], "test")
    features = models.table_features(train, target)
    columns = features.columns
    _check_columns(test, columns, "test")
    minority = models.minority_class(train[target])
    y_test = test[target].astype("string")
    plan = _plan(methods, ratios, TABLE_METHODS)
    caches: dict[tuple[int, str], dict[Any, Any]] = {}

    def one(method: str, ratio: float | None, part: pd.DataFrame, s: int) -> dict[str, Any]:
        data = part[[*columns, target]]
        for key in [k for k in caches if k[0] != s]:  # fitted models are reused over ratios within a repeat
            del caches[key]
        aug = TABLE_METHODS[method](data, target, 1.0 if ratio is None else ratio, mode, s, synthesizer=synthesizer,
                                    cache=caches.setdefault((s, method), {}))
        model, prep = models.fit_table_model(aug, target, features, s)
        scores = models.evaluate_model(model, prep.transform(test), y_test, minority)
        return {**scores, "n_real": len(part), "n_train": len(aug)}

    runs = _run(plan, repeats, seed, train_size, train, target, one, progress, threads)
    info = {"target": target, "minority_class": minority, "mode": mode, "model": "HistGradientBoostingClassifier",
            "synthesizer": _synth_name(synthesizer), "n_train": len(train), "n_test": len(test),
            "train_size": train_size, "repeats": repeats, "features": columns}
    return UpliftResult("table", runs, info, headline="macro_f1")


def _synth_name(spec: Any) -> str:
    from simulacra.tabular.registry import default_synthesizer_name

    if spec is None:
        return default_synthesizer_name()
    return spec if isinstance(spec, str) else getattr(spec, "name", None) or type(spec).__name__


def run_text_uplift(train: pd.DataFrame, test: pd.DataFrame, text: str, label: str, *,
                    methods: Sequence[str] = ("none", "eda"), ratios: Sequence[float | None] = (None,),
                    repeats: int = 5, seed: int = 0, train_size: int | None = None, generator: Any = None,
                    eda_params: dict[str, Any] | None = None, threshold: float = 0.6, threads: int | None = 1,
                    progress: Progress | None = None, classifier: str = "tfidf-lr",
                    embedder: Any = None) -> UpliftResult:
    """Uplift of text augmentations for a text classifier on ``test``.

    ``classifier`` is the downstream model: ``tfidf-lr`` (TF-IDF + logistic regression) or
    ``embedding-lr`` (logistic regression over sentence embeddings of ``embedder``, by default the
    embedded local model).

    A ratio is the number of augmented examples per real one (None: the EDA paper's number for the
    data size). Methods: ``none``, ``eda``, ``eda-filtered`` (EDA + label-consistency filter), ``llm``
    (paraphrases from ``generator``, filtered).

    Examples
    --------
    >>> tr = pd.DataFrame({"t": ["good fun film", "bad dull plot", "great fun cast", "awful dull film"] * 5,
    ...                    "y": ["p", "n", "p", "n"] * 5})
    >>> res = run_text_uplift(tr, tr, "t", "y", methods=["none", "eda"], ratios=[2], repeats=1,
    ...                       eda_params={"synonyms": "none"})
    >>> res.runs["method"].tolist()
    ['none', 'eda']
    """
    _check_columns(train, [text, label], "training")
    _check_columns(test, [text, label], "test")
    if classifier not in models.TEXT_MODELS:
        raise InputError(f"Unknown text classifier {classifier!r}; available: {', '.join(models.TEXT_MODELS)}")
    if classifier == "embedding-lr" and embedder is None:
        from simulacra.text.embed import LocalEmbedder

        embedder = LocalEmbedder()
    minority = models.minority_class(train[label])
    y_test = test[label].astype("string")
    x_test = test[text].astype("string").fillna("").to_numpy()
    plan = _plan(methods, ratios, TEXT_METHODS)

    def one(method: str, ratio: float | None, part: pd.DataFrame, s: int) -> dict[str, Any]:
        data = part[[text, label]]
        aug = TEXT_METHODS[method](data, text, label, ratio, s, generator=generator, eda_params=eda_params,
                                   threshold=threshold)
        model = models.fit_text_model(aug[text], aug[label], s, model=classifier, embedder=embedder)
        return {**models.evaluate_model(model, x_test, y_test, minority), "n_real": len(part), "n_train": len(aug)}

    runs = _run(plan, repeats, seed, train_size, train, label, one, progress, threads)
    described = ("TF-IDF + LogisticRegression" if classifier == "tfidf-lr" else
                 f"sentence embeddings ({getattr(embedder, 'name', 'custom')}) + LogisticRegression")
    info = {"text": text, "label": label, "minority_class": minority, "model": described, "classifier": classifier,
            "n_train": len(train), "n_test": len(test), "train_size": train_size, "repeats": repeats,
            "eda_params": {k: v for k, v in (eda_params or {}).items() if isinstance(v, (int, float, str))}}
    headline = "accuracy" if train[label].value_counts(normalize=True).min() > 0.3 else "macro_f1"
    return UpliftResult("text", runs, info, headline=headline)
