"""Saving and loading synthesizers: a model's plain state (``to_state``) in a model archive (``io``).

The archive format lives in :mod:`simulacra.io.model` and knows no model; each model turns itself
into plain state and back (:meth:`BaseSynthesizer.to_state` / :meth:`BaseSynthesizer.from_state`).
This module ties the two together, and only rebuilds classes that are registered synthesizers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import InputError, ModelFileError
from simulacra.io.model import model_key, read_archive, write_archive
from simulacra.tabular.base import BaseSynthesizer
from simulacra.tabular.registry import get_model_class


def save_model(
    model: BaseSynthesizer, path: str | Path, *, key: str | bytes | None = None, key_file: str | Path | None = None
) -> Path:
    """Write a fitted synthesizer to ``path``, signed when a key is given (see :func:`model_key`)."""
    state = model.to_state()
    header = {"class": state["class"], "model": state["model"], "params": state["params"]}
    return write_archive(
        path, header=header, metadata=state["metadata"], state=state["state"],
        key=model_key(key, key_file=key_file),
    )


#: rows a loaded single-table model draws before :func:`load` returns it (a file whose state loads but
#: cannot sample, e.g. an encoder's statistics replaced, is refused at load, not at the first sample)
SMOKE_ROWS = 8


def load(path: str | Path, *, key: str | bytes | None = None, key_file: str | Path | None = None) -> Any:
    """Load a synthesizer saved by ``save``; nothing in the file is executed.

    Only registered synthesizer classes are rebuilt, from JSON and numeric arrays. With a key
    (``key``, ``key_file`` or ``$SIMULACRA_MODEL_KEY``) the file must carry a signature made with it.
    A single-table model draws :data:`SMOKE_ROWS` rows (seeded, nothing kept) before it is returned.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
    >>> model = GaussianCopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": range(50)}))
    >>> path = model.save(os.path.join(tempfile.mkdtemp(), "m.model"))
    >>> load(path).sample(3, random_state=1).equals(model.sample(3, random_state=1))
    True
    """
    archive = read_archive(path, key=model_key(key, key_file=key_file))
    manifest = archive.manifest
    name = manifest.get("class")
    try:
        cls = get_model_class(str(name))
    except InputError:
        raise ModelFileError(
            f"'{path}' holds a model of class {name!r}, which is not a registered synthesizer; install or "
            "import the package that provides it."
        ) from None
    if not isinstance(name, str) or cls.__name__ != name:
        raise ModelFileError(f"'{path}' holds a model of class {name!r}, which is not a registered synthesizer.")
    params = manifest.get("params") or {}
    if not isinstance(params, dict):
        raise ModelFileError(f"'{path}' is corrupt: its parameters are not a JSON object.")
    try:
        model = cls.from_state({"params": params, "metadata": archive.metadata, "state": archive.state})
        if isinstance(model, BaseSynthesizer):  # a state that loads but cannot sample is corrupt too
            model._sample_block(SMOKE_ROWS, np.random.default_rng(0), 0, None)
        return model
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as exc:
        raise ModelFileError(
            f"'{path}' is corrupt or was saved by an incompatible simulacra ({type(exc).__name__}: {exc}); "
            "re-fit the model with this version and save it again."
        ) from None


#: The old name of :func:`load`.
load_model = load
