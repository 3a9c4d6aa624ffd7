"""Image generators: seeds reproduce, classes are honoured, model files hold no pickle and round-trip,
checkpoints resume exactly and Ctrl-C leaves one behind."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from simulacra.errors import InputError, ModelFileError, NotFittedError
from simulacra.images.base import TrainingInterrupted, load_image_model
from simulacra.images.data import read_image_folder
from simulacra.images.registry import make_generator

TINY = {"diffusion": {"steps": 3, "width": 8, "sample_steps": 2, "batch_size": 8},
        "vae": {"steps": 3, "hidden": 16, "latent": 2, "batch_size": 8}}


@pytest.fixture
def data(folder):
    return read_image_folder(folder)


@pytest.mark.parametrize("name", ["diffusion", "vae"])
def test_same_seed_same_images_and_classes_honoured(data, name):
    a = make_generator(name, random_state=1, **TINY[name]).fit(data)
    b = make_generator(name, random_state=1, **TINY[name]).fit(data)
    sa, sb = a.sample(6, random_state=5), b.sample(6, random_state=5)
    assert np.array_equal(sa.images, sb.images) and sa.images.shape == (6, 8, 8, 1)
    assert sa.labels.tolist() == [0, 0, 1, 1, 2, 2]  # the training proportions
    assert not np.array_equal(sa.images, a.sample(6, random_state=6).images)
    only = a.sample(4, classes="c2", random_state=0)
    assert only.labels.tolist() == [2, 2, 2, 2] and only.classes == data.classes


@pytest.mark.parametrize("name", ["diffusion", "vae"])
def test_model_file_round_trips_without_pickle(data, tmp_path, name):
    gen = make_generator(name, random_state=0, **TINY[name]).fit(data)
    path = gen.save(tmp_path / "m.model")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "manifest.json", "metadata.json", "state.json"]
        with zf.open("arrays.npz") as f:
            np.load(f, allow_pickle=False)  # arrays only: loading them with pickle off works
    back = load_image_model(path)
    assert type(back) is type(gen) and back.classes_ == data.classes
    assert np.array_equal(back.sample(5, random_state=3).images, gen.sample(5, random_state=3).images)


def test_unknown_class_and_unfitted_and_bad_params(data):
    gen = make_generator("vae", **TINY["vae"])
    with pytest.raises(NotFittedError):
        gen.sample(2)
    gen.fit(data)
    with pytest.raises(InputError, match="Unknown class.*'c9'.*knows 'c0', 'c1', 'c2'"):
        gen.sample(2, classes="c9")
    with pytest.raises(InputError, match="no parameter colour"):
        make_generator("diffusion", colour=3)
    with pytest.raises(InputError, match="Unknown image model 'gan'"):
        make_generator("gan")
    with pytest.raises(InputError, match="sampler"):
        make_generator("diffusion", sampler="euler", steps=1).fit(data)


def test_not_an_image_model(tmp_path):
    (tmp_path / "x.model").write_bytes(b"PK junk")
    with pytest.raises(ModelFileError):
        load_image_model(tmp_path / "x.model")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_image_model(tmp_path / "none.model")


def test_resume_from_checkpoint_gives_the_same_model(data, tmp_path, monkeypatch):
    import simulacra.images.base as base

    params = {**TINY["diffusion"], "steps": 6, "random_state": 0}
    whole = make_generator("diffusion", **params).fit(data)
    ckpt = tmp_path / "m.ckpt"

    def ctrl_c_at_step_three(p):
        if p.step >= 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(base, "_REPORT_EVERY", 1)
    with pytest.raises(TrainingInterrupted, match="interrupted at step 3/6.*--resume"):
        make_generator("diffusion", **params).fit(data, checkpoint=ckpt, progress=ctrl_c_at_step_three)
    assert ckpt.exists()
    steps = []
    resumed = make_generator("diffusion", **params).fit(data, checkpoint=ckpt, resume=True,
                                                        progress=lambda p: steps.append(p.step))
    assert steps == [4, 5, 6]  # it went on from the checkpoint, not from the start
    assert not ckpt.exists()  # a finished fit removes its checkpoint
    for k, v in whole.net_.state_dict().items():
        assert np.allclose(v.numpy(), resumed.net_.state_dict()[k].numpy(), atol=1e-6), k


def test_ctrl_c_in_the_middle_of_a_step_still_resumes_exactly(data, tmp_path, monkeypatch):
    """A real Ctrl-C lands inside a step (here: while the loss is computed, after the batch and the noise were
    drawn). It took effect there, and the checkpoint kept random streams a step ahead of the weights: the
    resumed model differed from an uninterrupted one (by 0.016 in a weight on the digits). Ctrl-C now ends the
    step under way first."""
    import os
    import signal

    from simulacra.images.diffusion import ImageDiffusion

    params = {**TINY["diffusion"], "steps": 6, "random_state": 0}
    whole = make_generator("diffusion", **params).fit(data)
    calls = []
    real_loss = ImageDiffusion._loss

    def loss_with_ctrl_c(self, *args):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_loss(self, *args)

    ckpt = tmp_path / "m.ckpt"
    monkeypatch.setattr(ImageDiffusion, "_loss", loss_with_ctrl_c)
    with pytest.raises(TrainingInterrupted, match="interrupted at step 3/6"):
        make_generator("diffusion", **params).fit(data, checkpoint=ckpt)
    monkeypatch.setattr(ImageDiffusion, "_loss", real_loss)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    resumed = make_generator("diffusion", **params).fit(data, checkpoint=ckpt, resume=True)
    for k, v in whole.net_.state_dict().items():
        assert np.allclose(v.numpy(), resumed.net_.state_dict()[k].numpy(), atol=1e-6), k


def test_resume_with_other_settings_is_refused(data, tmp_path):
    ckpt = tmp_path / "m.ckpt"
    gen = make_generator("vae", **{**TINY["vae"], "steps": 4})
    gen._setup(data)
    import torch

    gen.ema_ = gen._build()
    opt = torch.optim.AdamW(gen.net_.parameters())
    gen._checkpoint(ckpt, data, opt, torch.Generator(), np.random.default_rng(0), 2, 1.0)
    other = make_generator("vae", **{**TINY["vae"], "steps": 4, "latent": 3})
    with pytest.raises(InputError, match="other settings or images \\(parameters differ\\)"):
        other.fit(data, checkpoint=ckpt, resume=True)


def test_progress_reports_eta(data):
    seen = []
    make_generator("vae", **{**TINY["vae"], "steps": 50}).fit(data, progress=seen.append)
    assert [p.step for p in seen] == [25, 50]
    assert seen[0].eta > 0 and seen[-1].eta == 0 and np.isfinite(seen[0].loss)


def test_fitting_leaves_the_global_torch_generator_alone(data):
    import torch

    from simulacra.images.cnn import ImageClassifier

    before = torch.random.get_rng_state().clone()
    make_generator("vae", random_state=3, **TINY["vae"]).fit(data).sample(2)
    ImageClassifier(steps=2, random_state=3).fit(data.images, data.labels)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_dpm_sampler_survives_a_slightly_wrong_noise_guess(data):
    """At the noisiest step the clean image is the noise guess divided by almost nothing: a small error
    in the guess blew every sample up to black and white until the sampler clipped its estimate."""
    from types import SimpleNamespace

    import torch

    gen = make_generator("diffusion", random_state=0, **TINY["diffusion"]).fit(data)
    alphas = gen._schedule().alphas_cumprod

    class GreyDenoiser(torch.nn.Module):  # the exact noise for a mid-grey image (0 in model units), 5 % too large
        def forward(self, x, t, class_labels=None):
            a = alphas[int(t)]
            return SimpleNamespace(sample=1.05 * x / (1 - a).sqrt())

    gen.net_ = GreyDenoiser()
    gen.sample_steps = 10
    out = gen.sample(8, random_state=0).images.astype(float)
    assert np.mean((out < 10) | (out > 245)) < 0.05 and abs(out.mean() - 127.5) < 30


def test_diffusion_defaults_depend_on_resolution(tmp_path, monkeypatch):
    """steps and batch_size left at None follow DEFAULT_PLAN by resolution (recorded in the model file);
    given, they win at every resolution."""
    import simulacra.images.diffusion as diffusion
    from tests.unit.images.conftest import write_folder

    assert diffusion.default_plan(8) == (1500, 128) and diffusion.default_plan(16) == (1500, 128)
    assert diffusion.default_plan(28) == (1200, 64) and diffusion.default_plan(64) == (1200, 64)
    monkeypatch.setattr(diffusion, "DEFAULT_PLAN", ((16, 3, 8), (64, 2, 4)))  # tiny, same shape of rule
    small = read_image_folder(write_folder(tmp_path / "s", size=8))
    large = read_image_folder(write_folder(tmp_path / "l", size=20))
    tiny = {k: v for k, v in TINY["diffusion"].items() if k not in ("steps", "batch_size")}
    seen: list[tuple[int, int]] = []
    for data, want in ((small, (3, 8)), (large, (2, 4))):
        gen = make_generator("diffusion", random_state=0, **tiny)
        assert gen.steps is None and gen.training_plan(data.resolution) == want
        gen.fit(data, progress=lambda p: seen.append((p.step, p.total)))
        assert (gen.trained_steps_, gen.trained_batch_size_) == want and seen[-1] == (want[0], want[0])
        back = load_image_model(gen.save(tmp_path / f"{data.resolution}.model"))
        assert back.steps is None and (back.trained_steps_, back.trained_batch_size_) == want
    fixed = make_generator("diffusion", random_state=0, steps=1, batch_size=2, **tiny)
    assert fixed.training_plan(28) == (1, 2) and fixed.fit(large).trained_steps_ == 1
    with pytest.raises(InputError, match="positive integers"):
        make_generator("diffusion", steps=0).fit(small)
