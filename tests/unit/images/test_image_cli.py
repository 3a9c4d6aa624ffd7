"""The image commands end to end on tiny folders: fit, sample (all classes or one), evaluate, augment,
uplift; bad input gives one line and exit code 2."""

from __future__ import annotations

import json

from simulacra.cli.main import main
from simulacra.images.data import read_image_folder

from .conftest import write_folder


def _run(argv, capsys):
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_fit_sample_evaluate(folder, tmp_path, capsys):
    model = tmp_path / "m.model"
    code, text = _run(["image", "fit", folder, "-o", model, "--model", "vae", "--steps", "5", "-p", "hidden=16"], capsys)
    assert code == 0, text
    assert model.exists() and not (tmp_path / "m.model.ckpt").exists()
    out = tmp_path / "synth"
    code, text = _run(["image", "sample", model, "-n", "9", "-o", out, "--seed", "1"], capsys)
    assert code == 0, text
    assert read_image_folder(out, min_per_class=1).counts() == {"c0": 3, "c1": 3, "c2": 3}
    one = tmp_path / "one"
    assert _run(["image", "sample", model, "-n", "4", "--class", "c1", "-o", one], capsys)[0] == 0
    assert sorted(p.name for p in one.iterdir()) == ["c1"]
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    code, text = _run(["image", "evaluate", folder, out, "--html", html, "--json", js], capsys)
    assert code == 0, text
    assert "class accuracy" in text and html.exists()
    assert 0 <= json.loads(js.read_text())["scores"]["class_accuracy"] <= 1


def test_augment_image(folder, tmp_path, capsys):
    out = tmp_path / "aug"
    code, text = _run(["augment", "image", folder, "--methods", "rotate,crop", "-n", "2", "-o", out], capsys)
    assert code == 0, text
    assert read_image_folder(out).counts() == {"c0": 30, "c1": 30, "c2": 30}  # 10 real + 20 augmented each


def test_uplift_image(tmp_path, capsys):
    train, test = write_folder(tmp_path / "train", 30, 0), write_folder(tmp_path / "test", 15, 1)
    html = tmp_path / "u.html"
    code, text = _run(["uplift", "image", train, test, "--methods", "none,classic,synth", "--per-class", "3",
                       "--repeats", "2", "--model", "vae", "-p", "steps=5", "--html", html], capsys)
    assert code == 0, text
    assert "| synth |" in text and "against classic" in text and html.exists()
    js = tmp_path / "u.json"
    code, text = _run(["uplift", "image", train, test, "--methods", "synth", "--per-class", "3", "--repeats", "1",
                       "--model", "vae", "-p", "steps=5", "--on-classic", "--synth-per-image", "2",
                       "--oversample", "1.5", "--epochs", "7", "--synth-weight", "0.5", "--synth-classic",
                       "--teachers", "2", "--teacher-temperature", "2.5", "--distill-real", "--json", js], capsys)
    assert code == 0, text
    info = json.loads(js.read_text())["info"]
    assert (info["generator_on_classic"], info["synth_per_image"], info["synth_oversample"], info["classifier_epochs"],
            info["synth_weight"], info["synth_classic"]) == (True, 2, 1.5, 7, 0.5, True)
    assert (info["teachers"], info["teacher_temperature"], info["distill_real"]) == (2, 2.5, True)
    code, text = _run(["uplift", "image", train, test, "--methods", "classic,classic+synth", "--per-class", "3",
                       "--repeats", "1", "--model", "vae", "-p", "steps=5", "--epochs", "7", "--pretrain", "all",
                       "--mix", "cutmix", "--mix-alpha", "0.5", "--swa", "0.2", "--levers-on", "all", "--json", js],
                      capsys)
    assert code == 0, text
    info = json.loads(js.read_text())["info"]
    assert (info["pretrain"], info["mix"], info["mix_alpha"], info["swa"], info["levers_on"]) == ("all", "cutmix", 0.5,
                                                                                                 0.2, "all")
    code, text = _run(["uplift", "image", train, test, "--methods", "none,classic", "--per-class", "3", "--repeats",
                       "1", "--classifier-steps", "9", "--json", js], capsys)
    assert code == 0, text
    data = json.loads(js.read_text())
    assert data["info"]["classifier_steps"] == 9 and data["info"]["classifier_epochs"] is None
    assert {run["cnn_steps"] for run in data["runs"]} == {9}  # the same fixed budget in every arm
    code, text = _run(["uplift", "image", train, test, "--mix", "blend"], capsys)
    assert code == 2 and "Unknown mix 'blend'" in text and "Traceback" not in text
    code, text = _run(["uplift", "image", train, test, "--classifier-steps", "0"], capsys)
    assert code == 2 and "classifier_steps" in text and "Traceback" not in text


def test_bad_input_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, text = _run(["image", "fit", tmp_path / "empty", "-o", tmp_path / "m.model"], capsys)
    assert code == 2 and "holds no images" in text and "Traceback" not in text
    code, text = _run(["image", "sample", tmp_path / "nothing.model", "-o", tmp_path / "o"], capsys)
    assert code == 2 and "does not exist" in text
    code, text = _run(["augment", "image", tmp_path / "empty", "--methods", "twirl", "-o", tmp_path / "o"], capsys)
    assert code == 2 and "Unknown augmentation" in text


def test_fit_progress_is_plain_lines_in_a_log(folder, tmp_path, capsys, monkeypatch):
    """Where stderr is not a terminal (a CI log, nohup) the training progress is plain lines, as fine-tuning
    shows it: a rich bar there showed nothing until training ended."""
    for name in ("FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    code, text = _run(["image", "fit", folder, "-o", tmp_path / "m.model", "--model", "vae", "--steps", "5",
                       "-p", "hidden=16"], capsys)
    assert code == 0, text
    assert "training: step 5/5 · loss " in text and " · ETA 0:00:00" in text  # the last step is always shown


def test_device_flag(folder, tmp_path, capsys, monkeypatch):
    """--device auto|cpu|cuda on every image command: cuda without a GPU is one line that names the way out,
    given before any image or model is read; cpu trains the model the default (auto, no GPU here) trains."""
    import numpy as np
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    missing = tmp_path / "missing"
    for argv in (["image", "fit", missing, "-o", tmp_path / "m.model"], ["image", "sample", missing, "-o", tmp_path / "o"],
                 ["image", "evaluate", missing, missing], ["uplift", "image", missing, missing]):
        code, text = _run([*argv, "--device", "cuda"], capsys)
        assert code == 2 and "sees no CUDA GPU" in text and "--device cpu" in text and "Traceback" not in text, argv
    code, text = _run(["image", "fit", missing, "-o", tmp_path / "m.model", "--device", "tpu"], capsys)
    assert code == 2 and "auto, cpu, cuda or cuda:N" in text
    images = []
    for name, extra in (("cpu", ["--device", "cpu"]), ("auto", [])):
        model = tmp_path / f"{name}.model"
        code, text = _run(["image", "fit", folder, "-o", model, "--model", "vae", "--steps", "3", "-p", "hidden=8", *extra],
                          capsys)
        assert code == 0 and "training on cpu" in text, text
        out = tmp_path / f"{name}_synth"
        assert _run(["image", "sample", model, "-n", "6", "-o", out, "--seed", "1", *extra], capsys)[0] == 0
        images.append(read_image_folder(out, min_per_class=1).images)
    assert np.array_equal(*images)
