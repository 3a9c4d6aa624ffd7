"""A class-conditional diffusion model built from diffusers' parts: a small ``UNet2DModel`` with a class
embedding, trained to predict the noise of the DDPM forward process, and sampled in few steps with
DPM-Solver++ (or DDIM) and classifier-free guidance by class.
"""

from __future__ import annotations

from typing import Any, ClassVar

from simulacra.errors import InputError
from simulacra.images.base import ImageGenerator, torch_module


#: Default training by resolution, measured on the benchmark sets (benchmarks/RESULTS.md, "Images"):
#: (largest resolution, optimiser steps, batch size); 8x8 digits: 1500 of 128, 28x28 digits: 1200 of 64.
DEFAULT_PLAN: tuple[tuple[int, int, int], ...] = ((16, 1500, 128), (64, 1200, 64))


def default_plan(resolution: int) -> tuple[int, int]:
    """The default (steps, batch size) of a diffusion fit at ``resolution`` pixels.

    Examples
    --------
    >>> default_plan(8), default_plan(28)
    ((1500, 128), (1200, 64))
    """
    for most, steps, batch in DEFAULT_PLAN:
        if resolution <= most:
            return steps, batch
    return DEFAULT_PLAN[-1][1:]


def _diffusers() -> Any:
    from simulacra.errors import require

    return require("diffusers", "images", "the image diffusion model")


class ImageDiffusion(ImageGenerator):
    """Class-conditional denoising diffusion for small images (CPU-sized).

    Parameters
    ----------
    steps, batch_size, learning_rate
        Training: optimiser steps, images per step, AdamW learning rate. ``steps`` and ``batch_size``
        default (None) by resolution: 1500 steps of 128 images up to 16 px, 1200 of 64 above (see
        :data:`DEFAULT_PLAN`); given, they are used at every resolution.
    width
        Channels of the first UNet level (doubled at the next; 2 levels up to 16 px, 3 above).
    sample_steps
        Denoising steps at sampling time (DPM-Solver++ needs 15-25).
    guidance
        Classifier-free guidance scale: 1 = plain conditional model; larger = more typical of the class.
    p_uncond
        Share of training images whose class is hidden, so that the model also learns the unconditional score.
    sampler
        ``'dpm'`` (DPM-Solver++ multistep) or ``'ddim'``.
    random_state
        Seed of the initial weights, batches and noise.

    Examples
    --------
    >>> import numpy as np
    >>> from simulacra.images.data import ImageSet
    >>> rng = np.random.default_rng(0)
    >>> data = ImageSet(rng.integers(0, 255, (16, 8, 8, 1), dtype=np.uint8), np.repeat([0, 1], 8), ["a", "b"])
    >>> model = ImageDiffusion(steps=2, width=8, sample_steps=2, random_state=0).fit(data)
    >>> model.sample(3, classes="b").images.shape
    (3, 8, 8, 1)
    """

    name: ClassVar[str] = "diffusion"
    PARAMS: ClassVar[tuple[str, ...]] = ("steps", "batch_size", "learning_rate", "width", "sample_steps", "guidance",
                                         "p_uncond", "train_timesteps", "sampler", "random_state")

    def __init__(self, *, steps: int | None = None, batch_size: int | None = None, learning_rate: float = 2e-3, width: int = 16,
                 sample_steps: int = 20, guidance: float = 2.0, p_uncond: float = 0.1, train_timesteps: int = 1000,
                 sampler: str = "dpm", random_state: int | None = None) -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.width = width
        self.sample_steps = sample_steps
        self.guidance = guidance
        self.p_uncond = p_uncond
        self.train_timesteps = train_timesteps
        self.sampler = sampler
        self.random_state = random_state

    def training_plan(self, resolution: int) -> tuple[int, int]:
        steps, batch = default_plan(resolution)
        return (steps if self.steps is None else int(self.steps),
                batch if self.batch_size is None else int(self.batch_size))

    def _check_params(self) -> None:
        super()._check_params()
        if self.sampler not in ("dpm", "ddim"):
            raise InputError(f"Unknown sampler {self.sampler!r}; use 'dpm' or 'ddim'.")
        if int(self.width) < 4 or int(self.width) % 4:
            raise InputError(f"width must be a multiple of 4 (at least 4), got {self.width}.")
        if not 0 <= float(self.p_uncond) < 1:
            raise InputError(f"p_uncond must be in [0, 1), got {self.p_uncond}.")

    def _build(self) -> Any:
        d = _diffusers()
        levels = 2 if self.resolution_ <= 16 else 3
        w = int(self.width)
        widths = tuple(w * min(2 ** i, 2) for i in range(levels))
        return d.UNet2DModel(
            sample_size=self.resolution_, in_channels=self.channels_, out_channels=self.channels_,
            layers_per_block=1, block_out_channels=widths, norm_num_groups=min(8, w // 2),
            down_block_types=("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",),
            up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
            attention_head_dim=min(8, widths[-1]), num_class_embeds=len(self.classes_) + 1,
        )

    def _schedule(self) -> Any:
        return _diffusers().DDPMScheduler(num_train_timesteps=int(self.train_timesteps),
                                          beta_schedule="squaredcos_cap_v2")

    def _loss(self, x: Any, y: Any, gen: Any) -> Any:
        torch = torch_module()
        if not hasattr(self, "_train_schedule"):
            self._train_schedule = self._schedule()
        noise = torch.randn(x.shape, generator=gen)
        t = torch.randint(0, int(self.train_timesteps), (x.shape[0],), generator=gen)
        hide = torch.rand(x.shape[0], generator=gen) < float(self.p_uncond)
        y = torch.where(hide, torch.full_like(y, len(self.classes_)), y)  # the last class id: "no class"
        noisy = self._train_schedule.add_noise(x, noise, t)
        pred = self.net_(noisy, t, class_labels=y).sample
        return torch.nn.functional.mse_loss(pred, noise)

    def _generate(self, labels: Any, gen: Any) -> Any:
        torch = torch_module()
        d = _diffusers()
        config = self._schedule().config
        if self.sampler == "ddim":
            sched = d.DDIMScheduler.from_config(config)
        else:
            # thresholding clips the predicted clean image to the pixel range at every step: without it the
            # first steps (where the signal is almost nothing) blow the samples up to black and white
            sched = d.DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2,
                                                              thresholding=True, sample_max_value=1.0)
        sched.set_timesteps(int(self.sample_steps))
        n = labels.shape[0]
        x = torch.randn((n, self.channels_, self.resolution_, self.resolution_), generator=gen)
        null = torch.full_like(labels, len(self.classes_))
        w = float(self.guidance)
        for t in sched.timesteps:
            if w == 1.0:
                eps = self.net_(x, t, class_labels=labels).sample
            else:
                both = self.net_(torch.cat([x, x]), t, class_labels=torch.cat([labels, null])).sample
                cond, uncond = both[:n], both[n:]
                eps = uncond + w * (cond - uncond)
            x = sched.step(eps, t, x).prev_sample
        return x
