"""A deep model for tables: denoising diffusion over numbers and categories (TabDDPM-style, needs torch)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from simulacra.errors import InputError, ModelFileError
from simulacra.random import torch_seeded
from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.registry import register
from simulacra.tabular.scores import marginals_from_state, marginals_state
from simulacra.transform import EmpiricalMarginal, TableTransformer

#: The automatic training budget: about this many passes over the table ...
AUTO_PASSES = 100
#: ... but at least and at most this many optimiser steps (a small table still learns; Adult fits in
#: about a minute of one CPU core).
AUTO_MIN_STEPS, AUTO_MAX_STEPS = 400, 3000
#: Rows per random block when sampling: each block runs the whole reverse process, so a few rows cost
#: one block (the other models' blocks of 16,384 rows would make a small sample slow).
SAMPLE_BLOCK_ROWS = 256
_CLIP = 1e-9
CATEGORICAL_MODES = ("multinomial", "gaussian")


def auto_steps(n_rows: int, batch_size: int) -> int:
    """Training steps when ``steps`` is not given: :data:`AUTO_PASSES` passes over the rows, within
    :data:`AUTO_MIN_STEPS` and :data:`AUTO_MAX_STEPS`.

    Examples
    --------
    >>> auto_steps(200, 1024), auto_steps(26049, 1024), auto_steps(10**6, 1024)
    (400, 2544, 3000)
    """
    passes = AUTO_PASSES * max(int(n_rows), 1) / max(1, min(int(batch_size), max(int(n_rows), 1)))
    return int(np.clip(round(passes), AUTO_MIN_STEPS, AUTO_MAX_STEPS))


@register
class DiffusionSynthesizer(BaseSynthesizer):
    """Denoising diffusion for tables (the idea of TabDDPM, Kotelnikov et al. 2023); needs torch.

    Numbers, dates and durations go through their column's encoder and its empirical quantiles to
    standard normal scores, and are diffused with Gaussian diffusion; categories and booleans (and,
    for each column with missing values, a missing/present indicator) with multinomial diffusion.
    One MLP with a timestep embedding denoises the whole row; sampling runs the reverse process with
    ``sample_steps`` evenly spaced steps and maps scores back through the same quantiles, so values
    stay inside the floored bounds and rare categories are never reproduced.

    Parameters
    ----------
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted.
    random_state : int, optional
        Seed of the initial weights, the batches and the noise; the same seed gives the same model.
    min_category_count : int, default 5
        Privacy floor: categories seen in fewer rows, and numbers beyond the k-th smallest/largest,
        are never reproduced verbatim (1 turns it off).
    steps : int, optional
        Optimiser steps; by default :func:`auto_steps` of the table size.
    batch_size : int, default 1024
        Rows per optimiser step (at most the table's rows).
    learning_rate : float, default 2e-3
        AdamW learning rate, decayed linearly to a tenth.
    width, depth : int, default 256, 3
        Hidden width and number of hidden layers of the denoiser.
    sample_steps : int, default 50
        Reverse-process steps when sampling (of the 1,000 of the training schedule).
    categorical : {"multinomial", "gaussian"}, default "multinomial"
        How categories are diffused: multinomial diffusion, or one-hot blocks diffused like the
        numbers and decoded by argmax.
    threads : int, optional
        torch CPU threads while fitting (default: torch's own setting); sampling runs its blocks of rows
        in parallel threads, as every model does.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": range(200), "g": ["a", "b"] * 100})
    >>> DiffusionSynthesizer(random_state=0, steps=20).fit(df).sample(3).shape
    (3, 2)
    """

    name = "diffusion"
    default_rank = 1
    #: ``fit(data, progress=...)`` reports training progress (the command line shows a bar and an ETA).
    reports_progress = True

    def __init__(
        self,
        *,
        metadata: Any = None,
        random_state: int | None = None,
        min_category_count: int = 5,
        steps: int | None = None,
        batch_size: int = 1024,
        learning_rate: float = 2e-3,
        width: int = 256,
        depth: int = 3,
        sample_steps: int = 50,
        categorical: str = "multinomial",
        threads: int | None = None,
    ) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.min_category_count = min_category_count
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.width = width
        self.depth = depth
        self.sample_steps = sample_steps
        self.categorical = categorical
        self.threads = threads

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, *, progress: Any = None) -> DiffusionSynthesizer:
        """Learn the table; ``progress``, if given, is called with a ``FitProgress`` every few steps."""
        from simulacra.tabular._diffusion_net import torch_module

        torch_module()  # a missing extra is reported before any work
        self._check_params()
        self._progress = progress
        try:
            super().fit(data)
        finally:
            del self._progress
        return self

    def _check_params(self) -> None:
        ints = {"batch_size": self.batch_size, "width": self.width, "depth": self.depth,
                "sample_steps": self.sample_steps}
        if self.steps is not None:
            ints["steps"] = self.steps
        for key, value in ints.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if key == "depth" else 1):
                raise InputError(f"{key} must be a positive whole number, got {value!r}")
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, (int, float)) or not self.learning_rate > 0:
            raise InputError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if self.categorical not in CATEGORICAL_MODES:
            raise InputError(f"categorical must be one of {', '.join(CATEGORICAL_MODES)}, got {self.categorical!r}")

    def _fit(self, data: pd.DataFrame) -> None:
        seed = resolve_seed(self.random_state)
        rng = np.random.default_rng(seed)
        self.transformer_ = TableTransformer(self.model_metadata_, min_category_count=self.min_category_count).fit(data)
        matrix = self._encode(data, rng)
        self.steps_ = int(self.steps) if self.steps is not None else auto_steps(len(data), self.batch_size)
        self._build(seed)
        started = time.perf_counter()
        if self.diffusion_ is not None and len(matrix):
            from simulacra.tabular._diffusion_net import train

            with self._threads():
                self.loss_curve_ = train(
                    self.diffusion_, matrix, steps=self.steps_, batch_size=self.batch_size,
                    learning_rate=self.learning_rate, seed=seed, progress=getattr(self, "_progress", None),
                )
        else:
            self.loss_curve_ = []
        self.fit_seconds_ = time.perf_counter() - started

    def _encode(self, data: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """The model's matrix: one normal score per numeric column, then one-hot categorical blocks.

        Sets the layout: ``numeric_`` (columns with a score), ``blocks_`` ([column, part, classes]:
        part ``value`` for a category's codes, missing as the last class; ``missing`` for the
        missing/present indicator of a numeric column) and ``marginals_`` (the quantiles).
        """
        self.numeric_: list[str] = []
        self.blocks_: list[list[Any]] = []
        self.marginals_: dict[str, EmpiricalMarginal] = {}
        scores: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                continue
            x = enc.encode(data[name])
            if enc.representation == "continuous":
                x = np.asarray(x, dtype=float)
                missing = ~np.isfinite(x)
                if missing.all():
                    continue
                marginal = EmpiricalMarginal(min_count=getattr(enc, "min_count", 1)).fit(x)
                u = marginal.to_uniform(x, rng)
                marginal.release_data()
                self.marginals_[name] = marginal
                self.numeric_.append(name)
                z = ndtri(np.clip(u, _CLIP, 1 - _CLIP))
                scores.append(np.where(missing, rng.standard_normal(len(x)), z))  # the indicator decides
                if missing.any():
                    self.blocks_.append([name, "missing", 2])
                    codes.append(missing.astype(np.int64))
            else:
                c = np.asarray(x, dtype=np.int64)
                k = int(enc.n_codes)  # type: ignore[attr-defined]
                has_missing = bool((c < 0).any())
                if k + has_missing <= 1:
                    continue  # constant (or always missing): decoded without the network
                self.blocks_.append([name, "value", k + has_missing])
                codes.append(np.where(c < 0, k, c))
        n = len(data)
        parts = [np.column_stack(scores)] if scores else []
        parts += [np.eye(k, dtype=np.float32)[c] for c, (_, _, k) in zip(codes, self.blocks_)]
        return np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((n, 0), np.float32)

    def _layout(self) -> Any:
        from simulacra.tabular._diffusion_net import Layout

        return Layout(len(self.numeric_), tuple(int(k) for _, _, k in self.blocks_), self.categorical == "gaussian")

    def _build(self, seed: int) -> None:
        """The denoiser with seeded initial weights (torch's global generator is left as it was)."""
        from simulacra.tabular._diffusion_net import Diffusion, build_denoiser, torch_module

        layout = self._layout()
        if layout.width == 0:
            self.diffusion_ = None
            return
        net = torch_seeded(torch_module(), seed,
                           lambda: build_denoiser(layout.width, layout.width, int(self.width), int(self.depth)))
        self.diffusion_ = Diffusion(layout, net)

    @contextmanager
    def _threads(self) -> Iterator[None]:
        """torch's CPU threads set to ``threads`` inside the block (restored after); as is without it."""
        if not self.threads:
            yield
            return
        from simulacra.tabular._diffusion_net import torch_module

        torch = torch_module()
        before = torch.get_num_threads()
        torch.set_num_threads(int(self.threads))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    # -- sampling ----------------------------------------------------------------------------
    @property
    def block_rows(self) -> int:
        """Rows per random block: :data:`SAMPLE_BLOCK_ROWS` (fewer for very wide tables)."""
        return min(SAMPLE_BLOCK_ROWS, super().block_rows)

    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        if self.diffusion_ is not None and n > 0:
            v = self.diffusion_.sample(n, rng, int(self.sample_steps))
        else:
            v = np.zeros((n, 0))
        n_num = len(self.numeric_)
        where = {name: j for j, name in enumerate(self.numeric_)}
        block = {(name, part): n_num + j for j, (name, part, _) in enumerate(self.blocks_)}
        out: dict[str, pd.Series] = {}
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                out[name] = enc.generate(first_row, n, rng)
                continue
            if enc.representation == "continuous":
                values = np.full(n, np.nan)
                if name in where:
                    u = np.clip(ndtr(v[:, where[name]]), _CLIP, 1 - _CLIP)
                    values = self.marginals_[name].from_uniform(u)
                if (name, "missing") in block:
                    values = np.where(v[:, block[name, "missing"]] == 1, np.nan, values)
            elif (name, "value") in block:
                k = int(enc.n_codes)  # type: ignore[attr-defined]
                c = v[:, block[name, "value"]].astype(np.int64)
                values = np.where(c >= k, -1, c)
            else:  # constant: its one code, or always missing
                values = np.full(n, 0 if int(enc.n_codes) > 0 else -1, dtype=np.int64)  # type: ignore[attr-defined]
            out[name] = enc.decode(values, rng)
        return pd.DataFrame(out)

    # -- persistence -------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        weights = {} if self.diffusion_ is None else {
            k: v.detach().cpu().numpy().copy() for k, v in self.diffusion_.net.state_dict().items()
        }
        return {
            "encoders": self.transformer_.get_state(),
            "marginals": marginals_state(self.marginals_),
            "numeric": list(self.numeric_),
            "blocks": [list(b) for b in self.blocks_],
            "steps": self.steps_,
            "loss_curve": [float(x) for x in self.loss_curve_],
            "weights": weights,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        from simulacra.tabular._diffusion_net import torch_module

        self.transformer_ = TableTransformer.from_state(self.model_metadata_, state["encoders"])
        self.marginals_ = marginals_from_state(state["marginals"])
        self.numeric_ = [str(x) for x in state["numeric"]]
        self.blocks_ = [[str(a), str(b), int(k)] for a, b, k in state["blocks"]]
        self.steps_ = int(state["steps"])
        self.loss_curve_ = [float(x) for x in state.get("loss_curve", [])]
        self.fit_seconds_ = float("nan")
        self._build(0)
        if self.diffusion_ is None:
            return
        torch = torch_module()
        net = self.diffusion_.net
        own = net.state_dict()
        weights = state["weights"]
        if set(own) != set(weights) or any(tuple(own[k].shape) != tuple(np.shape(weights[k])) for k in own):
            raise ModelFileError("The saved weights do not match the model's layout and parameters; re-fit the model.")
        net.load_state_dict({k: torch.from_numpy(np.asarray(w, dtype=np.float32)) for k, w in weights.items()})
        net.eval()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({
            "numeric_columns": len(self.numeric_), "categorical_blocks": len(self.blocks_),
            "training_steps": self.steps_, "final_loss": self.loss_curve_[-1] if self.loss_curve_ else None,
            "parameters": 0 if self.diffusion_ is None else int(sum(p.numel() for p in self.diffusion_.net.parameters())),
        })
        return info
