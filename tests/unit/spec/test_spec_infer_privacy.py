"""`spec infer` keeps the privacy floors of the fitted models: no rare category, no exact extreme."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.spec import Spec, infer_spec


@pytest.fixture
def private() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    job = rng.choice(["Sales", "Tech", "Craft"], n).astype(object)
    job[:3] = "Armed-Forces"  # seen in 3 rows: below the floor of 5
    weight = rng.gamma(4, 50_000, n)
    weight[10], weight[11] = 12_285.0, 1_484_705.0  # one person's minimum and maximum
    kids = rng.poisson(1.0, n)
    kids[20] = 9  # a single family with 9 children
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    day = day.to_numpy().copy()
    day[30] = np.datetime64("1999-12-31")  # one unusual date
    return pd.DataFrame({"job": job, "fnlwgt": weight, "kids": kids, "day": day})


def _columns(draft: dict) -> dict:
    cols = dict(draft["tables"]["data"]["columns"])
    for group in [c for c in cols.values() if c.get("kind") == "correlated"]:
        cols.update(group["columns"])
    return cols


def test_draft_lists_no_rare_category_and_no_exact_extreme(private):
    draft = infer_spec(private)
    cols = _columns(draft)
    jobs = cols["job"]["values"]
    assert "Armed-Forces" not in jobs and jobs["<rare>"] == pytest.approx(3 / 2000, abs=1e-6)
    lo, hi = cols["fnlwgt"]["clip"]
    x = np.sort(private["fnlwgt"].to_numpy())
    assert lo == x[4] and hi == x[-5] and lo > 12_285.0 and hi < 1_484_705.0
    assert 9 not in cols["kids"].get("values", [])
    assert cols["day"]["start"] > "1999-12-31"
    assert "privacy floors" in draft["description"] and "fewer than 5 rows" in draft["description"]


def test_generated_rows_reproduce_neither(private):
    frame = Spec.from_dict(infer_spec(private)).generate_table("data", 20_000, random_state=0)
    assert not frame["job"].isin(["Armed-Forces"]).any()
    assert not frame["fnlwgt"].isin([12_285.0, 1_484_705.0]).any()
    assert (frame["kids"] != 9).all()


def test_floor_can_be_turned_off(private):
    cols = _columns(infer_spec(private, min_category_count=1))
    assert "Armed-Forces" in cols["job"]["values"] and cols["fnlwgt"]["clip"] == [12_285.0, 1_484_705.0]
    assert "without privacy floors" in infer_spec(private, min_category_count=1)["description"]


def test_cli_draft_says_so_in_a_comment(private, tmp_path):
    from simulacra.cli.main import main

    private.to_csv(tmp_path / "real.csv", index=False)
    try:
        main(["spec", "infer", str(tmp_path / "real.csv"), "-o", str(tmp_path / "draft.yaml")])
    except SystemExit as exc:
        assert not exc.code
    text = (tmp_path / "draft.yaml").read_text()
    assert "# Inferred with privacy floors" in text and "Armed-Forces" not in text and "1484705" not in text


def test_a_one_row_table_gives_a_valid_draft():
    draft = infer_spec(pd.DataFrame({"a": [1.5], "b": [2], "c": ["x"]}))
    frame = Spec.from_dict(draft).generate_table("data", 5, random_state=0)
    assert len(frame) == 5 and set(frame["c"]) == {"<rare>"}
    assert "only 1 rows" in draft["description"]
