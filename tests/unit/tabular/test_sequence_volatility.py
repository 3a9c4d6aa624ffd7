"""Volatility clustering of the sequence model: changes and distances drawn in units of a running size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.tabular._steps import EWM_ALPHA, SCALE_EWM, ColumnPlan, Roller
from simulacra.tabular.sequence import SequenceSynthesizer

from .test_sequence_common import fit_and_inspect


def _garch_prices(n_entities: int = 40, n_days: int = 150, seed: int = 0) -> pd.DataFrame:
    """Daily open/close/high whose volatility follows a GARCH(1, 1): calm and turbulent spells."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_entities):
        var, last, close = 1e-4, 0.0, 100.0
        for t in range(n_days):
            var = 2e-6 + 0.25 * last**2 + 0.72 * var
            sd = float(np.sqrt(var))
            gap, move = rng.normal(0, 0.5 * sd), rng.normal(0, sd)
            open_ = close * np.exp(gap)
            close = open_ * np.exp(move)
            high = max(open_, close) * np.exp(abs(rng.normal(0, 0.5 * sd)))
            last = gap + move
            rows.append((f"S{e:02d}", t, round(open_, 2), round(close, 2), round(high, 2)))
    return pd.DataFrame(rows, columns=["name", "day", "open", "close", "high"])


def _abs_change_acf(df: pd.DataFrame, col: str) -> float:
    values = [pd.Series(np.abs(np.diff(np.log(g.to_numpy())))).autocorr(1) for _, g in df.groupby("name")[col]]
    return float(np.nanmean(values))


@pytest.fixture(scope="module")
def garch() -> tuple[pd.DataFrame, SequenceSynthesizer]:
    df = _garch_prices()
    return df, SequenceSynthesizer(entity="name", order="day", random_state=0).fit(df)


def test_volatility_clusters_in_every_price_column(garch) -> None:
    """Large moves follow large moves in the synthetic prices as in the real ones. Drawn with a
    spread model alone (no running size) the absolute-change autocorrelation was about half the
    real one (open 0.15 vs 0.28, high 0.12 vs 0.23); in units of the shared running size it is 0.8 of it."""
    df, synth = garch
    assert all(p.scale is not None and p.scale > 0 for p in synth.plans_)
    out = synth.sample(40, random_state=1)
    real = np.mean([_abs_change_acf(df, c) for c in ("open", "close", "high")])
    fake = np.mean([_abs_change_acf(out, c) for c in ("open", "close", "high")])
    assert real > 0.2
    assert fake >= 0.7 * real
    assert (out["high"] >= out[["open", "close"]].max(axis=1)).all()
    # sizes stay those of the real moves over the whole history (no drift up or down)
    for half in (out["day"] < 75, out["day"] >= 75):
        part = out[half]
        size = part.groupby("name")["close"].apply(lambda s: np.abs(np.diff(np.log(s.to_numpy()))).mean()).mean()
        real_size = df.groupby("name")["close"].apply(lambda s: np.abs(np.diff(np.log(s.to_numpy()))).mean()).mean()
        assert 0.6 < size / real_size < 1.6


def test_running_size_is_shared_and_moved_by_the_same_event() -> None:
    plans = [ColumnPlan("gap", "numeric", mode="lagratio", scale=0.01),
             ColumnPlan("move", "numeric", mode="ratio", scale=0.02),
             ColumnPlan("kind", "category"),
             ColumnPlan("volume", "numeric", mode="level")]
    roller = Roller(plans, np.zeros((2, 0)), np.array([5, 5]), weekday=False)
    rows = np.arange(2)
    start = roller.scale(1, rows, plans)
    assert np.allclose(start[:, :2], [[0.01, 0.02]] * 2) and np.allclose(start[:, 2:], 1.0)  # training means, 1 if unscaled
    roller.push(0, rows, np.zeros((2, 4)), np.ones((2, 4)), None)
    roller.push(1, rows, np.array([[0.05, 0.0, 1.0, 7.0], [0.0, 0.0, 1.0, 7.0]]), np.ones((2, 4)), None)
    after = roller.scale(2, rows, plans)
    # a gap five times its usual size on entity 0 widens both of its columns, not entity 1's
    assert after[0, 0] > start[0, 0] and after[0, 1] > start[0, 1]
    assert after[0, 1] / after[0, 0] == pytest.approx(2.0)
    assert after[1, 0] < start[1, 0]
    # the event's gap moves the same event's later columns, not its own
    drawn = np.array([[np.nan, np.nan, np.nan, np.nan], [0.1, np.nan, np.nan, np.nan]])
    same = roller.scale(2, rows, plans, drawn)
    assert same[1, 0] == after[1, 0]
    a = EWM_ALPHA[SCALE_EWM]
    assert same[1, 1] == pytest.approx(((1 - a) * after[1, 1] / 0.02 + a * 10.0) * 0.02)
    assert same[0, 1] == pytest.approx(after[0, 1])


def test_models_saved_without_running_sizes_still_sample(monkeypatch) -> None:
    """A model file written before the running sizes existed has no ``scale`` in its plans: it loads
    and samples exactly as it did (its step models were fitted on unscaled representations)."""
    import simulacra.tabular._sequence_plan as sequence_plan

    monkeypatch.setattr(sequence_plan, "SCALED_MODES", ())  # fit as before the running sizes
    synth = SequenceSynthesizer(entity="name", order="day", random_state=0).fit(_garch_prices(12, 40))
    state = synth.to_state()
    for plan in state["state"]["plans"]:
        assert plan.pop("scale") is None
    old = SequenceSynthesizer.from_state(state)
    assert all(p.scale is None for p in old.plans_)
    pd.testing.assert_frame_equal(old.sample(5, random_state=3), synth.sample(5, random_state=3))


def _spread_prices(n_entities: int = 40, n_days: int = 150, seed: int = 0) -> pd.DataFrame:
    """Daily open/close/high of entities that each keep their own volatility (calm and turbulent stocks)."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_entities):
        sd, close = 0.01 * float(np.exp(rng.normal(0, 0.5))), 100.0
        for t in range(n_days):
            open_ = close * np.exp(rng.normal(0, 0.5 * sd))
            close = open_ * np.exp(rng.normal(0, sd))
            high = max(open_, close) * np.exp(abs(rng.normal(0, 0.5 * sd)))
            rows.append((f"S{e:02d}", t, round(open_, 2), round(close, 2), round(high, 2)))
    return pd.DataFrame(rows, columns=["name", "day", "open", "close", "high"])


def _log_volatilities(df: pd.DataFrame) -> pd.Series:
    return df.groupby("name")["close"].apply(lambda s: np.log(np.abs(np.diff(np.log(s.to_numpy()))).mean()))


def test_entities_keep_their_own_volatility_level() -> None:
    """Calm entities stay calm and turbulent ones turbulent over a whole history, as in the real data.
    Without an entity's own level every running size started at the training average and wandered:
    an entity's volatility in the first third of its history told little about the last third
    (correlation over entities 0.24 / 0.16 for fit seeds 0 / 1, real 0.98; now 0.96 / 0.92) and the
    entities' volatilities were less spread than the real ones (0.58 / 0.73 of the real spread)."""
    df = _spread_prices(n_days=300)
    synth = SequenceSynthesizer(entity="name", order="day", random_state=0, entity_volatility=True).fit(df)
    assert synth.entity_sizes_ and synth.describe()["entity_volatility"]
    out = synth.sample(40, random_state=1)

    def persistence(d: pd.DataFrame) -> float:
        return float(np.corrcoef(_log_volatilities(d[d["day"] < 100]), _log_volatilities(d[d["day"] >= 200]))[0, 1])

    assert persistence(df) > 0.9
    assert persistence(out) > 0.75
    real, fake = _log_volatilities(df), _log_volatilities(out)
    assert 0.75 < fake.std() / real.std() < 1.3
    assert abs(fake.mean() - real.mean()) < 0.25 * real.std()


def test_entity_sizes_are_shrunk_means_in_units_of_the_training_size() -> None:
    from simulacra.tabular._sequence_plan import entity_sizes

    plans = [ColumnPlan("move", "numeric", mode="diff", scale=2.0), ColumnPlan("kind", "category")]
    entity = np.array(["b"] * 11 + ["a"] * 2 + ["c"])  # b: 10 changes of size 4, a: one of size 2, c: none
    move = np.r_[np.arange(11) * 4.0, 0.0, 2.0, 5.0]
    sizes = entity_sizes(plans, entity, {"move": move})
    assert sizes is not None
    assert sizes == pytest.approx([(10 * 2.0 + 10) / 20, (1.0 + 10) / 11, 1.0])  # in order of appearance
    assert entity_sizes([ColumnPlan("kind", "category")], entity, {}) is None


def test_entity_volatility_is_off_by_default_and_old_files_load() -> None:
    """The default model has no entity volatility levels (its draws are those of the model before
    them); a model file written before the option existed (no parameter, no ``entity_sizes``) loads
    and samples as it did."""
    import simulacra.tabular.sequence as sequence

    synth = SequenceSynthesizer(entity="name", order="day", random_state=0).fit(_garch_prices(12, 40))
    state = synth.to_state()
    assert state["state"].pop("entity_sizes") is False and state["params"].pop("entity_volatility") is False
    assert sequence.SIZE not in state["state"]["entity_model"]["metadata"]["columns"]
    old = SequenceSynthesizer.from_state(state)
    assert not old.entity_sizes_ and not old.describe()["entity_volatility"]
    pd.testing.assert_frame_equal(old.sample(5, random_state=3), synth.sample(5, random_state=3))


def test_entity_volatility_must_be_yes_or_no() -> None:
    df = _garch_prices(12, 40)
    assert SequenceSynthesizer(entity="name", order="day", entity_volatility="true").fit(df).entity_sizes_
    with pytest.raises(InputError, match="entity_volatility must be true or false"):
        SequenceSynthesizer(entity="name", order="day", entity_volatility="maybe").fit(df)


def test_forecast_continues_at_the_history_own_volatility() -> None:
    """Forecasts keep each history's own level far past the history's end. The first weeks after a history
    keep it either way (the running size starts from the history's recent moves), so the test looks at
    days 75-150 of the forecasts: without the option the five wildest and five calmest entities' log
    volatilities are 0.51 apart there (fit seed 0; 0.80 with seed 1), with it 1.01 (1.26); real 1.65."""
    df = _spread_prices()
    vol = _log_volatilities(df).sort_values()
    calm, wild = list(vol.index[:5]), list(vol.index[-5:])
    apart = {}
    for option in (False, True):
        synth = SequenceSynthesizer(entity="name", order="day", random_state=0, entity_volatility=option).fit(df)
        future = synth.forecast(df[df["name"].isin(calm + wild)], 150, random_state=2)
        moves = _log_volatilities(future[future["day"] >= 150 + 75])
        apart[option] = moves[wild].mean() - moves[calm].mean()
    real = vol[wild].mean() - vol[calm].mean()
    assert apart[True] > 0.55 * real and apart[True] > apart[False] + 0.2


def test_inspect_shows_the_entity_volatility(tmp_path) -> None:
    res = fit_and_inspect(tmp_path, _garch_prices(12, 40), "name", "entity_volatility=true")
    assert res.exit_code == 0 and "own volatility level" in res.output
    # each column's training mean size (docs/sequences.md, step 6) is shown beside how it is drawn
    assert "scale" in res.output
    scaled = [line for line in res.output.splitlines() if "logdiff" in line or "ratio" in line]
    assert scaled and all(any(ch.isdigit() for ch in line.split("│")[-2]) for line in scaled)


@pytest.mark.parametrize("name", ["__size", "__n_events", "__start", "__gap", "__first_open"])
def test_a_column_named_like_the_models_own_is_refused(name: str) -> None:
    """Regression: a static column named ``__size`` came back holding the entities' volatility levels
    (the entity table's own column overwrote it), and ``__n_events`` / ``__start`` / ``__first_*`` /
    ``__gap`` collide the same way; such names are now refused with a message saying to rename them."""
    df = _spread_prices(6, 20)
    df[name] = np.where(df["name"] < "S03", "small", "big")
    with pytest.raises(InputError, match=f"{name}.* reserved by the sequence model"):
        SequenceSynthesizer(entity="name", order="day", entity_volatility=True).fit(df)


def test_entity_volatility_on_a_table_without_moves_warns_that_it_does_nothing() -> None:
    """A panel whose only dynamic column is a category has no volatility to give each entity: asking
    for it says so instead of fitting silently without it; a table with moves fits it without a word."""
    import warnings

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"name": np.repeat([f"e{i}" for i in range(12)], 15), "day": np.tile(np.arange(15), 12),
                       "state": rng.choice(["on", "off", "idle"], 180)})
    with pytest.warns(UserWarning, match="entity_volatility=True has no effect"):
        synth = SequenceSynthesizer(entity="name", order="day", random_state=0, entity_volatility=True).fit(df)
    assert not synth.entity_sizes_ and len(synth.sample(3, random_state=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        # (no privacy floor: 12 entities are too few for it, which is a warning of its own)
        assert SequenceSynthesizer(entity="name", order="day", entity_volatility=True,
                                   min_category_count=1).fit(_garch_prices(12, 40)).entity_sizes_
