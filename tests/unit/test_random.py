"""Random streams (simulacra.random): one definition of a block, used by sampling and by jobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.random import BLOCK_ROWS, block_rng, block_rows_for, blocks_of, resolve_seed, stream


def test_block_rows_shrink_with_width_as_powers_of_two():
    assert [block_rows_for(n) for n in (1, 128, 129, 200, 1000, 10**6)] == [BLOCK_ROWS, BLOCK_ROWS, 8192, 8192, 2048, 64]


def test_streams_are_keyed_and_reproducible():
    assert block_rng(5, 3).random() == stream(5, 3).random()
    assert stream(5, 3).random() != stream(5, 4).random() != stream(6, 3).random()


def test_blocks_of_covers_the_range_exactly():
    for start, stop, size in [(0, 10, 4), (3, 3, 4), (5, 1000, 64), (63, 65, 64)]:
        rows = [k * size + r for k, lo, hi in blocks_of(start, stop, size) for r in range(lo, hi)]
        assert rows == list(range(start, stop))


def test_resolve_seed_refuses_nonsense():
    with pytest.raises(InputError):
        resolve_seed(-1)
    with pytest.raises(InputError):
        resolve_seed("7")  # type: ignore[arg-type]
    assert resolve_seed(np.random.SeedSequence(1)) == resolve_seed(np.random.SeedSequence(1))


@pytest.fixture(scope="module")
def wide():
    from simulacra.tabular.copula import GaussianCopulaSynthesizer

    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(300, 200)), columns=[f"c{i}" for i in range(200)])
    return GaussianCopulaSynthesizer(random_state=0).fit(data)


def test_a_wide_table_draws_blocks_of_its_own_size(wide, monkeypatch):
    """A slice of a 200-column table draws 8,192-row blocks, not 16,384 (issue 13)."""
    assert wide.block_rows == 8192
    sizes = []
    real = type(wide)._sample_block

    def spy(self, n, rng, first_row, conditions):
        sizes.append(n)
        return real(self, n, rng, first_row, conditions)

    monkeypatch.setattr(type(wide), "_sample_block", spy)
    wide.sample_range(8192, 8292, random_state=1)
    assert sizes == [8192]


def test_wide_rows_do_not_depend_on_the_cut(wide):
    whole = wide.sample_range(0, 20_000, random_state=3)
    parts = pd.concat([wide.sample_range(a, b, random_state=3) for a, b in [(0, 100), (100, 8192), (8192, 20_000)]],
                      ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
    jobbed = pd.concat(list(wide.iter_samples(20_000, chunk_rows=3000, random_state=3)), ignore_index=True)
    pd.testing.assert_frame_equal(whole, jobbed)


def test_torch_seeded_repeats_and_restores_the_callers_state_with_a_device():
    torch = pytest.importorskip("torch")
    from simulacra.random import torch_seeded

    before = torch.random.get_rng_state()
    plain = torch_seeded(torch, 7, lambda: torch.rand(3))
    for device in ("cpu", torch.device("cpu")):  # the CPU named as the device: the same draw as none named
        assert torch.equal(torch_seeded(torch, 7, lambda: torch.rand(3), device=device), plain)
    assert not torch.equal(torch_seeded(torch, 8, lambda: torch.rand(3), device="cpu"), plain)
    assert torch.equal(torch.random.get_rng_state(), before)
    # a negative or huge seed is folded into the generator's range rather than refused
    assert torch.equal(torch_seeded(torch, -3, lambda: torch.rand(2)), torch_seeded(torch, 2**63 - 3, lambda: torch.rand(2)))


def test_torch_seeded_seeds_and_restores_the_named_gpu(monkeypatch):
    """The GPU branch, which CI (CPU only) cannot run for real: the named device's generator is forked
    (so restored) and seeded on that device with the same seed as the CPU's, and no other device is
    touched. torch's CUDA calls are stood in for; the CPU draw is real."""
    import contextlib

    torch = pytest.importorskip("torch")
    from simulacra.random import torch_seeded

    calls: list[tuple] = []
    current: list = [None]

    @contextlib.contextmanager
    def fork_rng(devices=None, enabled=True, device_type=None, **_):
        calls.append(("fork", [str(d) for d in devices], device_type))
        state = torch.random.get_rng_state()
        yield
        torch.random.set_rng_state(state)
        calls.append(("restored",))

    @contextlib.contextmanager
    def on_device(dev):
        current[0] = str(dev)
        yield
        current[0] = None

    monkeypatch.setattr(torch.random, "fork_rng", fork_rng)
    monkeypatch.setattr(torch.cuda, "device", on_device)
    monkeypatch.setattr(torch.cuda, "manual_seed", lambda s: calls.append(("seed", current[0], s)))
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda s: calls.append(("seed all", s)))
    before = torch.random.get_rng_state()
    drawn = torch_seeded(torch, 2**63 + 4, lambda: torch.rand(3), device="cuda:1")
    assert calls == [("fork", ["cuda:1"], "cuda"), ("seed", "cuda:1", 4), ("restored",)]
    assert torch.equal(drawn, torch_seeded(torch, 4, lambda: torch.rand(3)))  # the CPU seeded alike
    assert torch.equal(torch.random.get_rng_state(), before)
