"""DPSynthesizer: dates with a time zone are measured and sampled on that zone's wall clock."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError
from simulacra.metadata import Metadata
from simulacra.metadata.temporal import datetime_zone, localize_wall_times, zone_from_name, zone_name
from simulacra.tabular.dp import DPSynthesizer


def _local_days(zone: str, n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Dates at local midnight in ``zone`` (18:30 UTC the day before in Asia/Kolkata) beside a number."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
    return pd.DataFrame({"day": pd.Series(day).dt.tz_localize(zone), "x": rng.normal(size=n)})


def _fit(df: pd.DataFrame, **kw) -> DPSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DPSynthesizer(epsilon=1.0, delta=1e-8, random_state=0, **kw).fit(df)


def _midnights(stamps: pd.Series) -> bool:
    return bool(((stamps.dt.hour == 0) & (stamps.dt.minute == 0) & (stamps.dt.second == 0)).all())


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Europe/Paris"])
def test_local_midnights_come_back_as_local_midnights_in_the_same_zone(tmp_path, zone):
    # regression (#17): the step was measured in UTC (local midnights in +05:30 are 18:30 UTC: a 1-minute
    # step; in Paris summer time moves them by an hour) and the dates came back naive, in UTC
    df = _local_days(zone)
    assert not _midnights(df["day"].dt.tz_convert("UTC"))  # the case: not whole days in UTC
    synth = _fit(df)
    assert synth.steps_ == {"day": 86400.0} and synth.zones_ == {"day": zone}
    fake = synth.sample(500)
    assert str(fake["day"].dt.tz) == zone and _midnights(fake["day"])
    assert fake["day"].min() >= pd.Timestamp("2023-12-01", tz=zone)
    assert fake["day"].max() <= pd.Timestamp("2025-01-31", tz=zone)
    assert str(synth.metadata_.columns["day"].minimum).endswith(("+05:30", "+01:00", "+02:00"))
    assert synth.describe()["columns"]["day"]["zone"] == zone
    synth.save(tmp_path / "m.model")
    again = sim.load(tmp_path / "m.model")
    assert again.zones_ == {"day": zone}
    pd.testing.assert_series_equal(again.sample(50, random_state=3)["day"], synth.sample(50, random_state=3)["day"])


def test_dates_written_with_an_offset_keep_it():
    df = _local_days("Asia/Kolkata")
    fmt = "%Y-%m-%d %H:%M:%S%z"
    meta = Metadata.from_dict({"columns": {"day": {"type": "datetime", "format": fmt}, "x": {"type": "numerical"}}})
    synth = _fit(df.assign(day=df["day"].dt.strftime(fmt)), metadata=meta)
    assert synth.steps_ == {"day": 86400.0} and synth.zones_ == {"day": "+05:30"}
    fake = synth.sample(200)["day"]
    assert fake.str.endswith(" 00:00:00+0530").all(), fake.head()


def test_public_bounds_and_step_of_a_zoned_column_are_read_on_its_wall_clock():
    df = _local_days("Asia/Kolkata")
    bounds = {"day": {"min": "2024-02-01", "max": "2024-03-01T00:00:00+05:30", "step": "1D"}}
    with pytest.warns(UserWarning, match="outside the public bounds"):
        synth = DPSynthesizer(epsilon=1.0, delta=1e-8, random_state=0, bounds=bounds).fit(df)
    fake = synth.sample(500)["day"]
    assert _midnights(fake) and str(fake.dt.tz) == "Asia/Kolkata"
    assert fake.min() >= pd.Timestamp("2024-02-01", tz="Asia/Kolkata")
    assert fake.max() <= pd.Timestamp("2024-03-01", tz="Asia/Kolkata")
    assert fake.max() > pd.Timestamp("2024-02-20", tz="Asia/Kolkata")


@pytest.mark.parametrize("second", ["Europe/Paris", None])
def test_a_column_mixing_zones_or_naive_and_aware_dates_is_refused(second):
    df = _local_days("Asia/Kolkata", n=400)
    other = df["day"].dt.tz_convert(second) if second else df["day"].dt.tz_localize(None)
    mixed = pd.Series([*df["day"][:200], *other[200:]], dtype=object)
    meta = Metadata.from_dict({"columns": {"day": {"type": "datetime"}, "x": {"type": "numerical"}}})
    with pytest.raises(InputError, match=r"Date column 'day' mixes time zones, or dates with and without one .*"
                                         r"convert it to one zone first"):
        DPSynthesizer(epsilon=1.0, delta=1e-6, random_state=0, metadata=meta).fit(df.assign(day=mixed))


def test_zone_names_round_trip_and_wall_times_across_clock_changes():
    for name in ("Asia/Kolkata", "UTC", "+05:30", "-08:00", "-00:30"):
        assert zone_name(pd.Timestamp("2024-01-01", tz=zone_from_name(name)).tzinfo) == name
    assert zone_name(zone_from_name("+00:00")) == "UTC"  # type: ignore[arg-type]
    assert datetime_zone(pd.Series(["2024-01-01 00:00-08:00", None, "2024-01-03 00:00-08:00"])) == "-08:00"
    assert datetime_zone(pd.Series(["2024-01-01", "2024-01-02"])) is None
    # 02:30 does not exist on 2024-03-31 in Paris; 02:30 happens twice on 2024-10-27: no date is lost
    wall = pd.Series(pd.to_datetime(["2024-03-31 02:30", "2024-10-27 02:30", None]))
    local = localize_wall_times(wall, "Europe/Paris")
    assert local.iloc[:2].notna().all() and local.isna().iloc[2]
    assert local.iloc[0] == pd.Timestamp("2024-03-31 03:00", tz="Europe/Paris")  # the first time after the gap
    assert local.iloc[1].utcoffset() == pd.Timedelta(hours=2)  # the first of the two (summer time)
