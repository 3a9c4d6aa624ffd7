"""Evaluation of synthetic tables: fidelity, utility, privacy, fairness and validity, as numbers and a report.

``simulacra.evaluate(real, synthetic, ...)`` returns a :class:`Report`; every metric is a registered
function (:func:`available_metrics`) that also runs alone (:func:`compute_metric`).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from simulacra.evaluate.context import EvalOptions, EvaluationWarning
from simulacra.evaluate.core import evaluate
from simulacra.evaluate.registry import (
    Metric,
    MetricResult,
    available_metrics,
    compute_metric,
    get_metric,
    register_metric,
)
from simulacra.evaluate.report import Report

__all__ = [
    "EvalOptions",
    "EvaluationWarning",
    "Metric",
    "MetricResult",
    "Report",
    "available_metrics",
    "compute_metric",
    "evaluate",
    "get_metric",
    "register_metric",
]


class _CallableModule(types.ModuleType):
    """``simulacra.evaluate`` is both this package and the function: importing the package sets
    ``simulacra.evaluate`` to the module, so the module itself must be callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
