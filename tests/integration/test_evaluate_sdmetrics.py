"""Our quality score agrees with SDMetrics' QualityReport (within 0.01) on three real data sets."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import simulacra as sim

DATA = next((p for p in (Path(__file__).resolve().parents[2] / "../shared/datasets",
                         Path("/work/shared/datasets")) if p.is_dir()), None)
SETS = {
    "adult": "tabular/adult/adult.csv",
    "credit_default": "tabular/credit_default/UCI_Credit_Card.csv",
    "bank_marketing": "tabular/bank_marketing/bank-full.csv",
}
ROWS = 6000

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.mark.skipif(DATA is None, reason="../shared/datasets is not available")
@pytest.mark.parametrize("name", list(SETS))
def test_quality_matches_sdmetrics(name):
    sdm = pytest.importorskip("sdmetrics.reports.single_table")
    frame = sim.read_table(DATA / SETS[name])
    frame = frame.sample(2 * ROWS, random_state=0)
    train, holdout = frame.iloc[:ROWS], frame.iloc[ROWS:]
    meta = sim.Metadata.detect(train)
    synthetic = sim.GaussianCopulaSynthesizer().fit(train).sample(ROWS, random_state=0)
    spec = {"columns": {c: {"sdtype": col.type} for c, col in meta.columns.items()}}
    for other in (synthetic, holdout):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = sdm.QualityReport()
            theirs.generate(train, other, spec, verbose=False)
        ours = sim.evaluate(train, other, metadata=meta, metrics=["quality"])
        assert ours.quality == pytest.approx(theirs.get_score(), abs=0.01)
