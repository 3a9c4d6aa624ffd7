"""Dates with a time zone in the non-DP models: measured on the zone's wall clock, sampled back in that zone.

Regression: the datetime encoder measured the step in UTC and restored the zone only on output, so a model fitted
on Asia/Kolkata local midnights sampled times such as ``2024-09-16 17:37:00+05:30``; the sequence model's order
column lost its zone altogether.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError
from simulacra.metadata import Metadata
from simulacra.rules.check import rule_mask
from simulacra.tabular.sequence import SequenceSynthesizer

MODELS = ["autoreg", "copula"]


def _midnights(stamps: pd.Series) -> bool:
    return bool(((stamps.dt.hour == 0) & (stamps.dt.minute == 0) & (stamps.dt.second == 0)).all())


def _local_days(zone: str, n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
    x = rng.normal(size=n).round(3)
    return pd.DataFrame({"day": pd.Series(day).dt.tz_localize(zone), "x": x, "c": np.where(x > 0, "up", "down")})


def _fit(model: str, df: pd.DataFrame, meta: Metadata | None = None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sim.get_synthesizer_class(model)(random_state=0, metadata=meta).fit(df)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Europe/Paris"])
def test_local_midnights_come_back_as_local_midnights_in_the_same_zone(tmp_path, model, zone):
    df = _local_days(zone)
    assert not _midnights(df["day"].dt.tz_convert("UTC"))  # the case: not whole days in UTC
    synth = _fit(model, df)
    fake = synth.sample(500, random_state=1)
    assert str(fake["day"].dt.tz) == zone and _midnights(fake["day"]), fake["day"].head()
    assert fake["day"].between(df["day"].min(), df["day"].max()).all()
    synth.save(tmp_path / "m.model")
    pd.testing.assert_frame_equal(sim.load(tmp_path / "m.model").sample(50, random_state=3), synth.sample(50, random_state=3))


@pytest.mark.parametrize("model", MODELS)
def test_a_condition_on_a_zoned_date_is_read_on_its_clock(model):
    synth = _fit(model, _local_days("Asia/Kolkata"))
    for given in ("2024-03-05", pd.Timestamp("2024-03-04 18:30", tz="UTC")):  # the same local midnight
        fake = synth.sample(20, random_state=2, conditions={"day": given})
        assert (fake["day"] == pd.Timestamp("2024-03-05", tz="Asia/Kolkata")).all()
        assert str(fake["day"].dt.tz) == "Asia/Kolkata"


@pytest.mark.parametrize("model", MODELS)
def test_paris_times_keep_their_step_and_rules_hold_across_the_clock_changes(model):
    """Quarter hours from spring to autumn 2024 (both clock changes), an end after each start and its duration.

    The gap ``end - start`` is elapsed time, as pandas and the rule checks count it (23 or 25 hours across a
    change of the clocks), while the dates stay on the wall-clock step of the zone."""
    rng = np.random.default_rng(1)
    n = 1200
    weeks = pd.to_datetime(rng.choice(["2024-03-27", "2024-10-23"], n))  # weeks around the two changes of 2024
    quarter = pd.Series(weeks + pd.to_timedelta(rng.integers(0, 7 * 96, n) * 15, unit="min"))
    later = quarter + pd.to_timedelta(rng.integers(1, 240, n) * 15, unit="min")  # up to 2.5 days, on the wall clock
    local = {"ambiguous": "NaT", "nonexistent": "NaT"}
    df = pd.DataFrame({"start": quarter.dt.tz_localize("Europe/Paris", **local),
                       "end": later.dt.tz_localize("Europe/Paris", **local), "x": rng.normal(size=n).round(2)}).dropna()
    df["hours"] = (df["end"] - df["start"]).dt.total_seconds() / 3600
    rules = [{"kind": "inequality", "low": "start", "high": "end", "strict": True},
             {"kind": "derived", "column": "hours", "formula": "(end - start) / 3600"}]
    assert all(rule_mask(r, df).all() for r in rules)

    def wall_hours(frame: pd.DataFrame) -> pd.Series:
        return (frame["end"].dt.tz_localize(None) - frame["start"].dt.tz_localize(None)).dt.total_seconds() / 3600

    assert (wall_hours(df) != df["hours"]).sum() > 100  # the case: spans of a clock change
    meta = Metadata.detect(df)
    meta.constraints = rules
    synth = _fit(model, df, meta)
    fake = synth.sample(3000, random_state=4)
    for r in rules:
        assert rule_mask(r, fake).all(), r
    for c in ("start", "end"):
        assert str(fake[c].dt.tz) == "Europe/Paris" and (fake[c].dt.second == 0).all()
    assert (wall_hours(fake) != fake["hours"]).sum() > 100  # elapsed time across a change, not wall-clock time
    hourly = pd.DataFrame({"t": pd.Series(pd.date_range("2024-03-25", "2024-11-05", freq="h", tz="Europe/Paris"))})
    hourly["x"] = np.random.default_rng(2).normal(size=len(hourly))
    got = _fit(model, hourly).sample(2000, random_state=5)["t"]
    assert (got.dt.minute == 0).all() and str(got.dt.tz) == "Europe/Paris"


def test_a_bound_on_a_zoned_date_in_the_repeated_hour():
    """Repairs land on the wall-clock grid, on the right side of an instant in the hour that happens twice."""
    from simulacra.tabular.constraint_kinds import Numbers

    times = pd.Series(pd.date_range("2024-10-26", periods=200, freq="15min", tz="Europe/Paris"))
    num = Numbers("t", "datetime").fit(times)
    second = pd.Timestamp("2024-10-27 01:30", tz="UTC").tz_convert("Europe/Paris")  # 02:30 in winter time
    assert second.utcoffset() == pd.Timedelta(hours=1)
    x = num.to_float(pd.Series([second]))
    assert num.to_series(x).iloc[0] == second
    up, down = num.to_series(num.above(x + 1, False)).iloc[0], num.to_series(num.below(x - 1, False)).iloc[0]
    assert up == second + pd.Timedelta(minutes=1) and down == second - pd.Timedelta(minutes=1)
    assert num.to_series(num.above(x, True)).iloc[0] > second


def test_a_column_mixing_zones_is_refused_by_the_models():
    df = _local_days("Asia/Kolkata", n=200)
    mixed = pd.Series([*df["day"][:100], *df["day"][100:].dt.tz_convert("Europe/Paris")], dtype=object)
    meta = Metadata.from_dict({"columns": {"day": {"type": "datetime"}, "x": {"type": "numerical"},
                                           "c": {"type": "categorical"}}})
    for model in MODELS:
        with pytest.raises(InputError, match="Date column 'day' mixes time zones"):
            _fit(model, df.assign(day=mixed), meta)


def _histories(zone: str, freq: str, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for e in range(n):
        k = int(rng.integers(8, 20))
        t0 = pd.Timestamp("2024-10-20") + pd.Timedelta(int(rng.integers(0, 10 * 24)), "h")
        if freq == "D":
            t0 = t0.normalize()
        times = pd.Series(pd.date_range(t0, periods=k, freq=freq)).dt.tz_localize(zone, ambiguous="NaT").dropna()
        rows.append(pd.DataFrame({"id": f"e{e}", "t": times.to_numpy(), "v": np.cumsum(rng.normal(size=len(times))).round(2)}))
    out = pd.concat(rows, ignore_index=True)
    out["t"] = out["t"].dt.tz_convert(zone)
    return out


def test_sequence_local_days_come_back_as_local_days_in_the_same_zone(tmp_path):
    df = _histories("Asia/Kolkata", "D")
    synth = SequenceSynthesizer(entity="id", order="t", random_state=0).fit(df)
    assert synth.time_["unit"] == 86400 * 10**9 and synth.time_["weekday"] and synth.time_["zone"] == "Asia/Kolkata"
    fake = synth.sample(10, random_state=1)
    assert str(fake["t"].dt.tz) == "Asia/Kolkata" and _midnights(fake["t"]), fake["t"].head()
    ahead = synth.forecast(df[df["id"].isin(["e1", "e2"])], 3, random_state=0)
    assert str(ahead["t"].dt.tz) == "Asia/Kolkata" and _midnights(ahead["t"])
    last = df.groupby("id")["t"].max()
    assert (ahead.groupby("id")["t"].min() > last[["e1", "e2"]]).all()
    synth.save(tmp_path / "s.model")
    pd.testing.assert_frame_equal(sim.load(tmp_path / "s.model").sample(4, random_state=2), synth.sample(4, random_state=2))


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Kolkata"])
def test_sequence_hours_keep_their_step_and_the_repeated_hour_is_no_tie(zone):
    df = _histories(zone, "h")  # Paris: clocks go back on 2024-10-27, 02:00 to 03:00 happens twice
    synth = SequenceSynthesizer(entity="id", order="t", random_state=0).fit(df)
    fake = synth.sample(10, random_state=1)
    assert str(fake["t"].dt.tz) == zone and (fake["t"].dt.minute == 0).all() and (fake["t"].dt.second == 0).all()
    assert fake.groupby("id")["t"].apply(lambda t: t.is_monotonic_increasing and t.is_unique).all()


def test_sequence_order_mixing_zones_is_refused():
    df = _histories("Asia/Kolkata", "D", n=10)
    mixed = pd.Series([*df["t"][:30].dt.strftime("%Y-%m-%d %H:%M%z"), *df["t"][30:].dt.strftime("%Y-%m-%d %H:%M")])
    with pytest.raises(InputError, match="Date column 't' mixes time zones"):
        SequenceSynthesizer(entity="id", order="t").fit(df.assign(t=mixed))
