"""The baseline: a small class-conditional variational autoencoder (fully connected) over the pixels."""

from __future__ import annotations

from typing import Any, ClassVar

from simulacra.errors import InputError
from simulacra.images.base import ImageGenerator, to_device, torch_module


class ImageVAE(ImageGenerator):
    """Conditional VAE: encoder and decoder are two-layer perceptrons fed the one-hot class.

    Fast and stable, but its images are blurrier than the diffusion model's (the decoder's mean is shown).
    ``device``: where it trains and samples (``"auto"``, ``"cpu"``, ``"cuda"``), a runtime setting not
    saved in the model file (see :class:`~simulacra.images.base.ImageGenerator`).

    Examples
    --------
    >>> import numpy as np
    >>> from simulacra.images.data import ImageSet
    >>> rng = np.random.default_rng(0)
    >>> data = ImageSet(rng.integers(0, 255, (16, 8, 8, 1), dtype=np.uint8), np.repeat([0, 1], 8), ["a", "b"])
    >>> ImageVAE(steps=2, random_state=0).fit(data).sample(4).labels.tolist()
    [0, 0, 1, 1]
    """

    name: ClassVar[str] = "vae"
    PARAMS: ClassVar[tuple[str, ...]] = ("steps", "batch_size", "learning_rate", "hidden", "latent", "random_state")

    def __init__(self, *, steps: int = 3000, batch_size: int = 64, learning_rate: float = 1e-3, hidden: int = 256,
                 latent: int = 16, random_state: int | None = None, device: str = "auto") -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.hidden = hidden
        self.latent = latent
        self.random_state = random_state
        self.device = device

    def _check_params(self) -> None:
        super()._check_params()
        if int(self.hidden) < 1 or int(self.latent) < 1:
            raise InputError("hidden and latent must be positive integers.")

    def _build(self) -> Any:
        nn = torch_module().nn
        pixels = self.channels_ * self.resolution_ ** 2
        k, h, z = len(self.classes_), int(self.hidden), int(self.latent)
        return nn.ModuleDict({
            "enc": nn.Sequential(nn.Linear(pixels + k, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2 * z)),
            "dec": nn.Sequential(nn.Linear(z + k, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, pixels)),
        })

    def _onehot(self, y: Any) -> Any:
        torch = torch_module()
        return torch.nn.functional.one_hot(y, len(self.classes_)).float()

    def _loss(self, x: Any, y: Any, gen: Any) -> Any:
        torch = torch_module()
        flat = (x.reshape(x.shape[0], -1) + 1) / 2  # pixels in [0, 1]
        c = self._onehot(y)
        mu, logvar = self.net_["enc"](torch.cat([flat, c], 1)).chunk(2, dim=1)
        logvar = logvar.clamp(-10, 10)
        z = mu + to_device(torch.randn(mu.shape, generator=gen), mu) * (0.5 * logvar).exp()
        logits = self.net_["dec"](torch.cat([z, c], 1))
        rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, flat, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (rec + kl) / x.shape[0]

    def _generate(self, labels: Any, gen: Any) -> Any:
        torch = torch_module()
        z = to_device(torch.randn((labels.shape[0], int(self.latent)), generator=gen), labels)
        out = torch.sigmoid(self.net_["dec"](torch.cat([z, self._onehot(labels)], 1)))
        return (out * 2 - 1).reshape(-1, self.channels_, self.resolution_, self.resolution_)
