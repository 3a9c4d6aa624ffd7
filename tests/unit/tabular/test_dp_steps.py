"""DPSynthesizer: the resolution of dates and durations is declared public or released under the budget."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError
from simulacra.tabular.dp import DPSynthesizer
from simulacra.tabular.dp import synthesizer as dp_synth


def _days(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    wait = pd.to_timedelta(rng.integers(1, 48, n), unit="h")
    return pd.DataFrame({"day": day, "wait": wait, "x": rng.normal(size=n)})


def _fit(df: pd.DataFrame, **kw) -> DPSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DPSynthesizer(delta=1e-8, **kw).fit(df)


@pytest.mark.parametrize("epsilon", [1.0, 10.0])
def test_one_odd_row_no_longer_turns_whole_days_into_seconds(epsilon):
    # regression (review of issue #17): the step was read from the rows, so one time of day among dates at
    # midnight flipped it from 86400 to 1 in the model file: the two neighbouring tables' outputs never overlapped
    df = _days()
    odd = df.copy()
    odd.loc[3, "day"] = pd.Timestamp("2021-03-04 13:37:11")
    odd.loc[5, "wait"] = pd.Timedelta("1h 0min 7s")
    for seed in range(3):
        plain, one = _fit(df, epsilon=epsilon, random_state=seed), _fit(odd, epsilon=epsilon, random_state=seed)
        assert plain.steps_ == one.steps_ == {"day": 86400.0, "wait": 3600.0}
    # the step is a noisy count: 4 candidate steps for a date, 5 for a duration, one row moves each count by ≤ 1
    entries = {e["step"]: e for e in one.ledger_ if e["step"].startswith("resolution")}
    assert set(entries) == {"resolution of day", "resolution of wait"}
    assert entries["resolution of day"]["sensitivity"] == pytest.approx(2.0)
    assert entries["resolution of wait"]["sensitivity"] == pytest.approx(math.sqrt(5))
    assert entries["resolution of day"]["sigma"] == pytest.approx(2.0 / math.sqrt(2 * entries["resolution of day"]["rho"]))
    assert (one.sample(500, random_state=1)["day"].dt.hour == 0).all()


def test_a_real_time_of_day_is_still_found():
    df = _days()
    rng = np.random.default_rng(3)
    df["day"] += pd.to_timedelta(rng.integers(0, 86400, len(df)), unit="s")
    df["wait"] += pd.to_timedelta(rng.integers(0, 60, len(df)), unit="min")
    model = _fit(df, epsilon=1.0, random_state=0)
    assert model.steps_ == {"day": 1.0, "wait": 60.0}


def test_the_ledger_pays_the_steps_from_the_ranges_share():
    model = _fit(_days(), epsilon=1.0, random_state=0)
    g = model.privacy_guarantee()
    assert g["rho_spent"] == pytest.approx(g["rho"], rel=1e-9)
    assert sum(v["share"] for v in g["split"].values()) == pytest.approx(1.0)
    ranges = g["rho"] * g["split"]["ranges"]["share"]
    assert g["rho_by_step"]["range"] + g["rho_by_step"]["resolution"] == pytest.approx(ranges, rel=1e-9)
    assert g["rho_by_step"]["resolution"] == pytest.approx(ranges * 2 / 5, rel=1e-9)  # 3 ranges + 2 steps
    assert g["public_steps"] == []


def test_a_declared_step_is_used_without_reading_the_data(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the declared step was measured from the rows")

    monkeypatch.setattr(dp_synth, "release_step", refuse)
    df = _days()
    df.loc[3, "day"] = pd.Timestamp("2021-03-04 13:37:11")
    bounds = {"day": {"step": "1h"}, "wait": {"min": "0s", "max": "3D", "step": 0}}
    model = _fit(df, epsilon=1.0, random_state=0, bounds=bounds)
    assert model.steps_ == {"day": 3600.0, "wait": 0.0} and model.public_steps_ == ["day", "wait"]
    g = model.privacy_guarantee()
    assert "resolution" not in g["rho_by_step"] and g["public_steps"] == ["day", "wait"]
    assert g["rho_spent"] == pytest.approx(g["rho"], rel=1e-9)  # the ranges' share goes to the 3 ranges alone
    assert "wait" in g["public_columns"] and "day" not in g["public_columns"]  # a step alone declares no range
    rows = model.sample(300, random_state=2)
    assert (rows["day"].dt.minute == 0).all() and (rows["day"].dt.second == 0).all()
    assert rows["wait"].max() <= pd.Timedelta("3D")


@pytest.mark.parametrize(("bounds", "message"), [
    ({"x": {"step": "1h"}}, "dates and durations only"),
    ({"day": {"step": "-1h"}}, "must be a duration"),
    ({"day": {"step": "soon"}}, "must be a duration"),
    ({"day": {"step": None}}, "must be a duration"),
])
def test_a_bad_step_is_refused(bounds, message):
    with pytest.raises(InputError, match=message):
        DPSynthesizer(epsilon=1.0, delta=1e-8, bounds=bounds, random_state=0).fit(_days(600))


@pytest.mark.parametrize(("step", "seconds"), [
    (np.int64(3600), 3600.0),  # numpy's integers are seconds like Python's (pandas read them as nanoseconds: 0)
    ("3600", 3600.0),  # a bare number in a JSON file is seconds, not pandas' nanoseconds
    ("1ns", 1e-9),  # not total_seconds(), which drops nanoseconds and turned this into "no rounding"
    ("90min", 5400.0), (np.timedelta64(2, "h"), 7200.0), (-0.0, 0.0),
])
def test_a_declared_step_is_read_as_written(step, seconds):
    # regression (review of 99ada98): np.int64(3600) and "3600" were read as 3.6 µs, i.e. silently no rounding
    meta = sim.Metadata.from_dict({"columns": {"day": {"type": "datetime"}}})
    got = dp_synth.cols.read_steps({"day": {"step": step}}, meta)["day"]
    assert got == pytest.approx(seconds, rel=1e-12) and math.copysign(1.0, got) == 1.0


def test_a_numpy_step_rounds_the_sampled_durations():
    model = _fit(_days(600), epsilon=1.0, random_state=0, bounds={"wait": {"step": np.int64(7200)}})
    assert model.steps_["wait"] == 7200.0 and model.public_steps_ == ["wait"]
    assert (model.sample(200, random_state=1)["wait"].dt.total_seconds() % 7200 == 0).all()


def test_step_round_trip_and_files_saved_before_the_release(tmp_path):
    model = _fit(_days(), epsilon=1.0, random_state=0, bounds={"day": {"step": "1D"}})
    loaded = sim.load(model.save(tmp_path / "m.simulacra"))
    assert loaded.steps_ == model.steps_ and loaded.public_steps_ == ["day"]
    state = model.to_state()  # a file from before the step was released: no "public_steps"
    del state["state"]["state"]["public_steps"]
    del state["state"]["state"]["privacy"]["public_steps"]
    old = DPSynthesizer.from_state(state)
    assert old.public_steps_ == [] and old.steps_ == model.steps_
    # such a file read the step of every date and duration from the rows, outside the budget: its guarantee says so,
    # and still does once the loaded model is saved again (the new file has "public_steps")
    assert old.privacy_guarantee()["steps_read_from_rows"] == ["day", "wait"]
    again = sim.load(old.save(tmp_path / "again.simulacra"))
    assert again.privacy_guarantee()["steps_read_from_rows"] == ["day", "wait"]
    assert "steps_read_from_rows" not in model.privacy_guarantee() and "steps_read_from_rows" not in loaded.privacy_guarantee()
    pd.testing.assert_frame_equal(old.sample(50, random_state=4), model.sample(50, random_state=4))


def test_rounding_to_the_step_keeps_values_inside_the_public_bounds_and_the_calendar():
    # regression (review of 99ada98): values near a public maximum that is not a whole number of steps were
    # rounded past it (a bound of 100 min with a step of 1 h sampled 2 h)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"wait": pd.to_timedelta(rng.integers(0, 5, 3000) * 30, unit="min"), "x": rng.normal(size=3000)})
    model = _fit(df, epsilon=5.0, random_state=0, bounds={"wait": {"min": "0s", "max": "100min", "step": "1h"}})
    waits = model.sample(3000, random_state=1)["wait"]
    assert waits.max() == pd.Timedelta("1h") and set(waits.dt.total_seconds() % 3600) == {0.0}
    last_day = dp_synth.cols.round_to_step(np.array([2.534023e11]), 86400.0, *dp_synth.cols.CALENDAR_SECONDS)
    assert str(dp_synth.cols.seconds_to_datetimes(last_day)[0]) == "9999-12-31 00:00:00"  # not 23:59:59, off the step
