"""Bias per sensitive group and validity checks (bounds, categories, types, constraints)."""

from __future__ import annotations

import numpy as np

from simulacra.evaluate import evaluate
from simulacra.metadata import Metadata


def test_bias_amplification_is_signed(tables):
    real, syn = tables["real"], tables["synthetic"].copy()
    syn.loc[syn["group"] == "a", "y"] = "yes"
    syn.loc[syn["group"] == "c", "y"] = "no"
    rep = evaluate(real, syn, target="y", sensitive=["group", "age"], metrics=["bias_amplification"])
    per = rep.results["bias_amplification"].details["columns"]["group"]
    assert per["parity_difference_synthetic"] == 1.0
    assert rep.bias_amplification > 0.3
    rates = {g["group"]: g for g in per["groups"]}
    assert rates["a"]["synthetic"] == 1.0 and rates["c"]["synthetic"] == 0.0
    assert "age" in rep.results["bias_amplification"].details["columns"]  # numeric column, quartile groups
    same = evaluate(real, real.copy(), target="y", sensitive="group", metrics=["bias_amplification"])
    assert same.bias_amplification == 0.0


def test_validity_counts_each_kind_of_problem(tables):
    real = tables["real"]
    syn = real.copy()
    syn.loc[0:9, "age"] = 500  # out of bounds
    syn["group"] = syn["group"].astype(object)
    syn.loc[10:14, "group"] = "zzz"  # unseen
    syn["income"] = syn["income"].astype(object)
    syn.loc[20:22, "income"] = "n/a"  # type errors
    meta = Metadata.detect(real)
    meta.constraints = [
        {"type": "inequality", "low": "age", "high": "income"},
        {"type": "range", "column": "age", "min": 18, "max": 79},
        {"type": "mystery"},
    ]
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        rep = evaluate(real, syn, metadata=meta, metrics=["validity"])
    res = rep.results["validity"]
    assert res.details["columns"]["age"]["out_of_bounds"] == 10
    assert res.details["columns"]["group"]["unseen"] == 5 and res.details["columns"]["group"]["examples"] == ["zzz"]
    assert res.details["columns"]["income"]["unreadable"] == 3
    rules = {c["rule"]: c["violations"] for c in res.details["constraints"]}
    assert rules["18.0 ≤ age ≤ 79.0"] == 10
    assert any(v is None for v in rules.values())  # unknown kinds are listed, not guessed
    assert rep.out_of_bounds == 10 / len(syn)
    assert np.isclose(rep.validity, 1 - 18 / len(syn))  # the 3 unreadable numbers are invalid rows too
    clean = evaluate(real, real.copy(), metrics=["validity"])
    assert clean.validity == 1.0
