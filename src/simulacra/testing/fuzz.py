"""Fuzz targets: random or hostile input must end in a clear :class:`SimulacraError` or a correct result.

A target pairs a Hypothesis strategy (built lazily: ``hypothesis`` is a test extra) with a check that
runs simulacra on one generated case and raises :class:`AssertionError` when the result is wrong.
Every case falls in one outcome class: ``ok``, ``refused: <SimulacraError subclass>``, ``wrong result``
or ``crash: <exception type>``; only the first two are acceptable.

The test suite runs each target with a small fixed budget (:func:`check_target`);
``benchmarks/fuzz.py`` runs them with a bigger one and counts the cases per outcome class
(:func:`run_target`). Target modules register themselves with :func:`register_target` and are listed
in :data:`TARGET_MODULES`.
"""

from __future__ import annotations

import importlib
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulacra.errors import SimulacraError

#: Modules whose import registers fuzz targets; add yours here.
TARGET_MODULES = ("simulacra.testing.fuzz_tables",)


@dataclass(frozen=True)
class FuzzTarget:
    """One fuzzed entry point: ``strategy()`` builds the Hypothesis strategy of cases, ``check(case)``
    runs simulacra on one case (raising :class:`AssertionError` for a wrong result)."""

    name: str
    strategy: Callable[[], Any]
    check: Callable[[Any], Any]
    description: str = ""


TARGETS: dict[str, FuzzTarget] = {}


def register_target(name: str, strategy: Callable[[], Any], description: str = "") -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Decorator registering ``check`` as the fuzz target ``name`` with cases from ``strategy()``."""

    def wrap(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
        TARGETS[name] = FuzzTarget(name, strategy, check, description or (check.__doc__ or "").strip().split("\n")[0])
        return check

    return wrap


def all_targets() -> dict[str, FuzzTarget]:
    """Every registered target, importing the modules of :data:`TARGET_MODULES` first."""
    for module in TARGET_MODULES:
        importlib.import_module(module)
    return dict(TARGETS)


def outcome(target: FuzzTarget, case: Any) -> tuple[str, BaseException | None]:
    """The outcome class of one case, and the exception behind it (None when ``ok``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target.check(case)
    except SimulacraError as exc:
        return f"refused: {type(exc).__name__}", exc
    except AssertionError as exc:
        return "wrong result", exc
    except Exception as exc:  # noqa: BLE001 - every other exception is the finding
        return f"crash: {type(exc).__name__}", exc
    return "ok", None


def acceptable(kind: str) -> bool:
    """Whether an outcome class keeps the promise (a clear refusal or a correct result)."""
    return kind == "ok" or kind.startswith("refused")


def _settings(budget: int, *, search: bool) -> Any:
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=budget, deadline=None, database=None, derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink] if search else [Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def check_target(name: str, max_examples: int = 25) -> None:
    """Run a target with a fixed budget; fail (with the smallest case Hypothesis finds) on a bad outcome."""
    from hypothesis import given

    target = all_targets()[name]

    @_settings(max_examples, search=True)
    @given(target.strategy())
    def run(case: Any) -> None:
        kind, exc = outcome(target, case)
        if not acceptable(kind):
            raise AssertionError(f"{name}: {kind}: {exc!r}") from exc

    run()


@dataclass
class FuzzRun:
    """Cases per outcome class of one target, and one example message per unacceptable class."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return sum(self.counts.values())

    @property
    def failures(self) -> int:
        return sum(v for k, v in self.counts.items() if not acceptable(k))


def run_target(name: str, budget: int) -> FuzzRun:
    """Run ``budget`` cases of a target without stopping at failures, counting every outcome class."""
    from hypothesis import given

    target = all_targets()[name]
    result = FuzzRun(name)

    @_settings(budget, search=False)
    @given(target.strategy())
    def run(case: Any) -> None:
        kind, exc = outcome(target, case)
        result.counts[kind] += 1
        if not acceptable(kind) and kind not in result.examples:
            result.examples[kind] = f"{exc!r}"[:300]

    run()
    return result
