"""What the models of several rows at once (sequences, related tables) share: saving, fitted checks, seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from simulacra.errors import ModelFileError, NotFittedError


class CompositeModel:
    """Mixin: ``save`` through the model archive, ``is_fitted`` from one fitted attribute, sampling seeds."""

    #: The attribute that ``fit`` sets last; the model is fitted when it exists.
    _fitted_attribute: ClassVar[str] = ""
    #: What ``fit`` takes, for the not-fitted message.
    _fit_argument: ClassVar[str] = "data"
    _sample_rng_: np.random.Generator

    def save(self, path: str | Path, *, key: str | bytes | None = None, key_file: str | Path | None = None) -> Path:
        """Write the fitted model to ``path`` (one archive of JSON and arrays, no pickle; signed with a key)."""
        from simulacra.tabular.persistence import save_model

        return save_model(self, path, key=key, key_file=key_file)  # type: ignore[arg-type]

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit({self._fit_argument}) "
                                 "before sample().")

    @classmethod
    def _saved_params(cls, state: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
        """The constructor parameters of a saved model's state; a clear error when it names one unknown here."""
        params = dict(state.get("params") or {})
        unknown = set(params) - set(known)
        if unknown:
            raise ModelFileError(f"The saved parameters {sorted(unknown)} are unknown to {cls.__name__}; re-fit the model.")
        return params

    def _rng(self, random_state: Any) -> np.random.Generator:
        """The generator of one sampling call: a fresh stream of the model's own when none is given."""
        if random_state is None:
            return np.random.default_rng(int(self._sample_rng_.integers(2**62)))
        if isinstance(random_state, np.random.Generator):
            return random_state
        return np.random.default_rng(random_state)
