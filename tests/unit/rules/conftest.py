"""A table with one rule of every kind, and one with none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def rules_table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sched_min = rng.integers(5 * 60, 23 * 60, n)
    sched = (sched_min // 60) * 100 + sched_min % 60
    delay = np.round(rng.gamma(1.5, 20, n) - 10).astype(int)
    dep = (((sched_min + delay) % 1440) // 60) * 100 + (sched_min + delay) % 60
    grade = rng.choice(["low", "mid", "high", "top"], n, p=[0.3, 0.3, 0.3, 0.1])
    open_ = np.round(rng.uniform(10, 100, n), 2)
    close = np.round(open_ * rng.uniform(0.95, 1.05, n), 2)
    high = np.round(np.maximum(open_, close) + rng.exponential(0.5, n), 2)
    low = np.round(np.minimum(open_, close) - rng.exponential(0.5, n), 2)
    above = rng.integers(500, 3000, n)
    basement = np.where(rng.random(n) < 0.5, 0, rng.integers(100, 1500, n))
    score = rng.normal(50, 10, n).round(1)
    extra = rng.normal(0, 1, n).round(3)
    gone = rng.random(n) < 0.1
    score[gone] = np.nan
    extra[gone | (rng.random(n) < 0.1)] = np.nan
    return pd.DataFrame({
        "sched": sched, "delay": delay, "dep": dep, "hour": sched // 100, "minute": sched % 100,
        "grade": grade, "grade_num": pd.Series(grade).map({"low": 1, "mid": 2, "high": 3, "top": 4}).to_numpy(),
        "open": open_, "close": close, "high": high, "low": low,
        "above": above, "basement": basement, "living": above + basement,
        "score": score, "extra": extra,
    })


def plain_table(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(0, 1, n).round(2), "y": rng.integers(0, 100, n), "z": rng.integers(0, 100, n),
        "g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["u", "v"], n), "w": rng.exponential(3, n).round(1),
    })


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rules_table()


@pytest.fixture(scope="module")
def plain() -> pd.DataFrame:
    return plain_table()


@pytest.fixture()
def make_table():  # noqa: ANN201
    return rules_table
