"""ComfyUI nodes over gpupager.  Importable without ComfyUI (and without
torch: the nodes that page a torch module import it when they run).

Model objects: a torch.nn.Module, a ComfyUI ModelPatcher (`.model`, whose
`.diffusion_model` is the network), a ComfyUI CLIP (`.cond_stage_model`
or `.patcher`), a gpupager.Model, or the PAGED_MODEL handle the loader
returns.  Every node shares one pager per (budget, policy, swap blocks), so
models paged together never evict each other ahead of time.
"""

from __future__ import annotations

import threading

import gpupager

CATEGORY = "gpupager"


class AnyType(str):
    """A type string that matches every other ('*' sockets)."""

    def __ne__(self, other):
        return False


ANY = AnyType("*")

_pagers: dict[tuple, gpupager.Pager] = {}
_lock = threading.Lock()


def shared_pager(vram_budget: str = "90%", policy: str = "auto",
                 swap_blocks: str | None = None, host_budget: str | None = None) -> gpupager.Pager:
    key = (vram_budget, policy, swap_blocks, host_budget)
    with _lock:
        p = _pagers.get(key)
        if p is None or p.closed:
            p = gpupager.Pager(vram_budget=vram_budget or None, policy=policy,
                               swap_blocks=swap_blocks, host_budget=host_budget or None)
            _pagers[key] = p
        return p


def close_pagers() -> None:
    with _lock:
        for p in _pagers.values():
            p.close()
        _pagers.clear()


def torch_module(obj):
    """The torch module inside a ComfyUI object, or None."""
    try:
        import torch
    except ImportError:
        return None
    seen = 0
    while obj is not None and seen < 6:
        seen += 1
        if isinstance(obj, torch.nn.Module):
            inner = getattr(obj, "diffusion_model", None)
            return inner if isinstance(inner, torch.nn.Module) else obj
        for attr in ("model", "cond_stage_model", "patcher"):
            nxt = getattr(obj, attr, None)
            if nxt is not None:
                obj = nxt
                break
        else:
            return None
    return None


def paged_of(obj):
    """The gpupager.Model or gpupager.torch.PagedModule an object carries."""
    if isinstance(obj, (gpupager.Model,)):
        return obj
    h = getattr(obj, "_gpupager", None)
    if h is not None:
        return h
    if type(obj).__name__ == "PagedModule":
        return obj
    mod = torch_module(obj)
    if mod is not None and getattr(mod, "_gpupager", None) is not None:
        return mod._gpupager
    raise gpupager.InvalidArgument(
        f"{type(obj).__name__} is not paged by gpupager: load it with 'Paged model loader'")


def _model_of(obj) -> gpupager.Model:
    p = paged_of(obj)
    return p if isinstance(p, gpupager.Model) else p.model


class PagedModelLoader:
    """Paged model loader: open a safetensors model through the pager.  With
    a model connected, its torch module is paged from the file (names
    prefixed by key_prefix, e.g. "model.diffusion_model."); the model comes
    back, paged.  Without one, the file is opened for the other nodes."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model_path": ("STRING", {"default": ""}),
                "vram_budget": ("STRING", {"default": "90%"}),
                "policy": (["auto", "lru", "clock", "static"],),
            },
            "optional": {
                "model": (ANY,),
                "key_prefix": ("STRING", {"default": ""}),
                "strict": ("BOOLEAN", {"default": True}),
            },
        }

    RETURN_TYPES = (ANY, "PAGED_MODEL")
    RETURN_NAMES = ("model", "paged_model")
    FUNCTION = "load"
    CATEGORY = CATEGORY

    def load(self, model_path, vram_budget="90%", policy="auto", model=None, key_prefix="",
             strict=True):
        pager = shared_pager(vram_budget, policy)
        if model is None:
            m = pager.open_model(model_path)
            return (m, m)
        mod = torch_module(model)
        if mod is None:
            raise gpupager.InvalidArgument(f"no torch module in {type(model).__name__}")
        import gpupager.torch as gpt
        handle = gpt.page_module(mod, model_path, pager, prefix=key_prefix, strict=strict)
        return (model, handle)


class OffloadToDRAM:
    """Offload to DRAM: move a paged model (MODEL or CLIP) to the host tier
    and give its VRAM back.  Outputs memory_stats, dram_id (the cache key,
    stable for the same model file) and passthrough (the trigger, or True
    when none is connected), to order it in the graph."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": (ANY,)}, "optional": {"trigger": (ANY,)}}

    RETURN_TYPES = ("STRING", "STRING", ANY)
    RETURN_NAMES = ("memory_stats", "dram_id", "passthrough")
    FUNCTION = "offload"
    CATEGORY = CATEGORY
    OUTPUT_NODE = True

    def offload(self, model, trigger=None):
        m = _model_of(model)
        try:
            dram_id = m.offload()
        except gpupager.InsufficientHostMemory as e:
            raise gpupager.InsufficientHostMemory(
                f"Insufficient DRAM available to offload {m.source}: {e}") from None
        return (memory_stats(m.pager), dram_id, True if trigger is None else trigger)


class RestoreFromDRAM:
    """Bring a model offloaded with 'Offload to DRAM' back (by dram_id)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": (ANY,), "dram_id": ("STRING", {"default": ""})}}

    RETURN_TYPES = (ANY, "STRING")
    RETURN_NAMES = ("model", "memory_stats")
    FUNCTION = "restore"
    CATEGORY = CATEGORY

    def restore(self, model, dram_id):
        m = _model_of(model)
        try:
            m.pager.restore(dram_id)
        except gpupager.NotFound as e:
            raise gpupager.NotFound(f"Cache key not found: '{dram_id}' ({e})") from None
        return (model, memory_stats(m.pager))


class BlockSwapArgs:
    """Block swap settings: blocks_to_swap streams the last N blocks, or
    block_ranges ("0-5,7,9-11") names them; offload_txt_emb / offload_img_emb
    stream the text / image embeddings too."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"blocks_to_swap": ("INT", {"default": 20, "min": 0, "max": 1000})},
            "optional": {
                "block_ranges": ("STRING", {"default": ""}),
                "offload_txt_emb": ("BOOLEAN", {"default": False}),
                "offload_img_emb": ("BOOLEAN", {"default": False}),
                "vram_budget": ("STRING", {"default": "90%"}),
            },
        }

    RETURN_TYPES = ("BLOCKSWAPARGS",)
    RETURN_NAMES = ("block_swap_args",)
    FUNCTION = "args"
    CATEGORY = CATEGORY

    def args(self, blocks_to_swap=20, block_ranges="", offload_txt_emb=False,
             offload_img_emb=False, vram_budget="90%"):
        if block_ranges:
            gpupager.parse_ranges(block_ranges)  # exact errors now, not at run time
        return ({"blocks_to_swap": block_ranges or int(blocks_to_swap),
                 "offload_txt_emb": bool(offload_txt_emb),
                 "offload_img_emb": bool(offload_img_emb),
                 "vram_budget": vram_budget},)


class BlockSwap:
    """Block swap: re-page a paged model with the static policy, streaming
    the blocks block_swap_args names (the rest stay resident)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": (ANY,), "block_swap_args": ("BLOCKSWAPARGS",)}}

    RETURN_TYPES = (ANY, "STRING")
    RETURN_NAMES = ("model", "swap_blocks")
    FUNCTION = "apply"
    CATEGORY = CATEGORY

    def apply(self, model, block_swap_args):
        import gpupager.torch as gpt
        a = dict(block_swap_args)
        old = paged_of(model)
        if isinstance(old, gpupager.Model):
            raise gpupager.InvalidArgument("block swap needs a paged torch model "
                                           "(connect a model to 'Paged model loader')")
        path, prefix, mod = old.model.source, old.prefix, old.module
        desc = gpupager.describe(path)
        try:
            swap = gpt.swap_ranges(desc, a["blocks_to_swap"])
        finally:
            desc.close()
        pager = shared_pager(a.get("vram_budget", "90%"), "static", swap)
        old.unpage()
        gpt.page_module(mod, path, pager, prefix=prefix, blocks_to_swap=a["blocks_to_swap"],
                        offload_txt_emb=a.get("offload_txt_emb", False),
                        offload_img_emb=a.get("offload_img_emb", False))
        return (model, swap or "")


class PagerStats:
    """Pager stats: one line per pager of this process and the totals."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}, "optional": {"trigger": (ANY,)}}

    RETURN_TYPES = ("STRING", ANY)
    RETURN_NAMES = ("stats", "passthrough")
    FUNCTION = "stats"
    CATEGORY = CATEGORY
    OUTPUT_NODE = True

    def stats(self, trigger=None):
        with _lock:
            pagers = [p for p in _pagers.values() if not p.closed]
        lines = [f"pager {i} ({p.policy}): {memory_stats(p)}" for i, p in enumerate(pagers)]
        try:
            t = gpupager.process_stats()
            lines.append(f"process: hits {t['hits']}, misses {t['misses']}, disk "
                         f"{gpupager.format_size(t['bytes_disk'])}, H2D "
                         f"{gpupager.format_size(t['bytes_h2d'])}, evictions {t['dev_evictions']}")
        except gpupager.NotFound:
            lines.append("process: no pager open")
        return ("\n".join(lines), True if trigger is None else trigger)


memory_stats = gpupager.core.memory_stats


NODE_CLASS_MAPPINGS = {
    "GpuPagerModelLoader": PagedModelLoader,
    "GpuPagerOffloadToDRAM": OffloadToDRAM,
    "GpuPagerRestoreFromDRAM": RestoreFromDRAM,
    "GpuPagerBlockSwapArgs": BlockSwapArgs,
    "GpuPagerBlockSwap": BlockSwap,
    "GpuPagerStats": PagerStats,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "GpuPagerModelLoader": "Paged model loader",
    "GpuPagerOffloadToDRAM": "Offload to DRAM",
    "GpuPagerRestoreFromDRAM": "Restore from DRAM",
    "GpuPagerBlockSwapArgs": "Block swap args",
    "GpuPagerBlockSwap": "Block swap",
    "GpuPagerStats": "Pager stats",
}
