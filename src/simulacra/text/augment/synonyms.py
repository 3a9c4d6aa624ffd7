"""Deprecated: renamed :mod:`simulacra.text.perturb.synonyms` (the old name clashed with :mod:`simulacra.augment`); names imported from
here still work, with a DeprecationWarning."""

from simulacra.text.perturb._moved import forwarder

__getattr__ = forwarder("simulacra.text.augment.synonyms", "simulacra.text.perturb.synonyms")
