"""Training progress where stderr is not a terminal (a CI log, nohup): plain lines with the model's own times."""

from __future__ import annotations

from simulacra.cli.common import training_progress
from simulacra.images.base import TrainingProgress


def test_plain_progress_counts_from_the_start_of_the_fit(capsys) -> None:  # noqa: ANN001
    """The first report of a fit comes at step 25: the plain lines said '25 steps to go (of 50)' and measured
    the elapsed time from that report on; they now show the model's own elapsed time and ETA."""
    with training_progress() as report:
        report(TrainingProgress(25, 50, 0.5, 62.0, 62.0))
        report(TrainingProgress(40, 50, 0.4, 99.0, 25.0))  # within 30 s of the last line: not shown
        report(TrainingProgress(50, 50, 0.3, 124.0, 0.0))  # the last step is always shown
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["training: step 25/50 · loss 0.5000 · 0:01:02 elapsed · ETA 0:01:02",
                     "training: step 50/50 · loss 0.3000 · 0:02:04 elapsed · ETA 0:00:00"]
