"""Metrics of the synthesizer benchmark: fidelity, utility and privacy, kept simple and standard.

* quality: SDMetrics QualityReport (column shapes + column pair trends), id columns left out;
* utility: TSTR/TRTR, a gradient-boosted model (scikit-learn HistGradientBoosting) trained on the
  synthetic rows (TSTR) or the real training rows (TRTR), both scored on the real holdout (ROC AUC
  for classification, R² for regression);
* DCR share: each synthetic row's nearest neighbour among an equal-sized sample of training rows and
  among the holdout rows (numbers min-max scaled on the training rows, missing flagged, categories
  one-hot, Euclidean); the share of synthetic rows closer to training than to holdout (ties count
  half). 0.5 means synthetic rows are no nearer the training rows than unseen rows are;
* exact copies: share of synthetic rows equal to some training row, beside the holdout's own share;
* MIA AUC: a distance attack, scoring each training row (equal-sized sample) and holdout row by the
  distance to its nearest synthetic row; the AUC of telling members from non-members (0.5 = none).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score


def split(df: pd.DataFrame, seed: int = 0, test: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(df))
    cut = int(round(len(df) * (1 - test)))
    return df.iloc[idx[:cut]].reset_index(drop=True), df.iloc[idx[cut:]].reset_index(drop=True)


# -- quality -------------------------------------------------------------------------------------
def quality(real: pd.DataFrame, synth: pd.DataFrame, sdtypes: dict[str, str]) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport

    cols = [c for c, t in sdtypes.items() if t != "id"]
    meta = {"columns": {c: {"sdtype": sdtypes[c]} for c in cols}}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real[cols], synth[cols], meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"quality": float(report.get_score()), "shapes": float(props.iloc[0]), "pairs": float(props.iloc[1])}


# -- utility -------------------------------------------------------------------------------------
def _xy(frame: pd.DataFrame, target: str, cats: dict[str, list[Any]]) -> tuple[pd.DataFrame, Any]:
    X = frame.drop(columns=[target]).copy()
    for c in X.columns:
        if c in cats:
            X[c] = pd.Categorical(X[c].astype(object).where(X[c].notna(), None), categories=cats[c])
        elif pd.api.types.is_datetime64_any_dtype(X[c]):
            X[c] = X[c].astype("int64").astype(float)
        else:
            X[c] = pd.to_numeric(X[c], errors="coerce").astype(float)
    return X, frame[target]


def utility(
    train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame, target: str, task: str,
    drop: list[str], seed: int = 0,
) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cols = [c for c in train.columns if c not in drop]
    cats = {
        c: sorted(set(train[c].dropna().astype(object)) | set(holdout[c].dropna().astype(object)), key=str)
        for c in cols
        if c != target and (train[c].dtype == object or str(train[c].dtype) in ("category", "string", "bool"))
    }
    Xh, yh = _xy(holdout[cols], target, cats)
    scores = {}
    for label, frame in (("trtr", train), ("tstr", synth)):
        X, y = _xy(frame[cols], target, cats)
        for c in X.columns[X.isna().all().to_numpy()].difference(list(cats)):  # a column a synthesizer left wholly
            X[c] = 0.0  # missing carries nothing; a constant keeps the booster's binning from failing
        if task == "classification":
            positive = _positive(train[target])
            y = (y.astype(str) == str(positive)).astype(int)
            model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
            model.fit(X, y)
            scores[label] = float(roc_auc_score((yh.astype(str) == str(positive)).astype(int), model.predict_proba(Xh)[:, 1]))
        else:
            ok = pd.to_numeric(y, errors="coerce").notna()
            model = HistGradientBoostingRegressor(random_state=seed, categorical_features="from_dtype")
            model.fit(X[ok.to_numpy()], pd.to_numeric(y[ok]))
            scores[label] = float(r2_score(pd.to_numeric(yh), model.predict(Xh)))
    scores["ratio"] = scores["tstr"] / scores["trtr"]
    return scores


def _positive(y: pd.Series) -> Any:
    counts = y.astype(str).value_counts()
    return counts.index[-1]  # the minority class


# -- privacy -------------------------------------------------------------------------------------
class _Embed:
    """Numbers min-max scaled on the training rows (plus a missing flag), categories one-hot."""

    def __init__(self, train: pd.DataFrame, sdtypes: dict[str, str]) -> None:
        self.num = [c for c, t in sdtypes.items() if t in ("numerical", "datetime")]
        self.cat = [c for c, t in sdtypes.items() if t in ("categorical", "boolean")]
        self.lo, self.span = {}, {}
        for c in self.num:
            x = self._numbers(train[c])
            lo, hi = np.nanmin(x), np.nanmax(x)
            self.lo[c], self.span[c] = lo, (hi - lo) or 1.0
        self.levels = {c: pd.Index(train[c].astype(str).unique()) for c in self.cat}

    @staticmethod
    def _numbers(s: pd.Series) -> np.ndarray:
        if pd.api.types.is_datetime64_any_dtype(s):
            out = s.astype("int64").astype(float).to_numpy()
            out[s.isna().to_numpy()] = np.nan
            return out
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for c in self.num:
            x = (self._numbers(frame[c]) - self.lo[c]) / self.span[c]
            miss = np.isnan(x)
            parts += [np.where(miss, 0.0, x)[:, None], miss[:, None].astype(float)]
        for c in self.cat:
            codes = self.levels[c].get_indexer(frame[c].astype(str))
            onehot = np.zeros((len(frame), len(self.levels[c]) + 1))
            onehot[np.arange(len(frame)), np.where(codes < 0, len(self.levels[c]), codes)] = 1.0
            parts.append(onehot)
        return np.hstack(parts).astype(np.float32)


def nearest(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Distance from each row of ``a`` to its nearest row of ``b`` (Euclidean, brute force)."""
    bb = (b.astype(np.float64) ** 2).sum(1)
    out = np.empty(len(a))
    for i in range(0, len(a), chunk):
        x = a[i : i + chunk]
        d = (x.astype(np.float64) ** 2).sum(1)[:, None] - 2.0 * (x @ b.T) + bb[None, :]
        out[i : i + chunk] = np.sqrt(np.maximum(d.min(1), 0.0))
    return out


def privacy(
    train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame, sdtypes: dict[str, str], seed: int = 0,
    max_synth: int = 30000, repeats: int = 3,
) -> dict[str, float]:
    cols = [c for c, t in sdtypes.items() if t != "id"]
    rng = np.random.default_rng(seed)
    embed = _Embed(train[cols], {c: sdtypes[c] for c in cols})
    E_ho = embed(holdout[cols])
    syn = synth[cols].iloc[rng.permutation(len(synth))[:max_synth]]
    E_syn = embed(syn)
    d_ho = nearest(E_syn, E_ho)
    shares = []
    for _ in range(repeats):  # averaged over equal-sized samples of the training rows
        tr_idx = rng.choice(len(train), size=min(len(holdout), len(train)), replace=False)
        E_tr = embed(train[cols].iloc[tr_idx])
        d_tr = nearest(E_syn, E_tr)
        close = np.isclose(d_tr, d_ho, rtol=0, atol=1e-6)
        shares.append(float(np.mean((d_tr < d_ho) & ~close) + 0.5 * np.mean(close)))
    dcr_share = float(np.mean(shares))
    # membership inference by distance to the nearest synthetic row
    m_tr, m_ho = nearest(E_tr, E_syn), nearest(E_ho, E_syn)
    labels = np.r_[np.ones(len(m_tr)), np.zeros(len(m_ho))]
    mia = float(roc_auc_score(labels, -np.r_[m_tr, m_ho]))
    # exact copies (whole rows, id columns left out)
    train_keys = set(_row_keys(train[cols]))
    copies = float(np.mean([k in train_keys for k in _row_keys(synth[cols])]))
    holdout_copies = float(np.mean([k in train_keys for k in _row_keys(holdout[cols])]))
    return {"dcr_share": dcr_share, "mia_auc": mia, "copies": copies, "holdout_copies": holdout_copies}


def _row_keys(frame: pd.DataFrame) -> np.ndarray:
    norm = frame.copy()
    for c in norm.columns:
        if pd.api.types.is_datetime64_any_dtype(norm[c]):
            norm[c] = norm[c].astype("int64")
        elif pd.api.types.is_numeric_dtype(norm[c]) and not pd.api.types.is_bool_dtype(norm[c]):
            norm[c] = pd.to_numeric(norm[c]).astype(float).round(9)
        else:
            norm[c] = norm[c].astype(str)
    return pd.util.hash_pandas_object(norm, index=False).to_numpy()
