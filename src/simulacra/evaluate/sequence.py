"""Evaluation of a table of sequences: histories, not rows.

:func:`evaluate_sequences` compares real and synthetic histories (one entity column, one order
column) on what a row-level report cannot see:

* **shape of the histories** — number of events per entity and gaps between events (KS complement,
  1.0 = same distribution), order strictly increasing, no duplicate (entity, order) pairs;
* **static attributes** — columns constant within every real entity must be constant within every
  synthetic one (``static_coherence``);
* **dynamics** — the within-entity autocorrelation at lags 1–5 of each numeric column, and of its
  log changes (or differences) when the column is a persistent level such as a price;
* **co-movement** — where entities share order values (daily prices of many stocks on the same
  dates), the mean correlation between two entities of their same-date changes (and of the absolute
  changes: volatility moving together), real vs synthetic;
* **row rules** — every ``a ≥ b`` that holds in (nearly) all real rows, with its share in synthetic rows;
* **realism of windows** — a classifier tells windows of consecutive real events from synthetic ones
  (ROC AUC, 0.5 = indistinguishable);
* **utility** — next-step prediction trained on synthetic windows and tested on real ones (TSTR),
  beside the same model trained on real windows (TRTR);
* **privacy at the level of the entity** — distance to closest record over whole entities (DCR share,
  0.5 = no closer to training entities than to unseen ones), and the number of synthetic entities
  whose whole history equals a real one.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> def make(seed):
...     r = np.random.default_rng(seed)
...     return pd.DataFrame([(f"e{e}", t, 10 + np.cumsum(r.normal(size=t + 1))[-1])
...                          for e in range(20) for t in range(15)], columns=["id", "t", "x"])
>>> report = evaluate_sequences(make(0), make(1), entity="id", order="t")
>>> report["length_ks_complement"]
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulacra.errors import InputError
from simulacra.metadata.detect import read_text_dates
from simulacra.rules.relations import row_orderings

LAGS = (1, 2, 3, 4, 5)
WINDOW = 5
#: Windows sampled per table for the discriminator and the next-step models.
MAX_WINDOWS = 20_000
#: Co-movement: entities compared (a random subset beyond it), and the fewest shared order values of a pair.
MAX_COMOVING, MIN_SHARED_EVENTS = 100, 30


def evaluate_sequences(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, entity: str, order: str,
    holdout: pd.DataFrame | None = None, random_state: int = 0,
) -> dict[str, Any]:
    """Compare synthetic histories with real ones; a JSON-able dict of figures (see the module docs)."""
    rng = np.random.default_rng(random_state)
    real_s, synth_s = _prepare(real, entity, order, "real"), _prepare(synthetic, entity, order, "synthetic")
    numeric = [c for c in real_s.columns if c not in (entity, order) and _numeric(real_s[c]) and c in synth_s]
    statics = _statics(real_s, entity, order)
    persistent = {c: _persistent(real_s, entity, c) for c in numeric}
    lengths = (real_s.groupby(entity).size(), synth_s.groupby(entity).size())
    spacing = (_gaps(real_s, entity, order), _gaps(synth_s, entity, order))
    out: dict[str, Any] = {
        "entity": entity, "order": order,
        "entities": {"real": int(real_s[entity].nunique()), "synthetic": int(synth_s[entity].nunique())},
        "events": {"real": len(real_s), "synthetic": len(synth_s)},
        "length_ks_complement": _ks(*lengths),
        "gap_ks_complement": _ks(*spacing),
        "histograms": {"events_per_entity": _histogram(*lengths), "gaps": _histogram(*spacing)},
        "order_increasing": float(synth_s.groupby(entity)[order].apply(
            lambda s: bool(s.is_monotonic_increasing and s.is_unique)).mean()),
        "duplicate_entity_order": int(synthetic.duplicated([entity, order]).sum()),
        "statics": statics,
        "static_coherence": _static_coherence(synth_s, entity, statics),
    }
    out["autocorrelation"] = {c: _acf_table(real_s, synth_s, entity, c, persistent[c]) for c in numeric
                              if c not in statics}
    gaps = [abs(v["real"][i] - v["synthetic"][i]) for v in out["autocorrelation"].values()
            for i in range(len(LAGS)) if np.isfinite(v["real"][i]) and np.isfinite(v["synthetic"][i])]
    out["autocorrelation_max_gap"] = float(max(gaps)) if gaps else None
    out["cross_entity_correlation"] = _co_movement(real_s, synth_s, entity, order,
                                                   [c for c in numeric if c not in statics], persistent, random_state)
    out["row_rules"] = _rules(real_s, synth_s, numeric)
    real_w = _windows(real_s, entity, order, numeric, persistent, rng)
    synth_w = _windows(synth_s, entity, order, numeric, persistent, rng)
    out["window_detection_auc"] = _detection(real_w, synth_w, rng)
    if holdout is not None:
        hold_s = _prepare(holdout, entity, order, "holdout")
        hold_w = _windows(hold_s, entity, order, numeric, persistent, rng)
        out["next_step"] = _next_step(real_w, synth_w, hold_w)
        out["privacy"] = _entity_privacy(real_s, synth_s, hold_s, entity, numeric, statics, persistent)
    out["copied_histories"] = _copied(real_s, synth_s, entity, numeric)
    return out


def _prepare(df: pd.DataFrame, entity: str, order: str, what: str) -> pd.DataFrame:
    for col in (entity, order):
        if col not in df.columns:
            raise InputError(f"The {what} table has no column '{col}'; columns are: {', '.join(map(str, df.columns))}")
    if len(df) == 0:
        raise InputError(f"The {what} table is empty.")
    df = df.copy()
    if df[order].dtype == object:
        df[order] = read_text_dates(df[order])  # all in the format they share, as the model reads them
    return df.sort_values([entity, order], kind="stable").reset_index(drop=True)


def _numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _ks(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float(1.0 - stats.ks_2samp(a, b).statistic)


def _histogram(real: Any, synth: Any, bins: int = 30) -> dict[str, list[float]]:
    """Shares of real and synthetic values in common bins up to the 99th percentile (the last bin holds
    everything above); integers get one bin per value when they span at most ``2 * bins`` values."""
    a, b = np.asarray(real, dtype=float), np.asarray(synth, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return {"edges": [], "real": [], "synthetic": []}
    both = np.r_[a, b]
    lo, hi = float(both.min()), float(np.quantile(both, 0.99))
    if np.all(both == np.round(both)) and hi - lo <= 2 * bins:
        edges = np.arange(lo - 0.5, hi + 1.0)
    else:
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    top = float(edges[-1])
    share = [np.histogram(np.minimum(v, top), edges)[0] / v.size for v in (a, b)]
    return {"edges": edges.tolist(), "real": share[0].tolist(), "synthetic": share[1].tolist()}


def _gaps(df: pd.DataFrame, entity: str, order: str) -> np.ndarray:
    o = df[order]
    v = o.astype("int64").to_numpy() / 86_400e9 if pd.api.types.is_datetime64_any_dtype(o) else o.to_numpy(dtype=float)
    same = df[entity].to_numpy()[1:] == df[entity].to_numpy()[:-1]
    return np.diff(v)[same]


def _statics(df: pd.DataFrame, entity: str, order: str) -> list[str]:
    others = [c for c in df.columns if c not in (entity, order)]
    nunique = df.groupby(entity)[others].nunique(dropna=False)
    multi = df.groupby(entity).size() > 1
    return [str(c) for c in others if multi.any() and (nunique.loc[multi, c] <= 1).all()]


def _static_coherence(df: pd.DataFrame, entity: str, statics: list[str]) -> float | None:
    present = [c for c in statics if c in df.columns]
    if not present:
        return None
    nunique = df.groupby(entity)[present].nunique(dropna=False)
    return float((nunique <= 1).all(axis=1).mean())


def _persistent(df: pd.DataFrame, entity: str, c: str) -> bool:
    x = df[c].to_numpy(dtype=float)
    positive = bool(np.nanmin(x) > 0) if np.isfinite(x).any() else False
    v = pd.Series(np.log(x) if positive else x)
    v = v - v.groupby(df[entity].to_numpy()).transform("mean")
    same = df[entity].to_numpy()[1:] == df[entity].to_numpy()[:-1]
    a, b = v.to_numpy()[1:][same], v.to_numpy()[:-1][same]
    ok = np.isfinite(a) & np.isfinite(b)
    return bool(ok.sum() > 30 and np.std(a[ok]) > 0 and np.corrcoef(a[ok], b[ok])[0, 1] >= 0.9)


def _changes(df: pd.DataFrame, entity: str, c: str) -> pd.Series:
    x = df[c].astype(float)
    base = np.log(x.where(x > 0)) if (x.dropna() > 0).all() else x
    return base - base.groupby(df[entity]).shift()


def _acf(df: pd.DataFrame, entity: str, s: pd.Series, lag: int) -> float:
    def one(g: pd.Series) -> float:
        g = g.dropna()
        if len(g) <= lag + 2 or g.nunique() < 2:
            return np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(g.autocorr(lag))

    vals = s.groupby(df[entity]).apply(one)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if len(vals) else float("nan")


def _acf_table(real: pd.DataFrame, synth: pd.DataFrame, entity: str, c: str, persistent: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"lags": list(LAGS),
                           "real": [_acf(real, entity, real[c].astype(float), k) for k in LAGS],
                           "synthetic": [_acf(synth, entity, synth[c].astype(float), k) for k in LAGS]}
    if persistent:
        rc, sc = _changes(real, entity, c), _changes(synth, entity, c)
        out["changes"] = {"real": [_acf(real, entity, rc, k) for k in LAGS],
                          "synthetic": [_acf(synth, entity, sc, k) for k in LAGS]}
        out["abs_changes"] = {"real": [_acf(real, entity, rc.abs(), k) for k in LAGS],
                              "synthetic": [_acf(synth, entity, sc.abs(), k) for k in LAGS]}
    return out


def _co_movement(real: pd.DataFrame, synth: pd.DataFrame, entity: str, order: str, numeric: list[str],
                 persistent: dict[str, bool], random_state: int) -> dict[str, Any]:
    """Per column, the mean correlation of two entities' values at the same order values (changes and absolute
    changes of a persistent level, else the level), real and synthetic; only columns where real entities
    share at least ``MIN_SHARED_EVENTS`` order values (none in a table whose entities each have their own times)."""
    out: dict[str, Any] = {}
    for c in numeric:
        kinds: dict[str, Any] = {}
        series = {"real": _changes(real, entity, c), "synthetic": _changes(synth, entity, c)} if persistent[c] \
            else {"real": real[c].astype(float), "synthetic": synth[c].astype(float)}
        frames = {"real": real, "synthetic": synth}
        for kind in (("changes", "abs_changes") if persistent[c] else ("level",)):
            pair = {k: _pair_correlation(frames[k], entity, order, v.abs() if kind == "abs_changes" else v,
                                         np.random.default_rng(random_state)) for k, v in series.items()}
            if pair["real"] is not None:
                kinds[kind] = pair
        if kinds:
            out[c] = kinds
    return out


def _pair_correlation(df: pd.DataFrame, entity: str, order: str, values: pd.Series,
                      rng: np.random.Generator) -> float | None:
    """Mean over pairs of entities (at most ``MAX_COMOVING`` entities) of the correlation of their values
    at the order values both have (pairs sharing fewer than ``MIN_SHARED_EVENTS`` left out); None without pairs."""
    frame = pd.DataFrame({"e": df[entity].to_numpy(), "o": df[order].to_numpy(), "v": values.to_numpy()})
    frame = frame.dropna().drop_duplicates(["e", "o"])
    frame = frame[frame.groupby("o")["e"].transform("size") >= 2]
    per = frame.groupby("e").size()
    keep = per.index[per >= MIN_SHARED_EVENTS].to_numpy()
    if keep.size < 2:
        return None
    if keep.size > MAX_COMOVING:
        keep = rng.choice(keep, MAX_COMOVING, replace=False)
    wide = frame[frame["e"].isin(set(keep))].pivot(index="o", columns="e", values="v")
    corr = wide.corr(min_periods=MIN_SHARED_EVENTS).to_numpy()
    pairs = corr[np.triu_indices_from(corr, 1)]
    pairs = pairs[np.isfinite(pairs)]
    return float(pairs.mean()) if pairs.size else None


def _rules(real: pd.DataFrame, synth: pd.DataFrame, numeric: list[str]) -> list[dict[str, Any]]:
    values = {c: real[c].to_numpy(dtype=float) for c in numeric}
    above = row_orderings(values, numeric)
    found = []
    for a in numeric:
        for b in (c for c in numeric if c in above[a]):
            x, y = values[a], values[b]
            ok = np.isfinite(x) & np.isfinite(y)
            sx, sy = synth[a].to_numpy(dtype=float), synth[b].to_numpy(dtype=float)
            sok = np.isfinite(sx) & np.isfinite(sy)
            found.append({"rule": f"{a} >= {b}", "real": float(np.mean(x[ok] >= y[ok])),
                          "synthetic": float(np.mean(sx[sok] >= sy[sok])) if sok.any() else None})
    return found


def _windows(df: pd.DataFrame, entity: str, order: str, numeric: list[str], persistent: dict[str, bool],
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Windows of ``WINDOW`` consecutive events as features, and the next event as targets."""
    cols = []
    for c in numeric:
        v = _changes(df, entity, c) if persistent[c] else df[c].astype(float)
        cols.append(v.to_numpy(dtype=float))
    gaps = np.r_[np.nan, _raw_gaps(df, order)]
    first = np.r_[True, df[entity].to_numpy()[1:] != df[entity].to_numpy()[:-1]]
    gaps[first] = np.nan
    M = np.column_stack(cols + [gaps]) if cols else gaps[:, None]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(df)]
    idx = [np.arange(s + 1, e - WINDOW) for s, e in zip(starts, ends) if e - s > WINDOW + 1]
    pos = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
    if pos.size > MAX_WINDOWS:
        pos = np.sort(rng.choice(pos, MAX_WINDOWS, replace=False))
    X = np.stack([M[pos + k] for k in range(WINDOW)], axis=1).reshape(pos.size, -1) if pos.size else np.zeros((0, M.shape[1] * WINDOW))
    Y = M[pos + WINDOW] if pos.size else np.zeros((0, M.shape[1]))
    return {"X": X, "Y": Y}


def _raw_gaps(df: pd.DataFrame, order: str) -> np.ndarray:
    o = df[order]
    v = o.astype("int64").to_numpy() / 86_400e9 if pd.api.types.is_datetime64_any_dtype(o) else o.to_numpy(dtype=float)
    return np.diff(v)


def _detection(real: dict[str, np.ndarray], synth: dict[str, np.ndarray], rng: np.random.Generator) -> float | None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_score

    n = min(len(real["X"]), len(synth["X"]))
    if n < 50:
        return None
    a = real["X"][rng.choice(len(real["X"]), n, replace=False)]
    b = synth["X"][rng.choice(len(synth["X"]), n, replace=False)]
    X, y = np.vstack([a, b]), np.r_[np.zeros(n), np.ones(n)]
    clf = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    auc = cross_val_score(clf, X, y, cv=3, scoring="roc_auc").mean()
    return float(max(auc, 1.0 - auc))


def _next_step(train: dict[str, np.ndarray], synth: dict[str, np.ndarray], hold: dict[str, np.ndarray]) -> dict[str, Any]:
    """R² of predicting each next-event value (absolute change for persistent levels) from a window."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    out: dict[str, Any] = {}
    if min(len(train["X"]), len(synth["X"]), len(hold["X"])) < 50:
        return out
    scores: dict[str, list[float]] = {"tstr": [], "trtr": []}
    for j in range(train["Y"].shape[1]):
        target = [np.abs(d["Y"][:, j]) for d in (train, synth, hold)]
        if not all(np.isfinite(t).sum() > 30 for t in target):
            continue
        test_ok = np.isfinite(target[2])
        for key, src, y in (("trtr", train, target[0]), ("tstr", synth, target[1])):
            ok = np.isfinite(y)
            model = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(src["X"][ok], y[ok])
            scores[key].append(float(model.score(hold["X"][test_ok], target[2][test_ok])))
    out["r2_tstr"] = float(np.mean(scores["tstr"])) if scores["tstr"] else None
    out["r2_trtr"] = float(np.mean(scores["trtr"])) if scores["trtr"] else None
    return out


def _entity_vectors(df: pd.DataFrame, entity: str, numeric: list[str], statics: list[str],
                    persistent: dict[str, bool], logged: set[str]) -> pd.DataFrame:
    """One row per entity; the columns in ``logged`` (positive in the real data) on a log scale."""
    g = df.groupby(entity, sort=True)
    parts = {"__length": g.size().astype(float)}
    for c in numeric:
        if c in statics:
            parts[c] = g[c].first().astype(float)
            continue
        v = df[c].astype(float)
        level = np.log(v.where(v > 0)) if c in logged else v
        lg = level.groupby(df[entity])
        parts[f"{c}_mean"], parts[f"{c}_std"] = lg.mean(), lg.std()
        parts[f"{c}_first"], parts[f"{c}_last"] = lg.first(), lg.last()
        if persistent[c]:
            ch = _changes(df, entity, c).groupby(df[entity])
            parts[f"{c}_vol"] = ch.std()
    out = pd.DataFrame(parts)
    for c in statics:
        if c not in numeric:
            out = out.join(pd.get_dummies(g[c].first().astype(str), prefix=c).astype(float))
    return out


def _entity_privacy(train: pd.DataFrame, synth: pd.DataFrame, hold: pd.DataFrame, entity: str,
                    numeric: list[str], statics: list[str], persistent: dict[str, bool]) -> dict[str, Any]:
    (a, b, fake), _ = _entity_matrices([train, hold, synth], entity, numeric, statics, persistent)
    ref_train, ref_hold = _references(a, b)
    return {"entity_dcr_share": _dcr_share(ref_train, fake, ref_hold),
            "entities_compared": {"train": len(ref_train), "holdout": len(ref_hold), "synthetic": len(fake)}}


def _entity_matrices(frames: list[pd.DataFrame], entity: str, numeric: list[str], statics: list[str],
                     persistent: dict[str, bool]) -> tuple[list[np.ndarray], list[Any]]:
    """The entity vectors of ``frames`` (the training and the held-out table first, then any others) on the
    same columns, scaled by the interquartile range of the first two; and the names of the columns."""
    # one scale for every table, chosen on the training data: a column positive in one table only
    # (visibility never 0 in the held-out hours) would otherwise be logged there and not elsewhere
    logged = {c for c in numeric if (frames[0][c].dropna().astype(float) > 0).all()}
    vecs = [_entity_vectors(d, entity, numeric, statics, persistent, logged) for d in frames]
    cols = sorted(set().union(*[v.columns for v in vecs]))
    mats = [v.reindex(columns=cols).fillna(0.0).to_numpy(dtype=float) for v in vecs]
    both = np.vstack(mats[:2])
    q75, q25 = np.nanpercentile(both, [75, 25], axis=0)
    scale = np.where(q75 - q25 > 0, q75 - q25, np.where(both.std(axis=0) > 0, both.std(axis=0), 1.0))
    return [m / scale for m in mats], cols


def _references(train: np.ndarray, hold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two references of the entity-level DCR: as many training as held-out entities (rows), drawn at random."""
    n, rng = min(len(train), len(hold)), np.random.default_rng(0)
    return train[rng.choice(len(train), n, replace=False)], hold[rng.choice(len(hold), n, replace=False)]


def _dcr_share(ref_train: np.ndarray, fake: np.ndarray, ref_hold: np.ndarray) -> float:
    """Share of ``fake`` rows nearer a ``ref_train`` row than any ``ref_hold`` row (ties count half)."""
    from sklearn.neighbors import NearestNeighbors

    d_train = NearestNeighbors(n_neighbors=1).fit(ref_train).kneighbors(fake)[0][:, 0]
    d_hold = NearestNeighbors(n_neighbors=1).fit(ref_hold).kneighbors(fake)[0][:, 0]
    return float(((d_train < d_hold).sum() + 0.5 * (d_train == d_hold).sum()) / max(len(d_train), 1))


def _copied(real: pd.DataFrame, synth: pd.DataFrame, entity: str, numeric: list[str]) -> int:
    """Synthetic entities whose whole history of numeric values equals that of a real entity."""
    if not numeric:
        return 0

    def histories(df: pd.DataFrame) -> list[tuple[float | None, ...]]:
        # the values themselves, not their hash: hash(-1.0) == hash(-2.0), so tuples of hashes collide;
        # a missing value is None so that histories missing the same values compare equal
        return [tuple(None if v != v else v for v in np.round(part[numeric].to_numpy(dtype=float), 6).ravel().tolist())
                for _, part in df.groupby(entity)]

    real_histories = set(histories(real))
    return sum(h in real_histories for h in histories(synth))
