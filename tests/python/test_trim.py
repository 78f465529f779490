"""Pager.set_vram_budget and Pager.trim on the simulated device: the pool
follows the budget, memory goes back, data stays intact.  The lru policy
prefetches nothing, so no load runs behind the figures checked."""

import numpy as np
import pytest

import gpupager


def check_all(m, ref):
    """Acquire every group and compare each tensor's bytes with the file's."""
    for g in range(m.group_count):
        with m.acquire(g):
            for name, t in m.tensors.items():
                if t.group == g:
                    assert m.tensor(name).tobytes() == ref[name][2], name


def test_lower_and_raise_while_paging(wan, wan_ref):
    with gpupager.Pager(vram_budget="16M", host_budget="64M", policy="lru") as p:
        cs = p.info()["chunk_size"]
        m = p.open_model(wan)
        check_all(m, wan_ref)
        assert p.vram_budget == 16 << 20
        p.set_vram_budget((8 << 20) + cs // 2)  # rounded down to chunks
        assert p.vram_budget == 8 << 20
        assert p.stats()["vram_used"] <= 8 << 20
        for _ in range(2):
            check_all(m, wan_ref)
            assert p.stats()["vram_used"] <= 8 << 20
        p.set_vram_budget("100%")  # of the budget it opened with
        assert p.vram_budget == 16 << 20
        check_all(m, wan_ref)
        p.set_vram_budget("50%")
        assert p.vram_budget == 8 << 20
        with pytest.raises(gpupager.InvalidArgument):
            p.set_vram_budget(cs)  # less than two chunks


def test_lowering_under_acquired_groups_is_busy(wan, wan_ref):
    with gpupager.Pager(vram_budget="16M", host_budget="64M", policy="lru") as p:
        cs = p.info()["chunk_size"]
        m = p.open_model(wan)
        held = [m.acquire(g) for g in range(3)]
        with pytest.raises(gpupager.Busy, match="acquired"):
            p.set_vram_budget(2 * cs)
        assert p.vram_budget == 2 * cs  # set all the same
        assert p.stats()["vram_used"] > 2 * cs
        assert all(m.group_info(g).resident for g in range(3))
        for a in held:
            a.release()
        p.set_vram_budget(2 * cs)
        assert p.stats()["vram_used"] <= 2 * cs
        p.set_vram_budget("16M")
        check_all(m, wan_ref)


def test_trim_returns_memory_and_keeps_written_data(wan, wan_ref):
    with gpupager.Pager(vram_budget="16M", host_budget="64M", policy="lru") as p:
        cs = p.info()["chunk_size"]
        m = p.open_model(wan)
        name = "blocks.0.self_attn.k.weight"
        with m.acquire("blocks.0", write=True):
            a = m.tensor(name).raw().numpy()
            a[:] = np.arange(a.size, dtype=np.uint8)
        used = p.stats()["vram_used"]
        assert p.trim(1) == cs  # rounded up to a chunk
        assert p.stats()["vram_used"] == used - cs
        released = p.trim()
        assert released == used - cs
        assert p.stats()["vram_used"] == 0
        assert p.trim() == 0
        assert p.vram_budget == 16 << 20  # unchanged
        assert not m.group_info("blocks.0").resident
        with m.acquire(name):
            b = m.tensor(name).raw().numpy()
            assert (b == np.arange(b.size, dtype=np.uint8)).all()
        with pytest.raises(gpupager.InvalidArgument):
            p.trim(-1)
