"""History figures of a sequence child inside a database (a table declared with ``set_sequence``).

For each declared sequence child (each plane's flights, each customer's orders) the multi-table report
adds what makes its rows histories rather than loose rows: repeated (entity, order) pairs, static
attributes constant within every history, the gaps between consecutive events and the number of events
per history (1 − KS against the real ones), and the lag-1 autocorrelation of each numeric column within
histories, real beside synthetic. These figures inform; the overall quality score (SDMetrics') is not
changed by them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata.detect import read_text_dates

#: Most numeric columns whose lag-1 autocorrelation is reported.
MAX_NUMERIC = 12


def declared_sequences(metadata: Any) -> dict[str, dict[str, Any]]:
    """``{table: {"key": [...], "order": ..., "statics": [...]}}`` for every sequence declared in ``metadata``."""
    if isinstance(metadata, (str, Path)):
        from simulacra.metadata.multi import MultiTableMetadata

        metadata = MultiTableMetadata.load(metadata)
    out = {}
    for name, table in (getattr(metadata, "tables", None) or {}).items():
        key, order = getattr(table, "sequence", None), getattr(table, "order", None)
        if key and order:
            out[str(name)] = {"key": list(key), "order": str(order), "statics": list(getattr(table, "statics", None) or [])}
    return out


def _ks(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import ks_2samp

    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return float(1.0 - ks_2samp(a, b).statistic) if a.size and b.size else None


def _side(df: pd.DataFrame, key: list[str], order: str, statics: list[str], numeric: list[str]) -> dict[str, Any]:
    """Figures of one side (real or synthetic), with the raw gaps and lengths for the KS tests."""
    linked = df[df[key].notna().all(axis=1)]
    order_values = linked[order]
    if not (pd.api.types.is_numeric_dtype(order_values) or pd.api.types.is_datetime64_any_dtype(order_values)):
        order_values = read_text_dates(order_values)  # in the one format they share (06/01/2020: 6 January)
    frame = linked.assign(**{order: order_values}).sort_values([*key, order], kind="stable")
    groups = frame.groupby(key, sort=False)
    step = groups[order].diff()
    gaps = (step.dt.total_seconds() if pd.api.types.is_timedelta64_dtype(step) else step).to_numpy(dtype=float)
    lag = {}
    for col in numeric:
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        prev = pd.to_numeric(groups[col].shift(1), errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(prev)
        lag[col] = float(np.corrcoef(x[ok], prev[ok])[0, 1]) if ok.sum() > 2 and x[ok].std() > 0 and prev[ok].std() > 0 else None
    return {"histories": int(groups.ngroups), "repeated_pairs": int(frame.duplicated([*key, order]).sum()),
            "statics_constant": {c: float((groups[c].nunique(dropna=False) <= 1).mean()) for c in statics
                                 if c in frame.columns},
            "lag1": lag, "_gaps": gaps[np.isfinite(gaps)], "_lengths": groups.size().to_numpy(dtype=float)}


def sequence_figures(real: pd.DataFrame, synthetic: pd.DataFrame, key: list[str], order: str,
                     statics: list[str]) -> dict[str, Any]:
    """Real beside synthetic history figures of one sequence child (see the module docstring)."""
    skip = set(key) | {order} | set(statics)
    numeric = [str(c) for c in real.columns if c not in skip and pd.api.types.is_numeric_dtype(real[c])
               and not pd.api.types.is_bool_dtype(real[c]) and c in synthetic.columns][:MAX_NUMERIC]
    sides = {role: _side(df, key, order, [c for c in statics if c in df.columns], numeric)
             for role, df in (("real", real), ("synthetic", synthetic))}
    return {"key": key, "order": order, "statics": statics,
            "gaps_ks": _ks(sides["real"]["_gaps"], sides["synthetic"]["_gaps"]),
            "lengths_ks": _ks(sides["real"]["_lengths"], sides["synthetic"]["_lengths"]),
            **{role: {k: v for k, v in side.items() if not k.startswith("_")} for role, side in sides.items()}}
