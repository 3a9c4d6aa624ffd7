"""The diffusion model's design: what the network predicts, min-SNR weighting, the learning-rate schedule,
the UNet's widths; defaults by resolution, saved in the model file (older files read as they were made)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulacra.errors import InputError
from simulacra.images.base import load_image_model
from simulacra.images.data import read_image_folder
from simulacra.images.registry import make_generator

TINY = {"steps": 3, "width": 8, "sample_steps": 2, "batch_size": 8}


@pytest.fixture
def data(folder):
    return read_image_folder(folder)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_design_is_used_saved_and_read_back(data, tmp_path, prediction):
    gen = make_generator("diffusion", random_state=0, prediction=prediction, snr_gamma=5, lr_schedule="cosine",
                         channel_mult="1,1", **TINY).fit(data)
    assert gen.design_ == {"prediction": prediction, "snr_gamma": 5.0, "lr_schedule": "cosine", "channel_mult": [1, 1]}
    assert gen._schedule().config.prediction_type == prediction
    assert tuple(gen.net_.config.block_out_channels) == (8, 8)
    back = load_image_model(gen.save(tmp_path / "m.model"))
    assert back.design_ == gen.design_
    assert np.array_equal(back.sample(4, random_state=2).images, gen.sample(4, random_state=2).images)


def test_a_model_file_without_a_design_reads_as_the_first_version(data, tmp_path):
    """Files written before the design was saved hold a noise-predicting model with widths (1, 2)."""
    gen = make_generator("diffusion", random_state=0, prediction="epsilon", channel_mult="1,2", **TINY).fit(data)
    want = gen.sample(4, random_state=2).images
    gen.design_ = {}  # what such a file holds (the metadata key is missing or empty)
    back = load_image_model(gen.save(tmp_path / "old.model"))
    assert back.design_["prediction"] == "epsilon" and back.design_["channel_mult"] == [1, 2]
    assert np.array_equal(back.sample(4, random_state=2).images, want)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_min_snr_loss_is_the_same_clean_image_error_whatever_is_predicted(data, prediction):
    """min-SNR-gamma weights the clean-image error by min(SNR, gamma): a network whose guess implies the
    same clean image gets the same loss, whether it predicts the noise, the velocity or the image."""
    import torch

    gen = make_generator("diffusion", random_state=0, prediction=prediction, snr_gamma=5, **TINY)
    gen._setup(data)
    sched = gen._schedule()
    x = torch.from_numpy(np.linspace(-1, 1, 8 * 8 * 6, dtype=np.float32).reshape(6, 1, 8, 8))
    error = 0.1 * torch.cos(torch.arange(8 * 8, dtype=torch.float32)).reshape(1, 1, 8, 8)

    class Guess(torch.nn.Module):  # the output that means "the clean image is x + error"
        def forward(self, noisy, t, class_labels=None):
            ab = sched.alphas_cumprod[t].reshape(-1, 1, 1, 1)
            x0 = x + error
            eps = (noisy - ab.sqrt() * x0) / (1 - ab).sqrt()
            out = {"epsilon": eps, "sample": x0, "v_prediction": ab.sqrt() * eps - (1 - ab).sqrt() * x0}
            self.t = t
            return SimpleNamespace(sample=out[prediction])

    gen.net_ = Guess()
    loss = gen._loss(x, torch.zeros(6, dtype=torch.int64), torch.Generator().manual_seed(0))
    ab = sched.alphas_cumprod[gen.net_.t]
    want = ((ab / (1 - ab)).clamp(max=5.0) * (error ** 2).mean()).mean()
    assert float(loss) == pytest.approx(float(want), rel=1e-3)


def test_cosine_learning_rate_warms_up_and_decays(data):
    gen = make_generator("diffusion", lr_schedule="cosine", **TINY)
    gen.design_ = gen._resolve(8)
    f = [gen._lr_factor(s, 100) for s in range(100)]
    assert f[0] == pytest.approx(0.2) and f[4] == pytest.approx(1.0) and f[5] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[5:], f[6:])) and 0.05 <= f[-1] < 0.06
    gen.design_ = {**gen.design_, "lr_schedule": "constant"}
    assert {gen._lr_factor(s, 100) for s in range(100)} == {1.0}


def test_learning_rate_follows_the_schedule_during_a_fit(data, monkeypatch):
    import torch

    seen = []
    real_step = torch.optim.AdamW.step

    def spy(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    make_generator("diffusion", lr_schedule="cosine", learning_rate=0.01, **{**TINY, "steps": 40}).fit(data)
    assert seen[0] == pytest.approx(0.005) and max(seen) == pytest.approx(0.01) and seen[-1] < 0.001


@pytest.mark.parametrize(("param", "value", "match"), [
    ("prediction", "noise", "Unknown prediction 'noise'"),
    ("lr_schedule", "step", "Unknown lr_schedule 'step'"),
    ("snr_gamma", -1, "snr_gamma must be a positive number"),
    ("channel_mult", "1,0", "channel_mult must be 1 to 4 positive whole numbers"),
    ("channel_mult", "a", "channel_mult must be"),
    ("channel_mult", "1,2,2,2,2", "channel_mult must be"),
])
def test_bad_design_parameters_are_refused(data, param, value, match):
    with pytest.raises(InputError, match=match):
        make_generator("diffusion", **{param: value}, **TINY).fit(data)


def test_a_unet_deeper_than_the_image_allows_is_refused(tmp_path):
    from tests.unit.images.conftest import write_folder

    twelve = read_image_folder(write_folder(tmp_path / "r", size=12))
    with pytest.raises(InputError, match="4 levels halves the image 3 times; 12x12 does not divide"):
        make_generator("diffusion", channel_mult="1,1,1,1", **TINY).fit(twelve)


def test_default_design_by_resolution_and_given_settings_win():
    """Above 16 px the default predicts the velocity with a cosine learning rate (28x28 digits: class accuracy
    0.91 against 0.31 for noise prediction at 500 steps, benchmarks/RESULTS.md); up to 16 px it is unchanged."""
    gen = make_generator("diffusion")
    assert gen._resolve(8) == {"prediction": "epsilon", "snr_gamma": None, "lr_schedule": "constant", "channel_mult": [1, 2]}
    assert gen._resolve(28) == {"prediction": "v_prediction", "snr_gamma": None, "lr_schedule": "cosine",
                                "channel_mult": [1, 2, 2]}
    given = make_generator("diffusion", prediction="sample", lr_schedule="constant", snr_gamma=0, channel_mult=[1, 2, 4])
    assert given._resolve(28) == {"prediction": "sample", "snr_gamma": None, "lr_schedule": "constant",
                                  "channel_mult": [1, 2, 4]}
