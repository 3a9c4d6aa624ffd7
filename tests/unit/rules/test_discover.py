"""Discovery finds each kind of rule, keeps simple ones, and refuses accidental ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import ConstraintError, InputError
from simulacra.rules import Formula, describe_rule, discover_rules, rule_mask
from simulacra.rules.stats import chance_log10, fd_chance_log10



def _found(df: pd.DataFrame) -> set[str]:
    return {describe_rule(r) for r in discover_rules(df).rules}


def test_discovery_finds_every_kind(table: pd.DataFrame) -> None:
    found = _found(table)
    assert "living = above + basement" in found
    assert "hour = sched // 100" in found
    assert "minute = sched % 100" in found
    assert "dep = clock(clock_minutes(sched) + delay)" in found
    assert "grade -> grade_num" in found
    assert "high >= max(close, open)" in found
    assert "low <= min(close, open)" in found
    assert "sched is a clock time HHMM (minutes < 60)" in found
    assert "if score is missing then extra missing" in found


def test_every_found_rule_holds_on_the_table_and_says_so(table: pd.DataFrame) -> None:
    found = discover_rules(table)
    for rule in found.rules:
        assert rule_mask(rule, table, table).all(), rule
        assert rule["found"].startswith("holds in ")
    assert found.candidates > 100 and found.discarded  # what was dropped is counted, with reasons


def test_no_rule_on_a_table_without_rules(plain: pd.DataFrame) -> None:
    assert discover_rules(plain).rules == []


def test_accidental_agreement_on_a_small_table_is_not_a_rule() -> None:
    # two skewed columns that agree on every one of 300 rows by accident: p0 ~ 0.98, 0.98**300 ~ 0.002
    rng = np.random.default_rng(3)
    a = (rng.random(300) < 0.01).astype(int)
    df = pd.DataFrame({"a": a, "b": a.copy(), "c": rng.normal(size=300)})
    df.loc[df["a"] == 1, "b"] = 1
    found = discover_rules(df)
    assert not [r for r in found.rules if r["kind"] in ("derived", "dependency")]
    assert any("chance" in reason for reason in found.discarded)


def test_a_rule_holding_on_twenty_rows_is_not_enough_but_on_three_hundred_it_is() -> None:
    rng = np.random.default_rng(4)
    big = pd.DataFrame({"a": rng.integers(0, 2, 300), "b": rng.integers(0, 2, 300)})
    big["t"] = big["a"] + big["b"]
    assert "t = a + b" in _found(big)
    assert "t = a + b" not in _found(big.head(20))


def test_chance_of_a_rule() -> None:
    assert chance_log10(0.5, 20) == pytest.approx(-6.02, abs=0.01)  # 20 coin flips: kept only below 1e-9
    assert fd_chance_log10(np.array([1, 1, 1]), np.array([0.5, 0.5])) == 0.0  # a key determines anything
    assert fd_chance_log10(np.array([100]), np.array([0.5, 0.5])) == pytest.approx(np.log10(2 * 0.5**100))


def test_a_near_rule_broken_in_a_few_rows_records_its_exceptions(table: pd.DataFrame) -> None:
    df = table.copy()
    df.loc[5, "low"] = df.loc[5, "open"] + 0.01  # one data error in 1,500 rows
    bound = next(r for r in discover_rules(df).rules if r["kind"] == "bound" and r["column"] == "low")
    assert bound["exceptions"] == pytest.approx(1 / 1500, rel=0.01)


def test_discovery_is_fast_on_30000_rows_and_20_columns(make_table) -> None:  # noqa: ANN001
    import time

    big = pd.concat([make_table(15000, 0), make_table(15000, 1)], ignore_index=True)
    big = big.assign(r1=np.arange(30000) % 7, r2=np.arange(30000) * 0.5, r3=np.arange(30000) % 11, r4=1.0)
    start = time.perf_counter()
    discover_rules(big)
    assert time.perf_counter() - start < 20  # 10 s is the benchmark target; slack for a loaded machine


@pytest.mark.parametrize("text", ["__import__('os')", "a.real", "a[0]", "lambda: 1", "open(a)", "a if b else c"])
def test_formulas_run_no_code(text: str) -> None:
    with pytest.raises(ConstraintError, match="not allowed|is a function|not valid|takes"):
        Formula(text)


def test_formula_functions() -> None:
    f = Formula("timestamp(y, m, d, h) + hours(5)")
    v = f.evaluate({"y": np.array([2013.0]), "m": np.array([1.0]), "d": np.array([31.0]), "h": np.array([23.0])})
    assert pd.Timestamp(v[0], unit="s") == pd.Timestamp("2013-02-01 04:00")
    assert Formula("clock24(clock_minutes(t) + d)").evaluate({"t": np.array([2330.0]), "d": np.array([30.0])})[0] == 2400
    assert Formula("`education-num` * 2").columns == ["education-num"]


def test_unknown_kind_is_refused(plain: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="Unknown rule kinds"):
        discover_rules(plain, kinds=("ratio",))


def test_a_utc_timestamp_built_from_local_clock_parts_across_daylight_saving() -> None:
    rng = np.random.default_rng(5)
    local = pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 364, 2000), unit="D")
    df = pd.DataFrame({"year": local.year, "month": local.month, "day": local.day, "hour": rng.integers(5, 23, 2000)})
    wall = pd.to_datetime(df[["year", "month", "day", "hour"]])
    df["time_hour"] = wall.dt.tz_localize("America/New_York").dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    formulas = [r["formula"] for r in discover_rules(df).rules if r["kind"] == "derived"]
    assert formulas == ["utc(timestamp(year, month, day, hour), 'America/New_York')"]
    with pytest.raises(ConstraintError, match="unknown time zone"):
        Formula("utc(timestamp(year, month, day), 'Mars/Olympus')").evaluate(
            {c: np.array([2013.0]) if c == "year" else np.array([1.0]) for c in ("year", "month", "day")})


def test_a_dependency_on_two_columns_is_found_and_kept() -> None:
    import simulacra as sim
    from simulacra.rules import add_rules

    rng = np.random.default_rng(6)
    # 12 routes, 5 distances: neither the distance nor one end alone tells the other
    routes = {(o, d): 200 * (1 + (3 * i) % 5) for i, (o, d) in enumerate(
        (o, d) for o in ("EWR", "JFK", "LGA") for d in ("ATL", "BOS", "ORD", "MIA"))}
    origin, dest = rng.choice(["EWR", "JFK", "LGA"], 3000), rng.choice(["ATL", "BOS", "ORD", "MIA"], 3000)
    df = pd.DataFrame({"origin": origin, "dest": dest, "delay": rng.normal(0, 10, 3000).round(),
                       "distance": [routes[(o, d)] for o, d in zip(origin, dest)]})
    meta = sim.Metadata.detect(df)
    found = add_rules(meta, df)
    assert [describe_rule(r) for r in found.rules] == ["origin + dest -> distance"]
    out = sim.get_synthesizer_class("gmm")(metadata=meta, random_state=0).fit(df).sample(2000, random_state=0)
    assert all(routes[(o, d)] == x for o, d, x in zip(out["origin"], out["dest"], out["distance"]))


def test_a_derived_clock_column_sampled_where_its_inputs_are_missing_keeps_its_format(table: pd.DataFrame) -> None:
    assert "dep is a clock time HHMM (minutes < 60)" not in _found(table)  # computed everywhere: its formula keeps it
    df = table.copy()
    df.loc[:40, "delay"] = np.nan  # the departure time is known, the delay is not: the model samples dep there
    found = _found(df)
    assert "dep = clock(clock_minutes(sched) + delay)" in found and "dep is a clock time HHMM (minutes < 60)" in found
