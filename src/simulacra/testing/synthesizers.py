"""The battery every synthesizer passes; users can run it on their own models too."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import NotFittedError
from simulacra.transform import RARE_TOKEN

#: An unusual row count, so that a stored copy of the training rows can be recognised by its length.
N_ROWS = 211


def example_table(n_rows: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """A small mixed table: integers, decimals, categories, booleans, datetimes, ids, missing values."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n_rows)
    income = np.round(np.exp(rng.normal(10, 0.5, n_rows)) + age * 100, 2)
    city = rng.choice(["Oslo", "Rome", "Lima", "Pune"], n_rows, p=[0.4, 0.3, 0.2, 0.1])
    member = rng.random(n_rows) < 0.3
    joined = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n_rows), unit="D")
    score = rng.normal(50, 10, n_rows).round(1)
    score[rng.random(n_rows) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n_rows),
            "age": age,
            "income": income,
            "city": city,
            "member": member,
            "joined": joined,
            "score": score,
        }
    )


def _walk(obj: Any, seen: set[int], depth: int = 0) -> Any:
    if id(obj) in seen or depth > 12:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, dict):
        children: Any = list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif isinstance(obj, (np.ndarray, pd.DataFrame, pd.Series, str, bytes, int, float)):
        children = []
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        children = []
    for child in children:
        yield from _walk(child, seen, depth + 1)


def _stored_training_rows(model: Any, data: pd.DataFrame) -> list[str]:
    found = []
    for obj in _walk(model, set()):
        if obj is data:
            found.append("the training DataFrame itself")
        elif isinstance(obj, (pd.DataFrame, pd.Series)) and len(obj) == len(data):
            found.append(f"a {type(obj).__name__} with one row per training row")
        elif isinstance(obj, np.ndarray) and obj.ndim >= 1 and obj.shape[0] == len(data) and obj.size > 1:
            found.append(f"an array of shape {obj.shape} (one entry per training row)")
    return found


def _check(cond: bool, message: str, failures: list[str]) -> None:
    if not cond:
        failures.append(message)


def check_synthesizer(
    factory: Callable[..., Any], *, data: pd.DataFrame | None = None, raise_on_failure: bool = True
) -> list[str]:
    """Run the battery on a synthesizer class (or factory taking ``random_state=``).

    Returns the failures (empty when all pass); raises ``AssertionError`` listing them by default.

    Examples
    --------
    >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
    >>> check_synthesizer(GaussianCopulaSynthesizer)
    []
    """
    data = example_table() if data is None else data
    failures: list[str] = []
    original = data.copy(deep=True)

    def make(**kw: Any) -> Any:
        return factory(random_state=kw.pop("random_state", 0), **kw)

    unfitted = make()
    try:
        unfitted.sample(5)
        failures.append("sample() before fit() did not raise NotFittedError")
    except NotFittedError:
        pass
    params = unfitted.get_params()
    _check(params.get("random_state") == 0, "__init__ does not store random_state unchanged", failures)

    model = make()
    _check(model.fit(data) is model, "fit() does not return self", failures)
    _check(data.equals(original) and list(data.dtypes) == list(original.dtypes), "fit() modified the input frame", failures)
    kept = _stored_training_rows(model, data)
    _check(not kept, f"the fitted model keeps training rows: {', '.join(sorted(set(kept)))}", failures)

    rows = model.sample(2000, random_state=1)
    _check(len(rows) == 2000, f"sample(2000) returned {len(rows)} rows", failures)
    _check(list(rows.columns) == list(data.columns), "sampled columns differ from the training columns", failures)
    exact = bool(getattr(type(model), "exact_domain", True))
    failures.extend(_compare_columns(data, rows, exact_domain=exact))
    _check(
        model.sample(50, random_state=3).equals(model.sample(50, random_state=3)),
        "the same random_state gave different rows",
        failures,
    )
    again = make().fit(data)
    _check(again.sample(50).equals(make().fit(data).sample(50)), "two fits with the same seed sample different rows", failures)
    empty = model.sample(0)
    _check(len(empty) == 0 and list(empty.columns) == list(data.columns), "sample(0) is not an empty frame with the columns", failures)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.simulacra"
        model.save(path)
        from simulacra.tabular.persistence import load

        loaded = load(path)
        _check(
            loaded.sample(100, random_state=5).equals(model.sample(100, random_state=5)),
            "a saved and loaded model samples different rows for the same seed",
            failures,
        )

    edge_cases = {
        "one row": data.head(1),
        "a single column": data[[data.columns[1]]],
        "an all-missing column": data.assign(empty=np.nan),
        "a constant column": data.assign(constant=7),
    }
    for label, frame in edge_cases.items():
        try:
            out = make().fit(frame).sample(20, random_state=0)
            _check(len(out) == 20 and list(out.columns) == list(frame.columns), f"wrong output on {label}", failures)
            if label == "an all-missing column":
                _check(bool(out["empty"].isna().all()), "an all-missing column came back with values", failures)
            if label == "a constant column" and exact:
                _check(bool((out["constant"] == 7).all()), "a constant column came back with other values", failures)
        except Exception as exc:  # noqa: BLE001 - the battery reports every failure
            failures.append(f"failed on {label}: {type(exc).__name__}: {exc}")
    if failures and raise_on_failure:
        raise AssertionError("check_synthesizer failed:\n  - " + "\n  - ".join(failures))
    return failures


def _compare_columns(real: pd.DataFrame, synth: pd.DataFrame, *, exact_domain: bool = True) -> list[str]:
    failures: list[str] = []
    for name in real.columns:
        r, s = real[name], synth[name]
        rk, sk = r.dtype.kind, s.dtype.kind
        same_kind = rk == sk or {rk, sk} <= {"i", "u"} or (rk in "iu" and str(s.dtype).startswith(("Int", "UInt")))
        if not same_kind and not (rk == "O" and sk == "O"):
            failures.append(f"column '{name}': dtype {s.dtype} differs from the real {r.dtype}")
        p_real, p_syn = float(r.isna().mean()), float(s.isna().mean())
        tol = 0.05 + 3 * np.sqrt(max(p_real * (1 - p_real), 1e-4) / len(s))
        if abs(p_real - p_syn) > tol:
            failures.append(f"column '{name}': missing rate {p_syn:.3f} vs real {p_real:.3f}")
        if name.endswith("_id"):
            if s.dropna().duplicated().any():
                failures.append(f"column '{name}': identifiers are not unique")
            continue
        if not exact_domain:  # a DP model's bounds are noisy or public, never the real extremes
            pass
        elif pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_bool_dtype(r):
            lo, hi = r.min(), r.max()
            sv = s.dropna()
            if len(sv) and (sv.min() < lo or sv.max() > hi):
                failures.append(f"column '{name}': values outside the real bounds [{lo}, {hi}]")
        elif pd.api.types.is_datetime64_any_dtype(r):
            sv = s.dropna()
            if len(sv) and (sv.min() < r.min() or sv.max() > r.max()):
                failures.append(f"column '{name}': dates outside the real range")
        elif r.dtype == object:
            unseen = set(s.dropna().unique()) - set(r.dropna().unique()) - {RARE_TOKEN}
            if unseen:
                failures.append(f"column '{name}': unseen categories {sorted(map(str, unseen))[:5]}")
    return failures
