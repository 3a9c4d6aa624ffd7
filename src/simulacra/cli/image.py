"""``simulacra image fit|sample|evaluate``, ``simulacra augment image`` and ``simulacra uplift image``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simulacra.cli.augment import augment_app
from simulacra.cli.common import console, parse_assignments, step, training_progress
from simulacra.cli.uplift import _finish, _progress, uplift_app

image_app = typer.Typer(help="Image generators: fit on a folder of images, sample new ones, evaluate them.",
                        no_args_is_help=True)

ResolutionOpt = Annotated[int | None, typer.Option("--resolution", help="Side of the square images worked on (default: the images' size, at most 64).")]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="Convert every image to L (grey) or RGB (default: the one mode they share).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="Where the networks run: auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda or cuda:N; a setting of this run, never saved in a model file.")]


def _device(device: str) -> str:
    """The device, checked before any image or model is read (one this machine lacks is a one-line error)."""
    from simulacra.images.base import resolve_device

    return str(resolve_device(device))


def _read(folder: Path, resolution: int | None = None, mode: str | None = None) -> Any:
    from simulacra.images.data import read_image_folder

    data = read_image_folder(folder, resolution=resolution, mode=mode)
    for note in data.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    return data


@image_app.command("fit")
def fit(
    folder: Annotated[Path, typer.Argument(help="A folder with a sub-folder of images per class, or a flat folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the model file.")],
    model: Annotated[str, typer.Option("--model", "-m", help="diffusion (default) or vae (the fast baseline).")] = "diffusion",
    steps: Annotated[int | None, typer.Option("--steps", help="Training steps (default: diffusion 1500 up to 16 px, 1200 above; vae 3000).")] = None,
    resolution: ResolutionOpt = None,
    mode: ModeOpt = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="A model parameter, NAME=VALUE (repeatable), e.g. -p width=16.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint OUTPUT.ckpt left by an interrupted run.")] = False,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads for torch (default: torch's choice).")] = None,
    device: DeviceOpt = "auto",
) -> None:
    """Train a class-conditional image generator; Ctrl-C keeps a checkpoint that --resume continues."""
    from simulacra.images.base import device_name
    from simulacra.images.registry import make_generator

    where = _device(device)
    params = parse_assignments(param, "--param")
    if steps is not None:
        params["steps"] = steps
    if threads:
        import torch

        torch.set_num_threads(threads)
    gen = make_generator(model, random_state=seed, **{**params, "device": where})
    data = _read(folder, resolution, mode)
    console.print(f"{len(data):,} images, {len(data.classes)} class(es), {data.resolution}x{data.resolution} {data.mode}; "
                  f"training on {device_name(where)}")
    ckpt = output.with_name(output.name + ".ckpt")
    if resume and not ckpt.exists():
        console.print(f"[yellow]note:[/yellow] no checkpoint '{ckpt}' to resume; starting from the beginning")
    with training_progress() as report:
        gen.fit(data, checkpoint=ckpt, resume=resume, progress=report)
    gen.save(output)
    console.print(f"Model written to [bold]{output}[/bold] (trained in {gen.fit_seconds_:.0f}s)")


@image_app.command("sample")
def sample(
    model: Annotated[Path, typer.Argument(help="A model file from 'simulacra image fit'.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write PNG images into (a sub-folder per class).")],
    n: Annotated[int, typer.Option("-n", "--n", help="Number of images.")] = 100,
    cls: Annotated[list[str] | None, typer.Option("--class", help="Only this class (repeatable); default: classes as in training.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    steps: Annotated[int | None, typer.Option("--sample-steps", help="diffusion: denoising steps (default: the model's, 20 unless fitted with -p sample_steps=N).")] = None,
    guidance: Annotated[float | None, typer.Option("--guidance", help="diffusion: classifier-free guidance scale (default: the model's, 2 unless fitted with -p guidance=G).")] = None,
    device: DeviceOpt = "auto",
) -> None:
    """Draw new images, written as PNG in a folder per class."""
    from simulacra.images.base import load_image_model
    from simulacra.images.data import write_image_folder

    gen: Any = load_image_model(model, device=_device(device))
    if steps is not None:
        gen.sample_steps = steps
    if guidance is not None:
        gen.guidance = guidance
    with step(f"Sampling {n:,} images"):
        out = gen.sample(n, classes=cls or None, random_state=seed)
    write_image_folder(out.images, out.labels, out.classes, output)
    console.print(f"{n:,} images written to [bold]{output}[/bold]: " + ", ".join(
        f"{k or '(flat)'}={v}" for k, v in out.counts().items() if v))


@image_app.command("evaluate")
def evaluate(
    real: Annotated[Path, typer.Argument(help="The real (training) image folder.")],
    synthetic: Annotated[Path, typer.Argument(help="The synthetic image folder.")],
    holdout: Annotated[Path | None, typer.Option("--holdout", help="Real images the generator never saw (memorisation baseline).")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the scores as JSON.")] = None,
    resolution: ResolutionOpt = None,
    mode: ModeOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the feature classifier.")] = 0,
    device: DeviceOpt = "auto",
) -> None:
    """Fréchet and kernel distance (CNN features), precision/recall, class accuracy and memorisation."""
    import json

    from simulacra.images.data import read_image_folder
    from simulacra.images.evaluate import evaluate_images

    where = _device(device)
    data = _read(real, resolution, mode)
    syn = read_image_folder(synthetic, resolution=data.resolution, mode=data.mode, min_per_class=1)
    hold = read_image_folder(holdout, resolution=data.resolution, mode=data.mode) if holdout else None
    with step("Training the feature classifier on the real images and scoring"):
        ev = evaluate_images(data, syn, holdout=hold, random_state=seed, device=where)
    typer.echo(ev.to_text())
    if json_path:
        json_path.write_text(json.dumps(ev.to_dict(), indent=2), encoding="utf-8")
        console.print(f"JSON written to [bold]{json_path}[/bold]")
    if html_path:
        ev.save_html(html_path)
        console.print(f"HTML report written to [bold]{html_path}[/bold]")


@augment_app.command("image")
def augment_image(
    folder: Annotated[Path, typer.Argument(help="The real image folder (a sub-folder per class, or flat).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the real and augmented images.")],
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated: flip, vflip, rotate, shift, crop, color, blur, noise, elastic.")] = "flip,rotate,crop,color",
    n: Annotated[int, typer.Option("-n", "--n", help="Augmented copies per real image.")] = 1,
    resolution: ResolutionOpt = None,
    mode: ModeOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Classic augmentation (albumentations): the real images plus N transformed copies of each."""
    from simulacra.images.augment import augment_images, parse_methods
    from simulacra.images.data import write_image_folder

    names = parse_methods(methods)
    data = _read(folder, resolution, mode)
    with step(f"Augmenting {len(data):,} images ({', '.join(names)})"):
        aug = augment_images(data, names, per_image=n, random_state=seed)
    write_image_folder(data.images, data.labels, data.classes, output, prefix="real")
    write_image_folder(aug.images, aug.labels, aug.classes, output, prefix="aug")
    console.print(f"{len(data):,} real + {len(aug):,} augmented images written to [bold]{output}[/bold]")


@uplift_app.command("image")
def uplift_image(
    train: Annotated[Path, typer.Argument(help="Real training images (a sub-folder per class).")],
    test: Annotated[Path, typer.Argument(help="Real test images, same classes (never shown to the augmentations).")],
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated, among none, classic, synth, classic+synth.")] = "none,classic,synth,classic+synth",
    per_class: Annotated[int | None, typer.Option("--per-class", help="Training images drawn per class and repeat (scarcity); 0 = all.")] = 10,
    repeats: Annotated[int, typer.Option("--repeats", help="Seeds (and draws) per method.")] = 5,
    classic: Annotated[str, typer.Option("--classic", help="The classic augmentations.")] = "rotate,shift,crop",
    model: Annotated[str, typer.Option("--model", "-m", help="Generator for synth: diffusion or vae.")] = "diffusion",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="A generator parameter, NAME=VALUE (repeatable).")] = None,
    per_image: Annotated[int, typer.Option("--per-image", help="Classic copies and synthetic images per real image.")] = 4,
    synth_per_image: Annotated[int | None, typer.Option("--synth-per-image", help="Synthetic images per real image (default: --per-image).")] = None,
    on_classic: Annotated[bool, typer.Option("--on-classic", help="Fit the generator on the real images plus their classic copies.")] = False,
    oversample: Annotated[float, typer.Option("--oversample", help="Draw this many times the synthetic images needed; keep those a CNN trained on the real images finds surest of their class (1: keep all).")] = 1.0,
    epochs: Annotated[int, typer.Option("--epochs", help="CNN passes over its training set, the same in every arm.")] = 100,
    classifier_steps: Annotated[int | None, typer.Option("--classifier-steps", help="Train the CNN for exactly this many Adam steps in every arm instead of --epochs passes (long enough for every arm to converge: see docs/images.md).")] = None,
    synth_weight: Annotated[float, typer.Option("--synth-weight", help="Weight of a synthetic image in the CNN's loss (a real image or classic copy: 1).")] = 1.0,
    synth_classic: Annotated[bool, typer.Option("--synth-classic", help="Put the synthetic images through the classic transforms too.")] = False,
    teachers: Annotated[int, typer.Option("--teachers", help="Soft labels for the synthetic images: the mean class probabilities of this many CNNs trained on what the generator saw (0: the generator's class).")] = 0,
    teacher_temperature: Annotated[float, typer.Option("--teacher-temperature", help="Softmax temperature of the teachers' probabilities (> 1: softer labels).")] = 1.0,
    distill_real: Annotated[bool, typer.Option("--distill-real", help="With --teachers: the real images and classic copies get the teachers' soft labels too.")] = False,
    pretrain: Annotated[str, typer.Option("--pretrain", help="Two stages for the arms with synthetic images: pre-train on the synthetic images (synth) or on the whole arm (all), then fine-tune on the real images and classic copies (none: one stage).")] = "none",
    mix: Annotated[str, typer.Option("--mix", help="Mix the CNN's training images in pairs, labels mixed alike: mixup or cutmix (none: no mixing).")] = "none",
    mix_alpha: Annotated[float, typer.Option("--mix-alpha", help="The mixing proportion's Beta(alpha, alpha).")] = 1.0,
    swa: Annotated[float, typer.Option("--swa", help="Share of the CNN's steps spent on stochastic weight averaging (0: none).")] = 0.0,
    levers_on: Annotated[str, typer.Option("--levers-on", help="Which arms get --mix and --swa: synth (those with synthetic images) or all (the control).")] = "synth",
    resolution: ResolutionOpt = None,
    mode: ModeOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="First seed.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write every run and the summary as JSON.")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML page with a plot.")] = None,
    device: DeviceOpt = "auto",
) -> None:
    """A small CNN on few real images vs + classic augmentation, + synthetic images, + both."""
    from simulacra.images.data import read_image_folder
    from simulacra.images.uplift import run_image_uplift

    where = _device(device)
    data = _read(train, resolution, mode)
    held = read_image_folder(test, resolution=data.resolution, mode=data.mode, min_per_class=1)
    result = run_image_uplift(
        data, held, methods=[m.strip() for m in methods.split(",") if m.strip()], per_class=per_class or None,
        repeats=repeats, seed=seed, classic=classic, classic_per_image=per_image,
        synth_per_image=per_image if synth_per_image is None else synth_per_image, generator=model,
        generator_params=parse_assignments(param, "--param"), generator_on_classic=on_classic,
        synth_oversample=oversample, classifier_epochs=epochs, classifier_steps=classifier_steps,
        synth_weight=synth_weight, synth_classic=synth_classic,
        teachers=teachers, teacher_temperature=teacher_temperature, distill_real=distill_real, pretrain=pretrain,
        mix=mix, mix_alpha=mix_alpha, swa=swa, levers_on=levers_on, device=where, progress=_progress(),
    )
    _finish(result, json_path, html_path)


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")
