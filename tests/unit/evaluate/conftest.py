from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = 1000 + 40 * age + rng.normal(0, 300, n) + shift * 500
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = (income + (group == "a") * 400 + rng.normal(0, 300, n) > 3000).astype(int)
    frame = pd.DataFrame({
        "age": age, "income": income, "group": group,
        "flag": rng.random(n) < 0.3,
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        "y": np.where(y == 1, "yes", "no"),
    })
    frame.loc[rng.random(n) < 0.05, "income"] = np.nan
    return frame


@pytest.fixture(scope="session")
def tables() -> dict[str, pd.DataFrame]:
    return {"real": make_table(800, 1), "synthetic": make_table(800, 2), "holdout": make_table(800, 3)}


@pytest.fixture(scope="session")
def small_options():
    from simulacra.evaluate import EvalOptions

    return EvalOptions(detection_rows=400, utility_rows=800, privacy_rows=300, reference_rows=600, attack_rows=200,
                       n_threads=1)
