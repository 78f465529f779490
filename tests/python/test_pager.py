"""Pager, Model, acquisitions and views on the simulated device, with
every byte checked against the files (read by hand and by safetensors)."""

import os

import numpy as np
import pytest
from safetensors import safe_open

import gpupager

from conftest import read_safetensors


def test_pager_options_and_info(pager):
    info = pager.info()
    assert info["simulated"] is True and pager.simulated
    assert "simulated" in info["device_name"]
    assert info["vram_budget"] == 64 << 20 and info["host_budget"] == 256 << 20
    assert info["policy"] == "auto" and info["chunk_size"] == 2 << 20
    s = pager.stats()
    assert set(s) == set(gpupager._lib.STATS_FIELDS)
    assert s["vram_budget"] == 64 << 20
    assert s["weights_dropped"] == s["weights_written"] == 0  # no shim heap: no weights of its own
    assert pager.stats_line().startswith("VRAM ")


def test_bad_options_are_errors():
    with pytest.raises(gpupager.InvalidArgument, match="nope"):
        gpupager.Pager(vram_budget="32M", policy="nope")
    with pytest.raises(gpupager.InvalidArgument, match=r"^Invalid range: '9-1'$"):
        gpupager.Pager(vram_budget="32M", policy="static", swap_blocks="9-1")
    with pytest.raises(gpupager.Error):
        gpupager.Pager(vram_budget="lots")
    with pytest.raises(gpupager.InvalidArgument):
        gpupager.Pager(vram_budget="32M", host_budget="10%")
    with gpupager.Pager(vram_budget="40%", host_budget="64M") as p:
        assert p.info()["vram_budget"] > 0


def test_tensors_and_groups_match_the_files(pager, wan, wan_ref):
    m = pager.open_model(wan)
    assert len(m.tensors) == len(wan_ref) == 1095
    for name, (dt, shape, data) in wan_ref.items():
        t = m.tensors[name]
        assert (t.dtype, t.shape, t.nbytes) == (dt, shape, len(data))
        assert t.device_ptr == m.device_base + t.range_offset
    groups = m.groups
    assert len(groups) == m.group_count == 42
    assert [g.name for g in groups[1:41]] == [f"blocks.{i}" for i in range(40)]
    assert [g.block_index for g in groups[1:41]] == list(range(40))
    assert groups[0].block_index == -1
    assert sum(g.nbytes for g in groups) == sum(len(v[2]) for v in wan_ref.values())
    assert all(g.resident_chunks == 0 for g in groups)
    assert m.group_index("blocks.7") == 8
    with pytest.raises(gpupager.NotFound):
        m.tensors["no.such.tensor"]
    with pytest.raises(gpupager.NotFound):
        m.acquire("no.such.thing")


def test_every_view_equals_the_file(wan, wan_ref):
    with gpupager.Pager(vram_budget="8M", host_budget="64M") as p:
        m = p.open_model(wan)
        for g in m.groups:
            with m.acquire(g.index):
                assert m.group_info(g.index).resident
                for name, (dt, shape, data) in wan_ref.items():
                    t = m.tensors[name]
                    if t.group != g.index:
                        continue
                    v = m.tensor(name)
                    assert v.kind == "simulated-host" and v.simulated
                    assert v.tobytes() == data, name
                    assert np.asarray(v).tobytes() == data
                    assert v.numpy().shape == shape
        s = p.stats()
        assert s["dev_evictions"] > 0  # 11 MiB through an 8 MiB budget
        assert s["bytes_disk"] >= sum(len(v[2]) for v in wan_ref.values())


def test_views_against_the_safetensors_reader(pager, wan):
    m = pager.open_model(wan)
    f = sorted(x for x in os.listdir(wan) if x.endswith(".safetensors"))[-1]
    with safe_open(os.path.join(wan, f), "np") as st:
        names = [n for n in st.keys() if m.tensors[n].dtype in ("F32", "F16")] or list(st.keys())
    # wan is BF16 throughout: compare raw bytes through numpy's uint16 view
    ref = read_safetensors(os.path.join(wan, f))
    for n in list(ref)[:50]:
        with m.acquire(n):
            a = m.tensor(n).numpy()
            assert a.dtype == np.uint16  # BF16 has no numpy dtype: raw 16-bit words
            assert a.tobytes() == ref[n][2]
    assert names


def test_f32_views_equal_safetensors_numpy(tmp_path):
    d = tmp_path / "f32"
    gpupager.write_sample(d, "sdxl-unet", 0.02, dtype="F32", seed=5)
    path = str(d / "model.safetensors")
    with gpupager.Pager(vram_budget="32M", host_budget="64M") as p, \
            safe_open(path, "np") as st:
        m = p.open_model(d)
        for n in list(st.keys())[:200]:
            ref = st.get_tensor(n)
            with m.acquire(n):
                a = m.tensor(n).numpy()
                assert a.dtype == np.float32
                np.testing.assert_array_equal(a.view(np.uint32), ref.view(np.uint32))


def test_cuda_array_interface_and_dlpack(pager, wan, wan_ref):
    m = pager.open_model(wan)
    name = "blocks.3.ffn.0.weight"
    t = m.tensors[name]
    with m.acquire("blocks.3"):
        v = m.tensor(name)
        with pytest.raises(AttributeError, match="DLPack"):
            v.__cuda_array_interface__  # BF16: numpy has no typestr
        r = v.raw()
        cai = r.__cuda_array_interface__
        assert cai == {"shape": (t.nbytes,), "typestr": "|u1", "data": (t.device_ptr, False),
                       "version": 3, "strides": None, "stream": None}
        assert m.tensor(name, stream=5).raw().__cuda_array_interface__["stream"] == 5
        assert v.__dlpack_device__() == (1, 0)  # kDLCPU on the simulated device
        legacy = np.from_dlpack(r)
        assert legacy.tobytes() == wan_ref[name][2]
        versioned = r.__dlpack__(max_version=(1, 0))
        assert "dltensor_versioned" in repr(versioned)
        del versioned  # never consumed: the capsule's destructor frees it
        with pytest.raises(BufferError):
            r.__dlpack__(stream=7)
        with pytest.raises(BufferError):
            r.__dlpack__(copy=True)


def test_acquire_forms_and_errors(pager, wan, wan_ref):
    m = pager.open_model(wan)
    g5 = m.group_info("blocks.5")
    with m.acquire(g5):
        assert m.group_info(5 + 1).resident
    t = m.tensors["blocks.9.norm3.weight"]
    with m.acquire(t):
        assert m.tensor(t.name).tobytes() == wan_ref[t.name][2]
    with m.acquire((t.range_offset, t.nbytes)):
        assert m.range_view(t.range_offset, t.nbytes).tobytes() == wan_ref[t.name][2]
    a = m.acquire("blocks.9")
    a.release()
    a.release()  # a second release is a no-op
    with pytest.raises(gpupager.NotFound):
        m.acquire(99)
    with pytest.raises(TypeError):
        m.acquire(1.5)
    m.prefetch("blocks.10")
    m.done(10)
    m.close()
    with pytest.raises(gpupager.StateError):
        m.groups


def test_write_survives_eviction(wan):
    with gpupager.Pager(vram_budget="6M", host_budget="64M") as p:
        m = p.open_model(wan)
        name = "blocks.0.self_attn.k.weight"
        with m.acquire("blocks.0", write=True):
            a = m.tensor(name).raw().numpy()
            a[:] = np.arange(a.size, dtype=np.uint8)
        for g in range(1, m.group_count):
            with m.acquire(g):
                pass
        assert not m.group_info("blocks.0").resident
        assert p.stats()["bytes_d2h"] > 0  # written back before eviction
        with m.acquire(name):
            b = m.tensor(name).raw().numpy()
            assert (b == np.arange(b.size, dtype=np.uint8)).all()


def test_offload_restore_round_trip(wan, wan_ref):
    with gpupager.Pager(vram_budget="32M", host_budget="128M") as p:
        m = p.open_model(wan)
        for g in range(m.group_count):
            with m.acquire(g):
                pass
        key = m.offload()
        assert key == m.default_offload_key() and key in p.offloaded
        assert all(g.resident_chunks == 0 for g in m.groups)
        disk = p.stats()["bytes_disk"]
        p.restore(key)
        assert key not in p.offloaded
        with pytest.raises(gpupager.NotFound):
            p.restore(key)  # restoring frees the key
        for name in list(wan_ref)[::37]:
            with m.acquire(name):
                assert m.tensor(name).tobytes() == wan_ref[name][2]
        assert p.stats()["bytes_disk"] == disk  # nothing read again
        # the key is stable for the same file
        m2 = p.open_model(wan)
        assert m2.default_offload_key() == key


def test_offload_too_big_for_the_host_tier_moves_nothing(wan):
    with gpupager.Pager(vram_budget="32M", host_budget="4M") as p:
        m = p.open_model(wan)
        with m.acquire("blocks.1"):
            pass
        before = [g.resident_chunks for g in m.groups]
        with pytest.raises(gpupager.InsufficientHostMemory):
            m.offload("k")
        assert [g.resident_chunks for g in m.groups] == before
        assert "k" not in p.offloaded


def test_describe_without_a_pager(wan):
    d = gpupager.describe(wan)
    assert len(d.tensors) == 1095 and d.group_count == 42
    assert d.tensors["blocks.0.ffn.0.weight"].device_ptr == 0
    with pytest.raises(gpupager.StateError):
        d.acquire(0)
    d.close()


def test_alloc_evicts_weights(wan):
    with gpupager.Pager(vram_budget="16M", host_budget="64M") as p:
        m = p.open_model(wan)
        for g in range(m.group_count):
            with m.acquire(g):
                pass
        ev = p.stats()["dev_evictions"]
        with p.alloc("12M") as a:
            v = a.view("U8")
            v.numpy()[:] = 7
            assert (v.numpy() == 7).all() and v.nbytes == 12 << 20
            assert p.stats()["dev_evictions"] > ev
        with m.acquire("blocks.2"):
            pass


def test_two_models_on_one_pager(wan, llama):
    with gpupager.Pager(vram_budget="24M", host_budget="64M") as p:
        a, b = p.open_model(wan), p.open_model(llama)
        assert len(p.models) == 2
        for _ in range(2):
            for m in (a, b):
                for g in range(m.group_count):
                    with m.acquire(g):
                        pass
        assert p.stats()["hits"] + p.stats()["misses"] == 2 * (a.group_count + b.group_count)
        assert gpupager.process_stats()["hits"] >= p.stats()["hits"]
    assert a.closed and b.closed  # closing the pager closed them
