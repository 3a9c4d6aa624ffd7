"""The datetime encoder measures dates with a time zone on that zone's wall clock and gives them back in it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.metadata import DatetimeColumn
from simulacra.metadata.temporal import localize_wall_times, wall_clock_seconds
from simulacra.transform import DatetimeEncoder, encoder_from_state


def _days(zone: str, n: int = 200) -> pd.Series:
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.random.default_rng(0).integers(0, 360, n), unit="D")
    return pd.Series(day).dt.tz_localize(zone)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Europe/Paris", "America/New_York"])
def test_local_midnights_are_whole_days_and_come_back_in_the_zone(zone):
    # regression: the step was measured in UTC (Kolkata midnights are 18:30 UTC: a one-minute step, so model
    # output came back as e.g. 2024-09-16 17:37:00+05:30); Paris and New York midnights move with summer time
    s = _days(zone)
    enc = DatetimeEncoder("d").analyze(s)
    assert enc.stats_["step_seconds"] == 86400 and enc.zone == zone
    noisy = enc.encode(s) + np.random.default_rng(1).normal(0, 20000, len(s))  # what a model draws
    out = enc.decode(noisy)
    assert str(out.dt.tz) == zone
    assert (out.dt.hour == 0).all() and (out.dt.minute == 0).all()
    assert enc.decode(enc.encode(s)).equals(s)  # exact round trip


def test_strings_with_an_offset_keep_it():
    s = pd.Series(["2024-03-01 00:00:00+05:30", None, "2024-03-09 00:00:00+05:30"])
    enc = DatetimeEncoder("d", DatetimeColumn(format="%Y-%m-%d %H:%M:%S%z")).analyze(s)
    assert enc.zone == "+05:30" and enc.stats_["step_seconds"] == 86400
    out = enc.decode(enc.encode(s) + 3000.0)
    assert out.iloc[0] == pd.Timestamp("2024-03-01", tz="+05:30") and pd.isna(out.iloc[1])


def test_paris_times_keep_their_step_across_the_clock_changes():
    stamps = pd.Series(pd.date_range("2024-03-30", "2024-11-02", freq="h", tz="Europe/Paris"))
    enc = DatetimeEncoder("t").analyze(stamps)
    assert enc.stats_["step_seconds"] == 3600
    out = enc.decode(enc.encode(stamps) + np.random.default_rng(0).normal(0, 900, len(stamps)))
    assert (out.dt.minute == 0).all() and str(out.dt.tz) == "Europe/Paris"
    minutes = pd.Series(pd.date_range("2024-03-31 00:00", periods=300, freq="7min", tz="Europe/Paris"))
    assert DatetimeEncoder("t").analyze(minutes).stats_["step_seconds"] == 60


@pytest.mark.parametrize("values", [
    ["2024-01-01 00:00+05:30", "2024-01-02 00:00+01:00"],
    ["2024-01-01 00:00+05:30", "2024-01-02 00:00"],
    [pd.Timestamp("2024-01-01", tz="Asia/Kolkata"), pd.Timestamp("2024-01-02", tz="Europe/Paris")],
], ids=["two-offsets", "aware-and-naive", "two-zones"])
def test_a_column_mixing_zones_is_one_clear_error(values):
    with pytest.raises(InputError, match="Date column 'd' mixes time zones.*convert it to one zone first"):
        DatetimeEncoder("d").analyze(pd.Series(values, dtype=object))


def test_naive_dates_are_left_as_they_were():
    s = pd.Series(pd.to_datetime(["2020-01-01 10:00", None, "2021-06-30 11:00"]))
    enc = DatetimeEncoder("d").analyze(s)
    assert enc.zone is None and enc.stats_["tz"] is None and "zone" not in enc.stats_
    assert enc.stats_["step_seconds"] == 3600 and enc.decode(enc.encode(s)).equals(s)


def test_states_saved_before_keep_their_utc_seconds():
    """A model file written before kept UTC seconds and the zone as ``tz``: it decodes as it did."""
    utc = pd.Timestamp("2024-01-01 18:30", tz="UTC").value / 1e9
    old = {"kind": "datetime", "name": "d", "stats": {"missing_rate": 0.0, "minimum": utc, "maximum": utc + 86400,
                                                      "tail_count": 1, "step_seconds": 60, "tz": "Asia/Kolkata",
                                                      "format": None}}
    enc = encoder_from_state(old)
    assert enc.decode(np.array([utc])).iloc[0] == pd.Timestamp("2024-01-02 00:00", tz="Asia/Kolkata")
    again = encoder_from_state(DatetimeEncoder("d").analyze(_days("Asia/Kolkata")).get_state())
    assert again.zone == "Asia/Kolkata" and again.stats_["step_seconds"] == 86400


def test_a_repeated_wall_time_is_the_instant_nearer_to_the_one_meant():
    """When clocks go back, 02:30 happens twice in Paris: ``near`` says which one."""
    wall = pd.Series([pd.Timestamp("2024-10-27 02:30")] * 2)
    first, second = pd.Timestamp("2024-10-27 00:30", tz="UTC"), pd.Timestamp("2024-10-27 01:30", tz="UTC")
    near = np.array([first.value, second.value]) / 1e9
    got = localize_wall_times(wall, "Europe/Paris", near).dt.tz_convert("UTC")
    assert got.tolist() == [first, second]
    assert localize_wall_times(wall, "Europe/Paris").dt.tz_convert("UTC").tolist() == [first, first]
    assert wall_clock_seconds(near, "Europe/Paris").tolist() == [pd.Timestamp("2024-10-27 02:30").value / 1e9] * 2


def test_a_csv_of_zone_aware_dates_is_read_as_dates(tmp_path):
    # regression: dates written with their offset (pandas' to_csv, simulacra's own CSV output) were detected as
    # categorical: a model copied the real strings or sampled '<rare>' instead of dates
    from simulacra import GaussianCopulaSynthesizer, Metadata
    from simulacra.io import read_table

    s = pd.Series(pd.date_range("2024-03-01", periods=60, freq="7h", tz="Asia/Kolkata"))
    pd.DataFrame({"t": s, "x": np.arange(60.0)}).to_csv(tmp_path / "k.csv", index=False)
    frame = read_table(tmp_path / "k.csv")
    assert Metadata.detect(frame).columns["t"].type == "datetime"
    out = GaussianCopulaSynthesizer().fit(frame).sample(50, random_state=0)["t"]
    stamps = pd.to_datetime(out, format="mixed")
    assert str(stamps.dt.tz) in ("UTC+05:30", "+05:30") and stamps.between(s.min(), s.max()).all()


def test_a_csv_of_summer_time_offsets_is_one_clear_error(tmp_path):
    # regression: a column of several UTC offsets (Paris times across a clock change, as a CSV holds them)
    # crashed with an AttributeError from pandas instead of saying what to do
    from simulacra import GaussianCopulaSynthesizer
    from simulacra.io import read_table

    s = pd.Series(pd.date_range("2024-03-25", periods=60, freq="7h", tz="Europe/Paris"))
    pd.DataFrame({"t": s, "x": np.arange(60.0)}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match="mixes time zones"):
        GaussianCopulaSynthesizer().fit(read_table(tmp_path / "p.csv"))
