"""Differentially private tabular synthesis: domains, a private tree of marginals, the synthesizer."""

from simulacra.tabular.dp.synthesizer import DPSynthesizer, PrivacyBudgetWarning

__all__ = ["DPSynthesizer", "PrivacyBudgetWarning"]
