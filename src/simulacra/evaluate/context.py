"""Preparing an evaluation: check and align the tables, settle column types, share encodings."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError, MetadataError
from simulacra.evaluate.coerce import align_dtypes, as_float, shared_codes
from simulacra.metadata import Metadata, frame_problems

#: Semantic types measured as continuous values (KS, correlation) and as discrete labels (TV, contingency).
CONTINUOUS = ("numerical", "datetime", "timedelta")
DISCRETE = ("categorical", "boolean")


#: Column types are detected on at most this many real rows when no metadata is given.
DETECT_ROWS = 100_000


class EvaluationWarning(UserWarning):
    """Something about the inputs makes some numbers of the report unreliable."""


@dataclass
class EvalOptions:
    """Sample sizes and thresholds: fast by default on big tables, every sample stated in the report.

    Attributes
    ----------
    detection_rows, utility_rows, privacy_rows, reference_rows, attack_rows:
        Row caps for the detection model (per side), utility models (training and test), DCR/NNDR
        queries, the nearest-neighbour reference sets and the attacks (per side).
    real_correlation_threshold, real_association_threshold:
        Column pairs whose real |Pearson r| / Cramér's V is not above these do not count in the
        column pair trends score (SDMetrics' defaults).
    """

    detection_rows: int = 5_000
    utility_rows: int = 50_000
    privacy_rows: int = 5_000
    reference_rows: int = 10_000
    attack_rows: int = 2_000
    real_correlation_threshold: float = 0.5
    real_association_threshold: float = 0.3
    task: str = "auto"
    n_threads: int | None = None

    def threads(self) -> int:
        """Threads for models and neighbour searches: ``n_threads``, or the cores not busy right now.

        Threaded model fitting on cores that other processes keep busy is many times slower than on
        one thread, so the default looks at the load average.
        """
        import os

        if self.n_threads:
            return max(1, int(self.n_threads))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        try:
            load = os.getloadavg()[0]
        except OSError:  # pragma: no cover - not available
            load = 0.0
        return max(1, min(cores, int(cores - load + 0.5)))


@dataclass
class EvalContext:
    """Aligned tables, column types and caches shared by the metrics of one evaluation."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    metadata: Metadata
    types: dict[str, str]
    target: str | None = None
    sensitive: list[str] = field(default_factory=list)
    secret: str | None = None
    random_state: int = 0
    options: EvalOptions = field(default_factory=EvalOptions)
    results: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def has(self, need: str) -> bool:
        """Whether the input ``need`` (holdout, target, sensitive, secret) was given."""
        value = getattr(self, need)
        return value is not None and (isinstance(value, pd.DataFrame) or bool(value))

    def rng(self, salt: str) -> np.random.Generator:
        """A generator for one metric, the same for the same ``random_state`` and ``salt``."""
        digest = sum((i + 1) * ord(c) for i, c in enumerate(salt))
        return np.random.default_rng([self.random_state, digest])

    def columns(self, *kinds: str) -> list[str]:
        """Columns whose semantic type is one of ``kinds``."""
        return [c for c, t in self.types.items() if t in kinds]

    def warn(self, message: str) -> None:
        """Record a warning in the report and raise it as an :class:`EvaluationWarning`."""
        self.warnings.append(message)
        warnings.warn(message, EvaluationWarning, stacklevel=3)

    def floats(self, col: str) -> dict[str, np.ndarray]:
        """Float views of a numerical, datetime or boolean column by role (cached)."""
        key = f"floats:{col}"
        if key not in self.cache:
            fmt = self.cache.get("formats", {}).get(col)
            self.cache[key] = {
                role: as_float(frame[col], self.types[col], fmt) for role, frame in self.frames().items()
            }
        return self.cache[key]  # type: ignore[no-any-return]

    def codes(self, col: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Shared integer codes of a column's labels by role (missing is -1) and the labels (cached)."""
        key = f"codes:{col}"
        if key not in self.cache:
            self.cache[key] = shared_codes({role: frame[col] for role, frame in self.frames().items()})
        return self.cache[key]  # type: ignore[no-any-return]

    def missing(self, col: str) -> dict[str, np.ndarray]:
        """Missing-value masks of a column by role (from the cached views where there are some)."""
        stype = self.types[col]
        if stype in CONTINUOUS:
            return {r: np.isnan(v) for r, v in self.floats(col).items()}
        if stype in DISCRETE:
            return {r: c < 0 for r, c in self.codes(col)[0].items()}
        return {r: f[col].isna().to_numpy() for r, f in self.frames().items()}

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables by role (real, synthetic, and holdout when given)."""
        out = {"real": self.real, "synthetic": self.synthetic}
        if self.holdout is not None:
            out["holdout"] = self.holdout
        return out


def _as_frame(data: Any, role: str) -> pd.DataFrame:
    if isinstance(data, (str, Path)):
        from simulacra.io import read_table

        return read_table(data)
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"The {role} table must be a pandas DataFrame or a file path, got {type(data).__name__}")
    return data


def _str_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with string column names (no copy of the data when they already are)."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.rename(columns=str, copy=False)


def _reorder(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return frame if list(frame.columns) == cols else frame[cols]


def _check_columns(real: pd.DataFrame, other: pd.DataFrame, role: str, target: str | None) -> None:
    if target is not None and target not in other.columns:
        raise InputError(
            f"The target column '{target}' is missing from the {role} table; "
            "it must be present in the real, synthetic and holdout tables"
        )
    names = [str(c) for c in real.columns]
    others = [str(c) for c in other.columns]
    missing = [c for c in names if c not in others]
    extra = [c for c in others if c not in names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from the {role} table: {', '.join(missing)}")
        if extra:
            parts.append(f"only in the {role} table: {', '.join(extra)}")
        raise InputError(
            f"The real and {role} tables have different columns ({'; '.join(parts)}); "
            "give tables with the same columns (drop or add the ones listed)"
        )


def _resolve_metadata(metadata: Any, real: pd.DataFrame) -> Metadata:
    if metadata is None:
        sample = real if len(real) <= DETECT_ROWS else real.sample(DETECT_ROWS, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Metadata.detect(sample)
    if isinstance(metadata, (str, Path)):
        metadata = Metadata.load(metadata)
    elif isinstance(metadata, dict):
        metadata = Metadata.from_dict(metadata)
    if not isinstance(metadata, Metadata):
        raise InputError(f"metadata must be a Metadata, a dict or a JSON path, got {type(metadata).__name__}")
    missing = [c for c in real.columns if str(c) not in metadata.columns]
    if missing:
        raise MetadataError(
            f"Columns in the data but not in the metadata: {', '.join(map(str, missing))}; add them to the metadata"
        )
    return metadata


def _check_named(ctx_cols: list[str], names: list[str], what: str) -> None:
    for name in names:
        if name not in ctx_cols:
            raise InputError(f"The {what} column '{name}' is not in the tables; columns are: {', '.join(ctx_cols)}")


def prepare(
    real: Any,
    synthetic: Any,
    *,
    holdout: Any = None,
    target: str | None = None,
    metadata: Any = None,
    sensitive: str | list[str] | None = None,
    secret: str | None = None,
    random_state: int = 0,
    options: EvalOptions | None = None,
) -> EvalContext:
    """Check the inputs and build the shared :class:`EvalContext` (clear errors for bad input)."""
    real = _as_frame(real, "real")
    synthetic = _as_frame(synthetic, "synthetic")
    hold = None if holdout is None else _as_frame(holdout, "holdout")
    for role, frame in (("real", real), ("synthetic", synthetic), ("holdout", hold)):
        if frame is not None and (len(frame) == 0 or frame.shape[1] == 0):
            raise InputError(f"The {role} table is empty ({len(frame)} rows, {frame.shape[1]} columns); give a table with data")
        problems = frame_problems(frame) if frame is not None else []
        if problems:
            raise InputError(f"The {role} table cannot be evaluated: " + "; ".join(problems))
    if target is not None and target not in real.columns:
        raise InputError(f"The target column '{target}' is not in the real table; columns are: {', '.join(map(str, real.columns))}")
    _check_columns(real, synthetic, "synthetic", target)
    if hold is not None:
        _check_columns(real, hold, "holdout", target)
    real = _str_columns(real)
    cols = list(real.columns)
    synthetic = _reorder(_str_columns(synthetic), cols)
    hold = _reorder(_str_columns(hold), cols) if hold is not None else None
    meta = _resolve_metadata(metadata, real)
    types = {c: str(meta.columns[c].type) for c in cols}
    found: list[str] = []
    type_errors: dict[str, int] = {}
    formats = {c: getattr(meta.columns[c], "format", None) for c in cols if types[c] == "datetime"}
    bad_rows: dict[str, np.ndarray] = {}
    synthetic = align_dtypes(real, synthetic, types, "synthetic", found, type_errors, formats, bad_rows)
    if hold is not None:
        hold = align_dtypes(real, hold, types, "holdout", found, None, formats)
    sens = [sensitive] if isinstance(sensitive, str) else list(sensitive or [])
    _check_named(cols, sens, "sensitive")
    _check_named(cols, [secret] if secret else [], "secret")
    ctx = EvalContext(
        real=real, synthetic=synthetic, holdout=hold, metadata=meta, types=types, target=target,
        sensitive=sens, secret=secret, random_state=int(random_state), options=options or EvalOptions(),
    )
    ctx.cache["type_errors"] = type_errors
    ctx.cache["type_error_rows"] = bad_rows
    ctx.cache["metadata_given"] = metadata is not None
    ctx.cache["formats"] = formats
    for message in found:
        ctx.warn(message)
    _flag_empty_columns(ctx)
    if target is not None:
        for role, frame in ctx.frames().items():
            if frame[target].notna().sum() == 0:
                raise InputError(f"The target column '{target}' has no values in the {role} table")
    return ctx


def _flag_empty_columns(ctx: EvalContext) -> None:
    """Name every column with values in the real table but none in the synthetic one (or the reverse)."""
    empty = {}
    for col in ctx.types:
        masks = ctx.missing(col)
        real_share = 1.0 - float(masks["real"].mean())
        syn_share = 1.0 - float(masks["synthetic"].mean())
        if (real_share > 0) != (syn_share > 0):
            empty[col] = "synthetic" if real_share > 0 else "real"
            ctx.warn(
                f"Column '{col}' is entirely empty in the {empty[col]} table but has values in "
                f"{100 * max(real_share, syn_share):.0f}% of the {'real' if real_share > 0 else 'synthetic'} "
                "rows: it scores 0 in column_shapes and fidelity is poor"
            )
    ctx.cache["empty_columns"] = empty


def sample_index(n: int, cap: int, rng: np.random.Generator) -> np.ndarray | None:
    """Row positions of a sample of ``cap`` out of ``n`` rows (sorted), or None when all rows are used."""
    if n <= cap:
        return None
    return np.sort(rng.choice(n, size=cap, replace=False))


def take(frame: pd.DataFrame, cap: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``cap`` rows of ``frame`` drawn without replacement."""
    idx = sample_index(len(frame), cap, rng)
    return frame if idx is None else frame.iloc[idx]
