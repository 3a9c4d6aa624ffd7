"""simulacra: synthetic data you can measure.

Tabular synthesizers, data from declarative specs, LLM-made text, and an evaluation of fidelity,
utility, privacy and bias. Heavy submodules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "AutoregressiveSynthesizer": "simulacra.tabular.autoreg",
    "BaseSynthesizer": "simulacra.tabular.base",
    "DPSynthesizer": "simulacra.tabular.dp",
    "DecisionTreeSynthesizer": "simulacra.tabular.trees",
    "GaussianMixtureSynthesizer": "simulacra.tabular.gmm",
    "EDA": "simulacra.text.perturb",
    "GaussianCopulaSynthesizer": "simulacra.tabular.copula",
    "Metadata": "simulacra.metadata",
    "MultiTableMetadata": "simulacra.metadata",
    "RelationalSynthesizer": "simulacra.tabular.relational",
    "Report": "simulacra.evaluate:Report",
    "SequenceSynthesizer": "simulacra.tabular.sequence",
    "SimulacraError": "simulacra.errors",
    "Spec": "simulacra.spec",
    "infer_spec": "simulacra.spec",
    "available_synthesizers": "simulacra.tabular.registry",
    "default_synthesizer_name": "simulacra.tabular.registry",
    "discover_rules": "simulacra.rules",
    "balance_table": "simulacra.augment",
    "mix_table": "simulacra.augment",
    "run_table_uplift": "simulacra.augment",
    "run_text_uplift": "simulacra.augment",
    "evaluate": "simulacra.evaluate:evaluate",
    "evaluate_sequences": "simulacra.evaluate.sequence",
    "evaluate_tables": "simulacra.evaluate.multi_table",
    "fit_large": "simulacra.scale.fit",
    "stream_stats": "simulacra.scale.stats",
    "get_synthesizer_class": "simulacra.tabular.registry",
    "load": "simulacra.tabular.persistence:load",
    "sample_to": "simulacra.scale.api",
    "split_table": "simulacra.tabular.split",
    "split_tables": "simulacra.tabular.split",
    "read_table": "simulacra.io",
    "write_table": "simulacra.io",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'simulacra' has no attribute '{name}'")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
