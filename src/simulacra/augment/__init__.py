"""Augmentation and the uplift experiment: balance and enlarge tables with a synthesizer, augment text
(EDA, LLM paraphrases with a label-consistency filter), and measure whether it helps a downstream model.

Examples
--------
>>> import simulacra.augment as aug
>>> sorted(aug.TABLE_METHODS)
['none', 'random', 'smote', 'synth', 'synth-conditional', 'synth-per-class', 'synth-unfiltered']
"""

from simulacra.augment.methods import TABLE_METHODS, TEXT_METHODS
from simulacra.augment.tables import balance_table, class_targets, mix_table, sample_query
from simulacra.augment.text import LabelConsistencyFilter, llm_augment
from simulacra.augment.uplift import UpliftResult, run_table_uplift, run_text_uplift

__all__ = [
    "TABLE_METHODS",
    "TEXT_METHODS",
    "LabelConsistencyFilter",
    "UpliftResult",
    "balance_table",
    "class_targets",
    "llm_augment",
    "mix_table",
    "run_table_uplift",
    "run_text_uplift",
    "sample_query",
]
