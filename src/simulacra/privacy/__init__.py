"""Differential privacy: the accountant, the mechanisms and the empirical audit every DP model uses.

Budgets are tracked in zero-concentrated DP (ρ-zCDP, Bun & Steinke 2016): Gaussian measurements
compose by adding their ρ, and the total converts to the (ε, δ) the user asked for with OpenDP's
privacy-profile conversion. Nothing here knows a model or a table format.
"""

from simulacra.privacy.accounting import Budget, epsilon_for_rho, rho_for_epsilon
from simulacra.privacy.audit import AuditResult, epsilon_lower_bound
from simulacra.privacy.mechanisms import Mechanisms

__all__ = ["AuditResult", "Budget", "Mechanisms", "epsilon_for_rho", "epsilon_lower_bound", "rho_for_epsilon"]
