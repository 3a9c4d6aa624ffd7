"""Saving and loading a fitted :class:`~simulacra.tabular.sequence.SequenceSynthesizer` as plain state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simulacra.tabular._sequence_common import FactorModel
from simulacra.tabular._steps import ColumnPlan, StepModel

if TYPE_CHECKING:
    from simulacra.tabular.sequence import SequenceSynthesizer


def to_state(model: SequenceSynthesizer) -> dict[str, Any]:
    """The fitted ``model`` as plain state (JSON values and numeric arrays), as for single-table models."""
    entity = model.entity_model_.to_state()
    return {
        "class": type(model).__name__, "model": model.name, "params": model.get_params(),
        "metadata": entity["metadata"],
        "state": {
            "columns": model.columns_, "dtypes": model.dtypes_, "statics": model.statics_,
            "categories": model.categories_, "static_codes": model.static_codes_, "time": model.time_,
            "missing": model.missing_, "n_entities": model.n_entities_, "n_training_rows": model.n_training_rows_,
            "entity_prefix": model.entity_prefix_, "plans": [p.to_dict() for p in model.plans_],
            "entity_sizes": model.entity_sizes_,
            "calendar": None if model.calendar_ is None else np.asarray(model.calendar_, dtype=float),
            "factor": None if model.factor_ is None else model.factor_.get_state(),
            "loadings": model.loadings_,
            "steps": {k: m.get_state() for k, m in model.steps_.items()}, "entity_model": entity,
        },
    }


def from_state(cls: type[SequenceSynthesizer], state: dict[str, Any], known: tuple[str, ...]) -> SequenceSynthesizer:
    """A fitted ``cls`` rebuilt from :func:`to_state`'s output; ``known``: the parameters it may name."""
    from simulacra.tabular.autoreg import AutoregressiveSynthesizer

    params = cls._saved_params(state, known)
    model = cls(**params)
    body = state["state"]
    model.columns_ = [str(c) for c in body["columns"]]
    model.dtypes_ = {str(k): str(v) for k, v in body["dtypes"].items()}
    model.statics_ = [str(c) for c in body["statics"]]
    model.categories_ = {str(k): list(v) for k, v in body["categories"].items()}
    model.static_codes_ = {str(k): list(v) for k, v in body["static_codes"].items()}
    model.time_ = dict(body["time"])
    model.missing_ = {str(k): float(v) for k, v in body["missing"].items()}
    model.n_entities_, model.n_training_rows_ = int(body["n_entities"]), int(body["n_training_rows"])
    model.entity_prefix_ = str(body["entity_prefix"])
    model.plans_ = [ColumnPlan(**p) for p in body["plans"]]
    model.entity_sizes_ = bool(body.get("entity_sizes", False))  # False in models saved before them
    # models saved before the common factor have neither: entities drawn one by one, as then
    calendar = body.get("calendar")
    model.calendar_ = None if calendar is None else np.asarray(calendar, dtype=float)
    model.factor_ = None if body.get("factor") is None else FactorModel.from_state(body["factor"])
    model.loadings_ = {str(k): float(v) for k, v in (body.get("loadings") or {}).items()}
    model.steps_ = {str(k): StepModel.from_state(v) for k, v in body["steps"].items()}
    entity = body["entity_model"]
    model.entity_model_ = AutoregressiveSynthesizer.from_state(entity)  # type: ignore[assignment]
    model._sample_rng_ = np.random.default_rng(params.get("random_state"))
    return model
