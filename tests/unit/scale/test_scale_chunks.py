from __future__ import annotations

import itertools
import pickle

import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.scale.chunks import FunctionProducer, SynthesizerProducer, plan_chunks
from simulacra.tabular.base import BLOCK_ROWS


def test_plan_chunks_covers_range_without_gaps():
    chunks = plan_chunks(1000, 300)
    assert [c.rows for c in chunks] == [300, 300, 300, 100]
    assert all(a.stop == b.start for a, b in itertools.pairwise(chunks))
    assert list(plan_chunks(0, 10)) == []


@pytest.mark.parametrize("bad", [-1, 1.5, "x", True])
def test_plan_chunks_refuses_bad_counts(bad):
    with pytest.raises(InputError):
        plan_chunks(bad, 10)
    with pytest.raises(InputError):
        plan_chunks(10, 0)


def test_synthesizer_producer_matches_sample_range_across_block_edges(small_synth):
    producer = SynthesizerProducer.from_synthesizer(small_synth, seed=11)
    lo, hi = BLOCK_ROWS - 50, BLOCK_ROWS + 70
    expected = small_synth.sample_range(lo, hi, random_state=11)
    pd.testing.assert_frame_equal(producer(lo, hi), expected)


def test_synthesizer_producer_pickles_model_file_not_object(small_synth):
    producer = SynthesizerProducer.from_synthesizer(small_synth, seed=5)
    state = producer.__getstate__()
    assert set(state) == {"model_bytes", "seed", "conditions"}
    assert state["model_bytes"][:2] == b"PK"  # the zip model archive
    clone = pickle.loads(pickle.dumps(producer))
    assert clone._synth is None  # reloaded from the model file on first use
    pd.testing.assert_frame_equal(clone(0, 100), producer(0, 100))
    assert clone.fingerprint() == producer.fingerprint()


def test_fingerprint_changes_with_seed_and_conditions(small_synth):
    a = SynthesizerProducer.from_synthesizer(small_synth, seed=1)
    b = SynthesizerProducer.from_synthesizer(small_synth, seed=2)
    c = SynthesizerProducer.from_synthesizer(small_synth, seed=1, conditions={"group": "a"})
    assert len({a.fingerprint(), b.fingerprint(), c.fingerprint()}) == 3


def test_conditions_apply_in_producer(small_synth):
    producer = SynthesizerProducer.from_synthesizer(small_synth, seed=1, conditions={"group": "b"})
    rows = producer(0, 500)
    assert set(rows["group"]) == {"b"}
    pd.testing.assert_frame_equal(rows, small_synth.sample(500, random_state=1, conditions={"group": "b"}))


def _ints(start, stop):
    return pd.DataFrame({"i": range(start, stop)})


def test_function_producer():
    p = FunctionProducer(_ints, "ints")
    assert p(3, 6)["i"].tolist() == [3, 4, 5]
    assert p.fingerprint() != FunctionProducer(_ints, "other").fingerprint()


def test_fingerprint_is_stable_across_saves(small_synth):
    import time

    a = SynthesizerProducer.from_synthesizer(small_synth, seed=1)
    time.sleep(2.1)  # zip members record the time they were written
    b = SynthesizerProducer.from_synthesizer(small_synth, seed=1)
    assert a.fingerprint() == b.fingerprint()
