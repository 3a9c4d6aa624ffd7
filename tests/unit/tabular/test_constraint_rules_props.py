"""Property tests: the rule reparameterizations round-trip exactly, and repaired rows obey the rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulacra.metadata import Metadata
from simulacra.rules import rule_mask
from simulacra.tabular.constraints import ConstraintSet

PRICES = st.lists(st.tuples(st.integers(100, 100_000), st.integers(-500, 500), st.integers(0, 300), st.integers(0, 300)),
                  min_size=5, max_size=40)


def _ohlc(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    a = np.array(rows, dtype=float)
    open_, close = a[:, 0] / 100, (a[:, 0] + a[:, 1]) / 100
    return pd.DataFrame({"open": open_, "close": close, "high": np.maximum(open_, close) + a[:, 2] / 100,
                         "low": np.minimum(open_, close) - a[:, 3] / 100})


RULES = [{"kind": "bound", "column": "high", "at_least": ["open", "close"]},
         {"kind": "bound", "column": "low", "at_most": ["open", "close"]}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PRICES)
def test_bounds_round_trip_exactly(rows: list[tuple[int, int, int, int]]) -> None:
    df = _ohlc(rows)
    cs = ConstraintSet.parse(RULES).fit(df, Metadata.detect(df), min_count=1)
    back, broken = cs.reverse(cs.transform(df))
    assert not broken.any()
    pd.testing.assert_frame_equal(back[df.columns].reset_index(drop=True), df, check_exact=False, atol=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PRICES, st.lists(st.floats(-30, 30), min_size=40, max_size=40))
def test_any_model_output_maps_back_to_rows_that_keep_the_rules(rows: list[tuple[int, int, int, int]], z: list[float]) -> None:
    df = _ohlc(rows)
    cs = ConstraintSet.parse(RULES).fit(df, Metadata.detect(df), min_count=1)
    model_space = cs.transform(df)
    model_space["high"] = np.array(z[: len(df)])  # whatever a model samples for the reparameterized columns
    model_space["low"] = -np.array(z[: len(df)])
    back, broken = cs.reverse(model_space)
    for rule in RULES:
        assert rule_mask(rule, back[~broken], df).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1439), min_size=5, max_size=40), st.lists(st.integers(-60, 1500), min_size=40, max_size=40))
def test_clock_arithmetic_always_gives_a_valid_hhmm_time(sched: list[int], delay: list[int]) -> None:
    m = np.array(sched)
    d = np.array(delay[: len(m)])
    hhmm = (m // 60) * 100 + m % 60
    dep = (((m + d) % 1440) // 60) * 100 + (m + d) % 60
    df = pd.DataFrame({"sched": hhmm, "delay": d, "dep": dep})
    rules = [{"kind": "derived", "column": "dep", "formula": "clock(clock_minutes(sched) + delay)"},
             {"kind": "clock", "column": "sched"}]
    cs = ConstraintSet.parse(rules).fit(df, Metadata.detect(df), min_count=1)
    space = cs.transform(df)
    assert "dep" not in space.columns  # computed, never modelled
    space["sched"] = space["sched"] + 0.4  # a model's continuous output, off the grid
    back, _ = cs.reverse(space)
    assert (back["sched"] % 100 < 60).all() and (back["dep"] % 100 < 60).all()
    assert all(rule_mask(r, back, df).all() for r in rules)
