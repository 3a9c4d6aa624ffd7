"""A common time effect for entities that share a calendar (``SequenceSynthesizer(common_factor=True)``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.tabular._sequence_common import FactorModel, extend_calendar, find_calendar
from simulacra.tabular.sequence import SequenceSynthesizer

if TYPE_CHECKING:
    from click.testing import Result


def _market_panel(beta: float, n_entities: int = 30, n_days: int = 200, seed: int = 0) -> pd.DataFrame:
    """Prices on shared business days, each day's return ``beta`` × a market return + an entity's own
    (correlation of two entities' same-day returns ``beta²``), the market calm and turbulent in spells."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_days)
    vol = np.exp(np.convolve(rng.normal(0, 0.25, n_days + 20), np.ones(20) / np.sqrt(20), "valid")[:n_days])
    market = rng.normal(0, 0.01, n_days) * vol
    rows = []
    for e in range(n_entities):
        own = rng.normal(0, 0.01, n_days) * vol
        price = 50 * np.exp(rng.normal(0, 0.3)) * np.exp(np.cumsum(beta * market + np.sqrt(1 - beta**2) * own))
        rows += [(f"E{e:02d}", d, round(p, 2)) for d, p in zip(dates, price)]
    return pd.DataFrame(rows, columns=["id", "day", "price"])


def _co_movement(df: pd.DataFrame) -> float:
    """Mean correlation of two entities' same-day log returns."""
    df = df.sort_values(["id", "day"])
    returns = np.log(df["price"]).groupby(df["id"]).diff()
    wide = df.assign(r=returns).pivot(index="day", columns="id", values="r")
    corr = wide.corr(min_periods=30).to_numpy()
    return float(np.nanmean(corr[np.triu_indices_from(corr, 1)]))


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, SequenceSynthesizer]:
    df = _market_panel(0.6)
    return df, SequenceSynthesizer(entity="id", order="day", random_state=0, common_factor=True).fit(df)


def test_entities_co_move_as_the_real_ones(market) -> None:
    """Drawn one by one (the default) the synthetic entities co-move less than the real ones (0.13 against
    0.37 on this panel, what the step models' position feature picks up of the real path); with the
    common factor their same-day returns correlate as the real ones do."""
    df, synth = market
    real = _co_movement(df)
    assert 0.25 < real < 0.5
    out = synth.sample(30, random_state=1)
    assert abs(_co_movement(out) - real) < 0.1
    default = SequenceSynthesizer(entity="id", order="day", random_state=0).fit(df).sample(30, random_state=1)
    assert _co_movement(out) > _co_movement(default) + 0.1
    # every synthetic entity on the real calendar: same-day events to co-move on
    assert set(out["day"]) <= set(df["day"])
    assert out.groupby("id")["day"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()
    info = synth.describe()["common_factor"]
    assert info["calendar_values"] == 200 and info["components"][1:] == ["price"]
    assert 0.8 < info["loadings"]["price"] < 1.1


def test_a_factor_of_zero_makes_no_spurious_co_movement() -> None:
    df = _market_panel(0.0)
    assert abs(_co_movement(df)) < 0.03
    out = SequenceSynthesizer(entity="id", order="day", random_state=0, common_factor=True).fit(df).sample(30, random_state=1)
    assert abs(_co_movement(out)) < 0.06


def test_the_factor_path_is_new_and_keeps_its_spells(market) -> None:
    """The factor is drawn as its own time series: not the real path, with its volatility persistent."""
    _, synth = market
    assert synth.factor_ is not None
    a = synth.factor_.sample(300, np.random.default_rng(0))
    b = synth.factor_.sample(300, np.random.default_rng(1))
    assert np.isnan(a[0]).all() and np.isfinite(a[1:]).all()
    assert not np.allclose(a[1:, 1], b[1:, 1])
    df, _ = market
    returns = np.log(df["price"]).groupby(df["id"]).diff().abs()
    real = np.log(returns.groupby(df["day"]).mean().dropna().to_numpy())
    persistence = [np.corrcoef(v[1:], v[:-1])[0, 1] for v in (real, a[1:, 0])]
    assert persistence[0] > 0.2 and persistence[1] > 0.6 * persistence[0]  # spells of about 20 days


def test_save_load_and_files_saved_before_the_factor(market, tmp_path) -> None:
    import simulacra

    df, synth = market
    again = simulacra.load(synth.save(tmp_path / "market.model"))
    pd.testing.assert_frame_equal(again.sample(6, random_state=4), synth.sample(6, random_state=4))
    # a file written before the option: no parameter, no calendar, factor or loadings
    plain = SequenceSynthesizer(entity="id", order="day", random_state=0).fit(df)
    state = plain.to_state()
    assert state["params"].pop("common_factor") is False
    for key in ("calendar", "factor", "loadings"):
        assert not state["state"].pop(key)
    old = SequenceSynthesizer.from_state(state)
    assert old.describe()["common_factor"] is None
    pd.testing.assert_frame_equal(old.sample(5, random_state=3), plain.sample(5, random_state=3))


def test_a_panel_without_a_shared_calendar_is_left_as_it_is() -> None:
    """Each entity at its own times (a plane's flights): the option warns that it does nothing, and the
    model and its draws are the default's."""
    rng = np.random.default_rng(0)
    rows = []
    for e in range(40):
        t = np.cumsum(rng.exponential(3.0, 25)) + rng.uniform(0, 100)
        x = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 25)))
        rows += [(f"P{e}", a, b) for a, b in zip(t, x)]
    df = pd.DataFrame(rows, columns=["plane", "time", "fuel"])
    assert find_calendar(df["plane"].to_numpy(), df["time"].to_numpy()) is None
    with pytest.warns(UserWarning, match="common_factor=True has no effect"):
        with_option = SequenceSynthesizer(entity="plane", order="time", random_state=0, common_factor=True).fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default = SequenceSynthesizer(entity="plane", order="time", random_state=0).fit(df)
    assert with_option.calendar_ is None and with_option.factor_ is None
    pd.testing.assert_frame_equal(with_option.sample(10, random_state=2), default.sample(10, random_state=2))


def test_calendar_needs_many_entities_on_each_value() -> None:
    days = np.tile(np.arange(60.0), 4)
    entity = np.repeat(np.arange(4), 60)
    assert find_calendar(entity, days) is None  # four entities: fewer than five on every day
    days, entity = np.tile(np.arange(60.0), 6), np.repeat(np.arange(6), 60)
    np.testing.assert_array_equal(find_calendar(entity, days), np.arange(60.0))


def test_forecast_continues_on_the_calendar_and_co_moves(market) -> None:
    df, synth = market
    future = synth.forecast(df, 40, random_state=5)
    assert len(future) == 30 * 40
    # past the calendar's end: business days continue (no Saturday or Sunday)
    assert (future["day"] > df["day"].max()).all() and (future["day"].dt.dayofweek < 5).all()
    assert future.groupby("id")["day"].nunique().eq(40).all()
    both = pd.concat([df.groupby("id").tail(1), future])
    assert _co_movement(both) > 0.15


def test_extended_calendar_keeps_weekdays() -> None:
    cal = pd.bdate_range("2021-01-04", periods=30).to_numpy("datetime64[D]").astype(np.int64).astype(float)
    longer = extend_calendar(cal, 50, weekday=True)
    assert longer.size == 50 and np.all(np.diff(longer) > 0)
    assert np.all((longer.astype(np.int64) + 3) % 7 < 5)  # 0 = Monday ... 4 = Friday


def test_common_factor_must_be_yes_or_no() -> None:
    with pytest.raises(InputError, match="common_factor must be true or false"):
        SequenceSynthesizer(entity="id", order="day", common_factor="sometimes").fit(_market_panel(0.5, 6, 60))


def test_factor_model_state_round_trip(market) -> None:
    _, synth = market
    assert synth.factor_ is not None
    again = FactorModel.from_state(synth.factor_.get_state())
    np.testing.assert_array_equal(again.sample(50, np.random.default_rng(3)), synth.factor_.sample(50, np.random.default_rng(3)))


def fit_and_inspect(tmp_path: Path, frame: pd.DataFrame, entity: str, option: str) -> Result:
    """``simulacra fit`` of a sequence model on ``frame`` (ordered by ``day``) with ``-p option``, then
    ``simulacra inspect`` of the model file: the result of the inspect."""
    from typer.testing import CliRunner

    from simulacra.cli.main import app

    frame.to_csv(tmp_path / "prices.csv", index=False)
    runner = CliRunner()
    model = tmp_path / "prices.model"
    res = runner.invoke(app, ["fit", str(tmp_path / "prices.csv"), "--entity", entity, "--order", "day",
                              "-p", option, "-o", str(model)])
    assert res.exit_code == 0, res.output
    return runner.invoke(app, ["inspect", str(model)])


def test_fit_and_inspect_from_the_command_line(tmp_path) -> None:
    res = fit_and_inspect(tmp_path, _market_panel(0.6, 12, 80), "id", "common_factor=true")
    text = " ".join(res.output.split())
    assert res.exit_code == 0 and "share a calendar of 80 values" in text
    # what the file keeps of the real data, said where a model is shared from
    assert "dates' market shocks, in date order: means over at least 5 entities of the real data" in text


def test_stored_shocks_are_means_over_at_least_five_entities() -> None:
    """The model file keeps one shock vector per training date, a mean over the entities that change on
    it. A calendar date needs 5 events, but an entity's first event gives no change: a date where 5 new
    entities start and only 4 older ones trade would store a mean over 4. Such a date is left out."""
    full = _market_panel(0.6, 10, 80, seed=2)
    dates = np.sort(full["day"].unique())
    old, new = full["id"].isin([f"E{e:02d}" for e in range(5)]), full["id"] >= "E05"
    panel = full[old | (new & (full["day"] >= dates[40]))]  # E05-E09 start on the 41st date
    gap = panel[~((panel["id"] == "E04") & (panel["day"] == dates[40]))]  # ... where only 4 older ones trade
    fit = [SequenceSynthesizer(entity="id", order="day", random_state=0, common_factor=True).fit(df)
           for df in (panel, gap)]
    assert all(m.calendar_ is not None and m.calendar_.size == 80 for m in fit)
    assert fit[0].factor_ is not None and fit[1].factor_ is not None
    # the date and the lags of the next ones are gone from the autoregression's innovations
    assert fit[1].factor_.shocks.shape[0] < fit[0].factor_.shocks.shape[0]
    assert np.isnan(fit[1].factor_.sample(5, np.random.default_rng(0))[1:]).sum() == 0


def test_forecast_of_histories_newer_than_the_training_calendar() -> None:
    """Histories given to forecast may run past the training data's last date (a model fitted once, its
    forecasts asked later): the new events come after each history's end, not at the calendar's end."""
    df = _market_panel(0.6, 12, 120)
    cut = np.sort(df["day"].unique())[80]
    synth = SequenceSynthesizer(entity="id", order="day", random_state=0, common_factor=True).fit(df[df["day"] < cut])
    future = synth.forecast(df, 5, random_state=1)
    assert (future["day"] > df["day"].max()).all() and (future["day"].dt.dayofweek < 5).all()
    assert future.groupby("id")["day"].nunique().eq(5).all()
