"""What every image generator shares: seeded training with progress and ETA, checkpoints that resume
exactly (Ctrl-C keeps one), class-conditional sampling, a model file of JSON and arrays (no pickle), and
the device it runs on (the CPU or a CUDA GPU: a runtime setting, never saved in the model file).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from simulacra.errors import InputError, ModelFileError, NotFittedError, SimulacraError
from simulacra.images.data import ImageSet, from_model, to_model
from simulacra.random import torch_device, torch_seeded

#: The ``kind`` in the manifest of an image model file.
KIND = "image-generator"


class _CtrlCBetweenSteps:
    """Ctrl-C during training takes effect when the step under way ends. Raised mid-step, it left a
    checkpoint whose random streams were ahead of its weights (or whose optimiser had stepped without the
    step being counted), so a resumed fit differed from an uninterrupted one. Only where Python's own
    handler is in place (the main thread, Ctrl-C not ignored or handled by someone else)."""

    def __init__(self) -> None:
        import signal
        import threading

        self.pressed = False
        self.previous: Any = None
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._press)

    def _press(self, signum: int, frame: Any) -> None:
        self.pressed = True

    def check(self) -> None:
        """Between two steps: stop now if Ctrl-C was pressed."""
        if self.pressed:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            import signal

            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


class TrainingInterrupted(SimulacraError):
    """Training stopped (Ctrl-C); the checkpoint named in the message resumes it."""


@dataclass(frozen=True)
class TrainingProgress:
    """One progress report: ``step`` of ``total``, the mean recent loss, seconds spent and left."""

    step: int
    total: int
    loss: float
    elapsed: float
    eta: float


Progress = Callable[[TrainingProgress], None]
#: Progress is reported every this many steps (and at the last).
_REPORT_EVERY = 25


def torch_module() -> Any:
    """``torch``, or a :class:`MissingDependencyError` naming the ``images`` extra."""
    from simulacra.errors import require

    return require("torch", "images", "image models")


def _to_numpy(module: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def _load_weights(module: Any, weights: dict[str, Any], where: str) -> None:
    torch = torch_module()
    own = module.state_dict()
    if set(own) != set(weights) or any(tuple(own[k].shape) != tuple(np.shape(weights[k])) for k in own):
        raise ModelFileError(f"'{where}' holds weights of another shape than its configuration builds; re-fit the model.")
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})


def _opt_state(opt: Any) -> dict[str, Any]:
    sd = opt.state_dict()
    return {"state": {str(k): {n: v.detach().cpu().numpy().copy() if hasattr(v, "detach") else v for n, v in s.items()}
                      for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


def _set_opt_state(opt: Any, saved: dict[str, Any]) -> None:
    torch = torch_module()
    state = {int(k): {n: torch.from_numpy(np.asarray(v)) if isinstance(v, np.ndarray) else v for n, v in s.items()}
             for k, s in saved["state"].items()}
    opt.load_state_dict({"state": state, "param_groups": saved["param_groups"]})


def resolve_device(device: str | None) -> Any:
    """The ``torch.device`` of ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``); one this machine
    lacks is an :class:`InputError` (see :func:`simulacra.random.torch_device`)."""
    torch = torch_module()
    return torch.device(torch_device(torch, device))


def device_name(device: Any) -> str:
    """What runs the work on ``device`` (a ``torch.device`` or its name), for reports: the GPU's model, or
    the CPU with torch's thread count."""
    torch = torch_module()
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{dev}: {torch.cuda.get_device_name(dev)}"
    return f"{dev.type}, {torch.get_num_threads()} thread(s)"


def to_device(x: Any, like: Any) -> Any:
    """``x`` (drawn on the CPU) on the device of the tensor ``like``: every random draw is made on the CPU
    with a CPU generator, so a seed means the same noise on every device (``x`` itself on the CPU)."""
    return x.to(like.device)


class ImageGenerator:
    """Base class of the image generators: subclasses build the network, its loss and its sampler.

    ``fit(images)`` trains for ``steps`` optimiser steps of ``batch_size`` images; ``sample(n)`` draws
    images, by default with the classes in their training proportions.

    ``device`` (``"auto"``: a CUDA GPU when torch sees one, else the CPU; ``"cpu"``; ``"cuda"``) is where
    the network trains and samples. It is a runtime setting, not a parameter of the model: the model file
    does not keep it, so a model fitted on a GPU loads and samples on a CPU. Random draws are made on the
    CPU whatever the device (the same seed, the same noise), and the CPU gives the same weights and images
    for the same seed, data and thread count; on a GPU results differ slightly from the CPU's (other
    kernels, and some are not deterministic from run to run).
    """

    name: ClassVar[str] = ""
    #: Parameters saved in the model file and given back to ``__init__`` on load.
    PARAMS: ClassVar[tuple[str, ...]] = ("steps", "batch_size", "learning_rate", "random_state")
    #: Settings of ``__init__`` that are not saved: where the model runs.
    RUNTIME: ClassVar[tuple[str, ...]] = ("device",)

    steps: int | None
    batch_size: int | None
    learning_rate: float
    random_state: int | None
    device: str

    # subclasses -----------------------------------------------------------------------------------
    def _build(self) -> Any:
        raise NotImplementedError

    def _loss(self, x: Any, y: Any, gen: Any) -> Any:
        raise NotImplementedError

    def _generate(self, labels: Any, gen: Any) -> Any:
        raise NotImplementedError

    def _resolve(self, resolution: int) -> dict[str, Any]:
        """Settings fixed when a fit starts (defaults that depend on the resolution), saved in the model file."""
        return {}

    def _legacy_design(self) -> dict[str, Any]:
        """The settings of a model file written before they were saved in it."""
        return {}

    # shared ---------------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PARAMS}

    def _device(self) -> Any:
        return resolve_device(getattr(self, "device", "auto"))

    def _seed(self) -> int:
        return 0 if self.random_state is None else int(self.random_state)

    def _check_params(self) -> None:
        if any(v is not None and int(v) < 1 for v in (self.steps, self.batch_size)) or not float(self.learning_rate) > 0:
            raise InputError("steps and batch_size must be positive integers and learning_rate a positive number.")

    def _lr_factor(self, step: int, total: int) -> float:
        """The learning rate at ``step`` of ``total``, as a share of ``learning_rate`` (constant here)."""
        return 1.0

    def training_plan(self, resolution: int) -> tuple[int, int]:
        """The optimiser steps and batch size a fit at ``resolution`` pixels uses: the parameters, or
        (when a parameter is None) the model's default for that resolution."""
        if self.steps is None or self.batch_size is None:
            raise InputError(f"The {self.name} image model needs steps and batch_size.")
        return int(self.steps), int(self.batch_size)

    def _setup(self, data: ImageSet) -> None:
        if len(data) < 2:
            raise InputError(f"{len(data)} image(s) are too few to train an image model; give at least 2.")
        self.classes_ = list(data.classes)
        self.resolution_ = data.resolution
        self.channels_ = data.channels
        self.class_counts_ = [int(c) for c in np.bincount(data.labels, minlength=len(data.classes))]
        self.design_ = self._resolve(data.resolution)
        # the initial weights are drawn on the CPU (the same on every device), then moved
        self.net_ = torch_seeded(torch_module(), self._seed(), self._build).to(self._device())

    def fit(self, data: ImageSet, *, checkpoint: str | Path | None = None, resume: bool = False,
            progress: Progress | None = None, checkpoint_every: float = 60.0) -> ImageGenerator:
        """Train on ``data``; with ``checkpoint``, training state is written there every
        ``checkpoint_every`` seconds and on Ctrl-C, and ``resume=True`` continues from it."""
        torch = torch_module()
        self._check_params()
        dev = self._device()  # checked before any work
        self._setup(data)
        total, batch = self.training_plan(data.resolution)
        self.trained_steps_, self.trained_batch_size_ = total, batch
        x_all = torch.from_numpy(to_model(data.images)).to(dev)  # on the device once, not per batch
        y_all = torch.from_numpy(data.labels.astype(np.int64)).to(dev)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=float(self.learning_rate), weight_decay=0.0)
        self.ema_ = torch_seeded(torch_module(), self._seed(), self._build).to(dev)
        self.ema_.load_state_dict(self.net_.state_dict())
        gen = torch.Generator().manual_seed(self._seed())
        rng = np.random.default_rng(self._seed())
        step, seconds = 0, 0.0
        ckpt = Path(checkpoint) if checkpoint is not None else None
        if resume and ckpt is not None and ckpt.exists():
            step, seconds = self._restore(ckpt, data, opt, gen, rng)
        self.net_.train()
        start, last_save = time.perf_counter() - seconds, time.perf_counter()
        losses: list[float] = []
        pending: list[Any] = []  # losses still on the device, read in one go at the next report
        ctrl_c = _CtrlCBetweenSteps()
        try:
            while step < total:
                idx = torch.from_numpy(rng.integers(0, len(data), size=min(batch, len(data)))).to(dev)
                for group in opt.param_groups:  # set from the step alone, so a resumed fit follows the same schedule
                    group["lr"] = float(self.learning_rate) * self._lr_factor(step, total)
                loss = self._loss(x_all[idx], y_all[idx], gen)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net_.parameters(), 1.0)
                opt.step()
                self._ema_update(step)
                step += 1
                pending.append(loss.detach())
                report = step % _REPORT_EVERY == 0 or step == total
                if report:
                    losses.extend(torch.stack(pending).cpu().tolist())
                    pending.clear()
                now = time.perf_counter()
                if progress is not None and report:
                    spent = now - start
                    progress(TrainingProgress(step, total, float(np.mean(losses[-50:])), spent,
                                              spent / step * (total - step) if step else math.nan))
                if ckpt is not None and now - last_save > checkpoint_every and step < total:
                    self._checkpoint(ckpt, data, opt, gen, rng, step, now - start)
                    last_save = now
                ctrl_c.check()
        except KeyboardInterrupt:
            if ckpt is None:
                raise
            self._checkpoint(ckpt, data, opt, gen, rng, step, time.perf_counter() - start)
            raise TrainingInterrupted(f"Training interrupted at step {step}/{total}; the checkpoint '{ckpt}' keeps it. "
                                      "Run the same command with resume (--resume) to continue.") from None
        finally:
            ctrl_c.restore()
        self.fit_seconds_ = round(time.perf_counter() - start, 2)
        self.final_loss_ = float(np.mean(losses[-100:])) if losses else math.nan
        self.net_ = self.ema_  # samples come from the moving average of the weights
        del self.ema_
        self.net_.eval()
        if ckpt is not None and ckpt.exists():
            ckpt.unlink()
        return self

    def _ema_update(self, step: int, decay: float = 0.995) -> None:
        torch = torch_module()
        d = min(decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(self.ema_.parameters(), self.net_.parameters()):
                e.mul_(d).add_(p.detach(), alpha=1 - d)

    def _config(self, data: ImageSet) -> dict[str, Any]:
        return {"class": type(self).__name__, "parameters": self.get_params(), "classes": list(data.classes),
                "resolution": data.resolution, "channels": data.channels, "n_images": len(data)}

    def _checkpoint(self, path: Path, data: ImageSet, opt: Any, gen: Any, rng: np.random.Generator,
                    step: int, seconds: float) -> None:
        from simulacra.io.model import write_archive

        state = {"net": _to_numpy(self.net_), "ema": _to_numpy(self.ema_), "optimizer": _opt_state(opt),
                 "torch_rng": gen.get_state().numpy().copy(), "numpy_rng": rng.bit_generator.state,
                 "step": step, "seconds": seconds}
        write_archive(path, header={"kind": "image-checkpoint", **self._config(data)}, metadata={}, state=state)

    def _restore(self, path: Path, data: ImageSet, opt: Any, gen: Any, rng: np.random.Generator) -> tuple[int, float]:
        from simulacra.io.model import read_archive

        torch = torch_module()
        arc = read_archive(path)
        if arc.manifest.get("kind") != "image-checkpoint":
            raise ModelFileError(f"'{path}' is not an image training checkpoint.")
        mine = json.loads(json.dumps(self._config(data)))
        theirs = {k: arc.manifest.get(k) for k in mine}
        if theirs != mine:
            diff = [k for k in mine if theirs[k] != mine[k]]
            raise InputError(f"The checkpoint '{path}' was made with other settings or images ({', '.join(diff)} "
                             "differ); resume with the same command, or delete the checkpoint to start again.")
        s = arc.state
        _load_weights(self.net_, s["net"], str(path))
        _load_weights(self.ema_, s["ema"], str(path))
        _set_opt_state(opt, s["optimizer"])
        gen.set_state(torch.from_numpy(np.asarray(s["torch_rng"], dtype=np.uint8)))
        rng.bit_generator.state = s["numpy_rng"]
        return int(s["step"]), float(s["seconds"])

    def _labels_for(self, n: int, classes: Sequence[str] | str | None, rng: np.random.Generator) -> np.ndarray:
        if classes is None:
            counts = np.asarray(self.class_counts_, float)
            base = np.floor(n * counts / counts.sum()).astype(int)  # training proportions, rounded fairly
            rest = n - base.sum()
            if rest:
                base[rng.choice(len(counts), size=rest, replace=False, p=counts / counts.sum())] += 1
            return np.repeat(np.arange(len(counts)), base)
        wanted = [classes] if isinstance(classes, str) else list(classes)
        unknown = [c for c in wanted if c not in self.classes_]
        if unknown:
            raise InputError(f"Unknown class(es) {', '.join(map(repr, unknown))}; the model knows "
                             f"{', '.join(map(repr, self.classes_))}.")
        ids = np.array([self.classes_.index(c) for c in wanted])
        return np.resize(ids, n) if len(ids) > 1 else np.full(n, ids[0])

    def sample(self, n: int, *, classes: Sequence[str] | str | None = None, random_state: int | None = None,
               batch_size: int = 256) -> ImageSet:
        """``n`` new images: of ``classes`` (a name or a list, cycled), or in the training proportions."""
        torch = torch_module()
        if not hasattr(self, "net_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit() or load a model file.")
        if n < 1:
            raise InputError(f"n must be a positive number of images, got {n}.")
        dev = self._device()
        seed = self._seed() + 1 if random_state is None else int(random_state)
        rng = np.random.default_rng(seed)
        labels = self._labels_for(int(n), classes, rng)
        gen = torch.Generator().manual_seed(seed)
        out = []
        self.net_.to(dev).eval()  # (device may have been changed since the fit or the load)
        with torch.no_grad():
            for lo in range(0, len(labels), batch_size):
                y = torch.from_numpy(labels[lo:lo + batch_size].astype(np.int64)).to(dev)
                out.append(self._generate(y, gen).clamp(-1, 1).cpu().numpy())
        return ImageSet(from_model(np.concatenate(out)), labels, list(self.classes_))

    # model file -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model file: JSON configuration and weights as arrays (never pickle)."""
        from simulacra.io.model import write_archive

        if not hasattr(self, "net_"):
            raise NotFittedError("Fit the model before saving it.")
        header = {"kind": KIND, "class": type(self).__name__, "parameters": self.get_params()}
        meta = {"classes": self.classes_, "class_counts": self.class_counts_, "resolution": self.resolution_,
                "channels": self.channels_, "fit_seconds": getattr(self, "fit_seconds_", None),
                "final_loss": getattr(self, "final_loss_", None),
                "trained_steps": getattr(self, "trained_steps_", None),
                "trained_batch_size": getattr(self, "trained_batch_size_", None),
                "design": getattr(self, "design_", {})}
        return write_archive(path, header=header, metadata=meta, state={"weights": _to_numpy(self.net_)})

    @classmethod
    def _restore_file(cls, arc: Any, where: str, device: str = "auto") -> ImageGenerator:
        params = arc.manifest.get("parameters") or {}
        model = cls(**{k: v for k, v in params.items() if k in cls.PARAMS})
        model.device = device
        m = arc.metadata
        model.classes_ = [str(c) for c in m["classes"]]
        model.class_counts_ = [int(c) for c in m["class_counts"]]
        model.resolution_, model.channels_ = int(m["resolution"]), int(m["channels"])
        model.fit_seconds_, model.final_loss_ = m.get("fit_seconds"), m.get("final_loss")
        model.trained_steps_, model.trained_batch_size_ = m.get("trained_steps"), m.get("trained_batch_size")
        model.design_ = m.get("design") or model._legacy_design()
        model.net_ = model._build()
        _load_weights(model.net_, arc.state["weights"], where)
        model.net_.to(model._device()).eval()
        return model


def load_image_model(path: str | Path, *, key: bytes | None = None, device: str = "auto") -> ImageGenerator:
    """Read an image model file written by :meth:`ImageGenerator.save` (no code is executed), onto
    ``device`` (``"auto"``: a CUDA GPU when torch sees one, else the CPU; the file does not name one)."""
    from simulacra.images.registry import GENERATORS
    from simulacra.io.model import read_archive

    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"The model file '{p}' does not exist.")
    arc = read_archive(p, key=key)
    if arc.manifest.get("kind") != KIND:
        raise ModelFileError(f"'{p}' is not an image model file (fit one with 'simulacra image fit').")
    cls = next((g for g in GENERATORS.values() if g.__name__ == arc.manifest.get("class")), None)
    if cls is None:
        raise ModelFileError(f"'{p}' holds an unknown image model {arc.manifest.get('class')!r}; upgrade simulacra.")
    resolve_device(device)  # an unusable device is refused before the file is read further
    try:
        return cls._restore_file(arc, str(p), device)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"'{p}' is damaged or from an incompatible version ({exc}); re-fit the model.") from None
