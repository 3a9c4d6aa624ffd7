"""Where the image networks run (``device``): the CPU named gives what the default gives, a CUDA device this
machine lacks is a one-line error before any work, the device is not saved in the model file, and every
tensor of a training step is on the device (checked with torch's data-less "meta" device, no GPU needed)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from simulacra.errors import InputError
from simulacra.images.data import ImageSet

from .conftest import shapes

NO_GPU = "sees no CUDA GPU"


@pytest.fixture
def no_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def data() -> ImageSet:
    x, y = shapes(24, 0)
    return ImageSet(x, y, ["a", "b", "c"])


def test_torch_device_resolves_auto_and_refuses_what_the_machine_lacks(monkeypatch, no_gpu):
    import torch

    from simulacra.random import torch_device

    assert torch_device(torch, "auto") == torch_device(torch, None) == torch_device(torch, "CPU") == "cpu"
    with pytest.raises(InputError, match=f"{NO_GPU}.*--device cpu"):
        torch_device(torch, "cuda")
    with pytest.raises(InputError, match="auto, cpu, cuda or cuda:N"):
        torch_device(torch, "tpu")
    with pytest.raises(InputError, match="auto, cpu, cuda or cuda:N"):
        torch_device(torch, "cuda:x")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert torch_device(torch, "auto") == "cuda" and torch_device(torch, "cuda:1") == "cuda:1"
    with pytest.raises(InputError, match="sees 2 CUDA GPU"):
        torch_device(torch, "cuda:2")


@pytest.mark.parametrize("name,params", [("diffusion", {"steps": 3, "width": 8, "sample_steps": 2}),
                                         ("vae", {"steps": 3, "hidden": 16})])
def test_the_cpu_named_gives_what_the_default_gives(name, params, data, no_gpu):
    from simulacra.images.registry import make_generator

    default = make_generator(name, random_state=0, **params).fit(data)
    cpu = make_generator(name, random_state=0, device="cpu", **params).fit(data)
    assert default._device().type == "cpu"  # "auto" without a GPU
    assert np.array_equal(default.sample(6, random_state=1).images, cpu.sample(6, random_state=1).images)
    assert "device" not in default.get_params()


def test_the_classifier_on_the_cpu_named_predicts_as_the_default(data, no_gpu):
    from simulacra.images.cnn import ImageClassifier

    a = ImageClassifier(steps=12, random_state=0, mix="mixup", swa=0.3).fit(data.images, data.labels)
    b = ImageClassifier(steps=12, random_state=0, mix="mixup", swa=0.3, device="cpu").fit(data.images, data.labels)
    assert np.array_equal(a.predict_proba(data.images), b.predict_proba(data.images))
    assert isinstance(b.features(data.images), np.ndarray) and b.features(data.images).shape == (24, 64)


def test_cuda_without_a_gpu_is_refused_before_any_work(data, tmp_path, no_gpu):
    from simulacra.images.base import load_image_model
    from simulacra.images.cnn import ImageClassifier
    from simulacra.images.evaluate import evaluate_images
    from simulacra.images.registry import make_generator
    from simulacra.images.uplift import run_image_uplift

    gen = make_generator("vae", steps=2, hidden=8, device="cuda")
    with pytest.raises(InputError, match=NO_GPU):
        gen.fit(data)
    assert not hasattr(gen, "net_")  # refused before the network was built
    with pytest.raises(InputError, match=NO_GPU):
        ImageClassifier(steps=2, device="cuda").fit(data.images, data.labels)
    with pytest.raises(InputError, match=NO_GPU):
        evaluate_images(data, data, classifier_steps=2, device="cuda")
    calls = []
    with pytest.raises(InputError, match=NO_GPU):
        run_image_uplift(data, data, per_class=2, repeats=1, device="cuda", progress=calls.append)
    assert calls == []  # nothing trained
    model = make_generator("vae", steps=2, hidden=8, random_state=0).fit(data)
    model.save(tmp_path / "m.model")
    with pytest.raises(InputError, match=NO_GPU):
        load_image_model(tmp_path / "m.model", device="cuda")
    model.device = "cuda"  # changed after the fit: sampling checks it too
    with pytest.raises(InputError, match=NO_GPU):
        model.sample(2)


def test_the_device_is_not_saved_and_a_loaded_model_samples_where_it_is_told(data, tmp_path, no_gpu):
    from simulacra.images.base import load_image_model
    from simulacra.images.registry import make_generator

    model = make_generator("diffusion", steps=2, width=8, sample_steps=2, random_state=0, device="cpu").fit(data)
    model.save(tmp_path / "m.model")
    with zipfile.ZipFile(tmp_path / "m.model") as z:
        texts = [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".json")]
    assert texts and not any('"device"' in t for t in texts)
    manifest = next(json.loads(t) for t in texts if '"parameters"' in t)
    assert "device" not in manifest["parameters"]
    loaded = load_image_model(tmp_path / "m.model", device="cpu")
    assert loaded.device == "cpu" and load_image_model(tmp_path / "m.model").device == "auto"
    assert np.array_equal(loaded.sample(4, random_state=3).images, model.sample(4, random_state=3).images)


def test_the_uplift_records_its_device(data, no_gpu):
    from simulacra.images.uplift import run_image_uplift

    res = run_image_uplift(data, data, methods=["none"], per_class=2, repeats=1, classifier_steps=2, device="cpu")
    assert res.info["device"].startswith("cpu, ")


def _on_meta(monkeypatch):
    """Every network of simulacra.images on torch's "meta" device: tensors with shapes and no data. A tensor
    left on the CPU meets one on "meta" in some operation and fails as it would on a GPU ("Expected all
    tensors to be on the same device"); reading a value back fails with "Cannot copy out of meta tensor"."""
    import simulacra.images.base as base
    import simulacra.images.cnn as cnn

    seeded = cnn.torch_seeded
    monkeypatch.setattr(base, "torch_device", lambda torch, device="auto": "meta")
    monkeypatch.setattr(cnn, "torch_seeded", lambda torch, seed, build, device=None: seeded(torch, seed, build))


@pytest.mark.parametrize("name,params,size", [
    ("diffusion", {"width": 8}, 8),
    ("diffusion", {"width": 8, "snr_gamma": 5, "prediction": "v_prediction"}, 12),
    ("vae", {"hidden": 16}, 8),
])
def test_every_tensor_of_a_generator_training_step_is_on_the_device(name, params, size, monkeypatch):
    """The whole training loop runs on the device; it stops only where the losses are first read back."""
    from simulacra.images.registry import make_generator

    x, y = shapes(12, 0, size)
    _on_meta(monkeypatch)
    gen = make_generator(name, steps=3, batch_size=4, random_state=0, **params)
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        gen.fit(ImageSet(x, y, ["a", "b", "c"]))
    assert next(gen.net_.parameters()).device.type == "meta"


@pytest.mark.parametrize("mix", ["none", "mixup", "cutmix"])
def test_every_tensor_of_a_classifier_fit_is_on_the_device(mix, monkeypatch):
    from simulacra.images.cnn import ImageClassifier

    x, y = shapes(12, 0)
    _on_meta(monkeypatch)
    clf = ImageClassifier(steps=4, batch_size=4, mix=mix, random_state=0)
    clf.fit(x, y, 3, sample_weight=np.linspace(0.5, 1, 12), targets=np.full((12, 3), 1 / 3))
    assert next(clf.net_.parameters()).device.type == "meta"
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        clf.predict_proba(x)  # the images went to the device: only the read-back fails
