"""Tabular synthesizers: fit on real tables, sample new rows."""

from simulacra.tabular.base import BaseSynthesizer
from simulacra.tabular.registry import available_synthesizers, get_synthesizer_class, register

__all__ = ["BaseSynthesizer", "available_synthesizers", "get_synthesizer_class", "register"]
