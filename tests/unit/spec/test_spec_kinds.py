"""Column kinds: marginal moments within sampling error, and each kind's contract."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

N = 200_000


def _moments_ok(x, mean, var, n):
    se_mean = np.sqrt(var / n)
    assert abs(x.mean() - mean) < 5 * se_mean, (x.mean(), mean)
    assert abs(x.var() - var) / var < 0.05


def _zipf_moments(a, top):
    k = np.arange(1, top + 1, dtype=float)
    w = k ** -a / (k ** -a).sum()
    mean = (k * w).sum()
    return mean, (k * k * w).sum() - mean**2


def _truncnorm_moments(mu, sd, lo, hi):
    # the documented truncated normal, written out: phi/Phi of the standardised bounds
    a, b = (lo - mu) / sd, (hi - mu) / sd
    pdf = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / np.sqrt(2)))  # noqa: E731
    z = cdf(b) - cdf(a)
    mean = mu + sd * (pdf(a) - pdf(b)) / z
    var = sd**2 * (1 + (a * pdf(a) - b * pdf(b)) / z - ((pdf(a) - pdf(b)) / z) ** 2)
    return mean, var


# Each kind against its documented parameterisation (docs/spec.md), written out here: the mean and variance
# from the textbook formulas in the spec's own numbers, never from the kind object under test; and for the
# continuous kinds a KS test against a scipy distribution this test builds from those numbers.
REFERENCES = [
    ({"kind": "normal", "mean": 3, "std": 2}, (3, 4), stats.norm(3, 2)),
    ({"kind": "truncated_normal", "mean": 0, "std": 1, "min": -1, "max": 2}, _truncnorm_moments(0, 1, -1, 2),
     stats.truncnorm(-1, 2, loc=0, scale=1)),
    ({"kind": "lognormal", "mu": 1, "sigma": 0.4},
     (math.exp(1 + 0.4**2 / 2), (math.exp(0.4**2) - 1) * math.exp(2 + 0.4**2)), stats.lognorm(0.4, scale=math.e)),
    ({"kind": "uniform", "min": -2, "max": 5}, (1.5, 7**2 / 12), stats.uniform(-2, 7)),
    ({"kind": "exponential", "rate": 0.5}, (2, 4), stats.expon(scale=2)),
    ({"kind": "exponential", "scale": 4}, (4, 16), stats.expon(scale=4)),
    ({"kind": "gamma", "shape": 2.5, "scale": 3}, (7.5, 22.5), stats.gamma(2.5, scale=3)),
    ({"kind": "beta", "a": 2, "b": 5, "min": 10, "max": 20},
     (10 + 10 * 2 / 7, 100 * 2 * 5 / (7**2 * 8)), stats.beta(2, 5, loc=10, scale=10)),
    ({"kind": "triangular", "min": 0, "mode": 1, "max": 4},
     (5 / 3, (0 + 1 + 16 - 0 - 0 - 4) / 18), stats.triang(0.25, loc=0, scale=4)),
    ({"kind": "integer", "min": 1, "max": 6}, (3.5, (6**2 - 1) / 12), None),
    ({"kind": "poisson", "lam": 4}, (4, 4), None),
    ({"kind": "binomial", "n": 20, "p": 0.3}, (6, 20 * 0.3 * 0.7), None),
    # failures before the n-th success: mean n(1 − p)/p, variance n(1 − p)/p²
    ({"kind": "negative_binomial", "n": 3, "p": 0.4}, (3 * 0.6 / 0.4, 3 * 0.6 / 0.16), None),
    # trials until the first success (1, 2, ...): mean 1/p, variance (1 − p)/p²
    ({"kind": "geometric", "p": 0.25}, (4, 0.75 / 0.0625), None),
    ({"kind": "zipf", "a": 1.2, "max": 50}, _zipf_moments(1.2, 50), None),
    ({"kind": "mixture", "components": [{"weight": 0.3, "kind": "normal", "mean": 0, "std": 1},
                                        {"weight": 0.7, "kind": "normal", "mean": 10, "std": 2}]},
     (7, 0.3 * (1 + 0) + 0.7 * (4 + 100) - 49), None),
]


def _draw(one_table, spec):
    return one_table({"x": spec}, rows=N).generate_table("t", seed=1)["x"].to_numpy(dtype=float)


@pytest.mark.parametrize("spec, moments, dist", REFERENCES, ids=[f"{r[0]['kind']}-{i}" for i, r in enumerate(REFERENCES)])
def test_distribution_moments_match_documented_parameterisation(one_table, spec, moments, dist):
    _moments_ok(_draw(one_table, spec), float(moments[0]), float(moments[1]), N)


CONTINUOUS = [(spec, dist) for spec, _, dist in REFERENCES if dist is not None]


@pytest.mark.parametrize("spec, dist", CONTINUOUS, ids=[f"{c[0]['kind']}-{i}" for i, c in enumerate(CONTINUOUS)])
def test_continuous_kind_follows_the_reference_distribution(one_table, spec, dist):
    assert stats.kstest(_draw(one_table, spec), dist.cdf).pvalue > 1e-4


def test_integer_kinds_have_the_documented_support(one_table):
    frame = one_table({"i": {"kind": "integer", "min": 1, "max": 6}, "g": {"kind": "geometric", "p": 0.25},
                       "nb": {"kind": "negative_binomial", "n": 3, "p": 0.4},
                       "z": {"kind": "zipf", "a": 1.2, "max": 50}}, rows=50_000).generate_table("t", seed=0)
    assert set(frame["i"]) == set(range(1, 7))  # both ends included
    assert frame["g"].min() == 1  # trials, not failures: never 0
    assert frame["nb"].min() == 0  # failures: 0 happens (probability 0.4³)
    assert frame["z"].between(1, 50).all() and frame["z"].max() == 50


def test_integer_distributions_give_integers(one_table):
    frame = one_table({"k": {"kind": "poisson", "lam": 2}, "z": {"kind": "zipf", "a": 2}}).generate_table("t", seed=0)
    assert frame["k"].dtype == np.int64 and frame["z"].min() >= 1


def test_categorical_frequencies_and_bernoulli(one_table):
    frame = one_table({
        "c": {"kind": "categorical", "values": {"a": 0.2, "b": 0.8}},
        "n": {"kind": "categorical", "values": [1, 2, 3], "weights": [1, 1, 2]},
        "flag": {"kind": "bernoulli", "p": 0.1},
    }, rows=N).generate_table("t", seed=2)
    assert abs((frame["c"] == "a").mean() - 0.2) < 0.005
    assert abs((frame["n"] == 3).mean() - 0.5) < 0.005
    assert frame["flag"].dtype == bool and abs(frame["flag"].mean() - 0.1) < 0.003


def test_empirical_from_file(tmp_path):
    from simulacra.spec import Spec

    pd.DataFrame({"city": ["Oslo"] * 3 + ["Rome"]}).to_csv(tmp_path / "c.csv", index=False)
    (tmp_path / "s.yaml").write_text("tables:\n  t:\n    rows: 40000\n    columns:\n"
                                     "      city: {kind: empirical, file: c.csv, column: city}\n")
    frame = Spec.from_yaml(tmp_path / "s.yaml").generate_table("t", seed=0)
    assert abs((frame["city"] == "Oslo").mean() - 0.75) < 0.01


def test_correlated_group_hits_pearson_target_within_002(one_table):
    target = np.array([[1, 0.6, -0.3], [0.6, 1, 0.2], [-0.3, 0.2, 1]])
    frame = one_table({"g": {"kind": "correlated", "correlation": target.tolist(), "columns": {
        "a": {"kind": "normal", "mean": 0, "std": 1},
        "b": {"kind": "lognormal", "mu": 0, "sigma": 0.5},
        "c": {"kind": "uniform", "min": 0, "max": 10}}}}, rows=N).generate_table("t", seed=3)
    np.testing.assert_allclose(frame[["a", "b", "c"]].corr().to_numpy(), target, atol=0.02)
    # marginals stay what was asked
    assert stats.kstest(frame["c"], stats.uniform(0, 10).cdf).statistic < 0.01


def test_spearman_method(one_table):
    frame = one_table({"g": {"kind": "correlated", "method": "spearman", "correlation": {"a, b": 0.5}, "columns": {
        "a": {"kind": "exponential"}, "b": {"kind": "gamma", "shape": 2}}}}, rows=N).generate_table("t", seed=4)
    assert abs(frame[["a", "b"]].corr(method="spearman").iloc[0, 1] - 0.5) < 0.02


BAD = [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]
MEMBERS = {k: {"kind": "normal"} for k in "abc"}


def test_non_psd_matrix_is_repaired_with_a_warning(one_table):
    with pytest.warns(UserWarning, match="not positive semi-definite"):
        s = one_table({"g": {"kind": "correlated", "correlation": BAD, "columns": MEMBERS}})
    assert len(s.generate_table("t", seed=0)) == 1000


def test_non_psd_matrix_refused_on_request(one_table):
    from simulacra.errors import SpecError

    with pytest.raises(SpecError, match="not positive semi-definite"):
        one_table({"g": {"kind": "correlated", "correlation": BAD, "columns": MEMBERS, "on_invalid": "refuse"}})


def test_fixed_sum_exact_to_the_cent_with_bounds(one_table):
    frame = one_table({
        "income": {"kind": "uniform", "min": 1000, "max": 5000, "round": 2},
        "split": {"kind": "fixed_sum", "total": "income", "columns": {"rent": {"min": 500, "max": 2500}, "food": {},
                                                                        "fun": {"max": 300}}, "concentration": [3, 2, 1]},
    }, rows=50_000).generate_table("t", seed=5)
    cents = np.round(frame[["rent", "food", "fun"]].to_numpy() * 100).astype(np.int64)
    assert np.array_equal(cents.sum(axis=1), np.round(frame["income"].to_numpy() * 100).astype(np.int64))
    assert np.allclose(cents, frame[["rent", "food", "fun"]].to_numpy() * 100)  # whole cents
    assert frame["rent"].between(500, 2500).all() and (frame["fun"] <= 300).all() and (frame["food"] >= 0).all()


def test_fixed_sum_impossible_bounds_refused(one_table):
    from simulacra.errors import SpecError

    with pytest.raises(SpecError, match="impossible constraint"):
        one_table({"s": {"kind": "fixed_sum", "total": 100, "columns": {"a": {"min": 80}, "b": {"min": 30}}}})


def test_identity_kinds_are_unique_and_formatted(one_table):
    frame = one_table({"seq": {"kind": "sequence", "start": 10, "step": 5}, "u": {"kind": "uuid"},
                       "i": {"kind": "id", "digits": 6, "format": "C-{:06d}"}}, rows=100_000).generate_table("t", seed=0)
    assert frame["seq"].iloc[:3].tolist() == [10, 15, 20]
    assert frame["u"].is_unique and frame["u"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}").all()
    assert frame["i"].is_unique and frame["i"].str.fullmatch(r"C-\d{6}").all()


def test_dates_in_range_with_weekday_seasonality(one_table):
    frame = one_table({"d": {"kind": "date", "start": "2024-01-01", "end": "2024-12-31",
                             "weekday_weights": [1, 1, 1, 1, 1, 0, 0]},
                       "ts": {"kind": "timestamp", "start": "2024-01-01", "end": "2024-01-31",
                              "hour_weights": [0] * 9 + [1] * 8 + [0] * 7}}, rows=20_000).generate_table("t", seed=0)
    assert frame["d"].between("2024-01-01", "2024-12-31").all() and (frame["d"].dt.weekday < 5).all()
    assert frame["ts"].dt.hour.between(9, 16).all()


def test_conditional_lookup_and_rule(one_table):
    frame = one_table({
        "job": {"kind": "categorical", "values": ["eng", "teacher", "other"]},
        "income": {"kind": "conditional", "on": "job", "cases": {"eng": {"kind": "normal", "mean": 100, "std": 1},
                                                                  "teacher": {"kind": "normal", "mean": 50, "std": 1}},
                   "else": {"kind": "constant", "value": 10}},
        "band": {"kind": "conditional", "when": [{"if": "income > 75", "then": "high"}], "else": "low"},
        "code": {"kind": "lookup", "key": "job", "table": {"eng": 1, "teacher": 2}, "default": 0},
        "label": {"kind": "rule", "tree": {"if": "income > 75", "then": "A", "else": {"if": "income > 25", "then": "B", "else": "C"}}},
    }, rows=5000).generate_table("t", seed=0)
    by_job = frame.groupby("job")["income"].mean()
    assert abs(by_job["eng"] - 100) < 1 and abs(by_job["teacher"] - 50) < 1 and by_job["other"] == 10
    assert ((frame["income"] > 75) == (frame["band"] == "high")).all()
    assert (frame["code"] == frame["job"].map({"eng": 1, "teacher": 2, "other": 0})).all()
    assert (frame["label"] == np.where(frame["income"] > 75, "A", np.where(frame["income"] > 25, "B", "C"))).all()


def test_linear_relation_with_noise(one_table):
    frame = one_table({"height": {"kind": "normal", "mean": 170, "std": 10},
                       "weight": "= 2.5 * height + 50 + normal(0, 5)"}, rows=N).generate_table("t", seed=0)
    slope, intercept = np.polyfit(frame["height"], frame["weight"], 1)
    assert abs(slope - 2.5) < 0.01 and abs((frame["weight"] - 2.5 * frame["height"] - 50).std() - 5) < 0.05


def test_people_and_template(one_table):
    frame = one_table({
        "p": {"kind": "person", "locale": {"en_US": 0.5, "fr_FR": 0.5},
              "fields": ["first_name", "last_name", "email", "phone", "address", "country"]},
        "amount": {"kind": "uniform", "min": 0, "max": 100},
        "msg": {"kind": "template", "template": "{first_name} paid {amount:.2f}"},
        "company": {"kind": "fake", "method": "company"},
    }, rows=5000).generate_table("t", seed=0)
    assert frame["email"].str.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+").all()
    first_ascii = frame["first_name"].str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
    assert (frame["email"].str.split(".").str[0] == first_ascii.str.replace(r"[^a-z0-9]", "", regex=True)).mean() > 0.9
    assert not frame["phone"].str.contains("#").any() and frame["phone"].str.contains(r"\d{2}").all()
    assert set(frame["country"]) == {"United States", "France"}
    expected = frame["first_name"] + " paid " + frame["amount"].map(lambda v: f"{v:.2f}")
    assert (frame["msg"] == expected).all()
    assert frame["company"].nunique() > 100


def test_null_rate(one_table):
    frame = one_table({"x": {"kind": "poisson", "lam": 3, "null_rate": 0.2}, "s": {"kind": "categorical",
                       "values": ["a"], "null_rate": 0.5}}, rows=20_000).generate_table("t", seed=0)
    assert abs(frame["x"].isna().mean() - 0.2) < 0.02 and str(frame["x"].dtype) == "Int64"
    assert abs(frame["s"].isna().mean() - 0.5) < 0.02
