"""The torch half of the diffusion model for tables: denoiser, noise schedule, training loop, sampler.

Imported only by :mod:`simulacra.tabular.diffusion` inside its methods, so ``import simulacra`` never
needs torch. Numbers are diffused with Gaussian diffusion (the network predicts the noise); each
categorical block with multinomial diffusion (the network predicts the clean category's probabilities,
trained on the KL between the true and the predicted posterior, as in Hoogeboom et al. 2021) or, with
``gaussian_categories``, as a one-hot block diffused like the numbers and decoded by argmax.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulacra.errors import require

#: Training timesteps of the noise schedule.
TIMESTEPS = 1000
#: A predicted clean normal score is clipped to this many standard deviations.
SCORE_CLIP = 6.0
_LOG_EPS = 1e-30
#: Logit of the padding of a categorical block (its probability is exactly zero after the softmax).
_PAD_LOGIT = -1e4
#: Weight of the cross-entropy of the predicted clean category beside the KL of the posteriors.
CE_WEIGHT = 1.0
#: Progress is reported every this many training steps (and at the last).
_REPORT_EVERY = 25


@dataclass(frozen=True)
class FitProgress:
    """One progress report of training: ``step`` of ``total``, mean recent loss, seconds spent and left."""

    step: int
    total: int
    loss: float
    elapsed: float
    eta: float


Progress = Callable[[FitProgress], None]


def torch_module() -> Any:
    """``torch``, or a :class:`MissingDependencyError` naming the ``torch`` extra."""
    return require("torch", "torch", "the diffusion model for tables (--model diffusion)")


@dataclass(frozen=True)
class Layout:
    """Where each part of a row lives in the model's vector: ``n_num`` Gaussian dims, then the categories.

    ``sizes`` holds the number of classes of each categorical block; with ``gaussian`` they are
    one-hot blocks diffused like the numbers.
    """

    n_num: int
    sizes: tuple[int, ...]
    gaussian: bool

    @property
    def width(self) -> int:
        return self.n_num + sum(self.sizes)

    def offsets(self) -> list[int]:
        return [self.n_num + int(x) for x in np.cumsum((0,) + self.sizes[:-1])] if self.sizes else []


def cosine_alpha_bar(steps: int = TIMESTEPS) -> np.ndarray:
    """ᾱ_t for t = 1..steps of the cosine schedule (Nichol & Dhariwal), kept inside (0, 1)."""
    s = 0.008
    t = np.arange(steps + 1) / steps
    f = np.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f[1:] / f[0]
    betas = np.clip(1 - alpha_bar / np.concatenate([[1.0], alpha_bar[:-1]]), 1e-5, 0.999)
    return np.cumprod(1 - betas)


def build_denoiser(d_in: int, d_out: int, width: int, depth: int) -> Any:
    """An MLP denoiser: input projection plus a sinusoidal timestep embedding, ``depth`` hidden layers."""
    torch = torch_module()
    nn = torch.nn

    class Denoiser(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(d_in, width)
            self.time = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
            layers: list[Any] = []
            for _ in range(depth):
                layers += [nn.Linear(width, width), nn.SiLU()]
            self.body = nn.Sequential(*layers)
            self.out = nn.Linear(width, d_out)
            half = width // 2
            freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
            self.register_buffer("freqs", freqs, persistent=False)

        def forward(self, x: Any, t: Any) -> Any:
            angles = t.float()[:, None] * self.freqs[None, :]
            emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
            if emb.shape[1] < width:
                emb = torch.nn.functional.pad(emb, (0, width - emb.shape[1]))
            h = self.proj(x) + self.time(emb)
            return self.out(self.body(torch.nn.functional.silu(h)))

    return Denoiser()


class Diffusion:
    """Noise schedule, loss and sampler for one :class:`Layout`, around a denoiser ``net``.

    Categorical blocks are held padded, as ``(rows, blocks, largest block)`` tensors, so that every
    operation covers all blocks at once (padding has probability zero).
    """

    def __init__(self, layout: Layout, net: Any) -> None:
        torch = torch_module()  # not kept on self: the model's attributes hold no module
        self.layout, self.net = layout, net
        self.alpha_bar = torch.tensor(cosine_alpha_bar(), dtype=torch.float32)
        self.slices = [(o, o + k) for o, k in zip(layout.offsets(), layout.sizes)]
        kmax = max(layout.sizes, default=1)
        self.mask = torch.tensor([[j < k for j in range(kmax)] for k in layout.sizes], dtype=torch.bool).reshape(-1, kmax)
        self.k = torch.tensor(layout.sizes, dtype=torch.float32)[None, :, None]
        self.pad = (~self.mask).float()
        self.multinomial = bool(layout.sizes) and not layout.gaussian

    # -- layout ---------------------------------------------------------------------------------
    def _gaussian_width(self) -> int:
        return self.layout.width if self.layout.gaussian else self.layout.n_num

    def _pad(self, flat: Any, fill: float = 0.0) -> Any:
        """``(rows, blocks, largest)`` from the flat categorical part (padding set to ``fill``)."""
        out = flat.new_full((flat.shape[0], *self.mask.shape), fill)
        out[:, self.mask] = flat
        return out

    def _flat(self, padded: Any) -> Any:
        return padded[:, self.mask]

    def _uniform_mix(self, x: Any, a: Any) -> Any:
        """``a·x + (1 − a)/K`` on the blocks (zero on the padding)."""
        return (a * x + (1 - a) / self.k) * self.mask

    def _posterior(self, x_t: Any, p0: Any, ab_t: Any, ab_s: Any) -> Any:
        """p(x_s | x_t) = Σ_j p0_j · q(x_s | x_t, x_0 = j) for s < t; each block sums to one.

        Exact for a distribution ``p0`` over the clean class (a one-hot ``p0`` gives the true posterior):
        with ``L = q(x_t | x_s)`` as a function of ``x_s``, each ``q(x_s | x_t, j)`` is normalized by
        ``Z_j = ab_s·L_j + (1 − ab_s)/K``, so the mixture is the product form with ``p0/Z`` in place of
        ``p0`` (plugging ``p0`` in directly, as is common, drifts each block toward uniform).
        """
        like = self._uniform_mix(x_t, ab_t / ab_s)
        w = p0 / (ab_s * like + (1 - ab_s) / self.k + self.pad)  # the padding's 0/0 becomes 0/1
        unnorm = like * (ab_s * w + (1 - ab_s) / self.k * w.sum(dim=2, keepdim=True)) * self.mask
        return unnorm / unnorm.sum(dim=2, keepdim=True)

    def _one_hot(self, index: Any) -> Any:
        return torch_module().nn.functional.one_hot(index, self.mask.shape[1]).float()

    # -- forward process ------------------------------------------------------------------------
    def loss(self, x0: Any, gen: Any) -> Any:
        """The training loss of a batch ``x0`` (the model's vector: scores then one-hot categories)."""
        torch = torch_module()
        n, g = x0.shape[0], self._gaussian_width()
        t = torch.randint(0, TIMESTEPS, (n,), generator=gen)
        ab = self.alpha_bar[t][:, None]
        parts, total = [], x0.new_zeros(())
        if g:
            eps = torch.randn((n, g), generator=gen)
            parts.append(ab.sqrt() * x0[:, :g] + (1 - ab).sqrt() * eps)
        if self.multinomial:
            target = self._pad(x0[:, self.layout.n_num:])
            probs = self._uniform_mix(target, ab[:, :, None])
            draw = torch.multinomial(probs.reshape(-1, probs.shape[2]), 1, generator=gen)[:, 0]
            x_t = self._one_hot(draw.reshape(n, -1))
            parts.append(self._flat(x_t))
        out = self.net(torch.cat(parts, dim=1), t)
        if g:
            total = total + ((out[:, :g] - eps) ** 2).mean()
        if self.multinomial:
            total = total + self._categorical_loss(target, x_t, out[:, self.layout.n_num:], t, ab)
        return total

    def _categorical_loss(self, target: Any, x_t: Any, logits: Any, t: Any, ab: Any) -> Any:
        """Per block: KL(q(x_{t-1}|x_t,x_0) ‖ p(x_{t-1}|x_t)) plus ``CE_WEIGHT`` times the cross-entropy
        of the predicted clean category; at t = 0 the negative log-likelihood."""
        torch = torch_module()
        ab_prev = torch.where(t > 0, self.alpha_bar[(t - 1).clamp(min=0)], torch.ones_like(ab[:, 0]))[:, None, None]
        ab = ab[:, :, None]
        log_p0 = torch.log_softmax(self._pad(logits, _PAD_LOGIT), dim=2)
        true = self._posterior(x_t, target, ab, ab_prev)
        pred = self._posterior(x_t, log_p0.exp(), ab, ab_prev)
        kl = (true * (torch.log(true + _LOG_EPS) - torch.log(pred + _LOG_EPS))).sum(dim=2)
        nll = -(target * log_p0).sum(dim=2)
        per_block = torch.where((t == 0)[:, None], nll, kl + CE_WEIGHT * nll)
        return per_block.mean()

    # -- reverse process ------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, steps: int) -> np.ndarray:
        """``n`` clean vectors: Gaussian scores, then one class index per categorical block (as floats).

        Sampling skips steps (``steps`` of the training schedule, evenly spaced) with the exact
        posterior between them; every random draw comes from ``rng``, so rows follow from the seed.
        """
        torch = torch_module()
        g = self._gaussian_width()
        times = np.unique(np.linspace(0, TIMESTEPS - 1, max(2, int(steps))).round().astype(int))[::-1]
        x_num = _tensor(torch, rng.standard_normal((n, g))) if g else None
        x_cat = None
        if self.multinomial:
            x_cat = self._one_hot(_draw(torch, self.mask.float().expand(n, -1, -1), rng))
        with torch.no_grad():
            for i, t in enumerate(times):
                s = int(times[i + 1]) if i + 1 < len(times) else -1
                parts = ([x_num] if g else []) + ([self._flat(x_cat)] if x_cat is not None else [])
                out = self.net(torch.cat(parts, dim=1), torch.full((n,), int(t), dtype=torch.long))
                ab_t = self.alpha_bar[int(t)]
                ab_s = self.alpha_bar[s] if s >= 0 else torch.ones(())
                if g:
                    x_num = self._gaussian_step(x_num, out[:, :g], ab_t, ab_s, s, rng)
                if x_cat is not None:
                    p0 = torch.softmax(self._pad(out[:, self.layout.n_num:], _PAD_LOGIT), dim=2)
                    probs = p0 if s < 0 else self._posterior(x_cat, p0, ab_t, ab_s)
                    x_cat = self._one_hot(_draw(torch, probs, rng))
        return self._finish(n, x_num, x_cat)

    def _gaussian_step(self, x: Any, eps: Any, ab_t: Any, ab_s: Any, s: int, rng: np.random.Generator) -> Any:
        x0 = ((x - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()).clamp(-SCORE_CLIP, SCORE_CLIP)
        if self.layout.gaussian and self.slices:  # one-hot blocks live in [0, 1]
            x0[:, self.layout.n_num:] = x0[:, self.layout.n_num:].clamp(0.0, 1.0)
        if s < 0:
            return x0
        a = ab_t / ab_s
        mean = (ab_s.sqrt() * (1 - a) * x0 + a.sqrt() * (1 - ab_s) * x) / (1 - ab_t)
        var = (1 - a) * (1 - ab_s) / (1 - ab_t)
        return mean + var.clamp(min=0).sqrt() * _tensor(torch_module(), rng.standard_normal(tuple(x.shape)))

    def _finish(self, n: int, x_num: Any, x_cat: Any) -> np.ndarray:
        lay = self.layout
        cols = []
        if lay.n_num:
            cols.append(x_num[:, : lay.n_num].numpy().astype(float))
        if lay.gaussian and lay.sizes:
            cols.append(self._pad(x_num[:, lay.n_num:], _PAD_LOGIT).argmax(dim=2).numpy().astype(float))
        elif x_cat is not None:
            cols.append(x_cat.argmax(dim=2).numpy().astype(float))
        return np.concatenate(cols, axis=1) if cols else np.zeros((n, 0))


def _tensor(torch: Any, array: np.ndarray) -> Any:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _draw(torch: Any, probs: Any, rng: np.random.Generator) -> Any:
    """One class per row and block from ``probs`` (rows, blocks, classes), with uniforms from ``rng``."""
    cdf = probs.double().cumsum(dim=2)
    u = torch.from_numpy(rng.random(probs.shape[:2]))[:, :, None] * cdf[:, :, -1:]
    return (cdf < u).sum(dim=2).clamp(max=probs.shape[2] - 1)


def train(
    diffusion: Diffusion, data: np.ndarray, *, steps: int, batch_size: int, learning_rate: float, seed: int,
    progress: Progress | None = None,
) -> list[float]:
    """Fit the denoiser on ``data`` (rows of the model's vector) with AdamW; returns the loss curve
    (mean per 100 steps). Batches, timesteps and noise come from one generator seeded with ``seed``."""
    torch = torch_module()
    net = diffusion.net
    gen = torch.Generator().manual_seed(int(seed) % (2**63))
    x_all = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    n = x_all.shape[0]
    batch = max(1, min(int(batch_size), n))
    opt = torch.optim.AdamW(net.parameters(), lr=float(learning_rate), weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - 0.9 * i / max(steps, 1))
    net.train()
    started, curve, recent = time.perf_counter(), [], []
    order, pos = torch.randperm(n, generator=gen), 0
    for step in range(1, int(steps) + 1):
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch]
        pos += batch
        loss = diffusion.loss(x_all[idx], gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        recent.append(float(loss.detach()))
        if progress is not None and (step % _REPORT_EVERY == 0 or step == steps):
            spent = time.perf_counter() - started
            progress(FitProgress(step, int(steps), float(np.mean(recent[-_REPORT_EVERY:])), spent,
                                 spent / step * (steps - step)))
        if step % 100 == 0 or step == steps:
            curve.append(float(np.mean(recent)))
            recent = []
    net.eval()
    return curve
