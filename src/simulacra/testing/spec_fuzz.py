"""Fuzz cases for specs, formulas, row filters and sampling conditions: one seed, one random case.

Each ``*_case(seed, workdir)`` draws a random input from ``seed``, runs it, and checks the invariant of
untrusted specs and filters: the input is either handled correctly or refused with a clear
:class:`~simulacra.errors.SimulacraError`; never another exception, never a run past :data:`HANG_AFTER`
seconds, never a table of the wrong size or a filter mask that disagrees with an independent pandas
computation, never a sampled row that breaks its condition. The CI tests (``tests/unit/spec/test_spec_fuzz.py``)
run a few seeds of each; the longer run is ``benchmarks/fuzz.py`` with the targets of :data:`CASES`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import signal
import string
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

OK, CLEAR_ERROR = "ok", "clear error"
#: the longest one case may run before it counts as a hang
HANG_AFTER = 10.0

_NUMBERS: list[Any] = [0, 1, -1, 2, 0.5, -3.5, 1e9, -1e9, 10**30, 1e308, math.nan, math.inf, -math.inf, True, "x", None]
_KINDS = ["normal", "truncated_normal", "lognormal", "uniform", "exponential", "gamma", "beta", "triangular",
          "integer", "poisson", "binomial", "negative_binomial", "geometric", "zipf", "categorical", "bernoulli",
          "constant", "empirical", "mixture", "formula", "date", "timestamp", "sequence", "uuid", "id",
          "correlated", "fixed_sum", "conditional", "lookup", "rule", "template", "fake"]
_PARAMS = ["mean", "std", "min", "max", "mu", "sigma", "scale", "rate", "shape", "a", "b", "mode", "lam", "n", "p",
           "null_rate", "round", "clip", "weights", "concentration", "total", "decimals", "digits", "start", "step"]
_OPS = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!=", " and ", " or ", "&", "|"]
_FUNCS = ["where", "clip", "log", "exp", "sqrt", "abs", "min", "max", "round", "floor", "int", "float", "days",
          "year", "isnull", "normal", "uniform", "poisson", "randint", "bernoulli", "exponential", "open", "eval"]
_JUNK = ["__import__('os')", "@pd", "x.__class__", "lambda: 1", "[i for i in x]", "{'a': 1}", "x[0]", "`", "'", "\\",
         "\x00", "(" * 60, ")", "10**10**10", "'A' * 10**12", "1 // 0", "9" * 40, "nan", "inf", "row", "é", "\n"]


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`_Hang` in the main thread after ``seconds`` (no-op where signals are unavailable)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise _Hang

    try:
        old = signal.signal(signal.SIGALRM, fire)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def classify(run: Callable[[], str | None], details: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Run one case: ``run`` returns None when the result is correct, else what is wrong with it."""
    from simulacra.errors import SimulacraError

    start = time.perf_counter()
    try:
        with _deadline(HANG_AFTER), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrong = run()
    except _Hang:
        return f"BUG: hang (over {HANG_AFTER:g} s)", details
    except SimulacraError as exc:
        message = str(exc)
        if not message.strip():
            return "BUG: empty error message", details
        return CLEAR_ERROR, {**details, "error": message[:200]}
    except Exception as exc:  # noqa: BLE001 - the invariant under test
        return f"BUG: {type(exc).__name__}", {**details, "error": str(exc)[:300]}
    if time.perf_counter() - start > HANG_AFTER:
        return f"BUG: slow (over {HANG_AFTER:g} s)", details
    if wrong:
        return f"BUG: {wrong}", details
    return OK, details


# -- formulas --------------------------------------------------------------------------------------
def random_formula(rng: random.Random, depth: int = 0) -> str:
    """A formula from the grammar (mostly valid), sometimes with junk spliced in."""
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(["x", "y", "s", "row", "d", *map(repr, [1, 2, 0, -1, 0.5, 1e300, 10**18, "a", "b"]),
                           "nan", "inf", "True", "pi", "undefined_col"])
    if roll < 0.6:
        return f"({random_formula(rng, depth + 1)}{rng.choice(_OPS)}{random_formula(rng, depth + 1)})"
    if roll < 0.7:
        return f"{rng.choice(['-', 'not ', '~', '+'])}{random_formula(rng, depth + 1)}"
    if roll < 0.8:
        return f"{random_formula(rng, depth + 1)} if {random_formula(rng, depth + 1)} else {random_formula(rng, depth + 1)}"
    if roll < 0.85:
        items = ", ".join(rng.choice(["'a'", "'b'", "1", "-2", "x"]) for _ in range(rng.randint(0, 3)))
        return f"{random_formula(rng, depth + 1)} {rng.choice(['in', 'not in'])} [{items}]"
    if roll < 0.95:
        args = ", ".join(random_formula(rng, depth + 1) for _ in range(rng.randint(0, 4)))
        return f"{rng.choice(_FUNCS)}({args})"
    return rng.choice(_JUNK)


def junk_text(rng: random.Random) -> str:
    """Random characters with a bias to the language's own symbols."""
    alphabet = string.ascii_letters[:8] + string.digits + "+-*/%()<>=!&|~ .,'[]" + "_`@\"\\{}:é\x00"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def _columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {"x": rng.integers(-5, 6, n), "y": rng.normal(size=n), "s": np.array(["a", "b", None] * (n // 3 + 1), dtype=object)[:n],
            "d": np.datetime64("2024-01-01", "ns") + rng.integers(0, 10**15, n).astype("timedelta64[ns]")}


def formula_case(seed: int, workdir: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """Parse and evaluate one random formula (grammar-built, or junk) over 7 rows."""
    from simulacra.spec.expr import Expression

    rng = random.Random(seed)
    text = random_formula(rng) if rng.random() < 0.8 else junk_text(rng)
    if rng.random() < 0.05:
        text = rng.choice(["1+" * rng.randint(50, 200_000) + "1", "(" * rng.randint(50, 20_000) + "1" + ")" * 20_000])
    n = 7

    def run() -> str | None:
        out = Expression(text).evaluate(_columns(n, np.random.default_rng(seed)), n, np.random.default_rng(seed), 3)
        return None if np.shape(out) == (n,) else f"result of shape {np.shape(out)} for {n} rows"

    return classify(run, {"formula": text[:200]})


# -- row filters (checked against pandas) ----------------------------------------------------------
def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 40
    age = pd.array(rng.integers(15, 80, n), dtype="Int64")
    age[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame({
        "age": age, "income": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 20_000, n)),
        "sex": pd.array(rng.choice(["F", "M"], n), dtype="string"), "city": pd.Categorical(rng.choice(["Oslo", "Rome", "Lima"], n)),
        "hours-per-week": rng.integers(10, 60, n),
    })


def _atom(rng: random.Random, frame: pd.DataFrame) -> tuple[str, pd.Series]:
    kind = rng.random()
    if kind < 0.4:
        col = rng.choice(["age", "income", "hours-per-week"])
        op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
        value = rng.choice([18, 30, 45.5, 20_000, 0, -1])
        name = f"`{col}`" if not col.isidentifier() else col
        x = frame[col].astype("float64")
        truth = {"<": x < value, "<=": x <= value, ">": x > value, ">=": x >= value, "==": x == value,
                 "!=": (x != value) | x.isna()}[op]  # a missing value equals nothing
        return f"{name} {op} {value}", truth.fillna(False).astype(bool)
    if kind < 0.7:
        col, values = rng.choice([("sex", ["F", "M", "X"]), ("city", ["Oslo", "Rome", "Lima", "Paris"])])
        v = rng.choice(values)
        if rng.random() < 0.5:
            return f"{col} == '{v}'", (frame[col].astype(object) == v).fillna(False).astype(bool)
        chosen = rng.sample(values, rng.randint(1, len(values)))
        negate = rng.random() < 0.5
        truth = frame[col].astype(object).isin(chosen)
        truth = ~truth if negate else truth
        return f"{col} {'not in' if negate else 'in'} {chosen!r}", truth.fillna(False).astype(bool)
    col = rng.choice(["age", "income", "sex"])
    return f"isnull({col})", frame[col].isna()


def random_filter(rng: random.Random, frame: pd.DataFrame, depth: int = 0) -> tuple[str, pd.Series]:
    """A filter text and the mask pandas computes for it independently."""
    if depth > 3 or rng.random() < 0.4:
        return _atom(rng, frame)
    roll = rng.random()
    if roll < 0.2:
        text, truth = random_filter(rng, frame, depth + 1)
        return f"{rng.choice(['not ', '~'])}({text})", ~truth
    (a, ta), (b, tb) = random_filter(rng, frame, depth + 1), random_filter(rng, frame, depth + 1)
    word = rng.choice(["and", "or", "&", "|"])
    return f"({a}) {word} ({b})", (ta & tb) if word in ("and", "&") else (ta | tb)


def filter_case(seed: int, workdir: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """One random filter over a table with missing values: its mask must equal the pandas one; or junk
    text, a hostile filter or an unknown column, which must be refused clearly."""
    from simulacra.expr import row_filter

    rng = random.Random(seed)
    frame = _frame(seed)
    roll = rng.random()
    truth: pd.Series | None = None
    if roll < 0.7:
        text, truth = random_filter(rng, frame)
    elif roll < 0.8:
        text = rng.choice(["agee < 3", "@pd.io.common.os.system('id') == 0", "age.__class__", "city.str.len() > 2",
                           "hours-per-week > 5", "`no such` == 1", "age", "normal(0, 1) > 0", "exec('1')"])
    elif roll < 0.9:
        text = random_formula(rng).replace("x", "age").replace("y", "income").replace("s", "sex")
    else:
        text = junk_text(rng)

    def run() -> str | None:
        mask = row_filter(frame, text)
        if mask.dtype != bool or mask.shape != (len(frame),):
            return f"mask of dtype {mask.dtype} and shape {mask.shape}"
        if truth is not None and not np.array_equal(mask, truth.to_numpy(dtype=bool)):
            return "mask differs from pandas"
        return None

    return classify(run, {"filter": text[:200]})


# -- specs ------------------------------------------------------------------------------------------
def _value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice([1, 2, 3, 0.5, 0.25, 10])
    return rng.choice(_NUMBERS) if roll < 0.9 else rng.choice([[1, 2], [0.2, 0.8], {"a": 1}, "2024-01-01", []])


def _valid_column(rng: random.Random) -> dict[str, Any]:
    """A column spec that is valid by construction, with random parameters in range."""
    u = rng.uniform
    lo = round(u(-10, 10), 2)
    options: list[dict[str, Any]] = [
        {"kind": "normal", "mean": lo, "std": round(u(0.1, 5), 2)}, {"kind": "uniform", "min": lo, "max": lo + 1},
        {"kind": "truncated_normal", "mean": 0, "std": 1, "min": -1, "max": round(u(-0.5, 3), 2)},
        {"kind": "lognormal", "mu": 0, "sigma": round(u(0.1, 2), 2)}, {"kind": "exponential", "scale": round(u(0.1, 9), 2)},
        {"kind": "gamma", "shape": round(u(0.2, 5), 2)}, {"kind": "beta", "a": 2, "b": round(u(0.5, 5), 2)},
        {"kind": "triangular", "min": 0, "mode": 1, "max": 3}, {"kind": "integer", "min": -3, "max": rng.randint(-3, 50)},
        {"kind": "poisson", "lam": round(u(0, 20), 2)}, {"kind": "binomial", "n": rng.randint(0, 9), "p": round(u(0, 1), 2)},
        {"kind": "negative_binomial", "n": 2, "p": round(u(0.05, 1), 2)}, {"kind": "geometric", "p": round(u(0.05, 1), 2)},
        {"kind": "zipf", "a": round(u(1.1, 3), 2)}, {"kind": "categorical", "values": {"a": 1, "b": round(u(0, 3), 2) + 0.01}},
        {"kind": "bernoulli", "p": round(u(0, 1), 2)}, {"kind": "empirical", "values": [1, 5, 9], "smooth": 0.1},
        {"kind": "date", "start": "2020-01-01", "end": "2024-12-31"}, {"kind": "sequence", "start": rng.randint(0, 9)},
        {"kind": "uuid"}, {"kind": "id", "digits": 8}, {"kind": "formula", "expr": random_formula(rng).replace("s", "x")},
        {"kind": "correlated", "columns": {"g1": {"kind": "normal"}, "g2": {"kind": "gamma", "shape": 2}},
         "correlation": {"g1, g2": round(u(-0.9, 0.9), 2)}},
        {"kind": "fixed_sum", "columns": ["f1", "f2", "f3"], "total": rng.choice([100, "y"]), "decimals": rng.randint(0, 3)},
        {"kind": "lookup", "key": "y", "table": {1: "one", 2: "two"}, "default": "other"},
        {"kind": "rule", "rules": [{"if": "x > 0", "then": "pos"}], "else": "neg", "flip": 0.1},
        {"kind": "conditional", "when": [{"if": "y > 4", "then": {"kind": "normal"}}], "else": 0},
        {"kind": "template", "template": "{x:.2f} / {y}"},
        {"kind": "mixture", "components": [{"kind": "normal", "weight": 2}, {"kind": "uniform", "min": 5, "max": 6}]},
    ]
    column = rng.choice(options)
    if rng.random() < 0.2 and column["kind"] not in ("correlated", "fixed_sum", "sequence", "uuid", "id"):
        column["null_rate"] = round(u(0, 0.9), 2)
    return column


def random_column(rng: random.Random, depth: int = 0) -> Any:
    """A column spec: a valid one, a known kind with random (often bad) parameters, a formula, or a constant."""
    roll = rng.random()
    if roll < 0.75:
        return _valid_column(rng)
    if roll < 0.8:
        return "= " + random_formula(rng)
    if roll < 0.82:
        return _value(rng)
    kind = rng.choice(_KINDS)
    column: dict[str, Any] = {"kind": kind}
    for name in rng.sample(_PARAMS, rng.choice([0, 0, 1, 2, 4])):
        column[name] = _value(rng)
    if kind in ("categorical", "empirical"):
        column["values"] = rng.choice([["a", "b"], [1, 2, 3], {"a": 0.5, "b": math.nan}, [], [None]])
    elif kind in ("correlated", "mixture") and depth < 2:
        members = {f"m{i}": random_column(rng, depth + 1) for i in range(rng.randint(1, 3))}
        if kind == "correlated":
            column["columns"] = members
            k = len(members)
            column["correlation"] = rng.choice([[[1.0 if i == j else rng.choice([0.5, -0.9, math.nan, 2]) for j in range(k)]
                                                 for i in range(k)], {"m0, m1": rng.choice([0.3, math.nan, 1.5])}])
        else:
            column["components"] = [dict(m, weight=_value(rng)) if isinstance(m, dict) else m for m in members.values()]
    elif kind == "fixed_sum":
        column.update(columns=["f1", "f2"], total=rng.choice([100, -5, math.nan, "x", 1e300]))
    elif kind in ("conditional", "rule"):
        column["when" if kind == "conditional" else "rules"] = [{"if": random_formula(rng), "then": random_column(rng, depth + 1)}]
    elif kind in ("date", "timestamp"):
        column.update(start=rng.choice(["2024-01-01", "9999-12-31", "x", 5]), end=rng.choice(["2025-01-01", "2020-01-01"]))
    elif kind == "fake":
        column.update(method=rng.choice(["company", "binary", "zip", "__class__", "seed_instance", "no_such", "format"]),
                      pool_size=rng.choice([1, 50, 0]))
    elif kind == "template":
        column["template"] = rng.choice(["{x} and {y}", "{", "{x:.2f}", "{__class__}"])
    return column


def random_spec(rng: random.Random) -> dict[str, Any]:
    columns: dict[Any, Any] = {"x": {"kind": "normal"}, "y": {"kind": "integer", "min": 0, "max": 9}}
    for i in range(rng.randint(1, 4)):
        columns[f"c{i}"] = random_column(rng)
    table: dict[str, Any] = {"rows": rng.choice([5, 50, 0, -1, 10**12, "many"]) if rng.random() < 0.2 else 20,
                             "columns": columns}
    if rng.random() < 0.3:
        table["constraints"] = [rng.choice(["x < 3", "c0 > 0", random_formula(rng), {"unique": "x"}, {"column": "y", "min": 5, "max": 1}])]
    spec: dict[str, Any] = {"tables": {"t": table}}
    if rng.random() < 0.2:
        spec["seed"] = _value(rng)
    if rng.random() < 0.1:
        spec["tables"]["u"] = {"kind": rng.choice(["table", "timeseries", "graph"]), "parent": "t",
                               "per_parent": random_column(rng), "entities": "t", "length": 3, "model": "erdos_renyi",
                               "nodes": 5, "p": _value(rng), "columns": {"v": random_column(rng)}}
    return spec


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(chars) + 1)
        op = rng.random()
        if op < 0.4 and chars:
            del chars[min(i, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(i, rng.choice(":-[]{}&*!|>'\"#\n ,?%@`\t\\x0"))
        else:
            chars.insert(i, rng.choice(["&a ", "*a", "!!python/object:os.system ", "<<: *a", "\n  - ", ".nan", ".inf"]))
    return "".join(chars)


def _yaml_document(rng: random.Random) -> str:
    import yaml

    spec = random_spec(rng)
    text = yaml.safe_dump(spec, sort_keys=False) if rng.random() < 0.8 else _alias_document(rng)
    return _mutate(text, rng) if rng.random() < 0.5 else text


def _alias_document(rng: random.Random) -> str:
    levels, width = rng.randint(1, 12), rng.randint(1, 12)
    lines = ["a0: &a0 [lol]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\ntables: {{t: {{rows: 3, columns: {{x: {{kind: categorical, values: *a{levels}}}}}}}}}\n"


def spec_case(seed: int, workdir: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """One random spec (a random spec mapping, its YAML, a mutated YAML or an alias bomb): checked, then
    generated at a small size; every table must have the size the spec promises."""
    from simulacra.spec import Spec

    rng = random.Random(seed)
    as_yaml = rng.random() < 0.5
    source: Any = _yaml_document(rng) if as_yaml else random_spec(rng)

    def run() -> str | None:
        spec = Spec.from_yaml(source) if as_yaml else Spec.from_dict(source)
        n = rng.choice([0, 1, 17])
        frames = spec.generate(n if spec.main else None, random_state=seed % 1000)
        for name, frame in frames.items():
            want = spec.count(name, n if spec.main else None, random_state=seed % 1000)
            if len(frame) != want:
                return f"table {name} has {len(frame)} rows, the spec promises {want}"
        return None

    return classify(run, {"spec": (source if as_yaml else repr(source))[:400]})


# -- sampling conditions (checked against the rows) -------------------------------------------------
@functools.lru_cache(maxsize=1)
def _conditional_model() -> Any:
    from simulacra.tabular.registry import get_synthesizer_class
    from simulacra.testing import example_table

    return get_synthesizer_class("copula")(random_state=0).fit(example_table())


def _condition_value(rng: random.Random, column: str) -> Any:
    known: dict[str, list[Any]] = {"age": [30, 45, "52", 39.0], "income": [30_000.5], "city": ["Oslo", "Lima", "Bergen"],
                 "member": [True, False, "true", "no"], "joined": ["2022-03-01", "2021-07-06 00:00:00"],
                 "score": [50, 55.5], "customer_id": [1]}
    plausible = known.get(column, [1])
    junk: list[Any] = [None, math.nan, math.inf, -1, 10**30, 1e308, "", "<rare>", "x" * 300, [], {"a": 1}, "2022-02-30",
            "nan", b"bytes", object()]
    if rng.random() < 0.15:
        return [rng.choice(plausible + junk[:3]) for _ in range(rng.randint(1, 3))]
    return rng.choice(plausible) if rng.random() < 0.6 else rng.choice(junk)


def _holds(series: pd.Series, value: Any) -> np.ndarray:
    """An independent check that every sampled value satisfies the condition ``value``."""
    if isinstance(value, list):
        return np.logical_or.reduce([_holds(series, v) for v in value]) if value else np.zeros(len(series), bool)
    if value is None or isinstance(value, float) and math.isnan(value):
        return series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        return (series == (str(value).lower() in ("true", "yes", "1"))).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return np.isclose(series.to_numpy(dtype=float, na_value=np.nan), float(value), rtol=1e-9, atol=0)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return (series == pd.Timestamp(value)).fillna(False).to_numpy(dtype=bool)
    return (series.astype(str) == str(value)).to_numpy()


def conditions_case(seed: int, workdir: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """Sample a fitted model under random conditions (plausible, impossible, malformed, unknown columns):
    every returned row must satisfy them, or the request must be refused clearly."""
    rng = random.Random(seed)
    model = _conditional_model()
    names = ["age", "income", "city", "member", "joined", "score", "customer_id", "no_such", "", "AGE"]
    conditions: Any = {rng.choice(names): None for _ in range(rng.randint(1, 2))}
    conditions = {k: _condition_value(rng, k) for k in conditions}
    if rng.random() < 0.05:
        conditions = rng.choice([[("city", "Oslo")], "city=Oslo", 5])
    n = rng.choice([0, 1, 25])

    def run() -> str | None:
        rows = model.sample(n, random_state=seed, conditions=conditions)
        if len(rows) != n:
            return f"{len(rows)} rows for {n}"
        for name, value in conditions.items():
            if not _holds(rows[name], value).all():
                return f"rows break the condition {name}={value!r}"
        return None

    return classify(run, {"conditions": repr(conditions)[:300], "n": n})


CASES: dict[str, Callable[[int, Path], tuple[str, dict[str, Any]]]] = {
    "spec": spec_case, "formula": formula_case, "filter": filter_case, "conditions": conditions_case,
}
