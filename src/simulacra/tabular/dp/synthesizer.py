"""DPSynthesizer: synthetic tables with an (ε, δ)-differential privacy guarantee."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata import Metadata, check_frame
from simulacra.privacy.accounting import Budget, check_budget
from simulacra.privacy.mechanisms import Mechanisms, gaussian_sigma
from simulacra.random import resolve_seed
from simulacra.tabular.base import BaseSynthesizer, _as_metadata
from simulacra.tabular.constraints import ConstraintSet
from simulacra.tabular.dp import columns as cols
from simulacra.tabular.dp import guarantee as gtee
from simulacra.tabular.dp.domain import CategoricalDomain, NumericDomain, fit_categorical, fit_numeric, release_step
from simulacra.tabular.dp import network as net
from simulacra.tabular.dp.guarantee import (  # the names this module has always offered
    MECHANISM, NETWORK_MECHANISM, SMALL_EPSILON, SMALL_EPSILON_SELECTION, PrivacyBudgetWarning, fingerprint,
)
from simulacra.tabular.dp.tree import TreeModel, combine_marginals, fit_tables, measure_edges, select_tree
from simulacra.tabular.registry import register
from simulacra.transform.timedelta import STEPS

__all__ = ["DPSynthesizer", "MECHANISM", "NETWORK_MECHANISM", "PrivacyBudgetWarning", "RULE_ROWS", "SMALL_EPSILON",
           "SMALL_EPSILON_SELECTION", "fingerprint"]

#: Rows drawn from the released model to prepare the declared rules (their number formats), never training rows.
RULE_ROWS = 2000


@register
class DPSynthesizer(BaseSynthesizer):
    """A differentially private synthesizer: (ε, δ)-DP with respect to adding or removing one row.

    Everything the model keeps is computed under the budget: the row count, each column's range and
    shape (or the public bounds you declare), the categories (kept only above a noisy threshold, or
    the public list you declare), and the noisy tables of a structure chosen privately: a tree of column
    pairs, or a Bayesian network in which each column has up to ``max_parents`` parents.
    Sampling, conditions, imputation and the rules declared in the metadata's constraints use the
    released model only (post-processing): rules that compute a column (derived, sum) set it, the
    others redraw the rows that break them; rules learned from the data are refused.

    Parameters
    ----------
    epsilon, delta : float
        The privacy budget; δ must be below 1/n (1/n² or smaller is advised).
    bounds : dict or path, optional
        Public domains, not paid for with the budget: ``{"age": [17, 90], "sex": ["F", "M"]}``.
        Values outside are clipped into them (numbers) or refused (categories). Dates and durations
        may declare their resolution, ``{"when": {"step": "1h"}}``; otherwise it is released under the budget.
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted (types are treated as public).
    random_state : int, optional
        Seed. With a seed the noise comes from numpy and a fit is repeatable; without one it comes
        from OpenDP's discrete Gaussian sampler (``secure``), as a real release should.
    secure : bool, optional
        Force the OpenDP sampler on or off (default: on exactly when ``random_state`` is None).
    previous : list, optional
        Guarantees (dicts with ``epsilon``/``delta``, or DP models) already released from the same
        rows: the model then reports the total budget spent on them, and warns.
    max_parents : int or "auto", optional
        Parents per column: 1 is the tree (MST-style), 2 or 3 a Bayesian network (PrivBayes-style)
        whose parents enter through coarsened codes. "auto" (default) takes the most parents whose
        tables the noise still leaves room for (:func:`~simulacra.tabular.dp.network.auto_parents`):
        the tree at small ε or few rows, 2–3 parents from about ε = 1 up on tables of tens of thousands of rows.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": list(range(2000)), "g": ["a", "b"] * 1000})
    >>> synth = DPSynthesizer(epsilon=1.0, delta=1e-7, random_state=0).fit(df)
    >>> synth.sample(3).shape
    (3, 2)
    """

    name = "dp"
    supports_conditions = False
    default_rank = 0
    exact_domain = False
    differentially_private = True

    def __init__(
        self, *, epsilon: float = 1.0, delta: float = 1e-6, bounds: Any = None, metadata: Any = None,
        random_state: int | None = None, secure: bool | None = None, previous: Any = None,
        max_parents: int | str = "auto",
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.bounds = bounds
        self.metadata = metadata
        self.random_state = random_state
        self.secure = secure
        self.previous = previous
        self.max_parents = max_parents

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> DPSynthesizer:
        """Fit under the budget; returns self. The caller's frame is neither modified nor kept."""
        check_frame(data)
        self._check_max_parents()  # before the release is recorded (_warn_composition): a refused fit spends nothing
        given = _as_metadata(self.metadata)
        meta = Metadata.detect(data) if given is None else given.model_copy(deep=True)
        meta.validate_data(data)
        rules = ConstraintSet.parse(meta.constraints)
        rules.check_released(meta)  # before any budget is spent: no rule learned from the data
        table = data[list(meta.columns)]
        text = [c for c, col in meta.columns.items() if col.type == "text"]
        if text:
            raise InputError(f"DPSynthesizer cannot model free text (column {', '.join(map(repr, text))}); drop it or declare it categorical.")
        epsilon, delta = check_budget(self.epsilon, self.delta, len(table))
        bounds = cols.load_bounds(self.bounds, meta)  # a bounds file is read once
        zones = cols.read_zones(table, meta)  # schema, like the dtype; a column mixing zones is refused here
        public = cols.read_bounds(bounds, meta, zones)
        declared = cols.read_steps(bounds, meta)  # before the release is recorded, like the bounds
        self._check_public_categories(table, meta, public)
        previous = gtee.previous_guarantees(self.previous)
        gtee.warn_composition(table, epsilon, delta, previous)
        table = cols.wall_times(table, meta, zones)  # dates with a zone: measured on its wall clock
        modelled = [c for c, col in meta.columns.items() if col.type != "id"]
        discovered = [c for c in modelled if meta.columns[c].type in cols.CATEGORY_TYPES and c not in public
                      and not (meta.columns[c].type == "boolean" and table[c].dtype == bool)]
        budget = Budget(epsilon, delta, delta / 2 if discovered else 0.0, gtee.shares(meta, modelled, epsilon))
        seed = resolve_seed(self.random_state)
        secure = self.random_state is None if self.secure is None else bool(self.secure)
        mech = Mechanisms(np.random.default_rng(seed), secure=secure)
        n_noisy = float(mech.gaussian_counts(np.array([len(table)]), budget.part("rows"), "row count")[0])
        n_noisy = max(n_noisy, 1.0)
        gtee.warn_small(len(table), budget, len(modelled))
        # the resolution of dates and durations (whole days, hours, ...): declared in the bounds, or released
        # from the ranges' share (one more measurement beside the numeric columns' range histograms)
        timed = [c for c in modelled if meta.columns[c].type in ("datetime", "timedelta")]
        n_numeric = sum(meta.columns[c].type in cols.NUMERIC_TYPES for c in modelled)
        rho_range = budget.part("ranges") / max(n_numeric + sum(c not in declared for c in timed), 1)
        self.domains_ = self._fit_domains(table, meta, modelled, public, mech, budget, n_noisy, len(discovered),
                                          rho_range)
        self.steps_ = {c: declared[c] if c in declared else release_step(
            cols.numeric_values(table[c], meta.columns[c]), STEPS if meta.columns[c].type == "timedelta" else STEPS[:4],
            mech, rho_range, c) for c in timed}
        self.public_steps_ = sorted(c for c in timed if c in declared)
        self.zones_ = zones
        self.steps_read_from_rows_: list[str] = []
        codes = [self._codes(table[c], meta.columns[c], self.domains_[c]) for c in modelled]
        marginals = [self.domains_[c].marginal() for c in modelled]
        sigma_one = gaussian_sigma(budget.part("one_way") / max(len(modelled), 1))
        variances = [self.domains_[c].code_variance(sigma_one ** 2) for c in modelled]
        sizes = [m.size for m in marginals]
        k = self._parents(budget, n_noisy, sizes)
        self.tree_: TreeModel | net.NetworkModel
        if k > 1 and len(modelled) > 1:  # the network spends the pairs' share on its (child × parents) tables
            budget.shares["tables"] = budget.shares.pop("pairs")
            self.tree_ = self._fit_network(codes, marginals, variances, modelled, k, mech, budget, n_noisy)
        else:
            edges = select_tree(codes, sizes, mech, budget.part("selection"), modelled)
            noisy = measure_edges(codes, sizes, edges, mech, budget.part("pairs"), modelled)
            # post-processing: every noisy table a column is in also measures its marginal
            pair_var = gaussian_sigma(budget.part("pairs") / max(len(edges), 1)) ** 2 if edges else 1.0
            marginals = combine_marginals(marginals, variances, edges, noisy, pair_var, n_noisy)
            self.tree_ = TreeModel(marginals, edges, fit_tables(marginals, edges, noisy))
        self.parents_ = k if isinstance(self.tree_, net.NetworkModel) else 1  # one column: no network to fit
        self.modelled_ = modelled
        self.budget_ = budget
        self.ledger_ = mech.ledger
        self.secure_ = secure
        self.clipped_rows_ = {c: d.clipped for c, d in self.domains_.items() if isinstance(d, NumericDomain) and d.clipped}
        for c, k in self.clipped_rows_.items():
            warnings.warn(f"Column '{c}': {k:,} rows lie outside the public bounds and were clipped into them.",
                          stacklevel=2)
        self.metadata_ = self.model_metadata_ = self._released_metadata(meta)
        self.constraints_ = ConstraintSet([])
        self.columns_ = [str(c) for c in data.columns]
        self.dtypes_ = {c: _released_dtype(meta.columns[c], self.domains_.get(c)) for c in meta.columns}
        self.n_training_rows_ = int(round(n_noisy))
        self.composed_ = gtee.composed(epsilon, delta, previous)
        self._sample_rng_ = np.random.default_rng(resolve_seed(self.random_state))
        if rules.active or any(col.type == "id" for col in meta.columns.values()):
            # post-processing: the rules (and the fresh keys of id columns, which rows redrawn for rules
            # or conditions need) are prepared from the released model's own rows
            released = self._sample_block(RULE_ROWS, np.random.default_rng(0), 0, None)
            self.constraints_ = rules.fit_released(released, self.metadata_)
            _warn_rare_rules(self.constraints_, released)
        return self

    def _check_max_parents(self) -> None:
        k = self.max_parents
        if k != "auto" and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= 3):
            raise InputError(f"max_parents must be 1, 2, 3 or 'auto', got {k!r}.")

    def _parents(self, budget: Budget, n_noisy: float, sizes: list[int]) -> int:
        """Parents per column: ``max_parents``, or with "auto" :func:`~simulacra.tabular.dp.network.auto_parents`
        (1, the tree, where the tables' noise leaves no room for a finer parent code: small ε or few rows)."""
        if self.max_parents != "auto":
            return int(self.max_parents)
        if len(sizes) < 2:
            return 1
        return net.auto_parents(n_noisy, gaussian_sigma(budget.part("pairs") / max(len(sizes) - 1, 1)), sizes)

    def _fit_network(
        self, codes: list[np.ndarray], marginals: list[np.ndarray], variances: list[np.ndarray], modelled: list[str],
        k: int, mech: Mechanisms, budget: Budget, n_noisy: float,
    ) -> net.NetworkModel:
        sigma = gaussian_sigma(budget.part("tables") / max(len(modelled) - 1, 1))
        numeric = [isinstance(self.domains_[c], NumericDomain) for c in modelled]
        missing = [isinstance(self.domains_[c], NumericDomain) and self.domains_[c].missing for c in modelled]
        cols_ = net._Columns(codes, marginals, numeric, missing, n_noisy / (net.CELL_NOISE * sigma))
        chosen = net.select_network(cols_, k, mech, budget.part("selection"), sigma, n_noisy)
        noisy, maps = net.measure_network(cols_, chosen, mech, budget.part("tables"), modelled)
        return net.fit_network(cols_, [(c, ps) for c, ps, _ in chosen], noisy, maps, variances, n_noisy, sigma)

    def _fit(self, data: pd.DataFrame) -> None:  # fit() is overridden: nothing is learned outside the budget
        raise NotImplementedError

    def _fit_domains(
        self, table: pd.DataFrame, meta: Metadata, modelled: list[str], public: dict[str, Any], mech: Mechanisms,
        budget: Budget, n_noisy: float, n_discovered: int, rho_range: float,
    ) -> dict[str, NumericDomain | CategoricalDomain]:
        numeric = [c for c in modelled if meta.columns[c].type in cols.NUMERIC_TYPES]
        rho_one = budget.part("one_way") / max(len(modelled), 1)
        pairs = max(len(modelled) - 1, 1)
        tables = budget.part("pairs")  # the tree's pairs, or the network's tables (they take over this share later)
        sigma_pair = gaussian_sigma(tables / pairs) if tables > 0 else 1.0
        bins = int(np.clip(n_noisy / (48.0 * sigma_pair), 4, 16))
        # fine cells: about 4 noise widths of rows per cell on average, so the shape is not mostly noise
        cells = int(np.clip(n_noisy / (4.0 * gaussian_sigma(rho_one)), 16, 128))
        out: dict[str, NumericDomain | CategoricalDomain] = {}
        for c in modelled:
            col = meta.columns[c]
            if c in numeric:
                values = cols.numeric_values(table[c], col)
                integer = bool(getattr(col, "integer", False)) or col.type == "datetime"
                out[c] = fit_numeric(values, mech, rho_range, rho_one, n_noisy, integer=integer, bounds=public.get(c),
                                     cells=cells, bins=bins, name=c, zoom=col.type in ("datetime", "timedelta"))
            else:
                labels = public.get(c)
                if labels is None and col.type == "boolean" and table[c].dtype == bool:
                    labels = [False, True]
                out[c] = fit_categorical(table[c], mech, rho_one, public=labels, delta=budget.delta_threshold or 1.0,
                                         n_columns=max(n_discovered, 1), n_rows=n_noisy, name=c)
        return out

    @staticmethod
    def _codes(series: pd.Series, col: Any, domain: NumericDomain | CategoricalDomain) -> np.ndarray:
        if isinstance(domain, NumericDomain):
            return domain.codes(cols.numeric_values(series, col))
        return domain.codes(series)

    def _check_public_categories(self, table: pd.DataFrame, meta: Metadata, public: dict[str, Any]) -> None:
        for c, labels in public.items():
            if meta.columns[c].type not in cols.CATEGORY_TYPES:
                continue
            values = table[c].dropna()
            outside = values[~values.isin(labels)]
            if len(outside):
                raise InputError(
                    f"Column '{c}' has {len(outside):,} rows with categories outside its public domain "
                    f"(e.g. {outside.iloc[0]!r}); add them to the bounds or clean the data."
                )

    def _released_metadata(self, meta: Metadata) -> Metadata:
        """The metadata with every data-derived bound replaced by the released (noisy or public) one."""
        out = meta.model_copy(deep=True)
        for c, domain in self.domains_.items():
            col: Any = out.columns[c]
            if isinstance(domain, NumericDomain):
                lo, hi = domain.range()
                if col.type == "datetime":
                    stamps = cols.seconds_to_datetimes(np.array([lo, hi]))
                    if c in self.zones_:
                        stamps = cols.localize_wall_times(stamps, self.zones_[c])
                    col.minimum, col.maximum = str(stamps.iloc[0]), str(stamps.iloc[1])
                else:
                    col.minimum, col.maximum = lo, hi
        return out

    # -- sample --------------------------------------------------------------------------------
    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        codes = dict(zip(self.modelled_, self.tree_.sample(n, rng)))
        out: dict[str, pd.Series] = {}
        for c, col in self.model_metadata_.columns.items():
            dtype = self.dtypes_.get(c, "object")
            if col.type == "id":
                out[c] = cols.id_series(first_row, n, bool(getattr(col, "integer", False)), c)
                continue
            domain = self.domains_[c]
            if isinstance(domain, NumericDomain):
                values = domain.decode(codes[c], rng)
                values[codes[c] == len(domain.bounds) - 1] = np.nan  # the missing code
                step = self.steps_.get(c, 0.0)
                if step:  # inside the public bounds and the calendar: rounding must not carry a value past them
                    low, high = domain.range() if domain.public else (-np.inf, np.inf)
                    if col.type == "datetime":
                        low, high = max(low, cols.CALENDAR_SECONDS[0]), min(high, cols.CALENDAR_SECONDS[1])
                    values = cols.round_to_step(values, step, low, high)
                out[c] = cols.numeric_series(values, col, dtype, c, self.zones_.get(c))
            else:
                out[c] = cols.category_series(codes[c], domain.labels, domain.other, c, dtype)
        return pd.DataFrame(out)

    # -- state ---------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        state = super().to_state()
        state["params"]["previous"] = None  # models are not parameters of a file; the totals are in the state
        if isinstance(state["params"].get("bounds"), (str, Path)):
            state["params"]["bounds"] = str(state["params"]["bounds"])
        return state

    def _get_state(self) -> dict[str, Any]:
        return {
            "modelled": list(self.modelled_),
            "domains": {c: d.get_state() for c, d in self.domains_.items()},
            "tree": self.tree_.get_state(),
            "max_parents": self.parents_,
            "dtypes": dict(self.dtypes_),
            "steps": dict(self.steps_),
            "public_steps": list(self.public_steps_),
            "zones": dict(self.zones_),
            "privacy": self.privacy_guarantee(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.modelled_ = [str(c) for c in state["modelled"]]
        self.domains_ = {
            c: NumericDomain.from_state(d) if d["kind"] == "numeric" else CategoricalDomain.from_state(d)
            for c, d in state["domains"].items()
        }
        if state["tree"].get("kind") == net.NetworkModel.kind:
            self.tree_ = net.NetworkModel.from_state(state["tree"], len(self.modelled_))
        else:  # files saved before the network (session 10) hold a tree
            self.tree_ = TreeModel.from_state(state["tree"], len(self.modelled_))
        self.parents_ = int(state.get("max_parents", 1))
        self.dtypes_ = dict(state["dtypes"])
        self.steps_ = {str(c): float(v) for c, v in state.get("steps", {}).items()}
        self.public_steps_ = [str(c) for c in state.get("public_steps", [])]  # files before session 10: none declared
        self.zones_ = {str(c): str(z) for c, z in state.get("zones", {}).items()}  # older files: dates in UTC, no zone
        # files saved before the step was released read it from the training rows, outside the budget: say so
        # (and keep saying so when such a model is saved again)
        self.steps_read_from_rows_ = sorted(self.steps_) if "public_steps" not in state else \
            [str(c) for c in state["privacy"].get("steps_read_from_rows", [])]
        privacy = state["privacy"]
        self.budget_ = gtee.budget_from_guarantee(privacy)
        self.ledger_ = list(privacy["ledger"])
        self.secure_ = bool(privacy["secure_noise"])
        self.composed_ = privacy.get("composed")
        self.clipped_rows_ = {}

    def privacy_guarantee(self) -> dict[str, Any]:
        """The guarantee as plain data: ε, δ, ρ, the mechanism, the budget split and the ledger."""
        self._check_fitted()
        return gtee.guarantee(
            self.budget_, self.ledger_, network=isinstance(self.tree_, net.NetworkModel), secure=self.secure_,
            public_columns=sorted(c for c, d in self.domains_.items() if d.public), public_steps=self.public_steps_,
            composed=self.composed_, steps_read_from_rows=self.steps_read_from_rows_,
        )

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["privacy"] = {k: v for k, v in self.privacy_guarantee().items() if k != "ledger"}
        columns: dict[str, Any] = {}
        for c, d in self.domains_.items():
            if isinstance(d, NumericDomain):
                lo, hi = d.range()
                columns[c] = {"type": "numeric", "bins": len(d.bounds) - 1, "cells": len(d.edges) - 1,
                              "quantiles": {"min": lo, "max": hi}, "public": d.public,
                              "missing_rate": float(d.probs[-1])}
                if c in self.zones_:
                    columns[c]["zone"] = self.zones_[c]
            else:
                columns[c] = {"type": "categorical", "top": ", ".join(map(str, d.labels[:8])), "kept": len(d.labels),
                              "other": d.other, "public": d.public}
        info["columns"] = columns
        info["tree"] = [[self.modelled_[i], self.modelled_[j]] for i, j in self.tree_.edges]
        if isinstance(self.tree_, net.NetworkModel):
            info["parents"] = {self.modelled_[c]: [self.modelled_[p] for p in s] for c, s in self.tree_.chosen}
        return info


def _warn_rare_rules(rules: ConstraintSet, released: pd.DataFrame) -> None:
    """Warn at fit when the released model seldom meets the declared rules (sampling redraws, or fails)."""
    if not rules.active:
        return
    table, broken = rules.reverse(released)
    ok = int((~broken & rules.valid(table)).sum())
    if ok >= 0.05 * len(table):
        return
    bad = {i: int(v.sum()) for i, v in rules.violations(table).items()}
    worst = max(bad, key=lambda i: bad[i]) if bad else 0
    warnings.warn(
        f"Only {ok:,} of {len(table):,} rows drawn from the released model meet the declared rules "
        f"({rules.constraints[worst].label()} fails in {bad.get(worst, 0):,}); sampling redraws about "
        f"{len(table) / max(ok, 1):,.0f} rows per row kept, and stops with an error if none qualify. "
        "Check the rule against the data's range, or fit with a larger epsilon.",
        stacklevel=3,
    )


def _released_dtype(col: Any, domain: NumericDomain | CategoricalDomain | None) -> str:
    """The output dtype from the type and the released domain only (the frame's dtype would tell,
    for instance, whether any row has a missing number)."""
    if isinstance(domain, NumericDomain):
        if col.type != "numerical":
            return "object"
        if col.integer:
            return "Int64" if domain.missing else "int64"
        return "float64"
    if isinstance(domain, CategoricalDomain) and domain.public and domain.labels == [False, True] and not domain.missing:
        return "bool"
    if col.type == "id":
        return "int64" if getattr(col, "integer", False) else "object"
    return "object"

