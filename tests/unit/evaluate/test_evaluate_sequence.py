"""evaluate_sequences: each figure moves when the property it measures breaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.evaluate.sequence import evaluate_sequences


def _histories(seed: int, n: int = 30, length: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n):
        price = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, length)))
        high = price * np.exp(np.abs(rng.normal(0, 0.01, length)))
        days = pd.bdate_range("2021-01-04", periods=length)
        for t in range(length):
            rows.append((f"s{seed}-{e}", days[t], "ab"[e % 2], price[t], high[t]))
    return pd.DataFrame(rows, columns=["id", "day", "kind", "price", "high"])


def test_a_faithful_copy_of_the_process_scores_well() -> None:
    real, other, hold = _histories(0), _histories(1), _histories(2)
    r = evaluate_sequences(real, other, entity="id", order="day", holdout=hold)
    assert r["length_ks_complement"] == 1.0 and r["gap_ks_complement"] > 0.9
    assert r["static_coherence"] == 1.0 and r["statics"] == ["kind"]
    assert r["order_increasing"] == 1.0 and r["duplicate_entity_order"] == 0
    assert {"rule": "high >= price", "real": 1.0, "synthetic": 1.0} in r["row_rules"]
    acf = r["autocorrelation"]["price"]
    assert abs(acf["real"][0] - acf["synthetic"][0]) < 0.1 and "changes" in acf
    assert r["copied_histories"] == 0
    assert 0.3 < r["privacy"]["entity_dcr_share"] < 0.7


def test_entity_dcr_uses_one_scale_when_a_column_is_positive_in_one_table_only() -> None:
    """A column with a few zeros in the training and synthetic tables but none in the held-out one
    (visibility on the weather panel) was logged for the held-out entities only, which put every
    synthetic entity closer to a training one (share 1.0 for a process identical to the real one)."""
    def with_visibility(seed: int, zeros: bool) -> pd.DataFrame:
        df = _histories(seed)
        rng = np.random.default_rng(seed + 10)
        df["visib"] = rng.uniform(1.0, 10.0, len(df))
        if zeros:
            df.loc[df.index[::50], "visib"] = 0.0
        return df

    real, other, hold = with_visibility(0, True), with_visibility(1, True), with_visibility(2, False)
    r = evaluate_sequences(real, other, entity="id", order="day", holdout=hold)
    assert 0.3 < r["privacy"]["entity_dcr_share"] < 0.7


def test_broken_histories_are_caught() -> None:
    real = _histories(0)
    bad = _histories(1)
    # shuffled rows inside entities: levels no longer persist; highs below prices; a static that changes
    bad["price"] = bad.groupby("id")["price"].transform(lambda s: s.sample(frac=1.0, random_state=0).to_numpy())
    bad.loc[bad.index[::5], "high"] = bad["price"] * 0.9
    bad.loc[bad.index[::7], "kind"] = "c"
    bad = pd.concat([bad, bad.iloc[:10]])  # duplicate (entity, order) pairs
    r = evaluate_sequences(real, bad, entity="id", order="day")
    assert r["duplicate_entity_order"] == 10
    assert r["static_coherence"] < 0.5
    rule = next(x for x in r["row_rules"] if x["rule"] == "high >= price")
    assert rule["synthetic"] < 0.85
    assert r["autocorrelation"]["price"]["synthetic"][0] < 0.5 < r["autocorrelation"]["price"]["real"][0]
    assert r["window_detection_auc"] > 0.8


def test_copied_histories_are_counted() -> None:
    real = _histories(0)
    copy = real[real["id"].isin(["s0-1", "s0-2"])]
    r = evaluate_sequences(real, pd.concat([_histories(1), copy]), entity="id", order="day")
    assert r["copied_histories"] == 2


def test_histories_differing_in_values_of_equal_hash_are_not_copies() -> None:
    # hash(-1.0) == hash(-2.0): a count of equal hashes took (-1, -1, 725) for a copy of (-2, -2, 725)
    from simulacra.evaluate.sequence import _copied

    real = pd.DataFrame({"id": ["r1", "r2", "r3"], "delay": [-2.0, 5.0, np.nan], "distance": [725.0, 1.0, 3.0]})
    synth = pd.DataFrame({"id": ["s1", "s2", "s3", "s4"], "delay": [-1.0, 5.0, 5.0, np.nan],
                          "distance": [725.0, 1.0, 1.0, 3.0]})
    # s2 and s3 copy r2 (each synthetic copy counts), s4 copies r3 missing value included; s1 copies nothing
    assert _copied(real, synth, "id", ["delay", "distance"]) == 3
    assert _copied(real, synth.iloc[:1], "id", ["delay", "distance"]) == 0


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match="no column 'when'"):
        evaluate_sequences(_histories(0), _histories(1), entity="id", order="when")


def _co_moving(seed: int, beta: float, n: int = 20, length: int = 80) -> pd.DataFrame:
    """Prices on shared days whose log returns are ``beta`` × a market return + an own one."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-04", periods=length)
    market = rng.normal(0, 0.01, length)
    rows = []
    for e in range(n):
        price = 30 * np.exp(np.cumsum(beta * market + np.sqrt(1 - beta**2) * rng.normal(0, 0.01, length)))
        rows += [(f"s{seed}-{e}", d, p) for d, p in zip(days, price)]
    return pd.DataFrame(rows, columns=["id", "day", "price"])


def test_co_movement_of_entities_on_shared_dates() -> None:
    """Same-date changes of two entities correlate as ``beta²`` (0.36) in the real table; entities drawn
    independently score about 0; without shared dates there is nothing to compare."""
    r = evaluate_sequences(_co_moving(0, 0.6), _co_moving(1, 0.0), entity="id", order="day")
    pair = r["cross_entity_correlation"]["price"]
    assert 0.25 < pair["changes"]["real"] < 0.5 and abs(pair["changes"]["synthetic"]) < 0.05
    assert "abs_changes" in pair
    same = evaluate_sequences(_co_moving(0, 0.6), _co_moving(2, 0.6), entity="id", order="day")
    assert abs(same["cross_entity_correlation"]["price"]["changes"]["synthetic"] - pair["changes"]["real"]) < 0.15
    # each entity at its own times (shifted by an hour per entity): no pair shares a date
    own = _co_moving(0, 0.6)
    own["day"] = own["day"] + pd.to_timedelta(own["id"].str.split("-").str[1].astype(int), unit="h")
    assert evaluate_sequences(own, own, entity="id", order="day")["cross_entity_correlation"] == {}


def test_the_command_line_report_shows_co_movement(tmp_path) -> None:
    from typer.testing import CliRunner

    from simulacra.cli.main import app

    _co_moving(0, 0.6).to_csv(tmp_path / "real.csv", index=False)
    _co_moving(1, 0.0).to_csv(tmp_path / "syn.csv", index=False)
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "real.csv"), str(tmp_path / "syn.csv"),
                                   "--entity", "id", "--order", "day"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "same-date correlation of two entities' price changes: real 0.3" in text
    assert "price abs changes" in text


def test_command_line_refuses_options_the_sequence_report_ignores(tmp_path) -> None:  # noqa: ANN001
    """`simulacra evaluate --entity --order --target kind` ignored the target without a word; such options are
    refused with one line, and the report itself still runs (JSON with --json; --html: test_sequence_html.py)."""
    from typer.testing import CliRunner

    from simulacra.cli.main import app

    real, fake = tmp_path / "real.csv", tmp_path / "fake.csv"
    _histories(0, n=8, length=12).to_csv(real, index=False)
    _histories(1, n=8, length=12).to_csv(fake, index=False)
    base = ["evaluate", str(real), str(fake), "--entity", "id", "--order", "day"]
    res = CliRunner().invoke(app, [*base, "--html", str(tmp_path / "r.html"), "--target", "kind", "--secret", "kind"])
    assert isinstance(res.exception, InputError)
    assert "--target, --secret do(es) not apply to the sequence report" in str(res.exception)
    assert not (tmp_path / "r.html").exists()
    res = CliRunner().invoke(app, [*base, "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.json").exists() and "events per entity" in res.output
