"""Table balancing and mixing: exact counts, only the given rows are shown to the synthesizer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.augment import balance_table, class_targets, mix_table
from simulacra.augment.tables import sample_query
from simulacra.errors import ConstraintError, InputError


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    y = np.where(x + rng.normal(scale=0.3, size=n) > 1.0, "yes", "no")
    return pd.DataFrame({"x": x, "k": rng.integers(0, 5, n), "c": rng.choice(["u", "v"], n), "y": y})


def test_class_targets() -> None:
    assert class_targets({"a": 90, "b": 10}, balance="1:1") == {"a": 90, "b": 90}
    assert class_targets({"a": 90, "b": 10}, balance="1:3") == {"a": 90, "b": 30}
    assert class_targets({"a": 90, "b": 10}, balance={"b": 50}) == {"a": 90, "b": 50}
    assert class_targets({"a": 90, "b": 10}, ratio=0.5) == {"a": 135, "b": 15}
    with pytest.raises(InputError):
        class_targets({"a": 1}, balance="x:y")


@pytest.mark.parametrize("strategy", ["conditional", "per-class"])
def test_balance_exact_counts(table: pd.DataFrame, strategy: str) -> None:
    counts = table["y"].value_counts()
    out = balance_table(table, "y", balance="1:1", synthesizer="copula", random_state=0, strategy=strategy)
    assert out["y"].value_counts().to_dict() == {"no": counts["no"], "yes": counts["no"]}
    real = out[out.augmentation == "real"].drop(columns="augmentation")
    pd.testing.assert_frame_equal(real, table.reset_index(drop=True))
    synth = out[out.augmentation == "synthetic"]
    assert len(synth) == counts["no"] - counts["yes"] and (synth["y"] == "yes").all()
    assert out["k"].dtype == table["k"].dtype
    # the minority's synthetic rows look like the minority (high x), not like the whole table
    assert synth["x"].mean() > table.loc[table.y == "no", "x"].mean() + 0.5


def test_balance_same_seed_same_rows(table: pd.DataFrame) -> None:
    a = balance_table(table, "y", synthesizer="copula", random_state=5)
    b = balance_table(table, "y", synthesizer="copula", random_state=5)
    pd.testing.assert_frame_equal(a, b)


def test_mix_and_enlarge_a_group(table: pd.DataFrame) -> None:
    out = mix_table(table, ratio=0.5, synthesizer="copula", random_state=0)
    assert len(out) == len(table) + 200
    grown = mix_table(table, ratio=1.0, where="x > 1", synthesizer="copula", random_state=0)
    new = grown[grown.augmentation == "synthetic"]
    assert len(new) == int((table.x > 1).sum()) and (new.x > 1).all()


class NoConditions:
    """A synthesizer without conditional sampling: balancing falls back to rejection sampling."""

    supports_conditions = False

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data

    def sample(self, n: int, random_state: int | None = None, conditions: object = None) -> pd.DataFrame:
        assert conditions is None
        return self.data.sample(n, replace=True, random_state=random_state).reset_index(drop=True)


def test_rejection_sampling_fallback(table: pd.DataFrame) -> None:
    from simulacra.augment.tables import sample_where

    rows = sample_where(NoConditions(table), 77, {"y": "yes"}, random_state=0)
    assert len(rows) == 77 and (rows.y == "yes").all()
    with pytest.raises(ConstraintError, match="the filter is too rare") as caught:
        sample_query(NoConditions(table), 5, "x > 100", random_state=0, max_rounds=2)
    # no model samples a range natively: the advice for a filter is a model of the matching rows, not conditions
    assert "fit the synthesizer on only the real rows that match the filter" in str(caught.value)
    assert "condition" not in str(caught.value)
    with pytest.raises(ConstraintError, match="the condition is too rare") as caught:
        sample_where(NoConditions(table), 5, {"y": "maybe"}, random_state=0, max_rounds=2)
    assert "use a model that conditions natively (model " in str(caught.value)
    private = NoConditions(table)
    private.differentially_private = True  # type: ignore[attr-defined]
    with pytest.raises(ConstraintError, match="the filter is too rare") as caught:
        sample_query(private, 5, "x > 100", random_state=0, max_rounds=2)
    assert "privacy budget" in str(caught.value) and "match the filter (post-processing" in str(caught.value)
    assert "real rows that match" not in str(caught.value)


def test_errors_name_the_problem(table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="not in the table"):
        balance_table(table, "nope")
    with pytest.raises(InputError, match="strategy"):
        balance_table(table, "y", strategy="magic", synthesizer="copula")
    small = pd.concat([table[table.y == "no"].head(300), table[table.y == "yes"].head(5)])
    with pytest.raises(InputError, match="too few"):
        balance_table(small, "y", strategy="per-class", synthesizer="copula")
    # auto falls back to conditional sampling when a class is too small to fit alone
    out = balance_table(small, "y", synthesizer="copula", random_state=0)
    assert out["y"].value_counts().to_dict() == {"no": 300, "yes": 300}


def test_class_consistency_filter_keeps_rows_where_their_class_is(table: pd.DataFrame) -> None:
    from simulacra.augment.tables import ClassJudge

    counts = table["y"].value_counts()
    plain = balance_table(table, "y", synthesizer="copula", random_state=1, consistency=None, strategy="conditional")
    cache: dict = {}
    kept = balance_table(table, "y", synthesizer="copula", random_state=1, consistency=0.2, strategy="conditional",
                         cache=cache)
    assert kept["y"].value_counts().to_dict() == {"no": counts["no"], "yes": counts["no"]}  # counts stay exact
    judge = next(v for k, v in cache.items() if k[0] == "judge")
    assert isinstance(judge, ClassJudge) and 0 < judge.floor["yes"] < 1
    need, drawn = judge.kept["yes"]
    assert need == counts["no"] - counts["yes"] and drawn > need  # some rows were redrawn
    synth_plain = plain[plain.augmentation == "synthetic"]
    synth_kept = kept[kept.augmentation == "synthetic"]
    assert (judge.score(synth_kept, "yes") >= judge.floor["yes"]).all()
    # the copula blurs the class boundary; the filter moves the synthetic minority back over it
    assert synth_kept["x"].min() > synth_plain["x"].min()
    assert (synth_kept["x"] < 0).mean() < (synth_plain["x"] < 0).mean()


def test_class_consistency_filter_errors(table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    from simulacra.augment.tables import ClassJudge

    with pytest.raises(InputError, match="consistency"):
        balance_table(table, "y", synthesizer="copula", random_state=0, consistency=1.5)
    monkeypatch.setattr(ClassJudge, "MAX_ROUNDS", 1)  # a floor almost no row reaches, one draw round
    with pytest.raises(ConstraintError, match="consistency"):
        balance_table(table.assign(y=np.where(table.index % 5 == 0, "yes", "no")), "y", synthesizer="copula",
                      random_state=0, consistency=0.99, strategy="conditional")
