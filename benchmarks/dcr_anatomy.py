"""Where a synthesizer's DCR share comes from (issue 17): which rows and which columns lean to training.

Fits the default model (``autoreg``, seed 0, the split and judge of ``bench_defaults.py``), samples as
many rows as it trained on, and takes the judge's embedding (numbers min-max scaled, categories one-hot),
one equal-sized draw of training rows and the holdout. It prints the DCR share of the rows grouped

* by whether their combination of categories occurs in the training draw, in the holdout, in both or
  in neither, and by how often it occurs in the whole training split (its excess over 0.5, weighted by
  the group's size, is its part of the table's excess);
* per column: how much farther the nearest holdout row is than the nearest training row on that
  column alone, and how often each matches the synthetic value exactly.

Usage::

    nice -n 10 .venv/bin/python benchmarks/dcr_anatomy.py adult [key=value ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _datasets as D  # noqa: E402
import _metrics as M  # noqa: E402


def _nearest_index(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Index of each row of ``a``'s nearest row of ``b`` (Euclidean)."""
    bb = (b.astype(np.float64) ** 2).sum(1)
    out = np.empty(len(a), dtype=np.int64)
    for i in range(0, len(a), chunk):
        x = a[i : i + chunk].astype(np.float64)
        out[i : i + chunk] = ((x**2).sum(1)[:, None] - 2.0 * (x @ b.T.astype(np.float64)) + bb[None, :]).argmin(1)
    return out


def _share(win: np.ndarray, tie: np.ndarray) -> float:
    return float(np.mean(win) + 0.5 * np.mean(tie)) if win.size else float("nan")


def main() -> None:
    from simulacra.tabular.autoreg import AutoregressiveSynthesizer

    table = sys.argv[1]
    params = {k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])}
    df, types, _ = D.load(table)
    train, holdout = M.split(df)
    model = AutoregressiveSynthesizer(metadata=D.metadata(train, types), random_state=0, **params).fit(train)
    cols = [c for c, t in types.items() if t != "id"]
    rng = np.random.default_rng(0)
    synth = model.sample(len(train), random_state=1)[cols]
    embed = M._Embed(train[cols], {c: types[c] for c in cols})
    draw = train[cols].iloc[rng.choice(len(train), size=len(holdout), replace=False)]
    E_syn, E_tr, E_ho = embed(synth), embed(draw), embed(holdout[cols])
    near_tr, near_ho = _nearest_index(E_syn, E_tr), _nearest_index(E_syn, E_ho)
    sq_tr, sq_ho = (E_syn - E_tr[near_tr]) ** 2, (E_syn - E_ho[near_ho]) ** 2
    d_tr, d_ho = np.sqrt(sq_tr.sum(1)), np.sqrt(sq_ho.sum(1))
    tie = np.isclose(d_tr, d_ho, rtol=0, atol=1e-6)
    win = (d_tr < d_ho) & ~tie
    print(f"{table}: DCR share {_share(win, tie):.4f} (one draw of training rows)")
    if embed.cat:
        def keys(frame: pd.DataFrame) -> np.ndarray:
            return pd.util.hash_pandas_object(frame[embed.cat].astype(str), index=False).to_numpy()

        k_syn = keys(synth)
        in_tr, in_ho = np.isin(k_syn, keys(draw)), np.isin(k_syn, keys(holdout))
        print("\ncategory combination       rows    share   part of the excess")
        for name, mask in (("in both", in_tr & in_ho), ("only in the training draw", in_tr & ~in_ho),
                           ("only in the holdout", ~in_tr & in_ho), ("in neither", ~in_tr & ~in_ho)):
            if not mask.any():
                continue
            s = _share(win[mask], tie[mask])
            print(f"{name:26s} {mask.mean():6.3f}  {s:7.4f}  {(s - 0.5) * mask.mean():+.4f}")
        counts = pd.Series(k_syn).map(pd.Series(keys(train[cols])).value_counts()).fillna(0).to_numpy()
        for lo, hi in ((0, 0), (1, 4), (5, 19), (20, 99), (100, None)):
            mask = (counts >= lo) & (counts <= (hi if hi is not None else np.inf))
            if not mask.any():
                continue
            s = _share(win[mask], tie[mask])
            label = f"{lo}+" if hi is None else f"{lo}-{hi}"
            print(f"{'training rows ' + label:26s} {mask.mean():6.3f}  {s:7.4f}  {(s - 0.5) * mask.mean():+.4f}")
    spans, at = {}, 0
    for c in embed.num:
        spans[c], at = slice(at, at + 2), at + 2
    for c in embed.cat:
        width = len(embed.levels[c]) + 1
        spans[c], at = slice(at, at + width), at + width
    rows = [(c, types[c], float(np.mean(sq_ho[:, s].sum(1) - sq_tr[:, s].sum(1))),
             float(np.mean(sq_tr[:, s].sum(1) == 0)), float(np.mean(sq_ho[:, s].sum(1) == 0))) for c, s in spans.items()]
    out = pd.DataFrame(rows, columns=["column", "type", "holdout minus training (sq.)", "exact: training", "exact: holdout"])
    print("\n" + out.sort_values(out.columns[2], ascending=False).to_string(index=False, float_format=lambda v: f"{v:.5f}"))


if __name__ == "__main__":
    main()
