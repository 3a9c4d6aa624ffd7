"""Every registered synthesizer passes the public battery."""

from __future__ import annotations

import pytest

from simulacra.tabular.registry import available_synthesizers, get_synthesizer_class
from simulacra.testing import check_synthesizer


@pytest.mark.parametrize("name", available_synthesizers())
def test_check_synthesizer(name):
    assert check_synthesizer(get_synthesizer_class(name)) == []
