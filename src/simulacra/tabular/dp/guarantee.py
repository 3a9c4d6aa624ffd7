"""The budget side of a DP fit: its split between steps, the releases of the same rows it adds up with,
its warnings, and the guarantee it reports (and saves in the model file)."""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata import Metadata
from simulacra.privacy.accounting import DEFAULT_SHARES, Budget
from simulacra.privacy.mechanisms import gaussian_sigma
from simulacra.tabular.dp import columns as cols


class PrivacyBudgetWarning(UserWarning):
    """The same data was released more than once: the privacy budgets add up."""


#: Below this ε the structure gets ``SMALL_EPSILON_SELECTION`` of ρ (from the pairs' share): a tree chosen
#: by noise costs more than noisier tables there (credit_default at ε = 0.3: TSTR/TRTR 0.87 with 10 %, 0.91
#: with 15 %, mean of 5 fits), while from ε = 1 up the 10 % already finds the tree and the pairs need the rest.
SMALL_EPSILON = 1.0
SMALL_EPSILON_SELECTION = 0.15

#: ε and δ of the DP fits made in this process, by fingerprint of the training table (never saved).
_RELEASES: dict[str, list[tuple[float, float]]] = {}

MECHANISM = (
    "MST-style marginal mechanism under zero-concentrated DP: noisy row count; per column a noisy "
    "range histogram, a noisy fine histogram (numeric) or noisy category counts kept above a "
    "threshold; a spanning tree of column pairs chosen by the exponential mechanism; Gaussian noise "
    "on each chosen pair's 2-way table; a tree-shaped graphical model fitted to the noisy tables and "
    "sampled (post-processing)."
)
NETWORK_MECHANISM = (
    "PrivBayes-style marginal mechanism under zero-concentrated DP: noisy row count; per column a noisy "
    "range histogram, a noisy fine histogram (numeric) or noisy category counts kept above a "
    "threshold; an order of the columns and each column's parents (at most max_parents, entering "
    "through coarsened codes) chosen by the exponential mechanism; Gaussian noise on each column's "
    "table given its parents; a Bayesian network fitted to the noisy tables and sampled (post-processing)."
)


def fingerprint(data: pd.DataFrame) -> str:
    """A hash of a table's values and column names (to notice that the same rows are fitted again)."""
    digest = hashlib.sha256("\x1f".join(map(str, data.columns)).encode())
    digest.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def shares(meta: Metadata, modelled: list[str], epsilon: float) -> dict[str, float]:
    """The budget split for this table: more for the structure below ε = 1 (see ``SMALL_EPSILON``);
    steps that have nothing to do give their share to the 1-way step."""
    out = dict(DEFAULT_SHARES)
    if epsilon < SMALL_EPSILON:
        out["pairs"] -= SMALL_EPSILON_SELECTION - out["selection"]
        out["selection"] = SMALL_EPSILON_SELECTION
    if not any(meta.columns[c].type in cols.NUMERIC_TYPES for c in modelled):
        out["one_way"] += out.pop("ranges")
    if len(modelled) < 2:
        out["one_way"] += out.pop("selection") + out.pop("pairs")
    return out


def previous_guarantees(previous: Any) -> list[dict[str, Any]]:
    """The guarantees of ``previous=`` (DP models, model files or dicts with ``epsilon`` and ``delta``)."""
    found = previous if isinstance(previous, (list, tuple)) else [previous] if previous else []
    out = []
    for item in found:
        if isinstance(item, (str, Path)):
            from simulacra.tabular.persistence import load

            item = load(item)
        guarantee = item.privacy_guarantee() if hasattr(item, "privacy_guarantee") else item
        if not isinstance(guarantee, dict) or "epsilon" not in guarantee or "delta" not in guarantee:
            raise InputError("previous= takes DP models, model files or dicts with 'epsilon' and 'delta'.")
        out.append(guarantee)
    return out


def warn_composition(table: pd.DataFrame, epsilon: float, delta: float, previous: list[dict[str, Any]]) -> None:
    """Record this release of ``table`` and warn when these rows were released before (in this process
    or in ``previous``). Call it from ``fit`` itself: the warning points at ``fit``'s caller."""
    key = fingerprint(table)
    earlier = _RELEASES.setdefault(key, [])
    prior = earlier + [(float(g["epsilon"]), float(g["delta"])) for g in previous]
    if prior:
        eps, dlt = epsilon + sum(e for e, _ in prior), delta + sum(d for _, d in prior)
        warnings.warn(
            f"These rows were already released under differential privacy {len(prior)} time(s) "
            f"(ε = {', '.join(f'{e:g}' for e, _ in prior)}); budgets add up: together the releases are "
            f"(ε = {eps:g}, δ = {dlt:.2g})-DP, not (ε = {epsilon:g}, δ = {delta:.2g}).",
            PrivacyBudgetWarning, stacklevel=3,
        )
    earlier.append((epsilon, delta))


def composed(epsilon: float, delta: float, previous: list[dict[str, Any]]) -> dict[str, float] | None:
    """The total budget of this release and the ``previous`` ones (None when there are none)."""
    if not previous:
        return None
    return {"epsilon": epsilon + sum(float(g["epsilon"]) for g in previous),
            "delta": delta + sum(float(g["delta"]) for g in previous), "releases": len(previous) + 1}


def warn_small(n_rows: int, budget: Budget, n_columns: int) -> None:
    """Warn when the 1-way noise is large against the rows (call it from ``fit`` itself, like :func:`warn_composition`)."""
    sigma = gaussian_sigma(budget.part("one_way") / max(n_columns, 1))
    error = 16 * sigma * math.sqrt(2 / math.pi) / 2 / max(n_rows, 1)  # expected TV error of a 16-cell histogram
    if error > 0.1:
        warnings.warn(
            f"{n_rows:,} rows are too few for ε = {budget.epsilon:g} over {n_columns} columns: the noise on "
            f"each column's distribution is about σ = {sigma:.0f} rows per cell (expected total-variation "
            f"error ≈ {min(error, 1.0):.0%}); expect mostly noise. Use more rows, fewer columns or a larger epsilon.",
            stacklevel=3,
        )


def guarantee(
    budget: Budget, ledger: list[dict[str, Any]], *, network: bool, secure: bool, public_columns: list[str],
    public_steps: list[str], composed: dict[str, float] | None, steps_read_from_rows: list[str],
) -> dict[str, Any]:
    """The guarantee as plain data: ε, δ, ρ, the mechanism, the budget split and the ledger."""
    split = budget.as_dict()
    spent: dict[str, float] = {}
    for entry in ledger:
        step = str(entry["step"]).split(" of ")[0].split(" ")[0]
        spent[step] = spent.get(step, 0.0) + float(entry["rho"])
    return {
        "guarantee": f"({split['epsilon']:g}, {split['delta']:.2g})-differential privacy",
        **split,
        "neighbouring": "add or remove one row",
        "accounting": "zero-concentrated DP (rho), converted with OpenDP's privacy profile",
        "mechanism": NETWORK_MECHANISM if network else MECHANISM,
        "secure_noise": secure,
        "rho_spent": float(sum(float(e["rho"]) for e in ledger)),
        "rho_by_step": spent,
        "public_columns": public_columns,
        "public_steps": list(public_steps),
        "ledger": [dict(e) for e in ledger],
        "composed": composed,
        **({"steps_read_from_rows": list(steps_read_from_rows)} if steps_read_from_rows else {}),
    }


def budget_from_guarantee(privacy: dict[str, Any]) -> Budget:
    """The budget saved in a model file's guarantee (see :func:`guarantee`)."""
    return Budget(float(privacy["epsilon"]), float(privacy["delta"]), float(privacy["delta_threshold"]),
                  {k: float(v["share"]) for k, v in privacy["split"].items()})
