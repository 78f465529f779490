"""PyTorch integration: page a module's weights through libgpupager.

    import gpupager, gpupager.torch as gpt
    pager = gpupager.Pager(vram_budget="8G")
    paged = gpt.page_module(model, "/models/wan2.1-14b", pager)   # then run model as usual

`page_module` binds every parameter and buffer whose name is in the model
file to the pager's tensor at its stable device address (the module's own
copies are freed), and installs forward pre/post hooks on the submodules
that hold each group: before forward the group is acquired on
`torch.cuda.current_stream()` (the stream waits for the copy's event), after
forward it is released (the stream's position is the last use).  Weights
never go through PyTorch's caching allocator and nothing calls
`record_stream`.  Paged weights are for inference: they are frozen
(requires_grad False); run under torch.no_grad() / inference_mode when
inputs require grad.

On the simulated device (no GPU) parameters are CPU tensors aliasing the
simulator's device memory, so the same hooks run with PyTorch's CPU
kernels.  Do not move or convert a paged module (.to, .half); unpage() it
first.
"""

from __future__ import annotations

import re
import threading
from typing import Iterable

import torch

from . import _lib, core
from .core import Model, Pager, format_size, parse_ranges
from .errors import InsufficientHostMemory, InvalidArgument, NotFound, check

#: safetensors dtype -> torch dtype (those this torch build has)
TORCH_DTYPES = {k: getattr(torch, v) for k, v in {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
    "I32": "int32", "U32": "uint32", "I64": "int64", "U64": "uint64", "F16": "float16",
    "BF16": "bfloat16", "F32": "float32", "F64": "float64", "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2", "F8_E8M0": "float8_e8m0fnu", "F8_E4M3FNUZ": "float8_e4m3fnuz",
    "F8_E5M2FNUZ": "float8_e5m2fnuz", "C64": "complex64",
}.items() if hasattr(torch, v)}

#: Tensor-name prefixes of the groups offload_txt_emb / offload_img_emb stream.
TXT_EMB_PREFIXES = ("text_embedding.", "txt_in.", "context_embedder.", "text_embedder.",
                    "txt_emb", "text_proj", "encoder_hid_proj")
IMG_EMB_PREFIXES = ("img_emb.", "img_in.", "image_embedder.", "img_emb", "image_proj")


class BindError(InvalidArgument):
    """The module and the model file do not match (every mismatch listed)."""


def _cuda_stream(pager: Pager):
    """The stream hooks acquire on: torch's current stream on a GPU, the
    pager's own (None) on the simulated device."""
    if pager.simulated:
        return None
    return torch.cuda.current_stream(pager.device).cuda_stream


def _alias(model: Model, t: core.Tensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A torch tensor at the tensor's device address (no copy)."""
    if t.nbytes == 0:
        return torch.empty(t.shape, dtype=dtype, device=device)
    raw = torch.from_dlpack(model.tensor(t.name).raw())
    return raw.view(dtype).view(t.shape)


class _GroupHook:
    """Pre/post forward hooks of one module for one group."""

    def __init__(self, paged: "PagedModule", group: int, module: torch.nn.Module):
        self.paged, self.group = paged, group
        self.depth = 0
        self.lock = threading.Lock()
        self.handles = [
            module.register_forward_pre_hook(self.pre),
            module.register_forward_hook(self.post, always_call=True),
        ]

    def pre(self, module, args):
        p = self.paged
        p._acquire(self.group, _cuda_stream(p.pager))
        with self.lock:
            self.depth += 1

    def post(self, module, args, output):
        with self.lock:
            if self.depth == 0:       # the pre hook failed: nothing to release
                return
            self.depth -= 1
        p = self.paged
        p._release(self.group, _cuda_stream(p.pager))

    def remove(self):
        for h in self.handles:
            h.remove()


class PagedModule:
    """What page_module returns (also kept as `module._gpupager`).

    Attributes: module, model (gpupager.Model), pager, bound (file tensor
    names bound), hooked ({group name: [module paths]}), streamed (group
    indices hinted done after each use)."""

    def __init__(self, module, model: Model, pager: Pager, owns_pager: bool, prefix: str):
        self.module, self.model, self.pager = module, model, pager
        self.owns_pager, self.prefix = owns_pager, prefix
        self.bound: list[str] = []
        self.hooked: dict[str, list[str]] = {}
        self.streamed: set[int] = set()
        self._bindings: list[tuple] = []  # (owner module, attr, kind, file name, requires_grad)
        self._hooks: list[_GroupHook] = []
        self._lock = threading.Lock()
        self._held: dict[int, int] = {}
        self.acquires = 0
        self.reserve_bytes = 0  # page_module(reserve=...): room made before each forward
        self._reserve_handle = None

    def __repr__(self) -> str:
        return (f"PagedModule({type(self.module).__name__}, {self.model.source!r}, "
                f"{len(self.bound)} tensors, {len(self._hooks)} hooks)")

    # -- hooks' work
    def _acquire(self, group: int, stream) -> None:
        self.model.acquire(group, stream)
        with self._lock:
            self._held[group] = self._held.get(group, 0) + 1
            self.acquires += 1

    def _release(self, group: int, stream) -> None:
        with self._lock:
            n = self._held.get(group, 0)
            if n == 0:
                return
            self._held[group] = n - 1
        check(_lib.lib().gp_release_group(self.model._handle(), group,
                                          core._stream_ptr(stream)))
        if group in self.streamed and self._held.get(group, 0) == 0:
            self.model.done(group)

    # -- the features
    def stats(self) -> dict[str, int]:
        return self.pager.stats()

    def memory_stats(self) -> str:
        return memory_stats(self.pager)

    def offload(self, key: str | None = None) -> tuple[str, str]:
        return offload(self, key)

    def restore(self, key: str | None = None) -> None:
        restore(self, key)

    def reserve(self, nbytes: int | str) -> int:
        """reserve(self.pager, nbytes): room for PyTorch's allocator now."""
        return reserve(self.pager, nbytes)

    def _pre_forward_reserve(self, module, args):
        if self.reserve_bytes:
            reserve(self.pager, self.reserve_bytes)

    def unpage(self) -> torch.nn.Module:
        """Weights back to ordinary tensors (copied out of the pager), hooks
        removed, the model closed (and the pager, if page_module opened it)."""
        if self.model.closed:
            return self.module
        for h in self._hooks:
            h.remove()
        self._hooks = []
        if self._reserve_handle is not None:
            self._reserve_handle.remove()
            self._reserve_handle = None
        stream = _cuda_stream(self.pager)
        by_group: dict[int, list] = {}
        for b in self._bindings:
            by_group.setdefault(self.model.tensors[b[3]].group, []).append(b)
        for g, binds in by_group.items():
            with self.model.acquire(g, stream):
                for owner, attr, kind, fname, req in binds:
                    cur = getattr(owner, attr)
                    copy = cur.detach().clone()
                    _set(owner, attr, kind, copy, req)
        self._bindings = []
        self.model.close()
        if getattr(self.module, "_gpupager", None) is self:
            del self.module._gpupager
        if self.owns_pager:
            self.pager.close()
        return self.module


def _set(owner: torch.nn.Module, attr: str, kind: str, value: torch.Tensor, requires_grad: bool):
    if kind == "buffer":
        owner._buffers[attr] = value
        return
    p = owner._parameters[attr]
    try:
        p.data = value
        p.requires_grad_(requires_grad)
    except RuntimeError:
        owner._parameters[attr] = torch.nn.Parameter(value, requires_grad=requires_grad)


def _block_indices(model: Model) -> list[int]:
    return sorted({g.block_index for g in model.groups if g.block_index >= 0})


def swap_ranges(model: Model, blocks_to_swap: int | str) -> str | None:
    """The static policy's ranges for blocks_to_swap: an int N streams the
    last N blocks (WanVideo's meaning); a string is block ranges
    ("0-5,7,9-11") checked against the model's blocks."""
    blocks = _block_indices(model)
    if isinstance(blocks_to_swap, bool) or not isinstance(blocks_to_swap, (int, str)):
        raise InvalidArgument(f"blocks_to_swap must be an int or a range string, "
                              f"not {blocks_to_swap!r}")
    if isinstance(blocks_to_swap, int):
        n = blocks_to_swap
        if n < 0 or n > len(blocks):
            raise InvalidArgument(f"blocks_to_swap={n}: the model has {len(blocks)} blocks")
        chosen = blocks[len(blocks) - n:]
    else:
        ranges = parse_ranges(blocks_to_swap)
        chosen = []
        for a, z in ranges:
            for i in range(a, z + 1):
                if i not in blocks:
                    raise InvalidArgument(
                        f"block {i} of '{blocks_to_swap}' is not in the model (blocks "
                        f"{blocks[0]}-{blocks[-1]})" if blocks else
                        f"block {i}: the model has no blocks")
                chosen.append(i)
    if not chosen:
        return None
    parts, start, prev = [], chosen[0], chosen[0]
    for i in chosen[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ",".join(parts)


def page_module(module: torch.nn.Module, model_path, pager: Pager | None = None, *,
                prefix: str = "", strict: bool = True, blocks_to_swap: int | str | None = None,
                offload_txt_emb: bool = False, offload_img_emb: bool = False,
                stream_groups: Iterable[str] = (), vram_budget=None,
                host_budget=None, reserve: int | str | None = None) -> PagedModule:
    """Page `module`'s weights from the model at `model_path`.

    - Every parameter and persistent buffer whose name (with `prefix`
      prepended: the file's name for it) is in the file is bound to the
      pager's tensor; dtype and shape must match.  With strict (default)
      every parameter and persistent buffer must be in the file.  One
      BindError lists every mismatch and every missing name.
    - pager None: a pager is opened for the module (closed by unpage()),
      with vram_budget / host_budget and, for block swap, the static policy.
    - blocks_to_swap: block swap (static policy): an int N streams the last
      N blocks, a string names block ranges ("0-5,7,9-11"; errors exactly
      "Invalid range: '<part>'" / "Invalid integer: '<part>'").  A pager
      given with it must have been opened with policy="static" and the
      same swap_blocks (swap_ranges() computes them).
    - offload_txt_emb / offload_img_emb / stream_groups: also stream those
      named groups (text / image embeddings, or groups whose names match
      the regexes): hinted done after each use, so they go first.
    - Default (no blocks_to_swap): dynamic mode, the pager's policy (auto):
      groups load at first use and are evicted in the order the model runs.
      The budget is negotiated at run time: pager.set_vram_budget() lowers
      or raises it, pager.trim() gives idle memory back; reserve=N makes
      room for N bytes of PyTorch's own allocations before every forward
      of `module` (gpupager.torch.reserve), and retry_on_oom() trims and
      retries a call that ran out of memory.
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"page_module needs a torch.nn.Module, not {type(module).__name__}")
    if getattr(module, "_gpupager", None) is not None:
        raise InvalidArgument(f"{type(module).__name__} is already paged "
                              f"({module._gpupager.model.source}); unpage() it first")
    swap = None
    if blocks_to_swap is not None:
        desc = core.describe(model_path)
        try:
            swap = swap_ranges(desc, blocks_to_swap)
        finally:
            desc.close()
    owns_pager = pager is None
    if owns_pager:
        pager = Pager(vram_budget=vram_budget, host_budget=host_budget,
                      policy="static" if blocks_to_swap is not None else None, swap_blocks=swap)
    elif blocks_to_swap is not None:
        if pager.options.get("policy") != "static" or pager.options.get("swap_blocks") != swap:
            raise InvalidArgument(
                f"block swap of {blocks_to_swap!r} needs a pager opened with policy='static', "
                f"swap_blocks={swap!r} (this one has policy={pager.options.get('policy')!r}, "
                f"swap_blocks={pager.options.get('swap_blocks')!r}); or pass pager=None")
    try:
        model = pager.open_model(model_path)
    except Exception:
        if owns_pager:
            pager.close()
        raise
    try:
        paged = _bind(module, model, pager, owns_pager, prefix, strict)
    except Exception:
        model.close()
        if owns_pager:
            pager.close()
        raise
    paged.streamed = _streamed_groups(model, prefix, offload_txt_emb, offload_img_emb,
                                      stream_groups)
    if reserve:
        paged.reserve_bytes = core.parse_size(reserve)
        paged._reserve_handle = module.register_forward_pre_hook(paged._pre_forward_reserve)
    module._gpupager = paged
    return paged


def _streamed_groups(model: Model, prefix, txt, img, patterns) -> set[int]:
    pre = tuple((TXT_EMB_PREFIXES if txt else ()) + (IMG_EMB_PREFIXES if img else ()))
    regs = [re.compile(p) for p in patterns]
    out = set()
    if pre:
        for name, t in model.tensors.items():
            n = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if n.startswith(pre):
                out.add(t.group)
    for g in model.groups:
        if any(r.search(g.name) for r in regs):
            out.add(g.index)
    return out


def _bind(module, model: Model, pager: Pager, owns_pager: bool, prefix: str,
          strict: bool) -> PagedModule:
    device = torch.device("cpu") if pager.simulated else torch.device("cuda", pager.device)
    tensors = model.tensors
    mods = dict(module.named_modules(remove_duplicate=False))
    seen: dict[int, str] = {}
    todo, problems, missing = [], [], []
    for mpath, m in mods.items():
        entries = [("param", n, p) for n, p in m._parameters.items() if p is not None]
        entries += [("buffer", n, b) for n, b in m._buffers.items()
                    if b is not None and n not in m._non_persistent_buffers_set]
        for kind, attr, tensor in entries:
            full = f"{mpath}.{attr}" if mpath else attr
            fname = prefix + full
            try:
                t = tensors[fname]
            except NotFound:
                if id(tensor) not in seen:
                    missing.append(fname)
                continue
            if id(tensor) in seen:
                continue  # tied: bound under its first name
            seen[id(tensor)] = fname
            want = TORCH_DTYPES.get(t.dtype)
            if want is None:
                problems.append(f"{fname}: file dtype {t.dtype} has no torch dtype in torch "
                                f"{torch.__version__}")
            elif want != tensor.dtype or tuple(tensor.shape) != t.shape:
                problems.append(f"{fname}: file has {t.dtype}{list(t.shape)}, module has "
                                f"{str(tensor.dtype).replace('torch.', '')}{list(tensor.shape)}")
            else:
                todo.append((mpath, m, kind, attr, t, want, tensor))
    # a missing name bound later under a tied alias is not missing
    missing = [n for n in missing if n not in seen.values()]
    if problems or (strict and missing):
        lines = problems + ([f"{n}: not in the model file" for n in missing] if strict else [])
        raise BindError(f"{type(module).__name__} does not match {model.source} "
                        f"({len(lines)} problems):\n  " + "\n  ".join(lines))
    paged = PagedModule(module, model, pager, owns_pager, prefix)
    owners: dict[int, set[str]] = {}
    for mpath, m, kind, attr, t, want, tensor in todo:
        alias = _alias(model, t, want, device)
        req = bool(getattr(tensor, "requires_grad", False))
        _set(m, attr, kind, alias, False)
        paged._bindings.append((m, attr, kind, t.name, req))
        paged.bound.append(t.name)
        owners.setdefault(t.group, set()).add(mpath)
    # groups under each module path (of bound tensors)
    under: dict[str, set[int]] = {}
    for g, paths in owners.items():
        for p in paths:
            parts = p.split(".") if p else []
            for i in range(len(parts) + 1):
                under.setdefault(".".join(parts[:i]), set()).add(g)
    for g, paths in sorted(owners.items()):
        split = [p.split(".") if p else [] for p in paths]
        common = []
        for comps in zip(*split):
            if all(c == comps[0] for c in comps):
                common.append(comps[0])
            else:
                break
        lca = ".".join(common)
        targets = [lca] if under.get(lca) == {g} else sorted(paths)
        gname = model.group_info(g).name
        paged.hooked[gname] = targets
        for p in targets:
            paged._hooks.append(_GroupHook(paged, g, mods[p]))
    return paged


def _paged_of(obj) -> PagedModule:
    if isinstance(obj, PagedModule):
        return obj
    p = getattr(obj, "_gpupager", None)
    if isinstance(p, PagedModule):
        return p
    raise InvalidArgument(f"{type(obj).__name__} is not paged by gpupager")


def unpage(module) -> torch.nn.Module:
    """Weights back to ordinary tensors; hooks removed."""
    return _paged_of(module).unpage()


memory_stats = core.memory_stats


def offload(module_or_model, key: str | None = None) -> tuple[str, str]:
    """Offload to DRAM: keep the whole model in the host tier and give its
    VRAM back.  Returns (memory_stats, dram_id); dram_id (the cache key) is
    stable for the same model file.  Raises InsufficientHostMemory with a
    message starting "Insufficient DRAM available" before anything moves
    when the host tier cannot hold the model."""
    model = module_or_model if isinstance(module_or_model, Model) else \
        _paged_of(module_or_model).model
    try:
        dram_id = model.offload(key)
    except InsufficientHostMemory as e:
        raise InsufficientHostMemory(f"Insufficient DRAM available to offload "
                                     f"{model.source}: {e}") from None
    return memory_stats(model.pager), dram_id


def restore(module_or_key, key: str | None = None, pager: Pager | None = None) -> None:
    """Bring an offloaded model back to VRAM: restore(module) (its last key),
    restore(module, key) or restore(key, pager=pager).  An unknown key
    raises NotFound with a message starting "Cache key not found"."""
    if isinstance(module_or_key, str):
        key, target_pager = module_or_key, pager
        if target_pager is None:
            raise InvalidArgument("restore(key) needs pager=")
    else:
        model = module_or_key if isinstance(module_or_key, Model) else \
            _paged_of(module_or_key).model
        target_pager = model.pager
        key = key or model.offload_key or model.default_offload_key()
    try:
        target_pager.restore(key)
    except NotFound as e:
        raise NotFound(f"Cache key not found: '{key}' ({e})") from None


def empty(shape, dtype: torch.dtype, pager: Pager) -> torch.Tensor:
    """A tensor in device memory taken from the pager's VRAM budget (weight
    chunks not in use are evicted to make room, so it does not fail with
    out-of-memory while weights could give way).  The memory goes back to
    the pager when the tensor is freed."""
    numel = 1
    for s in shape:
        numel *= int(s)
    esize = torch.empty((), dtype=dtype).element_size()
    alloc = pager.alloc(max(numel * esize, 1))
    view = alloc.view("U8", (numel * esize,))
    raw = torch.from_dlpack(view)  # the capsule keeps `alloc` alive until torch frees it
    return raw.view(dtype).view(tuple(int(s) for s in shape))


# -- negotiating the budget with PyTorch's allocator (dynamic mode)

#: The exceptions PyTorch raises when its allocator runs out of device memory.
OOM_ERRORS = tuple(dict.fromkeys(
    t for t in (getattr(torch, "OutOfMemoryError", None),
                getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None))
    if isinstance(t, type)))


def _pager_arg(obj) -> Pager:
    if isinstance(obj, Pager):
        return obj
    return _paged_of(obj).pager


def reserve(pager, nbytes: int | str) -> int:
    """Make room for `nbytes` of the app's own device memory (PyTorch's
    caching allocator) before a forward: on a GPU, what the device has free
    plus what torch has cached unused counts first, and only the rest is
    trimmed from the pager; on the simulated device the pager gives nbytes
    back.  Weight chunks not in use are evicted (Pager.trim); the budget is
    unchanged.  `pager` is a Pager, a PagedModule or a paged module.
    Returns the bytes the pager released."""
    pager = _pager_arg(pager)
    need = core.parse_size(nbytes)
    if need <= 0:
        return 0
    if not pager.simulated and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(pager.device)
        cached = (torch.cuda.memory_reserved(pager.device) -
                  torch.cuda.memory_allocated(pager.device))
        need -= free + max(cached, 0)
        if need <= 0:
            return 0
    return pager.trim(need)


def retry_on_oom(fn, pager, *args, **kwargs):
    """fn(*args, **kwargs); when it raises PyTorch's out-of-memory error,
    give every idle chunk of the pager back to the device (Pager.trim(),
    the budget unchanged) and call fn once more.  The error is raised
    again when the pager had nothing to give back or the retry fails too.
    The failed call's hooks have released their groups (post hooks always
    run), so its weights count as idle.  `pager` is a Pager, a PagedModule
    or a paged module."""
    pager = _pager_arg(pager)
    try:
        return fn(*args, **kwargs)
    except OOM_ERRORS:
        released = pager.trim()
        if not released:
            raise
    # Outside the handler: the failed call's frames (and its tensors) are gone.
    if not pager.simulated and torch.cuda.is_available():
        torch.cuda.synchronize(pager.device)
    return fn(*args, **kwargs)
