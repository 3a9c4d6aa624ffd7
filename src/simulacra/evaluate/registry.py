"""The metric registry: every metric is a function of an evaluation context, registered by family.

A registered metric appears in the report with its explanation; :func:`compute_metric` runs one
metric on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulacra.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from simulacra.evaluate.context import EvalContext

FAMILIES = ("fidelity", "utility", "privacy", "fairness", "validity")
#: Optional inputs of an evaluation that a metric may need (it is skipped without them).
NEEDS = ("holdout", "target", "sensitive", "secret")


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise InputError(f"Unknown metric family {family!r}; use one of: {', '.join(FAMILIES)}.")


@dataclass
class MetricResult:
    """What one metric found.

    ``value`` is the headline number (also a top-level key of the report), ``extras`` more top-level
    numbers, ``details`` everything else (JSON-able), ``ci`` a 95% interval where the number was
    estimated from a sample, ``sampling`` a note saying how, ``skipped`` why it was not computed.
    """

    name: str
    family: str
    value: float | None = None
    extras: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    ci: tuple[float, float] | None = None
    sampling: str | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "value": self.value,
            "extras": dict(self.extras),
            "ci": list(self.ci) if self.ci is not None else None,
            "sampling": self.sampling,
            "skipped": self.skipped,
            "details": self.details,
        }


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function, family, explanation and what it needs."""

    name: str
    family: str
    func: Callable[[EvalContext], MetricResult]
    explanation: str
    ideal: str
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    def __call__(self, real: pd.DataFrame, synthetic: pd.DataFrame, **kwargs: Any) -> MetricResult:
        """Compute this metric alone; keyword arguments as for :func:`simulacra.evaluate`."""
        return compute_metric(self.name, real, synthetic, **kwargs)


_REGISTRY: dict[str, Metric] = {}


def register_metric(
    name: str,
    *,
    family: str,
    explanation: str,
    ideal: str,
    needs: tuple[str, ...] = (),
    after: tuple[str, ...] = (),
) -> Callable[[Callable[[EvalContext], MetricResult]], Callable[[EvalContext], MetricResult]]:
    """Register a metric function under ``name``.

    ``needs`` names inputs the metric cannot do without (``holdout``, ``target``, ``sensitive``,
    ``secret``): without them it is reported as skipped. ``after`` names metrics whose results it
    reads from ``ctx.results``.
    """
    _check_family(family)
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise InputError(
            f"Metric '{name}' needs unknown inputs {unknown}; a metric can need {', '.join(NEEDS)}."
        )

    def decorate(func: Callable[[EvalContext], MetricResult]) -> Callable[[EvalContext], MetricResult]:
        _REGISTRY[name] = Metric(name, family, func, explanation.strip(), ideal, needs, after)
        return func

    return decorate


def available_metrics(family: str | None = None) -> dict[str, Metric]:
    """The registered metrics (in report order), optionally of one family.

    Examples
    --------
    >>> "quality" in available_metrics("fidelity")
    True
    """
    if family is not None:
        _check_family(family)
    _load_builtin()
    order = {f: i for i, f in enumerate(FAMILIES)}
    items = sorted(_REGISTRY.items(), key=lambda kv: order[kv[1].family])
    return {k: m for k, m in items if family is None or m.family == family}


def get_metric(name: str) -> Metric:
    """The registered metric called ``name``."""
    metrics = available_metrics()
    if name not in metrics:
        raise InputError(f"No metric called '{name}'; available: {', '.join(metrics)}")
    return metrics[name]


def run_metric(metric: Metric, ctx: EvalContext) -> MetricResult:
    """Run one metric on a prepared context (dependencies first), storing the result in the context."""
    if metric.name in ctx.results:
        return ctx.results[metric.name]
    for dep in metric.after:
        run_metric(get_metric(dep), ctx)
    missing = [need for need in metric.needs if not ctx.has(need)]
    if missing:
        result = MetricResult(metric.name, metric.family, skipped=f"needs {' and '.join(missing)}")
    else:
        result = metric.func(ctx)
    ctx.results[metric.name] = result
    return result


def compute_metric(name: str, real: Any, synthetic: Any, **kwargs: Any) -> MetricResult:
    """Compute one registered metric on a pair of tables.

    Examples
    --------
    >>> import pandas as pd
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": list("abab")})
    >>> compute_metric("column_shapes", real, real.copy()).value
    1.0
    """
    from simulacra.evaluate.context import prepare

    ctx = prepare(real, synthetic, **kwargs)
    return run_metric(get_metric(name), ctx)


#: Built-in metric modules, imported on first use of the registry; their order is the report's order.
BUILTIN = (
    "fidelity.column_shapes", "fidelity.pair_trends", "fidelity.quality", "fidelity.detection",
    "fidelity.missing", "utility.tstr", "privacy.dcr", "privacy.copies",
    "privacy.mia", "privacy.attribute", "fairness.parity", "validity.rules", "validity.checks",
)


def _load_builtin() -> None:
    import importlib

    for name in BUILTIN:
        importlib.import_module(f"simulacra.evaluate.{name}")
