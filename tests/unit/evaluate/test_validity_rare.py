"""The rare-category placeholder of simulacra's synthesizers is not an invalid value."""

from __future__ import annotations

import pandas as pd

from simulacra.evaluate import evaluate
from simulacra.transform import RARE_TOKEN


def test_rare_placeholder_is_not_an_unseen_category():
    real = pd.DataFrame({"city": ["Oslo"] * 30 + ["Rome"] * 30 + ["Lima"], "x": range(61)})
    syn = pd.DataFrame({"city": ["Oslo"] * 30 + ["Rome"] * 29 + [RARE_TOKEN, "Atlantis"], "x": range(61)})
    report = evaluate(real=real, synthetic=syn).to_dict()
    details = report["metrics"]["validity"]["details"]["columns"]["city"]
    assert details["unseen"] == 1 and details["examples"] == ["Atlantis"]
    assert details["rare_placeholder"] == 1
    assert abs(report["unseen_categories"] - 1 / 61) < 1e-9
