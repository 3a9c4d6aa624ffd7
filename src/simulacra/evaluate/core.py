"""``evaluate``: every registered metric on a real/synthetic pair, gathered in a :class:`Report`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from simulacra.evaluate.context import EvalOptions, prepare
from simulacra.evaluate.registry import available_metrics, run_metric
from simulacra.evaluate.report import Report


def evaluate(
    real: pd.DataFrame | str,
    synthetic: pd.DataFrame | str,
    *,
    holdout: pd.DataFrame | str | None = None,
    target: str | None = None,
    metadata: Any = None,
    sensitive: str | list[str] | None = None,
    secret: str | None = None,
    random_state: int = 0,
    metrics: list[str] | None = None,
    options: EvalOptions | None = None,
    progress: Callable[[str], None] | None = None,
    guarantee: dict[str, Any] | None = None,
) -> Report:
    """Measure fidelity, utility, privacy, fairness and validity of a synthetic table.

    Parameters
    ----------
    real : DataFrame or path
        The real rows the synthesizer was trained on.
    synthetic : DataFrame or path
        The synthetic rows, with the same columns.
    holdout : DataFrame or path, optional
        Real rows the synthesizer never saw; needed for utility (TSTR) and privacy metrics.
    target : str, optional
        Column to predict for utility and fairness.
    metadata : Metadata, dict or path, optional
        Column types (detected from ``real`` when not given) and constraints.
    sensitive : str or list of str, optional
        Columns whose groups are compared for bias.
    secret : str, optional
        Column attacked by the attribute-inference metric.
    random_state : int
        Seed of every sample and model: the same inputs and seed give the same report.
    metrics : list of str, optional
        Names of the metrics to compute (default: all registered).
    options : EvalOptions, optional
        Sample sizes and thresholds.
    progress : callable, optional
        Called with the name of each metric before it runs.
    guarantee : dict, optional
        The formal privacy guarantee of the model that made ``synthetic`` (plain data, e.g. a DP
        model's ``privacy_guarantee()``: ``epsilon``, ``delta``, ``guarantee``, ``mechanism``); the
        report states it beside the measured privacy risk.

    Returns
    -------
    Report

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(list("ab"), 200)})
    >>> syn = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(list("ab"), 200)})
    >>> report = evaluate(real, syn, metrics=["quality"])
    >>> 0.8 < report.quality <= 1.0
    True
    """
    start = time.perf_counter()
    ctx = prepare(real, synthetic, holdout=holdout, target=target, metadata=metadata, sensitive=sensitive,
                  secret=secret, random_state=random_state, options=options)
    overlap = None
    if ctx.holdout is not None:
        from simulacra.evaluate.privacy.neighbors import check_overlap

        overlap = check_overlap(ctx)
    # Load the OpenMP and BLAS runtimes first: threadpoolctl only limits libraries already loaded.
    import sklearn.ensemble  # noqa: F401
    import sklearn.neighbors  # noqa: F401
    from threadpoolctl import threadpool_limits

    registry = available_metrics()
    chosen = list(registry) if metrics is None else metrics
    timings = {}
    for name in chosen:
        if name not in registry:
            from simulacra.errors import InputError

            raise InputError(f"No metric called '{name}'; available: {', '.join(registry)}")
        if progress is not None:
            progress(name)
        t0 = time.perf_counter()
        with threadpool_limits(limits=ctx.options.threads()):
            run_metric(registry[name], ctx)
        timings[name] = round(time.perf_counter() - t0, 3)
    import simulacra

    info = {
        "rows": {role: len(f) for role, f in ctx.frames().items()},
        "columns": {c: t for c, t in ctx.types.items()},
        "target": target, "sensitive": ctx.sensitive, "secret": secret, "random_state": random_state,
        "holdout_overlap": overlap, "empty_columns": dict(ctx.cache.get("empty_columns", {})), "options": vars(ctx.options), "seconds": timings,
        "total_seconds": round(time.perf_counter() - start, 3), "simulacra_version": simulacra.__version__,
        "guarantee": _guarantee(guarantee),
    }
    results = {n: ctx.results[n] for n in registry if n in ctx.results}
    return Report(results, info=info, warnings=ctx.warnings)


def _guarantee(guarantee: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parts of a model's formal privacy guarantee that the report shows (None: no guarantee)."""
    if not guarantee:
        return None
    if not isinstance(guarantee, dict) or "epsilon" not in guarantee or "delta" not in guarantee:
        from simulacra.errors import InputError

        raise InputError("guarantee must be a dict with 'epsilon' and 'delta' (a DP model's privacy_guarantee()).")
    keys = ("guarantee", "epsilon", "delta", "neighbouring", "mechanism", "composed", "public_columns")
    return {k: guarantee[k] for k in keys if k in guarantee}
