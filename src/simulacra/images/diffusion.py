"""A class-conditional diffusion model built from diffusers' parts: a small ``UNet2DModel`` with a class
embedding, trained to predict the noise of the DDPM forward process, and sampled in few steps with
DPM-Solver++ (or DDIM) and classifier-free guidance by class.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from simulacra.errors import InputError
from simulacra.images.base import ImageGenerator, to_device, torch_module


#: Default training by resolution, measured on the benchmark sets (benchmarks/RESULTS.md, "Images"):
#: (largest resolution, optimiser steps, batch size); 8x8 digits: 1500 of 128, 28x28 digits: 1200 of 64.
DEFAULT_PLAN: tuple[tuple[int, int, int], ...] = ((16, 1500, 128), (64, 1200, 64))

#: What the network predicts (diffusers' ``prediction_type``), and the learning-rate schedules.
PREDICTIONS = ("epsilon", "v_prediction", "sample")
LR_SCHEDULES = ("constant", "cosine")

#: Default model design by resolution: (largest resolution, settings); the settings a fit used are saved in
#: the model file. ``channel_mult``: the UNet's width at each level, in multiples of ``width``.
DEFAULT_DESIGN: tuple[tuple[int, dict[str, Any]], ...] = (
    (16, {"prediction": "epsilon", "snr_gamma": None, "lr_schedule": "constant", "channel_mult": [1, 2]}),
    (64, {"prediction": "v_prediction", "snr_gamma": None, "lr_schedule": "cosine", "channel_mult": [1, 2, 2]}),
)


def _by_resolution(table: tuple[tuple[int, Any], ...], resolution: int) -> Any:
    return next((rest for most, rest in table if resolution <= most), table[-1][1])


def default_plan(resolution: int) -> tuple[int, int]:
    """The default (steps, batch size) of a diffusion fit at ``resolution`` pixels.

    Examples
    --------
    >>> default_plan(8), default_plan(28)
    ((1500, 128), (1200, 64))
    """
    steps, batch = _by_resolution(tuple((m, (st, b)) for m, st, b in DEFAULT_PLAN), resolution)
    return int(steps), int(batch)


def parse_mult(value: Any) -> list[int]:
    """``'1,2,2'`` (or a list) as the UNet's width multiples, one per level (1 to 4 levels).

    Examples
    --------
    >>> parse_mult("1, 2,4"), parse_mult([1, 2])
    ([1, 2, 4], [1, 2])
    """
    try:
        items = value.split(",") if isinstance(value, str) else list(value) if not isinstance(value, int) else [value]
        mult = [int(v) for v in items]
    except (TypeError, ValueError):
        mult = []
    if not 1 <= len(mult) <= 4 or min(mult) < 1:
        raise InputError(f"channel_mult must be 1 to 4 positive whole numbers such as '1,2,2', got {value!r}.")
    return mult


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
        Channels of the first UNet level; ``channel_mult`` gives every level's in multiples of it.
    prediction, snr_gamma, lr_schedule, channel_mult
        The design: what the UNet predicts (``'epsilon'``: the noise, ``'v_prediction'``: the velocity,
        ``'sample'``: the clean image), min-SNR-gamma loss weighting (None or 0: off), the learning rate
        (``'constant'``, or ``'cosine'``: warm-up over 5 % of the steps, cosine decay to 5 %), and the UNet's
        levels (``'1,2,2'``: three levels of width, 2 x width, 2 x width; each halves the image). Left at
        None they follow :data:`DEFAULT_DESIGN` by resolution; the settings a fit used are saved in the model.
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
    device
        Where it trains and samples: ``"auto"`` (a CUDA GPU when torch sees one, else the CPU), ``"cpu"`` or
        ``"cuda"``. A runtime setting, not saved in the model file; on a GPU the results differ slightly
        from the CPU's (see :class:`~simulacra.images.base.ImageGenerator`).

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
                                         "p_uncond", "train_timesteps", "sampler", "prediction", "snr_gamma", "lr_schedule",
                                         "channel_mult", "random_state")

    def __init__(self, *, steps: int | None = None, batch_size: int | None = None, learning_rate: float = 2e-3, width: int = 16,
                 sample_steps: int = 20, guidance: float = 2.0, p_uncond: float = 0.1, train_timesteps: int = 1000,
                 sampler: str = "dpm", prediction: str | None = None, snr_gamma: float | None = None,
                 lr_schedule: str | None = None, channel_mult: str | None = None,
                 random_state: int | None = None, device: str = "auto") -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.width = width
        self.sample_steps = sample_steps
        self.guidance = guidance
        self.p_uncond = p_uncond
        self.train_timesteps = train_timesteps
        self.sampler = sampler
        self.prediction = prediction
        self.snr_gamma = snr_gamma
        self.lr_schedule = lr_schedule
        self.channel_mult = channel_mult
        self.random_state = random_state
        self.device = device

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
        if self.prediction is not None and self.prediction not in PREDICTIONS:
            raise InputError(f"Unknown prediction {self.prediction!r}; use one of {', '.join(PREDICTIONS)}.")
        if self.lr_schedule is not None and self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"Unknown lr_schedule {self.lr_schedule!r}; use one of {', '.join(LR_SCHEDULES)}.")
        if self.snr_gamma is not None and not float(self.snr_gamma) >= 0:
            raise InputError(f"snr_gamma must be a positive number (0: no min-SNR weighting), got {self.snr_gamma}.")
        if self.channel_mult is not None:
            parse_mult(self.channel_mult)

    def _resolve(self, resolution: int) -> dict[str, Any]:
        design = dict(_by_resolution(DEFAULT_DESIGN, resolution))
        for key in design:
            if getattr(self, key) is not None:
                design[key] = getattr(self, key)
        design["channel_mult"] = parse_mult(design["channel_mult"])
        if design["snr_gamma"] is not None:
            design["snr_gamma"] = float(design["snr_gamma"]) or None
        levels = len(design["channel_mult"])
        if resolution % 2 ** (levels - 1):
            raise InputError(f"A UNet of {levels} levels halves the image {levels - 1} times; {resolution}x{resolution} "
                             f"does not divide: give fewer levels in channel_mult or a resolution divisible by {2 ** (levels - 1)}.")
        return design

    def _legacy_design(self) -> dict[str, Any]:
        # model files written before the design was saved: noise prediction, constant rate, (1, 2[, 2]) widths
        return {"prediction": "epsilon", "snr_gamma": None, "lr_schedule": "constant",
                "channel_mult": [1, 2] if self.resolution_ <= 16 else [1, 2, 2]}

    def _lr_factor(self, step: int, total: int) -> float:
        if self.design_["lr_schedule"] == "constant":
            return 1.0
        warm = max(1, total // 20)  # linear warm-up over 5 % of the steps, then a cosine decay to 5 %
        if step < warm:
            return (step + 1) / warm
        done = (step - warm) / max(1, total - warm)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done))

    def _build(self) -> Any:
        d = _diffusers()
        w = int(self.width)
        widths = tuple(w * m for m in self.design_["channel_mult"])
        levels = len(widths)
        return d.UNet2DModel(
            sample_size=self.resolution_, in_channels=self.channels_, out_channels=self.channels_,
            layers_per_block=1, block_out_channels=widths, norm_num_groups=min(8, w // 2),
            down_block_types=("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",),
            up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
            attention_head_dim=min(8, widths[-1]), num_class_embeds=len(self.classes_) + 1,
        )

    def _schedule(self) -> Any:
        return _diffusers().DDPMScheduler(num_train_timesteps=int(self.train_timesteps),
                                          beta_schedule="squaredcos_cap_v2",
                                          prediction_type=self.design_["prediction"])

    def _loss(self, x: Any, y: Any, gen: Any) -> Any:
        torch = torch_module()
        if not hasattr(self, "_train_schedule"):
            self._train_schedule = self._schedule()
        sched = self._train_schedule
        noise = to_device(torch.randn(x.shape, generator=gen), x)  # drawn on the CPU: a seed, the same noise
        t = to_device(torch.randint(0, int(self.train_timesteps), (x.shape[0],), generator=gen), x)
        hide = to_device(torch.rand(x.shape[0], generator=gen), x) < float(self.p_uncond)
        y = torch.where(hide, torch.full_like(y, len(self.classes_)), y)  # the last class id: "no class"
        noisy = sched.add_noise(x, noise, t)
        pred = self.net_(noisy, t, class_labels=y).sample
        kind = self.design_["prediction"]
        target = noise if kind == "epsilon" else x if kind == "sample" else sched.get_velocity(x, noise, t)
        per_image = ((pred - target) ** 2).mean(dim=(1, 2, 3))
        gamma = self.design_["snr_gamma"]
        if gamma:  # min-SNR-gamma (Hang et al. 2023): the x0 loss weighted by min(SNR, gamma), in this target's terms
            ab = sched.alphas_cumprod.to(t.device)[t]
            snr = ab / (1 - ab)
            clipped = snr.clamp(max=float(gamma))
            per_image = per_image * (clipped / snr if kind == "epsilon" else clipped if kind == "sample"
                                     else clipped / (snr + 1))
        return per_image.mean()

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
        sched.set_timesteps(int(self.sample_steps), device=labels.device)
        n = labels.shape[0]
        x = to_device(torch.randn((n, self.channels_, self.resolution_, self.resolution_), generator=gen), labels)
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
