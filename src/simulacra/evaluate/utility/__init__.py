"""Utility metrics: is a model trained on synthetic data as good as one trained on real data?"""
