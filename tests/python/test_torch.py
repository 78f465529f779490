"""gpupager.torch on the simulated device: real torch.nn modules whose
parameters are CPU tensors aliasing the simulator's device memory."""

import gc

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gpupager  # noqa: E402
import gpupager.torch as gpt  # noqa: E402


class Node(nn.Module):
    """A module tree built from a file's tensor names; forward adds up the
    bytes of every weight it holds (so NaN/Inf in sample data cannot matter)
    and runs its children in order."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, acc):
        self.calls += 1
        for p in list(self._parameters.values()) + list(self._buffers.values()):
            acc = acc + p.reshape(-1).view(torch.uint8).to(torch.int64).sum()
        for c in self.children():
            acc = c(acc)
        return acc


def build(ref, dtype_map=None, skip=(), extra=None):
    root = Node()
    for name, (dt, shape, _) in ref.items():
        if name in skip:
            continue
        *path, leaf = name.split(".")
        m = root
        for comp in path:
            if comp not in m._modules:
                m.add_module(comp, Node())
            m = m._modules[comp]
        dtype = (dtype_map or {}).get(name, gpt.TORCH_DTYPES[dt])
        m.register_parameter(leaf, nn.Parameter(torch.zeros(shape, dtype=dtype),
                                                requires_grad=False))
    if extra:
        root.register_parameter(extra, nn.Parameter(torch.zeros(3)))
    return root


def expected(ref):
    return sum(sum(d) for _, _, d in ref.values())


def run(module, passes=3):
    outs = []
    with torch.no_grad():
        for _ in range(passes):
            outs.append(int(module(torch.zeros((), dtype=torch.int64))))
    return outs


@pytest.mark.parametrize("budget", ["6M", "16M", "96M"])
def test_generated_model_at_budgets(wan, wan_ref, budget):
    exp = expected(wan_ref)
    with gpupager.Pager(vram_budget=budget, host_budget="128M") as p:
        mod = build(wan_ref)
        paged = gpt.page_module(mod, wan, p)
        assert len(paged.bound) == 1095
        assert paged.hooked["blocks.3"] == ["blocks.3"]
        t = paged.model.tensors["blocks.3.ffn.0.weight"]
        w = mod.blocks._modules["3"].ffn._modules["0"].weight
        assert w.data_ptr() == t.device_ptr  # aliased, not copied
        assert w.untyped_storage().data_ptr() == t.device_ptr
        assert run(mod) == [exp] * 3
        s = p.stats()
        assert s["hits"] + s["misses"] >= 3 * 42
        if budget == "6M":
            assert s["dev_evictions"] > 0
        if budget == "96M":
            assert s["bytes_disk"] <= 1.1 * sum(len(d) for _, _, d in wan_ref.values()) + (4 << 20)
        with torch.inference_mode():
            assert int(mod(torch.zeros((), dtype=torch.int64))) == exp
        assert all(v == 0 for v in paged._held.values())  # every acquire released
        paged.unpage()
        assert run(mod, 1) == [exp]


def test_meta_module_and_grad_mode(wan, wan_ref):
    with torch.device("meta"):
        mod = build(wan_ref)
    with gpupager.Pager(vram_budget="16M", host_budget="64M") as p:
        gpt.page_module(mod, wan, p)
        assert next(mod.parameters()).device.type == "cpu"
        assert not any(q.requires_grad for q in mod.parameters())
        assert int(mod(torch.zeros((), dtype=torch.int64))) == expected(wan_ref)  # grad mode on


def test_several_modules_at_once(wan, wan_ref, llama):
    from conftest import read_model
    lref = read_model(llama)
    with gpupager.Pager(vram_budget="12M", host_budget="128M") as p:
        a, b = build(wan_ref), build(lref)
        pa, pb = gpt.page_module(a, wan, p), gpt.page_module(b, llama, p)
        assert pa.model is not pb.model and len(p.models) == 2
        for _ in range(3):
            assert run(a, 1) == [expected(wan_ref)]
            assert run(b, 1) == [expected(lref)]
        assert p.stats()["dev_evictions"] > 0


def test_bind_errors_list_every_problem(wan, wan_ref, pager):
    bad = {"blocks.0.ffn.0.weight": torch.float32}
    mod = build(wan_ref, dtype_map=bad, skip=("head.head.weight",), extra="not_in_file")
    mod.blocks._modules["1"].ffn._modules["0"].weight = nn.Parameter(torch.zeros(3, 3))
    with pytest.raises(gpt.BindError) as ei:
        gpt.page_module(mod, wan, pager)
    msg = str(ei.value)
    assert "(3 problems)" in msg
    assert "blocks.0.ffn.0.weight: file has BF16" in msg and "module has float32" in msg
    assert "blocks.1.ffn.0.weight: file has BF16" in msg and "[3, 3]" in msg
    assert "not_in_file: not in the model file" in msg
    assert not pager.models  # nothing left open
    assert getattr(mod, "_gpupager", None) is None
    # strict=False binds what matches; a prefix maps module names to file names
    ok = build({k: v for k, v in wan_ref.items() if k.startswith("blocks.2.")})
    sub = ok.blocks._modules["2"]
    paged = gpt.page_module(sub, wan, pager, prefix="blocks.2.")
    assert len(paged.bound) == 27
    assert int(sub(torch.zeros((), dtype=torch.int64))) == sum(
        sum(d) for k, (_, _, d) in wan_ref.items() if k.startswith("blocks.2."))
    with pytest.raises(gpupager.InvalidArgument, match="already paged"):
        gpt.page_module(sub, wan, pager, prefix="blocks.2.")


def test_offload_to_dram_and_back(wan, wan_ref):
    with gpupager.Pager(vram_budget="32M", host_budget="128M") as p:
        mod = build(wan_ref)
        paged = gpt.page_module(mod, wan, p)
        run(mod, 1)
        stats, dram_id = gpt.offload(mod)
        assert stats.startswith("VRAM ") and ", RAM " in stats and "cache: 1 offloaded" in stats
        assert dram_id == paged.model.default_offload_key()
        assert all(g.resident_chunks == 0 for g in paged.model.groups)
        gpt.restore(mod)
        assert run(mod, 2) == [expected(wan_ref)] * 2
        with pytest.raises(gpupager.NotFound, match=r"^Cache key not found: 'nope'"):
            gpt.restore("nope", pager=p)
        # offload again, then a forward restores on demand
        gpt.offload(paged)
        assert run(mod, 1) == [expected(wan_ref)]
        # same file, another module: the same dram_id
        mod2 = build(wan_ref)
        gpt.page_module(mod2, wan, p)
        assert gpt.offload(mod2)[1] == dram_id
        gpt.restore(mod2)


def test_offload_that_does_not_fit_moves_nothing(wan, wan_ref):
    with gpupager.Pager(vram_budget="32M", host_budget="8M") as p:
        mod = build(wan_ref)
        paged = gpt.page_module(mod, wan, p)
        run(mod, 1)
        before = [g.resident_chunks for g in paged.model.groups]
        with pytest.raises(gpupager.InsufficientHostMemory, match=r"^Insufficient DRAM available"):
            gpt.offload(mod)
        assert [g.resident_chunks for g in paged.model.groups] == before
        assert run(mod, 1) == [expected(wan_ref)]


def test_block_swap_by_count_and_range(wan, wan_ref):
    mod = build(wan_ref)
    paged = gpt.page_module(mod, wan, blocks_to_swap=10, vram_budget="32M", host_budget="128M")
    assert paged.pager.options["policy"] == "static"
    assert paged.pager.options["swap_blocks"] == "30-39"
    assert paged.pager.policy == "static"
    assert run(mod) == [expected(wan_ref)] * 3
    pager = paged.pager
    paged.unpage()
    assert pager.closed  # page_module opened it, unpage closed it
    paged = gpt.page_module(mod, wan, blocks_to_swap="0-5,7,9-11", offload_txt_emb=True,
                            vram_budget="32M", host_budget="128M")
    assert paged.pager.options["swap_blocks"] == "0-5,7,9-11"
    assert 0 in paged.streamed  # the group holding text_embedding
    assert run(mod) == [expected(wan_ref)] * 3
    paged.unpage()
    for bad, msg in (("5-3", "^Invalid range: '5-3'$"), ("1,x", "^Invalid integer: 'x'$"),
                     ("", "^Invalid integer: ''$")):
        with pytest.raises(gpupager.InvalidArgument, match=msg):
            gpt.page_module(mod, wan, blocks_to_swap=bad)
    with pytest.raises(gpupager.InvalidArgument, match="the model has 40 blocks"):
        gpt.page_module(mod, wan, blocks_to_swap=41)
    with pytest.raises(gpupager.InvalidArgument, match="not in the model"):
        gpt.page_module(mod, wan, blocks_to_swap="38-45")
    with gpupager.Pager(vram_budget="32M", host_budget="64M") as p:
        with pytest.raises(gpupager.InvalidArgument, match="policy='static'"):
            gpt.page_module(mod, wan, p, blocks_to_swap=4)
    with gpupager.Pager(vram_budget="32M", host_budget="64M", policy="static",
                        swap_blocks=gpt.swap_ranges(gpupager.describe(wan), 4)) as p:
        gpt.page_module(mod, wan, p, blocks_to_swap=4)
        assert run(mod, 2) == [expected(wan_ref)] * 2
        gpt.unpage(mod)


def test_exception_in_forward_releases_the_group(wan, wan_ref, pager):
    mod = build(wan_ref)
    paged = gpt.page_module(mod, wan, pager)
    blk = mod.blocks._modules["4"]

    def boom(module, args):
        raise RuntimeError("boom")
    h = blk.self_attn.register_forward_pre_hook(boom)
    with pytest.raises(RuntimeError, match="boom"):
        run(mod, 1)
    assert all(v == 0 for v in paged._held.values())
    h.remove()
    assert run(mod, 1) == [expected(wan_ref)]


def test_empty_takes_memory_from_the_budget(wan, wan_ref):
    with gpupager.Pager(vram_budget="16M", host_budget="64M") as p:
        mod = build(wan_ref)
        gpt.page_module(mod, wan, p)
        run(mod, 1)
        ev = p.stats()["dev_evictions"]
        t = gpt.empty((3, 1024, 1024), torch.float32, p)
        t.fill_(2.5)
        assert float(t.sum()) == 2.5 * 3 * 1024 * 1024
        assert p.stats()["dev_evictions"] > ev
        del t
        gc.collect()
        assert run(mod, 1) == [expected(wan_ref)]


def test_reserve_and_retry_on_oom_trim_the_pager(wan, wan_ref):
    with gpupager.Pager(vram_budget="16M", host_budget="64M") as p:
        mod = build(wan_ref)
        paged = gpt.page_module(mod, wan, p, reserve="2M")
        assert run(mod, 1) == [expected(wan_ref)]
        used = p.stats()["vram_used"]
        assert gpt.reserve(mod, "4M") == 4 << 20  # the simulator: what is asked
        assert p.stats()["vram_used"] == used - (4 << 20)
        assert paged.reserve(0) == 0

        calls = []

        def forward():
            calls.append(p.stats()["vram_used"])
            if len(calls) == 1:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return run(mod, 1)

        assert gpt.retry_on_oom(forward, p) == [expected(wan_ref)]
        assert len(calls) == 2 and calls[1] < calls[0]  # trimmed before the retry
        assert p.vram_budget == 16 << 20

        def always():
            raise torch.OutOfMemoryError("still out of memory")

        with pytest.raises(torch.OutOfMemoryError):
            gpt.retry_on_oom(always, paged)

        def other():
            raise ValueError("not memory")

        before = p.stats()["dev_evictions"]
        with pytest.raises(ValueError):
            gpt.retry_on_oom(other, p)
        assert p.stats()["dev_evictions"] == before  # no trim for other errors
        gpt.unpage(mod)
        assert paged._reserve_handle is None
