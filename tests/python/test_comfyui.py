"""The ComfyUI node pack, called as ComfyUI would, with stand-in objects."""

import pytest

import comfyui_gpupager
from comfyui_gpupager import nodes

import gpupager


@pytest.fixture(autouse=True)
def fresh_pagers():
    yield
    nodes.close_pagers()


def test_node_conventions():
    assert set(comfyui_gpupager.NODE_CLASS_MAPPINGS) == set(comfyui_gpupager.NODE_DISPLAY_NAME_MAPPINGS)
    names = set(comfyui_gpupager.NODE_DISPLAY_NAME_MAPPINGS.values())
    assert {"Paged model loader", "Offload to DRAM", "Block swap", "Pager stats"} <= names
    for cls in comfyui_gpupager.NODE_CLASS_MAPPINGS.values():
        it = cls.INPUT_TYPES()
        assert "required" in it and isinstance(it["required"], dict)
        assert isinstance(cls.RETURN_TYPES, tuple)
        assert len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES)
        assert callable(getattr(cls(), cls.FUNCTION)) and cls.CATEGORY == "gpupager"
    assert nodes.ANY == "MODEL" or not (nodes.ANY != "MODEL")  # '*' matches every type
    off = nodes.OffloadToDRAM.INPUT_TYPES()
    assert "trigger" in off["optional"]
    assert nodes.OffloadToDRAM.RETURN_NAMES == ("memory_stats", "dram_id", "passthrough")


def test_loader_offload_restore_and_stats(wan):
    loader = nodes.PagedModelLoader()
    model, handle = loader.load(wan, vram_budget="32M", policy="auto")
    assert isinstance(handle, gpupager.Model)
    with handle.acquire("blocks.0"):
        pass
    stats, dram_id, passthrough = nodes.OffloadToDRAM().offload(model)
    assert passthrough is True and "VRAM" in stats and "RAM" in stats
    assert "cache: 1 offloaded" in stats
    # a second copy of the same file cannot take the key while the first holds it
    _, again = loader.load(wan, vram_budget="32M", policy="auto")
    with pytest.raises(gpupager.AlreadyExists):
        nodes.OffloadToDRAM().offload(again)
    with pytest.raises(gpupager.NotFound, match=r"^Cache key not found: 'nope'"):
        nodes.RestoreFromDRAM().restore(model, "nope")
    nodes.RestoreFromDRAM().restore(model, dram_id)
    # stable for the same file: the other copy gets the same id
    assert nodes.OffloadToDRAM().offload(again, trigger="x")[1:] == (dram_id, "x")
    text, pt = nodes.PagerStats().stats()
    assert pt is True and "pager 0 (auto): VRAM" in text and "process: hits" in text


def test_offload_too_big_says_insufficient_dram(wan):
    p = nodes.shared_pager("32M", "auto", None, "4M")
    m = p.open_model(wan)
    with pytest.raises(gpupager.InsufficientHostMemory, match=r"^Insufficient DRAM available"):
        nodes.OffloadToDRAM().offload(m)


def test_block_swap_args_errors():
    a = nodes.BlockSwapArgs()
    assert a.args(12)[0]["blocks_to_swap"] == 12
    assert a.args(0, "0-5,7")[0]["blocks_to_swap"] == "0-5,7"
    with pytest.raises(gpupager.InvalidArgument, match=r"^Invalid range: '7-2'$"):
        a.args(0, "7-2")
    with pytest.raises(gpupager.InvalidArgument, match=r"^Invalid integer: 'a'$"):
        a.args(0, "1,a")


def test_torch_model_through_the_nodes(wan, wan_ref):
    torch = pytest.importorskip("torch")
    from test_torch import build, expected, run

    class ModelPatcher:  # ComfyUI's: .model is the BaseModel, .diffusion_model the network
        def __init__(self, net):
            self.model = torch.nn.Module()
            self.model.diffusion_model = net

    net = build(wan_ref)
    patcher = ModelPatcher(net)
    out, handle = nodes.PagedModelLoader().load(wan, "32M", "auto", model=patcher)
    assert out is patcher and handle.module is net
    assert run(net, 2) == [expected(wan_ref)] * 2
    args = nodes.BlockSwapArgs().args(8, "", True, False, "32M")[0]
    out, swap = nodes.BlockSwap().apply(patcher, args)
    assert swap == "32-39" and net._gpupager.pager.policy == "static"
    assert run(net, 2) == [expected(wan_ref)] * 2
    stats, dram_id, pt = nodes.OffloadToDRAM().offload(patcher, trigger=42)
    assert pt == 42 and dram_id == net._gpupager.model.default_offload_key()
    assert run(net, 1) == [expected(wan_ref)]  # restored on demand


def test_clip_like_object(wan, wan_ref):
    torch = pytest.importorskip("torch")
    from test_torch import build, run, expected

    class CLIP:
        def __init__(self, net):
            self.cond_stage_model = net

    net = build(wan_ref)
    clip = CLIP(net)
    nodes.PagedModelLoader().load(wan, "32M", "auto", model=clip)
    run(net, 1)
    stats, dram_id, pt = nodes.OffloadToDRAM().offload(clip)
    assert pt is True and dram_id
    nodes.RestoreFromDRAM().restore(clip, dram_id)
    assert run(net, 1) == [expected(wan_ref)]
