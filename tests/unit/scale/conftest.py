from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def small_synth():
    """A fitted copula on a small mixed table (numbers, categories, missing values)."""
    from simulacra.tabular.copula import GaussianCopulaSynthesizer

    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "age": (40 + 10 * x).round().astype(int),
            "income": np.where(rng.random(n) < 0.1, np.nan, np.exp(10 + x + rng.normal(size=n) * 0.3)),
            "group": rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]),
        }
    )
    return GaussianCopulaSynthesizer(random_state=0).fit(frame)
