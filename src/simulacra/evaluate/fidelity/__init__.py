"""Fidelity metrics: how closely the synthetic table reproduces the real one's statistics."""
