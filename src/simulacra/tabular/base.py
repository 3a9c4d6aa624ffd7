"""The synthesizer contract shared by every tabular model (scikit-learn's rules, kept strictly)."""

from __future__ import annotations

import inspect
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from simulacra.errors import ConstraintError, InputError, ModelFileError, NotFittedError
from simulacra.metadata import Metadata, check_frame
from simulacra._deprecation import renamed
from simulacra.random import BLOCK_CELLS as BLOCK_CELLS  # re-exported: importable from here before
from simulacra.random import BLOCK_ROWS as BLOCK_ROWS
from simulacra.random import RandomState, block_rng, block_rows_for, blocks_of, resolve_seed
from simulacra.tabular._floors import floor_metadata
from simulacra.tabular.constraints import ConstraintSet
from simulacra.tabular.sampling import Plan, check_conditions, sample_valid

def _as_metadata(metadata: Any) -> Metadata | None:
    if metadata is None or isinstance(metadata, Metadata):
        return metadata
    if isinstance(metadata, dict):
        return Metadata.from_dict(metadata)
    if isinstance(metadata, (str, Path)):
        return Metadata.load(metadata)
    raise InputError(f"metadata must be a Metadata, a dict or a JSON path, got {type(metadata).__name__}")


class BaseSynthesizer(ABC):
    """Base class of every tabular synthesizer.

    Subclasses implement ``_fit(data)``, ``_sample_block(n, rng, first_row, conditions)``,
    ``_get_state()`` and ``_set_state(state)``; parameters are keyword-only and stored unchanged.
    ``_get_state`` returns the learned state as JSON values and numeric numpy arrays, and
    ``_set_state`` restores it: :meth:`to_state` and :meth:`from_state` build on them, so a model
    turns itself into plain state and back without anyone setting its attributes from outside.

    Fitted state ends in ``_``: ``metadata_`` is the user's metadata (given or detected);
    ``model_metadata_`` describes the table the model itself learns, after the constraints declared
    in the metadata reparameterize it (the same object when no constraint changes columns).
    Constraints are handled here for every model: ``_fit`` sees that reparameterized table, and sampled rows are mapped back,
    checked, and redrawn where invalid. Conditions a model cannot honour natively
    (``supports_conditions = False``) are met the same way; ``impute`` falls back to matching rows
    of the model's own samples unless the model implements ``_impute``.
    """

    #: Short name used by the CLI (``--model``) and the registry.
    name: ClassVar[str] = ""
    supports_conditions: ClassVar[bool] = False
    #: Higher is preferred when the user does not pick a model.
    default_rank: ClassVar[int] = 0
    #: Samples stay inside the training data's observed bounds, dates and constant values. False for
    #: differentially private models, whose domains are noisy or public (knowing the real extremes leaks).
    exact_domain: ClassVar[bool] = True
    #: Fitted under a differential-privacy budget: refitting (or fitting another model on the same rows)
    #: spends more of it, so advice never suggests it.
    differentially_private: ClassVar[bool] = False
    #: Parameters added after models were first saved, with the value that reproduces what a file saved
    #: before them was fitted with (a missing key is read as this, not as today's default).
    _params_before_added: ClassVar[dict[str, Any]] = {}

    metadata: Any
    random_state: Any

    if TYPE_CHECKING:  # the constructor contract of every subclass (keyword-only parameters)
        def __init__(self, *, metadata: Any = None, random_state: int | None = None, **params: Any) -> None: ...

    # -- parameters --------------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseSynthesizer:
        unknown = set(params) - set(self._param_names())
        if unknown:
            raise InputError(f"Unknown parameters for {type(self).__name__}: {', '.join(sorted(unknown))}")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in self.get_params().items() if k != "metadata" and v is not None
        )
        return f"{type(self).__name__}({shown})"

    # -- fitting -----------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "metadata_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(data) before sample()."
            )

    def fit(self, data: pd.DataFrame) -> BaseSynthesizer:
        """Learn the table; returns self. The caller's frame is never modified nor kept."""
        check_frame(data)
        meta = _as_metadata(self.metadata)
        meta = Metadata.detect(data) if meta is None else meta.model_copy(deep=True)
        meta.validate_data(data)
        meta = floor_metadata(meta, data, self._privacy_count())
        table = data[list(meta.columns)]
        constraints = ConstraintSet.parse(meta.constraints).fit(table, meta, min_count=self._privacy_count())
        if constraints.touched():
            model_meta, table = constraints.model_metadata(meta), constraints.transform(table)
        else:
            model_meta = meta
        self.metadata_, self.constraints_, self.model_metadata_ = meta, constraints, model_meta
        self.columns_ = [str(c) for c in data.columns]
        self.n_training_rows_ = len(data)
        self._sample_rng_ = np.random.default_rng(resolve_seed(self.random_state))
        self._fit(table)
        return self

    def _privacy_count(self) -> int:
        """Values seen in fewer rows than this are never reproduced verbatim (``min_category_count``)."""
        return int(getattr(self, "min_category_count", 5) or 1)

    @abstractmethod
    def _fit(self, data: pd.DataFrame) -> None: ...

    # -- sampling ----------------------------------------------------------------------------
    def sample(
        self,
        n_rows: int,
        *,
        random_state: RandomState = None,
        conditions: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Sample ``n_rows`` new rows.

        ``random_state`` fixes the rows; when None, rows come from the stream seeded at construction,
        so a new synthesizer fitted and sampled with the same ``random_state`` gives the same rows.
        ``conditions`` maps columns to the value (or list of values; None for missing) every sampled
        row must have: exactly ``n_rows`` such rows come back, or a ``ConstraintError`` when the
        condition is impossible for the model. Every row obeys the metadata's constraints.
        """
        self._check_fitted()
        n_rows = _check_n_rows(n_rows)
        return self.sample_range(0, n_rows, random_state=self.sampling_seed(random_state), conditions=conditions)

    def sampling_seed(self, random_state: RandomState = None) -> int:
        """The integer seed of the row sequence that ``sample(random_state=...)`` would draw from.

        An integer is returned as it is; None draws one from the stream seeded at construction.
        """
        self._check_fitted()
        return resolve_seed(random_state, self._sample_rng_)

    def sample_range(
        self,
        start: int,
        stop: int,
        *,
        random_state: RandomState = None,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """Rows ``start`` to ``stop`` of the infinite sequence of rows for ``random_state`` (and ``conditions``).

        Row ``i`` never depends on how the range is cut: ``sample_range(0, 10)`` equals
        ``sample_range(0, 4)`` followed by ``sample_range(4, 10)``. ``seed=`` is the deprecated
        spelling of ``random_state=``.
        """
        self._check_fitted()
        random_state = renamed("seed", "random_state", seed, random_state, "sample_range")
        if random_state is None:
            raise InputError("sample_range needs random_state=<int>: the seed of the row sequence to cut.")
        seed_ = resolve_seed(random_state)
        size = self.block_rows
        plan = self._sampling_plan(conditions)

        def block(k: int, lo: int, hi: int) -> pd.DataFrame:
            if plan is None:
                rows = self._sample_block(size, block_rng(seed_, k), k * size, None)
            else:
                rows = sample_valid(self, hi, seed_, k, plan, size)
            return rows.iloc[lo:hi]

        if stop <= start:
            return self._empty_frame()
        blocks = blocks_of(start, stop, size)
        workers = min(len(blocks), os.cpu_count() or 1)
        if workers > 1:
            from threadpoolctl import threadpool_limits

            # one BLAS thread per worker: the blocks are the parallelism, nested threads only contend
            with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(lambda b: block(*b), blocks))
        else:
            parts = [block(*b) for b in blocks]
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        return out if list(out.columns) == self.columns_ else out[self.columns_]

    def iter_samples(
        self,
        n_rows: int,
        chunk_rows: int = 1 << 20,
        random_state: RandomState = None,
        *,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Rows ``0..n_rows`` for ``random_state`` as DataFrames of at most ``chunk_rows`` rows.

        Memory holds one chunk at a time; concatenated, the chunks equal
        ``sample_range(0, n_rows, random_state=...)`` whatever ``chunk_rows``. ``seed=`` is the
        deprecated spelling of ``random_state=``.

        Examples
        --------
        >>> import pandas as pd
        >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
        >>> synth = GaussianCopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": range(100)}))
        >>> [len(c) for c in synth.iter_samples(10, chunk_rows=4, random_state=1)]
        [4, 4, 2]
        """
        random_state = renamed("seed", "random_state", seed, random_state, "iter_samples")
        n_rows, chunk_rows = _check_n_rows(n_rows), _check_n_rows(chunk_rows, "chunk_rows")
        if chunk_rows < 1:
            raise InputError(f"chunk_rows must be at least 1, got {chunk_rows}")
        seed_ = self.sampling_seed(random_state)
        return (
            self.sample_range(lo, min(lo + chunk_rows, n_rows), random_state=seed_, conditions=conditions)
            for lo in range(0, n_rows, chunk_rows)
        )

    def sample_to(self, path: str | Path, n_rows: int, **options: Any) -> Any:
        """Deprecated: use ``simulacra.sample_to(model, path, n_rows, ...)``.

        Chunked jobs belong to :mod:`simulacra.scale`, which sits above the models; this method is
        kept so that existing code runs, with a DeprecationWarning, and will be removed. It forwards to
        the public function through the package root (the public API, above every layer, which resolves
        it lazily), so the models do not name the scale layer.
        """
        import warnings

        import simulacra

        warnings.warn(
            "model.sample_to(path, n_rows) is deprecated and will be removed; use "
            "simulacra.sample_to(model, path, n_rows, ...) instead.", DeprecationWarning, stacklevel=2,
        )
        return simulacra.sample_to(self, path, n_rows, **options)

    @property
    def block_rows(self) -> int:
        """Rows per random block of this model (fixed by its number of columns)."""
        return block_rows_for(len(self.columns_))

    def _empty_frame(self) -> pd.DataFrame:
        rows = self._sample_block(1, np.random.default_rng(0), 0, None)
        constraints = self._constraints()
        if constraints.active:
            rows, _ = constraints.reverse(rows.reset_index(drop=True))
            rows = constraints.assign_keys(rows, np.zeros(len(rows), dtype=np.int64), np.random.default_rng(0))
        return rows.iloc[:0].reset_index(drop=True)[self.columns_]

    def _constraints(self) -> ConstraintSet:
        found = getattr(self, "constraints_", None)
        return ConstraintSet([]) if found is None else found

    def _sampling_plan(self, conditions: Any) -> Plan | None:
        """None for plain sampling; else how to meet the conditions and the constraints."""
        if isinstance(conditions, Plan):
            return conditions
        constraints = self._constraints()
        if conditions is not None and not isinstance(conditions, dict):  # checked before any use of .values()
            check_conditions(conditions, self.metadata_, constraints)
        if conditions and all(isinstance(v, dict) and "intervals" in v for v in conditions.values()):
            conditions = {k: v["value"] for k, v in conditions.items()}  # the copula's prepared form
        if not conditions and not constraints.active:
            return None
        conds = check_conditions(conditions, self.metadata_, constraints) if conditions else {}
        native = None
        if conds and self.supports_conditions:
            direct = set(self.model_metadata_.columns) - constraints.touched()
            if all(name in direct and not isinstance(v, list) for name, v in conds.items()):
                native = self._prepare_conditions(conds)
        return Plan(constraints=constraints, conditions=conds, native=native)

    @abstractmethod
    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        """``n`` rows drawn with ``rng``; ``first_row`` is the global index of the first one."""

    def _prepare_conditions(self, conditions: dict[str, Any] | None) -> dict[str, Any] | None:
        """The model-native form of ``conditions``; plain checked conditions for other models."""
        if not conditions:
            return None
        if not self.supports_conditions:
            return check_conditions(conditions, self.metadata_, self._constraints())
        unknown = [c for c in conditions if c not in self.model_metadata_.columns]
        if unknown:
            raise ConstraintError(
                f"Conditions name unknown columns: {', '.join(unknown)}; "
                f"columns are: {', '.join(self.model_metadata_.columns)}"
            )
        return dict(conditions)

    # -- imputation --------------------------------------------------------------------------
    def impute(self, data: pd.DataFrame, *, random_state: RandomState = None) -> pd.DataFrame:
        """A copy of ``data`` with its missing cells filled consistently with the model.

        Observed cells are never changed; keys (id columns) and free text stay missing. Gaussian
        models draw each row's missing values from their conditional distribution given its observed
        values; other models copy them from one of the nearest rows they sample. Filled rows obey
        the metadata's constraints.
        """
        from simulacra.tabular.impute import neighbors_impute

        self._check_fitted()
        check_frame(data)
        missing_cols = [c for c in self.columns_ if c not in data.columns]
        if missing_cols:
            raise InputError(f"The table to impute lacks the model's columns: {', '.join(missing_cols)}")
        rng = np.random.default_rng(resolve_seed(random_state, self._sample_rng_))
        fill = [c for c in self.columns_ if self.metadata_.columns[c].type not in ("id", "text")]
        holes = data[fill].isna().to_numpy()
        todo = np.flatnonzero(holes.any(axis=1))
        out = data.copy()
        if todo.size == 0:
            return out
        part = data[self.columns_].iloc[todo].reset_index(drop=True)
        donor = None if self._constraints().touched() else self._impute(part, rng)
        merged = _merge_holes(part, neighbors_impute(self, part, rng) if donor is None else donor, fill)
        constraints = self._constraints()
        before = constraints.valid(part)
        for _ in range(20):
            bad = np.flatnonzero((before & ~constraints.valid(merged)) | _has_rare(merged, part, fill))
            if bad.size == 0:
                break
            redo = part.iloc[bad].reset_index(drop=True)
            fixed = _merge_holes(redo, neighbors_impute(self, redo, rng), fill)
            for c in fill:
                merged[c] = _assign(merged[c], bad, fixed[c])
        else:
            raise ConstraintError(
                f"Could not impute {bad.size} rows without breaking the constraints "
                f"(e.g. row {data.index[todo[bad[0]]]!r}); check their observed values."
            )
        for j, c in enumerate(fill):
            rows = holes[todo, j]
            if rows.any():
                out[c] = _assign(out[c].reset_index(drop=True), todo[rows], merged[c].iloc[np.flatnonzero(rows)]).set_axis(out.index)
        return out

    def _impute(self, data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame | None:
        """Model-native imputation: rows for ``data`` with its missing cells drawn; None if unsupported."""
        from simulacra.tabular.impute import NATIVE

        native = NATIVE.get(self.name)
        return native(self, data, rng) if native else None

    # -- persistence -------------------------------------------------------------------------
    @abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """What this model learned: JSON values and numeric numpy arrays only."""

    @abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_get_state` returned (``model_metadata_`` is already set)."""

    def to_state(self) -> dict[str, Any]:
        """The fitted model as plain state: JSON values and numeric numpy arrays, nothing else.

        ``class``, ``model`` and ``params`` say what to rebuild, ``metadata`` is the metadata of the
        table the model learns (``model_metadata_``), and ``state`` holds everything it learned (the
        constraints and the user's metadata under ``state["base"]``). :meth:`from_state` is the inverse.
        """
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "metadata"}
        return {
            "class": type(self).__name__,
            "model": self.name,
            "params": params,
            "metadata": self.model_metadata_.to_dict(),
            "state": {
                "columns": list(self.columns_),
                "n_training_rows": self.n_training_rows_,
                "state": self._get_state(),
                "base": {"constraints": self._constraints().get_state()},
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BaseSynthesizer:
        """Rebuild a fitted model from :meth:`to_state`'s output (as read back from a model file)."""
        params = dict(state.get("params") or {})
        for name, value in cls._params_before_added.items():  # a file older than the parameter
            params.setdefault(name, value)
        unknown = set(params) - set(cls._param_names())
        if unknown:
            raise ModelFileError(
                f"The saved parameters {sorted(unknown)} are unknown to {cls.__name__} in this simulacra version; "
                "re-fit the model with this version."
            )
        model = cls(**params)
        body = state["state"]
        model.model_metadata_ = Metadata.from_dict(state["metadata"])
        model.columns_ = [str(c) for c in body["columns"]]
        model.n_training_rows_ = int(body["n_training_rows"])
        model._sample_rng_ = np.random.default_rng(params.get("random_state"))
        model.constraints_ = ConstraintSet.from_state((body.get("base") or {}).get("constraints") or {})
        model.metadata_ = model.constraints_.input_metadata_ or model.model_metadata_
        if len(set(model.columns_)) != len(model.columns_) or not set(model.columns_) <= set(model.metadata_.columns):
            raise ModelFileError.corrupt("its column list repeats a column or names one its metadata does not have")
        model._set_state(body["state"])
        return model

    def save(self, path: str | Path, *, key: str | bytes | None = None, key_file: str | Path | None = None) -> Path:
        """Write the fitted model to ``path``: one archive of JSON and arrays, no pickle.

        With a signing key (``key``, ``key_file`` or ``$SIMULACRA_MODEL_KEY``) the file is signed, and
        ``simulacra.load`` with the same key refuses any copy that was changed or not signed.
        """
        from simulacra.tabular.persistence import save_model

        return save_model(self, path, key=key, key_file=key_file)

    @property
    def table_metadata_(self) -> Metadata:
        """Deprecated spelling of :attr:`metadata_` (the user's metadata)."""
        warnings.warn(
            "table_metadata_ is deprecated; use metadata_ (the user's metadata) or model_metadata_ "
            "(the table the model learns, after constraints)", DeprecationWarning, stacklevel=2,
        )
        return self.metadata_

    def describe(self) -> dict[str, Any]:
        """What the model learned, in JSON-able form (for ``simulacra inspect``)."""
        self._check_fitted()
        return {"model": self.name, "class": type(self).__name__, "training_rows": self.n_training_rows_}


def _assign(target: pd.Series, positions: np.ndarray, values: pd.Series) -> pd.Series:
    """``target`` with the cells at ``positions`` replaced by ``values`` (dtype kept where possible)."""
    arr = target.to_numpy(dtype=object).copy()
    arr[positions] = values.to_numpy(dtype=object)
    out = pd.Series(arr, index=target.index, name=target.name)
    if isinstance(target.dtype, pd.CategoricalDtype):
        cats = list(target.cat.categories) + [v for v in pd.unique(out.dropna()) if v not in set(target.cat.categories)]
        return out.astype(pd.CategoricalDtype(cats, ordered=target.cat.ordered))
    try:
        return out.astype(target.dtype)
    except (TypeError, ValueError):
        return out.infer_objects()


def _merge_holes(part: pd.DataFrame, donor: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    merged = part.copy()
    for c in columns:
        holes = np.flatnonzero(part[c].isna().to_numpy())
        if holes.size:
            merged[c] = _assign(merged[c], holes, donor[c].iloc[holes])
    return merged


def _has_rare(merged: pd.DataFrame, part: pd.DataFrame, columns: list[str]) -> np.ndarray:
    from simulacra.transform import RARE_TOKEN

    out = np.zeros(len(merged), dtype=bool)
    for c in columns:
        if merged[c].dtype == object:
            out |= (merged[c] == RARE_TOKEN).to_numpy() & part[c].isna().to_numpy()
    return out


def _check_n_rows(n_rows: Any, name: str = "n_rows") -> int:
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)):
        try:
            as_float = float(n_rows)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a whole number, got {n_rows!r}") from None
        if not as_float.is_integer():
            raise InputError(f"{name} must be a whole number, got {n_rows!r}")
        n_rows = int(as_float)
    if n_rows < 0:
        raise InputError(f"{name} must be zero or more, got {n_rows}")
    return int(n_rows)
