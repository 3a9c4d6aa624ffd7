"""SequenceSynthesizer: whole histories per entity, order, statics and row rules kept."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError, ModelFileError, NotFittedError
from simulacra.tabular.sequence import SequenceSynthesizer


def _panel(n_entities: int = 45, seed: int = 0) -> pd.DataFrame:
    """Business-day histories of varying length: statics, a random-walk price, a high above it."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_entities):
        group = ["north", "south", "east"][e % 3]
        size = float(rng.integers(1, 5) * 10)
        n = int(rng.integers(6, 40))
        days = pd.bdate_range("2020-01-06", periods=n + int(rng.integers(0, 20)))[-n:]
        price = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, n))) * (1 + size / 100)
        high = price * np.exp(np.abs(rng.normal(0, 0.01, n)))
        state = rng.choice(["open", "closed"], size=n, p=[0.8, 0.2])
        for t in range(n):
            rows.append((f"C{e:03d}", days[t], group, size, round(price[t], 2), round(high[t], 2), state[t]))
    return pd.DataFrame(rows, columns=["customer", "day", "group", "size", "price", "high", "state"])


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, SequenceSynthesizer]:
    df = _panel()
    return df, SequenceSynthesizer(entity="customer", order="day", random_state=0).fit(df)


def test_histories_keep_order_statics_and_rules(fitted) -> None:
    df, synth = fitted
    out = synth.sample(30, random_state=1)
    assert list(out.columns) == list(df.columns)
    assert out["customer"].nunique() == 30
    assert set(synth.statics_) == {"group", "size"}
    per = out.groupby("customer")
    assert (per[["group", "size"]].nunique(dropna=False) == 1).all().all()
    assert per["day"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()
    assert not out.duplicated(["customer", "day"]).any()
    assert (out["high"] >= out["price"]).all()
    assert set(out["state"].dropna()) <= {"open", "closed"}
    assert set(out["group"]) <= {"north", "south", "east"}
    # business days stay business days (the gap model sees the weekday)
    assert (pd.to_datetime(out["day"]).dt.dayofweek < 5).mean() > 0.95
    # the price moves like the real one: a persistent level inside each entity
    acf = per["price"].apply(lambda s: s.autocorr(1) if len(s) > 5 else np.nan).mean()
    assert acf > 0.6
    # prices keep their two decimals
    assert np.allclose(out["price"], out["price"].round(2))


def test_lengths_follow_the_real_ones(fitted) -> None:
    df, synth = fitted
    out = synth.sample(200, random_state=2)
    real = df.groupby("customer").size()
    fake = out.groupby("customer").size()
    assert fake.min() >= 1
    assert abs(fake.mean() - real.mean()) < 0.25 * real.mean()


def test_same_seed_same_rows_and_save_load(fitted, tmp_path) -> None:
    _, synth = fitted
    a = synth.sample(5, random_state=3)
    pd.testing.assert_frame_equal(a, synth.sample(5, random_state=3))
    path = synth.save(tmp_path / "seq.model")
    import simulacra

    again = simulacra.load(path)
    assert isinstance(again, SequenceSynthesizer)
    pd.testing.assert_frame_equal(a, again.sample(5, random_state=3))


def test_conditions_on_static_attributes(fitted) -> None:
    _, synth = fitted
    out = synth.sample(10, random_state=4, conditions={"group": "south"})
    assert (out["group"] == "south").all()
    with pytest.raises(InputError, match="static attributes"):
        synth.sample(3, conditions={"price": 10.0})


def test_forecast_continues_a_real_history(fitted) -> None:
    df, synth = fitted
    history = df[df["customer"].isin(["C001", "C002"])]
    future = synth.forecast(history, 5, random_state=0)
    assert len(future) == 10
    assert set(future["customer"]) == {"C001", "C002"}
    for name, part in future.groupby("customer"):
        last = history[history["customer"] == name]["day"].max()
        assert (part["day"] > last).all()
        assert part["group"].iloc[0] == history[history["customer"] == name]["group"].iloc[0]
    with pytest.raises(InputError, match="n_steps"):
        synth.forecast(history, True)  # a flag is not a count
    with pytest.raises(InputError, match="lacks the model's columns"):
        synth.forecast(history.drop(columns=["price"]), 3)
    none = synth.forecast(history.iloc[:0], 3)  # no history, no future (it was an IndexError)
    assert none.empty and list(none.columns) == list(df.columns)
    pd.testing.assert_series_equal(none.dtypes, synth.sample(0).dtypes)


def test_no_training_rows_kept(fitted) -> None:
    _, synth = fitted
    for value in vars(synth).values():
        assert not isinstance(value, pd.DataFrame)


def test_bad_input_is_refused() -> None:
    df = _panel(10)
    with pytest.raises(InputError, match="not in the table"):
        SequenceSynthesizer(entity="who", order="day").fit(df)
    tied = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(InputError, match="ties"):
        SequenceSynthesizer(entity="customer", order="day").fit(tied)
    single = df.drop_duplicates("customer")
    with pytest.raises(InputError, match="single event"):
        SequenceSynthesizer(entity="customer", order="day").fit(single)
    mixed = df.assign(day=[1 if i % 2 else "2020-01-01" for i in range(len(df))])
    with pytest.raises(InputError, match="mixes types"):
        SequenceSynthesizer(entity="customer", order="day").fit(mixed)
    # as read from a CSV, every value is text: it said '17' was "neither a date nor a number"
    as_text = df.assign(day=[str(v) if i % 7 else "17" for i, v in enumerate(df["day"].dt.date)])
    with pytest.raises(InputError, match=r"mixes dates \(e.g. '2020-.*'\) and numbers \(e.g. '17'\)"):
        SequenceSynthesizer(entity="customer", order="day").fit(as_text)
    with pytest.raises(InputError, match=r"1 event\(s\) at the same day .* \(e.g. 'C000' at 2020-01-\d\d 00:00:00\)"):
        SequenceSynthesizer(entity="customer", order="day").fit(tied)  # no Timestamp(...) repr
    for leaf in (-3, 0, 2.5, "ten", True):  # (a negative one crashed inside LightGBM)
        with pytest.raises(InputError, match="min_samples_leaf must be a whole number"):
            SequenceSynthesizer(entity="customer", order="day", min_samples_leaf=leaf).fit(df)
    with pytest.raises(NotFittedError):
        SequenceSynthesizer(entity="customer", order="day").sample(3)


def test_numeric_order_and_no_statics() -> None:
    rng = np.random.default_rng(5)
    rows = [(e, t * 2 + 1, float(np.sin(t / 3) + rng.normal(0, 0.1))) for e in range(30) for t in range(20)]
    df = pd.DataFrame(rows, columns=["id", "step", "signal"])
    synth = SequenceSynthesizer(entity="id", order="step", random_state=0).fit(df)
    out = synth.sample(10, random_state=0)
    assert out["step"].dtype.kind == "i"
    assert out.groupby("id")["step"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()


def test_event_times_only_are_sampled_and_forecast() -> None:
    """A table of event times and a static attribute, no value column that changes (logins per user):
    sampling and forecasting draw the times alone (the forecast crashed on an empty stack of columns)."""
    rng = np.random.default_rng(0)
    rows = [(f"u{e}", int(t), "a" if e % 2 else "b") for e in range(30) for t in np.cumsum(rng.integers(1, 5, 12))]
    df = pd.DataFrame(rows, columns=["user", "t", "kind"])
    synth = SequenceSynthesizer(entity="user", order="t", statics=["kind"], random_state=0).fit(df)
    assert synth.plans_ == [] and len(synth.sample(4, random_state=0))
    future = synth.forecast(df, 3, random_state=0)
    assert len(future) == 30 * 3 and list(future.columns) == ["user", "t", "kind"]
    last = df.groupby("user")["t"].max()
    assert (future.groupby("user")["t"].min() > last).all()
    assert (future.groupby("user")["kind"].first() == df.groupby("user")["kind"].first()).all()


def test_corrupt_saved_params_are_refused(fitted) -> None:
    _, synth = fitted
    state = synth.to_state()
    state["params"]["bogus"] = 1
    with pytest.raises(ModelFileError):
        SequenceSynthesizer.from_state(state)


def test_rule_found_on_rows_with_both_values_is_kept_despite_gaps() -> None:
    """A gust is measured in one hour of four, always at or above the wind speed of its hour. Values
    filled across the missing hours break that rule in some rows; the model must still find it (on
    the rows with both values, as the sequence report does) and keep it in every synthetic row."""
    rng = np.random.default_rng(2)
    rows = []
    for e in range(30):
        for t in range(40):
            speed = float(rng.gamma(4.0, 3.0))
            gust = round(speed + float(rng.gamma(2.0, 2.0)), 1) if rng.random() < 0.25 else np.nan
            rows.append((f"S{e:02d}", t, round(speed, 1), gust))
    df = pd.DataFrame(rows, columns=["station", "hour", "speed", "gust"])
    filled = df.groupby("station")["gust"].transform(lambda s: s.ffill().bfill())
    assert (filled >= df["speed"]).mean() < 0.99  # the filled values do not keep the rule
    synth = SequenceSynthesizer(entity="station", order="hour", random_state=0).fit(df)
    assert "speed" in next(p for p in synth.plans_ if p.name == "gust").lower
    out = synth.sample(30, random_state=1)
    both = out.dropna(subset=["gust", "speed"])
    assert len(both) > 50 and (both["gust"] >= both["speed"]).all()


def test_step_models_fit_no_comparison_tree(monkeypatch) -> None:
    """The step models never read ``gain_over_tree``, so their boosted means fit no comparison tree
    (it took ~45 % of the fit time on sp500); the single-table columns that do choose still get it."""
    import simulacra.tabular._boosted as boosted
    from simulacra.tabular._steps import StepModel

    calls: list[int] = []
    real = boosted._gain_over_tree
    monkeypatch.setattr(boosted, "_gain_over_tree", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    y = X[:, 0] + rng.normal(0, 0.5, 400)
    step = StepModel.fit(X, y, classes=False, categorical=[], min_count=5, min_leaf=20, rng=rng)
    assert step.loc is not None and calls == []
    assert np.corrcoef(step.sample(X, rng), X[:, 0])[0, 1] > 0.5
    mean = boosted.BoostedMean.fit(X, y, min_samples_leaf=20, rng=rng)
    assert calls == [1] and mean.gain_over_tree != 0.0


def test_event_times_keep_the_real_resolution() -> None:
    """Flights scheduled on whole minutes: synthetic times are whole minutes too, strictly increasing
    (they came back with nanosecond fractions, '2013-01-08 15:20:21.816104960'), also in a forecast;
    a model saved before the resolution was recorded samples as it did."""
    rng = np.random.default_rng(3)
    rows = []
    for e in range(40):
        t = pd.Timestamp("2013-01-01 05:00") + pd.Timedelta(minutes=int(rng.integers(0, 600)))
        for _ in range(int(rng.integers(4, 15))):
            t += pd.Timedelta(minutes=int(rng.integers(1, 900)))
            rows.append((f"N{e:03d}", t, float(rng.normal(0, 20))))
    df = pd.DataFrame(rows, columns=["tailnum", "sched_dep", "delay"])
    synth = SequenceSynthesizer(entity="tailnum", order="sched_dep", random_state=0).fit(df)
    for out in (synth.sample(60, random_state=1), synth.forecast(df[df["tailnum"] == "N001"], 20, random_state=0)):
        times = pd.to_datetime(out["sched_dep"])
        assert (times == times.dt.floor("min")).all()
        assert out.groupby("tailnum")["sched_dep"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()
    state = synth.to_state()
    state["state"]["time"] = {k: v for k, v in state["state"]["time"].items() if k != "step"}
    old = SequenceSynthesizer.from_state(state).sample(20, random_state=1)
    assert old.groupby("tailnum")["sched_dep"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()


def test_too_few_entities_for_the_privacy_floor_is_warned_at_fit() -> None:
    # three weather stations: the entity table has three rows, and a synthetic station starts as a real one
    few = _panel(3, seed=4)
    with pytest.warns(UserWarning, match=r"Only 3 entities: too few for the privacy floor \(min_category_count=5\)"):
        SequenceSynthesizer(entity="customer", order="day", random_state=0).fit(few)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough entities, or no floor asked for: nothing to say
        SequenceSynthesizer(entity="customer", order="day", random_state=0, min_category_count=1).fit(few)
        SequenceSynthesizer(entity="customer", order="day", random_state=0, min_samples_leaf=5).fit(_panel(20, seed=4))


def test_a_csv_of_histories_writes_the_order_column_as_it_was_read(tmp_path) -> None:
    # 2013-01-01T06:00:00Z came back as 2013-01-01 06:00:00+00:00; 06/01/2020 as 2020-01-06
    from simulacra.cli.main import main

    df = _panel(25, seed=2)
    for fmt, times in (("%Y-%m-%dT%H:%M:%SZ", df["day"].dt.tz_localize("UTC") + pd.Timedelta(hours=6)),
                       ("%d/%m/%Y", df["day"])):
        data = df.assign(day=times.dt.strftime(fmt))
        data.to_csv(tmp_path / "h.csv", index=False)
        main(["fit", str(tmp_path / "h.csv"), "--entity", "customer", "--order", "day", "-o", str(tmp_path / "h.model")])
        main(["sample", str(tmp_path / "h.model"), "-n", "4", "--seed", "0", "-o", str(tmp_path / "s.csv")])
        written = pd.read_csv(tmp_path / "s.csv", dtype=str)["day"]
        assert pd.to_datetime(written, format=fmt, errors="coerce").notna().all(), written.head(2).tolist()
        (tmp_path / "s.csv").unlink()
    model = SequenceSynthesizer(entity="customer", order="day", random_state=0).fit(df)  # dates, not text
    assert "format" not in model.time_ and pd.api.types.is_datetime64_any_dtype(model.sample(2, random_state=0)["day"])


def test_categorical_dtype_columns_are_modelled_like_text() -> None:
    # regression: a dynamic column of pandas' category dtype (as Parquet often reads it) crashed the fit with
    # "Cannot setitem on a Categorical with a new category": its codes were mapped as a categorical
    df = _panel(n_entities=30)
    cat = df.assign(**{c: df[c].astype("category") for c in ("customer", "group", "state")})
    out = SequenceSynthesizer(entity="customer", order="day", random_state=0).fit(cat).sample(40, random_state=1)
    assert set(out["group"]) <= set(df["group"]) and set(out["state"].dropna()) == {"open", "closed"}
    assert abs((out["state"] == "open").mean() - (df["state"] == "open").mean()) < 0.15


def test_day_first_text_dates_keep_their_order() -> None:
    # regression: text dates were read one by one, so 06/01/2020 became the 1st of June beside 13/01/2020,
    # the 13th of January: the events of every history changed places (and the gaps were months)
    from simulacra.evaluate.sequence import evaluate_sequences

    df = _panel(25, seed=3)
    text = df.assign(day=df["day"].dt.strftime("%d/%m/%Y"))
    model = SequenceSynthesizer(entity="customer", order="day", random_state=0).fit(text)
    assert model.time_["format"] == "%d/%m/%Y" and model.time_["weekday"]  # business days, as in the real rows
    out = model.sample(20, random_state=1)
    days = out["day"]
    assert pd.api.types.is_datetime64_any_dtype(days)
    span = df["day"].max() - df["day"].min()
    assert (days.groupby(out["customer"]).agg(lambda s: s.max() - s.min()) <= span + pd.Timedelta(days=90)).all()
    report = evaluate_sequences(text, text, entity="customer", order="day")
    assert report["gap_ks_complement"] == 1.0 and report["order_increasing"] == 1.0
    gaps = report["histograms"]["gaps"]["edges"]
    assert gaps[-1] <= 7, gaps  # gaps of business days, not of months


def test_a_forecast_history_of_text_dates_is_read_in_the_model_s_format():
    # a model fitted on %m/%d/%Y dates: 01/06/2020 in the history is 6 January (read alone it looked day-first)
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=40, freq="D")
    rows = [{"id": f"e{e}", "date": d.strftime("%m/%d/%Y"), "x": float(rng.normal())}
            for e in range(24) for d in days[:20 + e % 5]]
    model = SequenceSynthesizer(entity="id", order="date", random_state=0).fit(pd.DataFrame(rows))
    history = pd.DataFrame({"id": ["z", "z"], "date": ["01/06/2020", "01/07/2020"], "x": [0.1, 0.2]})
    future = model.forecast(history, 2)
    assert pd.to_datetime(future["date"]).min() > pd.Timestamp("2020-01-07")
    assert pd.to_datetime(future["date"]).max() < pd.Timestamp("2020-02-07")
