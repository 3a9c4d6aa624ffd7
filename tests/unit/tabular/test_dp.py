"""DPSynthesizer: the contract, what the model file keeps, composition, and bad input."""

from __future__ import annotations

import json
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError
from simulacra.privacy import epsilon_for_rho, rho_for_epsilon
from simulacra.privacy.mechanisms import project_simplex
from simulacra.tabular.dp import DPSynthesizer, PrivacyBudgetWarning

RARE = "ZZ-only-once"
EXTREME = 987654.321


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    x = np.where(g == "a", rng.normal(20, 3, n), rng.normal(60, 5, n)).round(2)
    k = rng.integers(0, 5, n) + (g == "c") * 5
    df = pd.DataFrame({"g": g, "x": x, "k": k, "flag": rng.random(n) < 0.3})
    df.loc[7, "x"] = EXTREME
    df.loc[11, "g"] = RARE
    return df


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, DPSynthesizer]:
    df = _table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyBudgetWarning)
        return df, DPSynthesizer(epsilon=3.0, delta=1e-8, random_state=0).fit(df)


def test_samples_keep_shapes_and_relations(fitted):
    df, model = fitted
    rows = model.sample(4000, random_state=1)
    assert list(rows.columns) == list(df.columns) and len(rows) == 4000
    assert set(rows["g"]) <= {"a", "b", "c", "<rare>"}
    # the pair g–x is strong, so the tree links it: x given g keeps its two modes
    a, other = rows.loc[rows["g"] == "a", "x"], rows.loc[rows["g"].isin(["b", "c"]), "x"]
    assert abs(a.median() - 20) < 4 and abs(other.median() - 60) < 6
    # values are drawn inside bins, not at bin centres: many distinct values
    assert rows["x"].nunique() > 500
    assert rows["flag"].dtype == bool and abs(rows["flag"].mean() - 0.3) < 0.05
    assert rows["k"].dtype.kind == "i" and rows["k"].between(0, 16).all()


def test_same_seed_same_model_and_rows():
    df = _table(800)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = DPSynthesizer(epsilon=1.0, delta=1e-7, random_state=3).fit(df).sample(50)
        two = DPSynthesizer(epsilon=1.0, delta=1e-7, random_state=3).fit(df).sample(50)
    pd.testing.assert_frame_equal(one, two)


def test_model_file_holds_no_real_extreme_or_rare_category(fitted, tmp_path):
    df, model = fitted
    path = model.save(tmp_path / "m.model")
    with zipfile.ZipFile(path) as z:
        blob = b"".join(z.read(name) for name in z.namelist())
    assert RARE.encode() not in blob
    assert b"987654" not in blob
    assert str(len(df)).encode() + b"," not in blob.replace(b" ", b"")  # the exact row count is not stored
    loaded = sim.load(path)
    assert loaded.model_metadata_.columns["x"].maximum != df["x"].max()
    assert loaded.n_training_rows_ != len(df)
    pd.testing.assert_frame_equal(loaded.sample(30, random_state=5), model.sample(30, random_state=5))


def test_guarantee_and_budget_split(fitted):
    _, model = fitted
    g = model.privacy_guarantee()
    assert g["epsilon"] == 3.0 and g["delta"] == 1e-8
    assert g["rho_spent"] == pytest.approx(g["rho"], rel=1e-9)  # the ledger spends exactly the budget
    assert epsilon_for_rho(g["rho"], g["delta"] - g["delta_threshold"]) <= 3.0 + 1e-9
    # ε = 3: a network with up to two parents per column ("parents" steps choose it, "table" steps measure it)
    assert set(g["rho_by_step"]) == {"row", "range", "shape", "categories", "parents", "table"}
    assert sum(v["share"] for v in g["split"].values()) == pytest.approx(1.0)
    assert "privacy" in model.describe() and model.describe()["tree"] and model.describe()["parents"]


def test_accountant_inverse():
    for eps in (0.3, 1.0, 8.0):
        rho = rho_for_epsilon(eps, 1e-6)
        assert epsilon_for_rho(rho, 1e-6) == pytest.approx(eps, abs=1e-6)
    assert project_simplex(np.array([3.0, -2.0, 1.0]), 3.0).tolist() == [2.5, 0.0, 0.5]


def test_fitting_the_same_rows_twice_warns_that_budgets_add_up():
    df = _table(600, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = DPSynthesizer(epsilon=1.0, delta=1e-7, random_state=0).fit(df)
    with pytest.warns(PrivacyBudgetWarning, match=r"budgets add up.*ε = 1\.5"):
        DPSynthesizer(epsilon=0.5, delta=1e-7, random_state=1).fit(df)
    other = _table(600, seed=6)
    with pytest.warns(PrivacyBudgetWarning, match="ε = 3"):
        composed = DPSynthesizer(epsilon=2.0, delta=1e-7, random_state=0, previous=[first]).fit(other)
    assert composed.privacy_guarantee()["composed"]["epsilon"] == pytest.approx(3.0)


@pytest.mark.parametrize(("params", "message"), [
    ({"epsilon": 0}, "epsilon must be a positive"),
    ({"epsilon": -1}, "epsilon must be a positive"),
    ({"epsilon": float("nan")}, "epsilon must be a positive"),
    ({"epsilon": 101}, "no meaningful protection"),
    ({"epsilon": "one"}, "must be numbers"),
    ({"delta": 0.01}, "not below 1/n"),
    ({"delta": 0}, "delta must be a positive"),
])
def test_bad_budget_is_refused(params, message):
    with pytest.raises(InputError, match=message):
        DPSynthesizer(**{"epsilon": 1.0, "delta": 1e-7, **params}).fit(_table(300))


def test_public_bounds_clip_and_report(tmp_path):
    df = _table(1000)
    path = tmp_path / "bounds.json"
    path.write_text(json.dumps({"x": {"min": 0, "max": 50}, "g": ["a", "b", "c", RARE]}))
    with pytest.warns(UserWarning, match=r"'x': [0-9,]+ rows lie outside the public bounds and were clipped"):
        model = DPSynthesizer(epsilon=2.0, delta=1e-7, bounds=path, random_state=0).fit(df)
    assert model.clipped_rows_["x"] == int((df["x"] > 50).sum())
    assert model.sample(500)["x"].between(0, 50).all()
    assert "g" in model.privacy_guarantee()["public_columns"] and "x" in model.privacy_guarantee()["public_columns"]


@pytest.mark.parametrize("bounds, message", [
    ({"x": {"min": 0, "mx": 50}}, r"'x' \(numerical\): unknown key 'mx'; the keys are 'min', 'max'\."),
    ({"g": {"categories": ["a", "b", "c", RARE], "other": 1}}, r"'g' \(categorical\): unknown key 'other'"),
])
def test_a_misspelt_bounds_key_is_refused(bounds, message):
    with pytest.raises(InputError, match=message):
        DPSynthesizer(epsilon=1.0, delta=1e-7, bounds=bounds, random_state=0).fit(_table(500))


def test_category_outside_public_domain_is_refused():
    with pytest.raises(InputError, match=r"'g' has 1 rows with categories outside its public domain \(e.g. 'ZZ"):
        DPSynthesizer(epsilon=1.0, delta=1e-7, bounds={"g": ["a", "b", "c"]}).fit(_table(300))


def test_too_small_dataset_warns_with_expected_error():
    with pytest.warns(UserWarning, match=r"too few for ε = 0.1.*expected total-variation error"):
        DPSynthesizer(epsilon=0.1, delta=1e-5, random_state=0).fit(_table(200))


def test_free_text_is_refused():
    df = _table(300).assign(note=[f"free text number {i} with words" for i in range(300)])
    meta = sim.Metadata.detect(df).to_dict()
    meta["columns"]["note"] = {"type": "text"}
    with pytest.raises(InputError, match="cannot model free text"):
        DPSynthesizer(epsilon=1.0, delta=1e-7, metadata=meta).fit(df)


def test_short_integer_columns_get_one_cell_per_value_and_no_noise_tail():
    # regression: the top range bucket [16, 32) was one cell, so a column whose top value is 16
    # came back with 17..31; and noise on empty cells left a thin tail out to the released range
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"level": rng.integers(3, 17, 20000), "g": rng.choice(["a", "b"], 20000)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DPSynthesizer(epsilon=1.0, delta=1e-8, random_state=0).fit(df)
    rows = model.sample(20000, random_state=2)
    assert rows["level"].min() >= 2 and rows["level"].max() <= 16
    assert set(rows["level"].unique()) >= set(range(3, 17))
    edges = model.domains_["level"].edges
    assert np.all(np.diff(edges) == 1.0)


def test_output_dtype_does_not_tell_whether_a_row_had_a_missing_value():
    # one missing number turns pandas' int64 into float64; the released model must not show that
    df = _table(3000)[["g", "k"]]
    holed = df.astype({"k": float})
    holed.loc[5, "k"] = np.nan
    meta = sim.Metadata.detect(df).to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = DPSynthesizer(epsilon=1.0, delta=1e-8, metadata=meta, random_state=0).fit(df).sample(10)
        two = DPSynthesizer(epsilon=1.0, delta=1e-8, metadata=meta, random_state=0).fit(holed).sample(10)
    assert one["k"].dtype == two["k"].dtype == np.dtype("int64")


def test_conditions_are_met_from_the_released_model_only(fitted):
    _, model = fitted
    rows = model.sample(200, random_state=4, conditions={"g": "b"})
    assert len(rows) == 200 and (rows["g"] == "b").all()
    assert rows["x"].median() > 40  # x given g = b comes from the model's pair table, not a training row
    assert not any(isinstance(v, pd.DataFrame) for v in vars(model).values())


def test_dates_zoom_in_on_their_span():
    # regression: seconds since 1970 all fell into one powers-of-two bucket (2004–2038), so dates of one
    # year came back spread over decades-wide cells
    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame({"day": (pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 100, n), unit="D"))
                       .strftime("%Y-%m-%d"), "x": rng.normal(size=n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DPSynthesizer(epsilon=2.0, delta=1e-8, random_state=0).fit(df)
    days = pd.to_datetime(model.sample(3000, random_state=1)["day"])
    assert days.min() >= pd.Timestamp("2020-12-01") and days.max() <= pd.Timestamp("2021-05-10")
    assert days.dt.month.value_counts(normalize=True).get(2, 0) > 0.2


def test_imputation_uses_only_the_released_model(fitted):
    # post-processing: missing cells are filled from rows the model samples, observed cells are kept,
    # and a value seen in one training row (the extreme, the rare category) cannot come back
    df, model = fitted
    holed = df.head(40).copy()
    holed.loc[:9, "x"] = np.nan
    holed.loc[10:14, "g"] = None
    out = model.impute(holed, random_state=0)
    assert out.isna().sum().sum() == 0
    assert out.loc[15:, ["g", "x"]].equals(holed.loc[15:, ["g", "x"]])
    assert out.loc[:9, "x"].max() < EXTREME and RARE not in set(out.loc[10:14, "g"])
    assert not any(isinstance(v, pd.DataFrame) for v in vars(model).values())


def test_secure_selection_is_opendps_noisy_max_at_the_charged_rho():
    """Without a seed the exponential mechanism is OpenDP's noisy max (exact sampling, not numpy's Gumbel
    floats), calibrated to the same ρ; a clear winner wins, and a secure fit never touches numpy's selector."""
    from simulacra.privacy.mechanisms import Mechanisms

    class NoFloatNoise:  # a secure selection must not draw numpy noise at all
        def __getattr__(self, name: str) -> None:
            pytest.fail(f"numpy's {name} used in a secure selection")

    mech = Mechanisms(NoFloatNoise(), secure=True)  # type: ignore[arg-type]
    picks = [mech.select(np.array([0.0, 500.0, 1.0]), 0.5, 2.0, "pick") for _ in range(20)]
    assert picks == [1] * 20  # a score 500 ahead at ε = 2: the noise (scale 2) cannot overturn it
    assert mech.spent() == pytest.approx(10.0) and mech.ledger[0]["candidates"] == 3
    seen = {mech.select(np.zeros(4), 0.5, 2.0, "tie") for _ in range(60)}
    assert seen == {0, 1, 2, 3}  # ties are broken at random, not by position
    df = _table(1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyBudgetWarning)
        synth = DPSynthesizer(epsilon=1.0, delta=1e-7).fit(df)  # no seed: secure noise throughout
    assert synth.privacy_guarantee()["secure_noise"] is True and len(synth.sample(50)) == 50
