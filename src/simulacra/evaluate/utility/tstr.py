"""Train on synthetic, test on real (TSTR) against train on real, test on real (TRTR)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.evaluate.context import EvalContext, sample_index
from simulacra.evaluate.features import informative, model_columns, model_matrix
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import auc_interval, rank_auc

#: A numerical target with at most this many distinct whole-number values is treated as classes.
MAX_CLASSES_NUMERIC = 10
#: The score of a model that guesses: ROC AUC 0.5, R² 0.
CHANCE = {"auc": 0.5, "r2": 0.0}


def ratio_above_chance(tstr: float | None, trtr: float | None, chance: float) -> float | None:
    """``(tstr − chance) / (trtr − chance)``: the share of the real model's skill beyond guessing that the
    synthetic-trained model keeps; None when the real model is no better than chance (or a score is missing).

    With ROC AUC the plain ratio hides gaps, because a model that guesses already scores 0.5: TSTR 0.75
    against TRTR 0.90 is a ratio of 0.83, but only 0.63 of the real model's skill above chance.

    Examples
    --------
    >>> round(ratio_above_chance(0.75, 0.90, 0.5), 3)
    0.625
    >>> ratio_above_chance(0.6, 0.5, 0.5) is None
    True
    """
    if tstr is None or trtr is None or not (np.isfinite(tstr) and np.isfinite(trtr)) or trtr <= chance:
        return None
    return float((tstr - chance) / (trtr - chance))


#: Fewer rows with a target value than this in any table leave nothing to train or test on: skipped.
MIN_ROWS = 5


def task_of(ctx: EvalContext) -> str:
    """'classification' or 'regression' for the target column."""
    if ctx.options.task != "auto":
        return ctx.options.task
    assert ctx.target is not None
    stype = ctx.types[ctx.target]
    if stype in ("categorical", "boolean"):
        return "classification"
    if stype == "numerical":
        y = ctx.floats(ctx.target)["real"]
        y = y[~np.isnan(y)]
        if np.all(y == np.round(y)) and np.unique(y).size <= MAX_CLASSES_NUMERIC:
            return "classification"
        return "regression"
    return "classification"


def _targets(ctx: EvalContext, task: str) -> dict[str, np.ndarray]:
    assert ctx.target is not None
    if task == "regression":
        return dict(ctx.floats(ctx.target))
    codes, _ = ctx.codes(ctx.target)
    return {role: np.where(c < 0, np.nan, c.astype(float)) for role, c in codes.items()}


def _model(task: str, is_cat: np.ndarray, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return cls(max_iter=200, categorical_features=is_cat if is_cat.any() else None, random_state=seed)


def _class_scores(model: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    classes = list(model.classes_)
    proba = model.predict_proba(x) if len(classes) > 1 else np.ones((len(x), 1))
    pred = np.asarray(classes)[np.argmax(proba, axis=1)]
    present = np.unique(y)
    aucs = []
    for k in present if present.size > 2 else present[1:]:
        p = proba[:, classes.index(k)] if k in classes else np.zeros(len(x))
        aucs.append(rank_auc(p, y == k))
    f1 = f1_score(y, pred, average="macro", labels=present, zero_division=0)
    return {"auc": float(np.nanmean(aucs)) if aucs else float("nan"), "f1": float(f1)}


def _score(ctx: EvalContext, task: str, x: np.ndarray, y: np.ndarray, is_cat: np.ndarray,
           xt: np.ndarray, yt: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import r2_score

    if task == "classification" and np.unique(y).size < 2:
        only = y[0]
        from sklearn.metrics import f1_score

        return {"auc": 0.5, "f1": float(f1_score(yt, np.full(len(yt), only), average="macro",
                                                 labels=np.unique(yt), zero_division=0))}
    x, is_cat, xt = informative(x, is_cat, xt)
    if x.shape[1] == 0:
        return {"r2": float("nan")} if task == "regression" else {"auc": 0.5, "f1": float("nan")}
    model = _model(task, is_cat, ctx.random_state).fit(x, y)
    if task == "regression":
        return {"r2": float(r2_score(yt, model.predict(xt)))}
    return _class_scores(model, xt, yt)


@register_metric(
    "tstr",
    family="utility",
    needs=("holdout", "target"),
    ideal="tstr_ratio 1.0 (the synthetic table trains models as well as the real one)",
    explanation="""
    A gradient-boosted model (scikit-learn HistGradientBoosting) is trained to predict the target on
    the synthetic table (TSTR) and, for comparison, on the real training table (TRTR); both are tested
    on the real holdout, which neither has seen. Classification reports ROC AUC (macro one-vs-rest for
    several classes) and macro F1; regression reports R². tstr_ratio = TSTR / TRTR;
    tstr_ratio_above_chance = (TSTR − 0.5) / (TRTR − 0.5) for ROC AUC (chance scores 0.5, so the
    plain ratio flatters a weak model), the same as tstr_ratio for R² (chance scores 0).
    """,
)
def tstr(ctx: EvalContext) -> MetricResult:
    assert ctx.target is not None and ctx.holdout is not None
    task = task_of(ctx)
    ys = _targets(ctx, task)
    rng = ctx.rng("utility")
    cap = ctx.options.utility_rows
    rows: dict[str, np.ndarray | None] = {}
    dropped = {}
    for role in ("real", "synthetic", "holdout"):
        ok = np.flatnonzero(np.isfinite(ys[role]))  # an infinite target is as unusable as a missing one
        dropped[role] = int(len(ys[role]) - ok.size)
        pick = sample_index(ok.size, cap, rng)
        rows[role] = ok if pick is None else ok[pick]
    cols = model_columns(ctx, exclude=(ctx.target,))
    few = {role: len(idx) for role, idx in rows.items() if idx is not None and len(idx) < MIN_ROWS}
    if few or not cols:
        why = (f"needs at least {MIN_ROWS} rows with a target value in each table ("
               + ", ".join(f"{role}: {n}" for role, n in few.items()) + ")") if few else "no feature column a model can use"
        return MetricResult("tstr", "utility", skipped=why)
    mats, is_cat = model_matrix(ctx, cols, rows)
    y = {role: ys[role][idx] for role, idx in rows.items()}
    res = {
        "tstr": _score(ctx, task, mats["synthetic"], y["synthetic"], is_cat, mats["holdout"], y["holdout"]),
        "trtr": _score(ctx, task, mats["real"], y["real"], is_cat, mats["holdout"], y["holdout"]),
    }
    key = "r2" if task == "regression" else "auc"
    t, r = res["tstr"][key], res["trtr"][key]
    extras: dict[str, float | None] = {"trtr": r, "tstr_ratio": t / r if r and np.isfinite(r) and r > 0 else None,
                                       "tstr_ratio_above_chance": ratio_above_chance(t, r, CHANCE[key])}
    if task == "classification":
        extras.update(tstr_f1=res["tstr"]["f1"], trtr_f1=res["trtr"]["f1"])
    n_test = len(y["holdout"])
    ci = None
    if task == "classification" and np.unique(y["holdout"]).size == 2:
        pos = int((y["holdout"] == np.max(y["holdout"])).sum())
        ci = auc_interval(t, pos, n_test - pos)
    sampled = any(len(f) - dropped[role] > cap for role, f in ctx.frames().items())
    return MetricResult(
        "tstr", "utility", value=t, extras=extras, ci=ci,
        details={"task": task, "metric": "R²" if task == "regression" else "ROC AUC", "target": ctx.target,
                 "scores": res, "rows": {k: len(v) for k, v in y.items()},
                 "rows_without_target_left_out": dropped, "features": cols},
        sampling=f"models trained and tested on at most {cap:,} rows per table" if sampled else None,
    )
