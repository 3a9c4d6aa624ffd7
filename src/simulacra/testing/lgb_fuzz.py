"""LightGBM model texts, damaged at random, loaded in a child process that may die without harm.

Used by ``benchmarks/fuzz_models.py`` (thousands of cases) and ``tests/unit/tabular/test_lgb_text.py``
(a few hundred). LightGBM's parser can kill the process that reads a bad text or loop for ever, so every
load runs in a child (kept alive between cases, restarted after a death): a dead child is a
``BUG: crash``, one silent for :data:`HANG_SECONDS` a ``BUG: hang``. Run as a module, this is the child.
"""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.testing.model_fuzz import model_texts, mutate_model_text

HANG_SECONDS = 20.0


class ChildLoader:
    """A child process that loads model texts on request; it may die or hang, the parent does not."""

    def __init__(self, *, raw: bool = False) -> None:
        self.raw = raw
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        """A fresh child, once it has imported what it needs (its start-up is not counted as a hang)."""
        args = [sys.executable, "-m", "simulacra.testing.lgb_fuzz", *(["--raw"] if self.raw else [])]
        pipe = subprocess.PIPE
        proc = subprocess.Popen(args, stdin=pipe, stdout=pipe, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("@@ready"):
                return proc
        raise RuntimeError(f"the fuzz child exited at start-up (status {proc.wait()})")

    def load(self, path: Path, n_features: int) -> tuple[str, str]:
        """(outcome, message) of loading the text in ``path`` and predicting ``n_features``-wide rows."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"path": str(path), "n_features": n_features}) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + HANG_SECONDS
        while True:  # LightGBM prints its warnings on stdout too: the answer is the line marked "@@"
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                proc.wait()
                return "BUG: hang", f"no answer in {HANG_SECONDS:.0f} s"
            line = proc.stdout.readline()
            if not line:
                return "BUG: crash", f"the child died (exit status {proc.wait()})"
            if line.startswith("@@"):
                outcome, message = json.loads(line[2:])
                return outcome, message

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def _worker(raw: bool) -> None:
    """The child's loop: one JSON request a line, one ``@@``-marked JSON answer a line."""
    import lightgbm as lgb

    from simulacra.errors import SimulacraError
    from simulacra.tabular._lgb_text import load_booster

    print("@@ready", flush=True)
    for request in sys.stdin:
        req = json.loads(request)
        text = Path(req["path"]).read_text(encoding="utf-8")
        rng = np.random.default_rng(0)
        X = rng.integers(-1, 6, (64, req["n_features"])).astype(float)  # small whole numbers suit categories
        X += rng.random((64, 1)) * (rng.random() < 0.5)
        X[::5, 0] = np.nan
        try:
            booster = lgb.Booster(model_str=text) if raw else load_booster(text)
            booster.predict(X, num_threads=1)
            answer = ["ok", ""]
        except SimulacraError as exc:
            answer = ["clear error", str(exc)[:200]]
        except lgb.basic.LightGBMError as exc:  # raised, not crashed: fine unchecked, a bug when checked
            answer = ["lightgbm error" if raw else "BUG: LightGBMError", str(exc)[:200]]
        except Exception as exc:  # noqa: BLE001 - the invariant under test
            answer = [f"BUG: {type(exc).__name__}", str(exc)[:200]]
        sys.stdout.write("@@" + json.dumps(answer) + "\n")
        sys.stdout.flush()


_LOADERS: dict[bool, ChildLoader] = {}


def lgb_text_case(seed: int, workdir: Path, *, raw: bool = False) -> tuple[str, dict[str, Any]]:
    """One fuzz case: a random damage to one LightGBM text of a real autoreg model, loaded in a child."""
    rng = np.random.default_rng(seed)
    texts = model_texts("autoreg")
    which = int(rng.integers(0, len(texts)))
    text, damage = mutate_model_text(texts[which], rng)
    path = workdir / "model.txt"
    path.write_text(text, encoding="utf-8")
    found = re.search(r"max_feature_idx=(\d+)", texts[which])
    n_features = int(found.group(1)) + 1 if found else 1
    loader = _LOADERS.setdefault(raw, ChildLoader(raw=raw))
    outcome, message = loader.load(path, n_features)
    return outcome, {"damage": damage, "text": which, "message": message}


def close_loaders() -> None:
    """Stop the child processes :func:`lgb_text_case` started."""
    for loader in _LOADERS.values():
        loader.close()
    _LOADERS.clear()


if __name__ == "__main__":
    _worker("--raw" in sys.argv[1:])
