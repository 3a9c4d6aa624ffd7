"""The default model's privacy against its quality (issue 17): one JSON line per table, nothing cached.

Fits ``autoreg`` with its defaults (or with ``key=value`` overrides) on the 80/20 split of each benchmark
table, samples as many rows as it trained on, and scores the rows with the judges of
``bench_synthesizers.py`` (``_metrics.py``): SDMetrics quality, TSTR/TRTR, DCR share, exact copies (and
the holdout's own rate), MIA AUC; ``rows_per_s`` is the rate of that one sample.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_defaults.py adult,california_housing
    nice -n 10 .venv/bin/python benchmarks/bench_defaults.py adult min_samples_leaf=30   # a variant
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _datasets as D  # noqa: E402
import _metrics as M  # noqa: E402


def main() -> None:
    from simulacra.tabular.autoreg import AutoregressiveSynthesizer

    tables = sys.argv[1].split(",") if len(sys.argv) > 1 else [*D.TABLES, *D.EXTRA_TABLES]
    params = {}
    for arg in sys.argv[2:]:
        key, value = arg.split("=", 1)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    for table in tables:
        df, types, spec = D.load(table)
        train, holdout = M.split(df)
        start = time.perf_counter()
        model = AutoregressiveSynthesizer(metadata=D.metadata(train, types), random_state=0, **params).fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synth = model.sample(len(train), random_state=1)
        rate = len(train) / (time.perf_counter() - start)
        out = {"table": table, **params, "fit_s": round(fit_s, 1), "rows_per_s": round(rate)}
        out.update({k: round(v, 4) for k, v in M.quality(train, synth, types).items()})
        drop = [c for c, t in types.items() if t == "id"]
        util = M.utility(train, holdout, synth, spec["target"], spec["task"], drop)
        out.update(trtr=round(util["trtr"], 4), tstr=round(util["tstr"], 4), utility=round(util["ratio"], 4))
        out.update({k: round(v, 4) for k, v in M.privacy(train, holdout, synth, types).items()})
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
