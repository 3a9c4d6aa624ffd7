"""A saved model holds no record's extreme and no rare value: every member of the archive is searched.

One training row carries an extreme in each of its number, date and duration columns and a category
no other row has; another column has a numeric level seen in one row only. Each registered
single-table model is fitted, saved, and every JSON member and every array of ``arrays.npz`` is
searched for those values: none may be there (the floors keep the ``k``-th smallest and largest
values instead, ``k = min_category_count``). With the floor turned off the same search finds them,
so the search itself is shown to work.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra import load
from simulacra.metadata import Metadata
from simulacra.tabular.registry import BUILTIN, get_synthesizer_class

EXTREME_NUMBER = 98765.4321
EXTREME_INT = 7777777
RARE_LEVEL = 2.625  # a level of the few-valued column ``level`` (between its others) seen in one row only
RARE_CATEGORY = "ZZ-only-one-row"
EXTREME_DATE = pd.Timestamp("2091-03-04")
EXTREME_WAIT = pd.Timedelta(days=4321)


def planted_table(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "amount": rng.normal(50, 10, n).round(3),
        "count": rng.integers(0, 100, n),
        "level": rng.choice([1.0, 2.0, 3.0, 4.0], n),
        "group": rng.choice(["a", "b", "c"], n),
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "wait": pd.to_timedelta(rng.integers(1, 30, n), unit="D"),
        "label": rng.choice([0, 1], n),
    })
    df.loc[3, "amount"] = EXTREME_NUMBER
    df.loc[4, "count"] = EXTREME_INT
    df.loc[5, "level"] = RARE_LEVEL
    df.loc[6, "group"] = RARE_CATEGORY
    df.loc[7, "when"] = EXTREME_DATE
    df.loc[8, "wait"] = EXTREME_WAIT
    return df


#: The non-DP single-table models (a DP model's domains are noisy or public: its own tests cover them).
FLOORED = sorted(n for n in BUILTIN if get_synthesizer_class(n).exact_domain)

NUMBERS = {
    "amount": EXTREME_NUMBER, "count": float(EXTREME_INT), "level": RARE_LEVEL,
    "when (s)": EXTREME_DATE.value / 1e9, "wait (s)": EXTREME_WAIT.total_seconds(),
}
TEXTS = {"amount": "98765.4321", "count": "7777777", "group": RARE_CATEGORY, "when": "2091-03-04"}


def _numbers_in(value, found: list[float]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _numbers_in(v, found)
    elif isinstance(value, list):
        for v in value:
            _numbers_in(v, found)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found.append(float(value))


def leaks(path: Path) -> list[str]:
    """Every planted value found in any member of the model archive (JSON text, JSON numbers, arrays)."""
    hits = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            data = archive.read(member)
            numbers: list[float] = []
            if member.endswith(".npz"):
                with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                    for key in arrays.files:
                        array = arrays[key]
                        if array.dtype.kind in "fiu":
                            numbers.extend(array.astype(float).ravel().tolist())
                        else:
                            text = " ".join(map(str, array.ravel().tolist()))
                            hits += [f"{member}:{key} has {what}" for what, t in TEXTS.items() if t in text]
            else:
                text = data.decode()
                hits += [f"{member} has {what} ({t!r})" for what, t in TEXTS.items() if t in text]
                _numbers_in(json.loads(text), numbers)
            values = np.asarray(numbers, dtype=float)
            for what, v in NUMBERS.items():
                if values.size and np.isclose(values, v, rtol=1e-9, atol=0).any():
                    hits.append(f"{member} holds the value of {what} ({v!r})")
    return hits


@pytest.mark.parametrize("model", FLOORED)
def test_saved_model_holds_no_extreme_and_no_rare_value(model, tmp_path):
    df = planted_table()
    fitted = get_synthesizer_class(model)(random_state=0).fit(df)
    path = fitted.save(tmp_path / "m.model")
    assert leaks(path) == []
    rows = load(path).sample(2000, random_state=1)
    assert rows["amount"].max() < EXTREME_NUMBER and rows["count"].max() < EXTREME_INT
    assert RARE_CATEGORY not in set(rows["group"].astype(str)) and RARE_LEVEL not in set(rows["level"])
    assert rows["when"].max() < EXTREME_DATE and rows["wait"].max() < EXTREME_WAIT


@pytest.mark.parametrize("model", FLOORED)
def test_without_the_floor_the_search_finds_them(model, tmp_path):
    """``min_category_count=1`` turns the floors off: the same search must then find the planted values."""
    fitted = get_synthesizer_class(model)(random_state=0, min_category_count=1).fit(planted_table())
    found = " ".join(leaks(fitted.save(tmp_path / "m.model")))
    assert "amount" in found and "count" in found and "group" in found and "when" in found


def test_detected_bounds_are_floored_declared_public_bounds_kept():
    df = planted_table()
    meta = Metadata.detect(df)
    meta.columns["count"].minimum = -1000.0  # beyond every value: a public domain bound, kept
    model = get_synthesizer_class("copula")(metadata=meta, random_state=0).fit(df)
    saved = model.to_state()["metadata"]["columns"]
    finite = np.sort(df["amount"].to_numpy())
    assert saved["amount"]["maximum"] == finite[-5] and saved["amount"]["minimum"] == finite[4]
    assert saved["count"]["minimum"] == -1000.0
    assert saved["count"]["maximum"] == float(np.sort(df["count"].to_numpy())[-5])
    assert pd.Timestamp(saved["when"]["maximum"]) == df["when"].sort_values().iloc[-5]
    assert meta.columns["amount"].maximum == EXTREME_NUMBER  # the caller's metadata is not changed
