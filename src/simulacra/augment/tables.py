"""Tables: class balancing and mixing by conditional sampling from a synthesizer fitted on the real rows."""

from __future__ import annotations

import math

import re
from collections.abc import Callable, Mapping
from typing import Any, Union

import numpy as np
import pandas as pd

from simulacra.errors import ConstraintError, InputError

#: What the user may give as a synthesizer: a short name, a class, an (unfitted or fitted) instance,
#: or a factory ``seed -> unfitted synthesizer``.
SynthesizerSpec = Union[  # noqa: UP007
    str, type, Any, Callable[[int | None], Any], None]

#: Default of the class-consistency filter of :func:`balance_table` (see there). Measured on three
#: imbalanced tables (benchmarks/RESULTS.md): 0.2 keeps ROC AUC within 0.5 points of real-only at 1:1,
#: where the unfiltered rows lost up to 1.4.
CONSISTENCY = 0.2


def class_targets(counts: Mapping[Any, int], *, balance: str | float | Mapping[Any, int] | None = None,
                  ratio: float | None = None) -> dict[Any, int]:
    """How many rows each class should have after augmentation (never fewer than it has).

    ``balance`` is ``'1:1'`` (every class as large as the largest), ``'1:2'`` (minority classes at half
    the majority), ``'3:1'`` (minority classes three times the majority, which keeps its rows), a float
    share of the majority, or a mapping ``class -> rows``. ``ratio`` instead
    adds ``ratio`` synthetic rows per real row, in every class alike (mixing).

    Examples
    --------
    >>> class_targets({"no": 900, "yes": 100}, balance="1:1")
    {'no': 900, 'yes': 900}
    >>> class_targets({"no": 900, "yes": 100}, balance=0.5)
    {'no': 900, 'yes': 450}
    >>> class_targets({"no": 900, "yes": 100}, balance="3:1")
    {'no': 900, 'yes': 2700}
    >>> class_targets({"no": 900, "yes": 100}, ratio=1.0)
    {'no': 1800, 'yes': 200}
    """
    if (balance is None) == (ratio is None):
        raise InputError("Give exactly one of balance (e.g. '1:1') or ratio (synthetic rows per real row).")
    counts = {k: int(v) for k, v in counts.items()}
    if ratio is not None:
        if ratio < 0:
            raise InputError(f"ratio must be zero or more, got {ratio}")
        return {k: round(v * (1 + ratio)) for k, v in counts.items()}
    if isinstance(balance, Mapping):
        unknown = [k for k in balance if k not in counts]
        if unknown:
            raise InputError(f"balance names classes not in the data: {unknown}; classes are {list(counts)}")
        return {k: max(v, int(balance.get(k, v))) for k, v in counts.items()}
    share = parse_balance(balance)  # type: ignore[arg-type]
    top = max(counts.values())
    # the majority keeps its rows; the others grow to share x majority (beyond it when share > 1)
    return {k: v if v == top else max(v, round(share * top)) for k, v in counts.items()}


def parse_balance(balance: str | float) -> float:
    """Minority size as a share of the majority, from ``'1:1'``, ``'1:3'``, ``'0.5'`` or ``0.5``.

    A share above 1 (``'3:1'``) makes the minority classes larger than the majority.

    Examples
    --------
    >>> parse_balance("1:4"), parse_balance(0.5)
    (0.25, 0.5)
    """
    if isinstance(balance, (int, float)) and not isinstance(balance, bool):
        share = float(balance)
    else:
        text = str(balance).strip()
        m = re.fullmatch(r"([0-9.]+)\s*:\s*([0-9.]+)", text)
        try:
            share = float(m.group(1)) / float(m.group(2)) if m else float(text)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"Cannot read balance {balance!r}; write it as minority:majority, e.g. '1:1' or '1:2'.") from None
    if not share > 0 or not math.isfinite(share):
        raise InputError(f"balance must be above 0, got {balance!r}")
    return share


def make_synthesizer(spec: SynthesizerSpec, seed: int | None, metadata: Any = None) -> Any:
    """An unfitted synthesizer from a name, class or factory (the registry's default when None)."""
    from simulacra.tabular.registry import default_synthesizer_name, get_synthesizer_class

    if spec is None or isinstance(spec, str):
        cls: Any = get_synthesizer_class(spec or default_synthesizer_name())
        return cls(metadata=metadata, random_state=seed)
    if isinstance(spec, type):
        return spec(metadata=metadata, random_state=seed)
    if hasattr(spec, "fit") and hasattr(spec, "sample"):
        return spec
    if callable(spec):
        return spec(seed)
    raise InputError(f"Cannot make a synthesizer from {spec!r}; give a model name, a class or a factory.")


def _target_metadata(data: pd.DataFrame, columns: list[str]) -> Any:
    """Detected metadata, with the conditioned columns declared categorical (so classes stay classes)."""
    from simulacra.metadata import Metadata

    meta = Metadata.detect(data)
    for col in columns:
        if meta.columns[col].type not in ("categorical", "boolean"):
            meta.update_column(col, type="categorical")
    return meta


def fit_synthesizer(data: pd.DataFrame, synthesizer: SynthesizerSpec = None, *, categorical: list[str] | None = None,
                    random_state: int | None = None) -> Any:
    """Fit ``synthesizer`` (default: the registry's best) on ``data``; ``categorical`` columns are declared so."""
    if synthesizer is not None and not isinstance(synthesizer, (str, type)) and getattr(synthesizer, "is_fitted", False):
        return synthesizer
    meta = _target_metadata(data, categorical or [])
    return make_synthesizer(synthesizer, random_state, meta).fit(data)


def sample_where(synth: Any, n_rows: int, conditions: Mapping[str, Any], *, random_state: int | None = None,
                 max_rounds: int = 20) -> pd.DataFrame:
    """Exactly ``n_rows`` rows with ``conditions`` (column -> value), natively when the model supports
    conditions, otherwise by rejection sampling (an error if the condition is too rare to reach)."""
    if n_rows == 0:
        return synth.sample(0, random_state=random_state)
    if getattr(synth, "supports_conditions", False):
        return synth.sample(n_rows, random_state=random_state, conditions=dict(conditions))
    return _rejection_sample(synth, n_rows, lambda df: _equals(df, conditions), random_state=random_state,
                             max_rounds=max_rounds, what=str(dict(conditions)), condition=True)


def _equals(df: pd.DataFrame, conditions: Mapping[str, Any]) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool)
    for col, value in conditions.items():
        mask &= (df[col] == value).to_numpy() | (df[col].astype(str) == str(value)).to_numpy()
    return mask


def sample_query(synth: Any, n_rows: int, where: str | Callable[[pd.DataFrame], Any], *,
                 random_state: int | None = None, max_rounds: int = 20, what: str | None = None) -> pd.DataFrame:
    """Exactly ``n_rows`` synthetic rows for which ``where`` holds, by rejection sampling in growing batches.

    ``where`` is a filter in the safe expression language of spec formulas (``"age < 25 and sex ==
    'F'"``, see :func:`simulacra.expr.row_filter`; never run as Python or as a pandas query) or a
    function returning a boolean mask."""
    if isinstance(where, str):
        what, where = what or where, _filter_function(where)
    return _rejection_sample(synth, n_rows, where, random_state=random_state, max_rounds=max_rounds, what=what,
                             condition=False)


def _rejection_sample(synth: Any, n_rows: int, where: Callable[[pd.DataFrame], Any], *, random_state: int | None,
                      max_rounds: int, what: str | None, condition: bool) -> pd.DataFrame:
    """:func:`sample_query`'s loop; ``condition`` says whether ``where`` is column values (``sample_where``) or a
    filter, for the advice when it stays too rare."""
    rng = np.random.default_rng(random_state)
    kept: list[pd.DataFrame] = []
    have, drawn, hits = 0, 0, 0
    batch = max(256, 2 * n_rows)
    for _ in range(max_rounds):
        rows = synth.sample(batch, random_state=int(rng.integers(2**31 - 1)))
        mask = np.asarray(where(rows), dtype=bool)
        drawn += len(rows)
        hits += int(mask.sum())
        kept.append(rows[mask])
        have += int(mask.sum())
        if have >= n_rows:
            return pd.concat(kept, ignore_index=True).iloc[:n_rows]
        rate = max(hits / drawn, 1e-4)
        batch = int(min(2_000_000, max(batch, 1.3 * (n_rows - have) / rate)))
    kind = "condition" if condition else "filter"
    raise ConstraintError(
        f"Only {have} of {n_rows} synthetic rows matched {repr(what) if what else 'the ' + kind} after {drawn:,} draws "
        f"({hits / max(drawn, 1):.3%} match); the {kind} is too rare for this model. {_rare_advice(synth, condition)}"
    )


def _rare_advice(synth: Any, condition: bool) -> str:
    """What to do about a condition or filter that rejection sampling could not meet.

    Column values (a condition) are met natively by a model that conditions; a filter (``age < 25``) is met by
    no model natively, so the advice for it is a narrower model, never a conditioning one. A differentially
    private model is never told to fit another model on the real rows (that spends more privacy budget).
    """
    from simulacra.tabular.sampling import rare_request_advice

    if condition:
        return rare_request_advice(synth)
    if getattr(synth, "differentially_private", False):
        return ("Loosen the filter or ask for fewer rows. Do not fit another model on the real rows for this (it "
                "spends more privacy budget); a model fitted on this model's rows that match the filter "
                "(post-processing, no budget) samples the group without a filter.")
    return ("Loosen the filter or ask for fewer rows; for a rare group, fit the synthesizer on only the real rows "
            "that match the filter and sample that model without a filter.")


def _filter_function(where: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """A mask function from filter text, checked (syntax, whitelist) before any row is drawn."""
    from simulacra.expr import Filter

    return Filter(where).mask


def _match_dtypes(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    out = synthetic[list(real.columns)].copy()
    for col in real.columns:
        if out[col].dtype != real[col].dtype:
            try:
                out[col] = out[col].astype(real[col].dtype)
            except (TypeError, ValueError):
                pass
    return out


def balance_table(data: pd.DataFrame, target: str, *, balance: str | float | Mapping[Any, int] | None = "1:1",
                  ratio: float | None = None, synthesizer: SynthesizerSpec = None, random_state: int | None = None,
                  strategy: str = "auto", source_column: str | None = "augmentation",
                  cache: dict[Any, Any] | None = None, consistency: float | None = CONSISTENCY) -> pd.DataFrame:
    """The real rows plus exactly the synthetic rows each class of ``target`` needs.

    ``strategy='auto'`` (default): per-class when every class that needs rows has at least 50, else
    conditional. ``strategy='conditional'``: one synthesizer fitted on ``data`` and sampled conditionally on each
    class. ``strategy='per-class'``: one synthesizer per class that needs rows, fitted on that class's
    rows only (captures relations that differ between classes; needs enough rows per class).
    ``target`` may be any categorical column (e.g. an age group), not only the label. With ``ratio``
    instead of ``balance``, every class grows by ``ratio`` synthetic rows per real row (mixing,
    classes kept in proportion). Only ``data`` is ever shown to the synthesizer. ``cache`` (a dict
    the caller keeps for one ``data``) reuses fitted synthesizers across calls, e.g. over ratios.

    ``consistency`` (a share; default 0.2, None turns it off) is the class-consistency filter: a gradient-boosted
    classifier trained on ``data`` scores every synthetic row, and a row is redrawn when its class is
    less likely than for all but that share of the real rows of the class (scored out of fold). It
    keeps synthetic rows where the real rows of their class are, not where a blurred model put them
    among the other classes. The counts stay exact: rejected rows are replaced by new draws.

    Examples
    --------
    >>> df = pd.DataFrame({"x": np.arange(120.0), "y": ["a"] * 100 + ["b"] * 20})
    >>> out = balance_table(df, "y", balance="1:1", random_state=0)
    >>> out["y"].value_counts().to_dict(), int((out["augmentation"] == "synthetic").sum())
    ({'a': 100, 'b': 100}, 80)
    """
    if target not in data.columns:
        raise InputError(f"Column '{target}' is not in the table; columns are: {', '.join(map(str, data.columns))}")
    if data[target].isna().any():
        raise InputError(f"Column '{target}' has {int(data[target].isna().sum())} missing values; fill or drop them first.")
    counts = data[target].value_counts(sort=False).to_dict()
    targets = class_targets(counts, balance=None if ratio is not None else balance, ratio=ratio)
    if strategy not in ("auto", "conditional", "per-class"):
        raise InputError(f"strategy must be 'auto', 'conditional' or 'per-class', got {strategy!r}")
    if strategy == "auto":
        small = [c for c, want in targets.items() if want > counts[c] and counts[c] < 50]
        strategy = "conditional" if small else "per-class"
    cache = {} if cache is None else cache
    if strategy == "conditional":
        key: tuple[Any, ...] = ("conditional", target)
        if key not in cache:
            cache[key] = fit_synthesizer(data, synthesizer, categorical=[target], random_state=random_state)
        synth = cache[key]
    judge = None
    if consistency is not None:
        if not 0 <= float(consistency) < 1:
            raise InputError(f"consistency must be a share in [0, 1), e.g. 0.1; got {consistency!r}")
        key = ("judge", target, float(consistency))
        if key not in cache:
            cache[key] = ClassJudge(data, target, float(consistency), random_state)
        judge = cache[key]
    seeds = np.random.SeedSequence(random_state).spawn(len(targets))
    parts = []
    for (cls, want), seq in zip(targets.items(), seeds):
        need = want - counts[cls]
        if need <= 0:
            continue
        seed = int(seq.generate_state(1)[0] % (2**31))
        if strategy == "conditional":
            draw: Callable[[int, int], pd.DataFrame] = _conditional_draw(synth, target, cls)
        else:
            key = ("per-class", target, cls)
            if key not in cache:
                cache[key] = _fit_one_class(data, target, cls, synthesizer, seed)
            draw = _plain_draw(cache[key])
        rows = draw(need, seed) if judge is None else judge.draw(cls, need, draw, seed)
        rows[target] = cls
        parts.append(rows)
    return _combine(data, parts, source_column)


def _conditional_draw(synth: Any, target: str, cls: Any) -> Callable[[int, int], pd.DataFrame]:
    return lambda n, seed: sample_where(synth, n, {target: cls}, random_state=seed)


def _plain_draw(model: Any) -> Callable[[int, int], pd.DataFrame]:
    return lambda n, seed: model.sample(n, random_state=seed)


class ClassJudge:
    """The class-consistency filter of :func:`balance_table`: which synthetic rows look like their class.

    A gradient-boosted classifier is fitted on the real rows. The floor of each class is the
    ``share`` quantile of ``p(class | row)`` over that class's real rows, each scored by a model that
    did not see it (3-fold). A synthetic row is kept when its own probability reaches the floor.
    A table with nothing to learn from but the class keeps every row.
    """

    #: Draw rounds before giving up on a class (each draws what is still missing, with headroom).
    MAX_ROUNDS = 20

    def __init__(self, data: pd.DataFrame, target: str, share: float, random_state: int | None) -> None:
        from sklearn.model_selection import StratifiedKFold

        from simulacra.augment import models

        self.target = target
        self.features = models.table_features(data, target)
        self.columns = self.features.columns
        self.model: Any = None
        self.floor: dict[str, float] = {}
        self.kept: dict[str, tuple[int, int]] = {}  # class -> (kept, drawn)
        if not self.columns:
            return
        y = data[target].astype("string").to_numpy()
        seed = int(np.random.SeedSequence(random_state).generate_state(1)[0] % (2**31))
        self.model, self.prep = models.fit_table_model(data, target, self.features, seed)
        self.classes = [str(c) for c in self.model.classes_]
        out_of_fold = np.zeros((len(data), len(self.classes)))
        folds = min(3, int(pd.Series(y).value_counts().min()))
        if folds >= 2:
            split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            for fit_rows, score_rows in split.split(np.zeros(len(y)), y):
                part = data.iloc[fit_rows]
                model, prep = models.fit_table_model(part, target, self.features, seed)
                proba = model.predict_proba(prep.transform(data.iloc[score_rows]))
                for k, c in enumerate(model.classes_):
                    out_of_fold[score_rows, self.classes.index(str(c))] = proba[:, k]
        else:  # a class too small to hold out: in-sample scores (the floor is then lenient)
            out_of_fold = self.model.predict_proba(self.prep.transform(data))
        self.floor = {
            c: float(np.quantile(out_of_fold[y == c, k], share)) if (y == c).any() else 0.0
            for k, c in enumerate(self.classes)
        }

    def score(self, rows: pd.DataFrame, cls: Any) -> np.ndarray:
        """``p(cls | row)`` for each synthetic row."""
        proba = self.model.predict_proba(self.prep.transform(rows))
        return proba[:, self.classes.index(str(cls))]

    def draw(self, cls: Any, need: int, draw: Callable[[int, int], pd.DataFrame], seed: int) -> pd.DataFrame:
        """Exactly ``need`` rows of class ``cls`` that pass the floor (draws again for rejected ones)."""
        if self.model is None:
            return draw(need, seed)
        floor = self.floor.get(str(cls), 0.0)
        kept: list[pd.DataFrame] = []
        have = drawn = 0
        rate = 1.0
        for round_ in range(self.MAX_ROUNDS):
            ask = max(int(np.ceil((need - have) / max(rate, 0.05) * 1.1)), 16)
            rows = draw(ask, seed + 7919 * round_).reset_index(drop=True)
            rows[self.target] = cls
            ok = self.score(rows, cls) >= floor
            drawn += len(rows)
            kept.append(rows[ok])
            have += int(ok.sum())
            rate = max(have / drawn, 1e-3)
            if have >= need:
                break
        if have < need:
            raise ConstraintError(
                f"Only {have} of {drawn} synthetic rows of class {cls!r} look like the real rows of that class "
                f"(class-consistency filter); lower consistency or turn the filter off (consistency=None)."
            )
        self.kept[str(cls)] = (need, drawn)
        return pd.concat(kept, ignore_index=True).iloc[:need].drop(columns=[self.target])


def _fit_one_class(data: pd.DataFrame, target: str, cls: Any, synthesizer: SynthesizerSpec, seed: int) -> Any:
    rows = data[data[target] == cls].drop(columns=[target])
    if len(rows) < 10:
        raise InputError(f"Class {cls!r} of '{target}' has only {len(rows)} rows: too few to fit a synthesizer on "
                         "it alone; use strategy='conditional'.")
    return fit_synthesizer(rows, synthesizer, random_state=seed)


def mix_table(data: pd.DataFrame, *, ratio: float = 1.0, where: str | Callable[[pd.DataFrame], Any] | None = None,
              synthesizer: SynthesizerSpec = None, random_state: int | None = None,
              source_column: str | None = "augmentation") -> pd.DataFrame:
    """The real rows plus ``ratio`` synthetic rows per real row (per matching real row with ``where``).

    ``where`` (a filter like ``"age < 25"`` in the safe expression language of spec formulas, or a mask
    function) enlarges one group only: the synthetic rows all satisfy it, and their number is ``ratio``
    times the real rows that do. Filter text is never run as Python or as a pandas query; a column the
    table lacks is a clear error, raised before anything is fitted.

    Examples
    --------
    >>> df = pd.DataFrame({"age": np.arange(18, 78), "g": ["a", "b"] * 30})
    >>> out = mix_table(df, ratio=2.0, where="age < 30", random_state=0)
    >>> len(out) - len(df), bool((out.loc[out.augmentation == "synthetic", "age"] < 30).all())
    (24, True)
    """
    if ratio < 0:
        raise InputError(f"ratio must be zero or more, got {ratio}")
    select = _filter_function(where) if isinstance(where, str) else where
    base = None if select is None else int(np.asarray(select(data), dtype=bool).sum())
    synth = fit_synthesizer(data, synthesizer, random_state=random_state)
    if select is None or base is None:
        rows = synth.sample(round(ratio * len(data)), random_state=random_state)
    else:
        rows = sample_query(synth, round(ratio * base), select, random_state=random_state, what=str(where))
    return _combine(data, [rows], source_column)


def _combine(data: pd.DataFrame, parts: list[pd.DataFrame], source_column: str | None) -> pd.DataFrame:
    real = data.reset_index(drop=True)
    synthetic = [_match_dtypes(p, real) for p in parts if len(p)]
    if source_column:
        if source_column in real.columns:
            raise InputError(f"The table already has a column '{source_column}'; choose another source_column.")
        real = real.assign(**{source_column: "real"})
        synthetic = [p.assign(**{source_column: "synthetic"}) for p in synthetic]
    return pd.concat([real, *synthetic], ignore_index=True) if synthetic else real
