"""The diffusion model for tables: seeds, save/load, dtypes and missing values, conditions, constraints, bad input."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")  # the 'torch' extra; CI installs it (a skip there fails)

import simulacra as sim  # noqa: E402
from simulacra.errors import InputError, MissingDependencyError, ModelFileError  # noqa: E402
from simulacra.metadata import Metadata  # noqa: E402
from simulacra.tabular.diffusion import DiffusionSynthesizer, auto_steps  # noqa: E402

FAST = {"steps": 150, "width": 64, "depth": 2, "sample_steps": 10}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    group = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    x = np.where(group == "a", rng.normal(0, 1, n), rng.normal(8, 1, n)).round(2)
    score = rng.normal(50, 10, n).round(1)
    score[rng.random(n) < 0.3] = np.nan
    return pd.DataFrame({
        "x": x,
        "count": rng.integers(1, 20, n),
        "group": group,
        "flag": rng.random(n) < 0.25,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D"),
        "score": score,
        "kind": pd.Categorical(rng.choice(["p", "q", None], n, p=[0.5, 0.3, 0.2])),
    })


@pytest.fixture(scope="module")
def fitted() -> DiffusionSynthesizer:
    torch.set_num_threads(1)
    return DiffusionSynthesizer(random_state=0, **FAST).fit(_table())


def test_registered_and_saved_without_pickle(fitted, tmp_path) -> None:
    assert sim.get_synthesizer_class("diffusion") is DiffusionSynthesizer
    path = fitted.save(tmp_path / "m.model")
    loaded = sim.load(path)
    assert isinstance(loaded, DiffusionSynthesizer)
    assert loaded.sample(400, random_state=3).equals(fitted.sample(400, random_state=3))
    with np.load(__import__("zipfile").ZipFile(path).open("arrays.npz"), allow_pickle=False) as arrays:
        assert all(arrays[k].dtype.kind in "fiub" for k in arrays.files)  # weights are plain arrays


def test_seeds_reproduce_and_differ(fitted) -> None:
    a, b = fitted.sample(200, random_state=1), fitted.sample(200, random_state=1)
    assert a.equals(b) and not a.equals(fitted.sample(200, random_state=2))
    again = DiffusionSynthesizer(random_state=0, **FAST).fit(_table())
    assert again.sample(200, random_state=1).equals(a)  # training is deterministic on CPU
    other = DiffusionSynthesizer(random_state=1, **FAST).fit(_table())
    assert not other.sample(200, random_state=1).equals(a)


def test_chunks_do_not_change_rows(fitted) -> None:
    whole = fitted.sample_range(0, 300, random_state=5)
    parts = pd.concat(list(fitted.iter_samples(300, chunk_rows=70, random_state=5)), ignore_index=True)
    assert whole.equals(parts)


def test_dtypes_categories_and_missing_are_kept(fitted) -> None:
    real, out = _table(), fitted.sample(3000, random_state=0)
    assert list(out.dtypes.astype(str)) == list(real.dtypes.astype(str))
    assert set(out["group"]) <= {"a", "b", "c"} and set(out["kind"].cat.categories) == {"p", "q"}
    assert out["x"].between(real["x"].min(), real["x"].max()).all()
    assert out["when"].between(real["when"].min(), real["when"].max()).all()
    assert abs(out["score"].isna().mean() - real["score"].isna().mean()) < 0.08
    assert abs(out["kind"].isna().mean() - real["kind"].isna().mean()) < 0.08
    assert out["x"].notna().all() and out["group"].notna().all()


def test_learns_the_dependence_between_a_category_and_a_number(fitted) -> None:
    out = fitted.sample(3000, random_state=0)
    means = out.groupby("group")["x"].mean()
    assert means["a"] < 3 < means["b"]  # real: a around 0, b and c around 8
    share = out["group"].value_counts(normalize=True)
    assert share.idxmax() == "a" and 0.4 < share["a"] < 0.8


def test_gaussian_categories_variant() -> None:
    out = DiffusionSynthesizer(random_state=0, categorical="gaussian", **FAST).fit(_table()).sample(500, random_state=0)
    assert set(out["group"]) <= {"a", "b", "c"} and len(out) == 500


def test_conditions_and_constraints_through_the_shared_machinery() -> None:
    df = _table()
    df["y"] = df["count"] + np.random.default_rng(1).integers(0, 5, len(df))
    meta = Metadata.detect(df)
    meta.constraints = [{"kind": "inequality", "low": "count", "high": "y"}]
    synth = DiffusionSynthesizer(metadata=meta, random_state=0, **FAST).fit(df)
    out = synth.sample(500, random_state=1, conditions={"group": "c"})
    assert len(out) == 500 and (out["group"] == "c").all() and (out["y"] >= out["count"]).all()


def test_progress_reports_steps_and_eta() -> None:
    seen = []
    DiffusionSynthesizer(random_state=0, **{**FAST, "steps": 60}).fit(_table(), progress=seen.append)
    assert [p.step for p in seen] == [25, 50, 60] and all(p.total == 60 for p in seen)
    assert seen[-1].eta == 0 and all(np.isfinite(p.loss) and p.elapsed >= 0 for p in seen)


def test_torch_global_state_is_left_alone() -> None:
    before = torch.random.get_rng_state().clone()
    torch.set_num_threads(2)
    DiffusionSynthesizer(random_state=0, threads=1, **{**FAST, "steps": 5}).fit(_table(60)).sample(20, random_state=0)
    assert torch.equal(before, torch.random.get_rng_state()) and torch.get_num_threads() == 2


def test_default_budget_follows_the_table_size() -> None:
    assert auto_steps(26_049, 1024) == 2544 and auto_steps(211, 1024) == 400 and auto_steps(10**7, 1024) == 3000


@pytest.mark.parametrize("params, words", [
    ({"steps": 0}, "steps"), ({"batch_size": -3}, "batch_size"), ({"learning_rate": 0}, "learning_rate"),
    ({"categorical": "onehot"}, "categorical"), ({"sample_steps": 2.5}, "sample_steps"),
])
def test_bad_parameters_say_which(params, words) -> None:
    with pytest.raises(InputError, match=words):
        DiffusionSynthesizer(**params).fit(_table(50))


def test_missing_torch_names_the_extra(fitted, tmp_path, monkeypatch) -> None:
    path = fitted.save(tmp_path / "m.model")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"simulacra\[torch\]"):
        DiffusionSynthesizer(**FAST).fit(_table(50))
    with pytest.raises(MissingDependencyError, match=r"simulacra\[torch\]"):
        sim.load(path)


def test_weights_of_another_shape_are_refused(fitted) -> None:
    state = fitted.to_state()
    state["params"]["width"] = 32
    with pytest.raises(ModelFileError, match="re-fit"):
        DiffusionSynthesizer.from_state(state)



def test_a_rare_condition_keeps_the_learned_dependence(fitted) -> None:
    """Conditions go through the shared rejection step: rows keep the joint the model learned."""
    rare = fitted.sample(300, random_state=2, conditions={"group": "c"})  # 10 % of the real rows
    common = fitted.sample(300, random_state=2, conditions={"group": "a"})
    assert (rare["group"] == "c").all() and (common["group"] == "a").all()
    assert rare["x"].mean() > common["x"].mean() + 2  # real: c around 8, a around 0 (a tiny model here)
    gone = fitted.sample(100, random_state=2, conditions={"score": None, "flag": True})
    assert gone["score"].isna().all() and gone["flag"].all()
    with pytest.raises(sim.errors.ConstraintError, match="impossible"):
        fitted.sample(10, random_state=0, conditions={"group": "never-seen"})


def test_command_line_fit_shows_progress_and_saves(tmp_path) -> None:
    from typer.testing import CliRunner

    from simulacra.cli.main import app

    real = tmp_path / "real.csv"
    _table(120).to_csv(real, index=False)
    model, out = tmp_path / "m.model", tmp_path / "syn.csv"
    args = ["fit", str(real), "--model", "diffusion", "-o", str(model), "--seed", "0",
            "-p", "steps=30", "-p", "width=32", "-p", "depth=1", "-p", "sample_steps=5"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    # not a terminal: plain progress lines (a rich bar would show only at the end)
    assert "training: step 30/30 · loss " in res.output and "ETA" in res.output and "Model written" in res.output
    res = CliRunner().invoke(app, ["sample", str(model), "-n", "40", "--seed", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 40
    res = CliRunner().invoke(app, ["inspect", str(model), "--json"])
    assert res.exit_code == 0 and '"diffusion"' in res.output
