"""Pager, Model, tensor and group descriptions, acquisitions."""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Iterator, Mapping, Union

from . import _lib
from .errors import Error, InvalidArgument, NotFound, StateError, check, error_for
from .view import DTYPES, DeviceView, _stream_int

Stream = Union[None, int, object]


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s) if isinstance(s, os.PathLike) else s.encode()


def _s(b: bytes | None) -> str | None:
    return None if b is None else b.decode("utf-8", "replace")


def _stream_ptr(stream: Stream):
    """A stream argument for the C API: None (the pager's own stream) or a
    CUstream as an int or an object with .cuda_stream / .ptr / .handle."""
    s = _stream_int(stream)
    return None if s is None else ctypes.c_void_p(s)


# ------------------------------------------------------------------ parsing
def parse_size(text: str | int) -> int:
    """Bytes of a size: an int, or text such as "512M", "8G", "8GiB"."""
    if isinstance(text, int):
        if text < 0:
            raise InvalidArgument(f"size {text} is negative")
        return text
    out = ctypes.c_uint64()
    check(_lib.lib().gp_parse_size(_b(str(text)), ctypes.byref(out)))
    return out.value


def parse_budget(text: str | int | float) -> tuple[int, float]:
    """(bytes, percent) of a budget: a size, or a percentage "40%"; exactly
    one of the two is non-zero."""
    if isinstance(text, int):
        return parse_size(text), 0.0
    b, p = ctypes.c_uint64(), ctypes.c_double()
    check(_lib.lib().gp_parse_budget(_b(str(text)), ctypes.byref(b), ctypes.byref(p)))
    return b.value, p.value


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """Merged, sorted inclusive (start, end) block ranges of "0-5,7,9-11".
    Errors are exactly "Invalid range: '<part>'" / "Invalid integer: '<part>'"
    (InvalidArgument)."""
    lib = _lib.lib()
    h = ctypes.c_void_p()
    check(lib.gp_ranges_parse(_b(text), ctypes.byref(h)))
    try:
        out = []
        for i in range(lib.gp_ranges_count(h)):
            a, z = ctypes.c_uint64(), ctypes.c_uint64()
            lib.gp_ranges_get(h, i, ctypes.byref(a), ctypes.byref(z))
            out.append((a.value, z.value))
        return out
    finally:
        lib.gp_ranges_free(h)


def format_size(n: int) -> str:
    """"1.50 GiB" (binary units, 2 decimals), as the C tools print sizes."""
    lib = _lib.lib()
    if hasattr(lib, "gp_format_size"):
        buf = ctypes.create_string_buffer(32)
        return lib.gp_format_size(n, buf, 32).decode()
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def checksum(data, offset: int = 0) -> int:
    """gp_checksum_at of a bytes-like object (the project's data checksum)."""
    mv = memoryview(data).cast("B")
    buf = (ctypes.c_char * len(mv)).from_buffer_copy(mv) if mv.readonly else \
        (ctypes.c_char * len(mv)).from_buffer(mv)
    return _lib.lib().gp_checksum_at(buf, len(mv), offset)


def version() -> str:
    """Version of the loaded library."""
    return _lib.lib().gp_version().decode()


def dtype_size(dtype: str) -> int:
    """Bytes per element of a safetensors dtype (0 for packed sub-byte types)."""
    v = ctypes.c_int()
    check(_lib.lib().gp_dtype_parse(_b(dtype), ctypes.byref(v)))
    return _lib.lib().gp_dtype_size(v.value)


# --------------------------------------------------------------- descriptions
@dataclass(frozen=True)
class Tensor:
    """A tensor of a model: `device_ptr` is stable for the model's life."""
    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    group: int
    range_offset: int
    device_ptr: int


@dataclass(frozen=True)
class Group:
    """A group (the pager's unit of residency decisions) and its residency
    when it was read."""
    index: int
    name: str
    block_index: int          # -1 for a named (non-block) group
    n_tensors: int
    nbytes: int
    range_offset: int
    range_size: int
    resident_chunks: int
    total_chunks: int

    @property
    def resident(self) -> bool:
        return self.total_chunks > 0 and self.resident_chunks == self.total_chunks


# -------------------------------------------------------------------- pager
class Pager:
    """A pager on one CUDA device (or the simulated device).

    Pager(device=0, vram_budget="8G" | "40%" | bytes, host_budget="16G",
          policy="auto"|"lru"|"clock"|"static", swap_blocks="20-39",
          load_all=False, driver_path=None)

    Unset options come from the GPUPAGER_* environment (README,
    "Environment").  Use it as a context manager, or call close().
    """

    def __init__(self, device: int = 0, vram_budget: str | int | None = None,
                 host_budget: str | int | None = None, policy: str | None = None,
                 swap_blocks: str | None = None, load_all: bool = False,
                 driver_path: str | None = None):
        lib = _lib.lib()
        opts = _lib.PagerOptions()
        lib.gp_pager_options_init_size(ctypes.byref(opts), ctypes.sizeof(opts))
        opts.device = device
        if vram_budget is not None:
            opts.vram_budget, opts.vram_budget_pct = parse_budget(vram_budget)
        if host_budget is not None:
            hb, hp = parse_budget(host_budget)
            if hp:
                raise InvalidArgument("host_budget must be a size (a percentage comes "
                                      "from GPUPAGER_HOST_BUDGET)")
            opts.host_budget = hb
        if policy is not None:
            opts.policy = _b(policy)
        if swap_blocks is not None:
            parse_ranges(swap_blocks)  # exact messages before the pager opens
            opts.swap_blocks = _b(swap_blocks)
        opts.load_all = 1 if load_all else 0
        if driver_path is not None:
            opts.driver_path = _b(os.fspath(driver_path))
        h = ctypes.c_void_p()
        check(lib.gp_pager_open(ctypes.byref(opts), ctypes.byref(h)))
        self._h = h
        self._lock = threading.RLock()
        self._models: list[Model] = []
        self.options = {"device": device, "vram_budget": vram_budget,
                        "host_budget": host_budget, "policy": policy,
                        "swap_blocks": swap_blocks, "load_all": load_all}
        self._info = None
        self.offloaded: dict[str, str] = {}  # key -> model source
        self._open_budget = self.stats()["vram_budget"]  # what "N%" of set_vram_budget means

    # -- lifetime
    def close(self) -> None:
        """Close every model of the pager, then the pager."""
        with self._lock:
            if self._h is None:
                return
            for m in list(self._models):
                m.close()
            _lib.lib().gp_pager_close(self._h)
            self._h = None

    def __enter__(self) -> "Pager":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._h is None

    def _handle(self):
        if self._h is None:
            raise StateError("the pager is closed")
        return self._h

    # -- facts
    def info(self) -> dict:
        """What the pager runs on: device_name, simulated, driver_path,
        driver_version, chunk_size, vram_budget, host_budget, policy,
        link_h2d_gbps, checksum_gbps (the rates are measured on the first
        call).  Needs gp_pager_info (0.3)."""
        if self._info is None:
            lib = _lib.lib()
            if not hasattr(lib, "gp_pager_info"):
                raise Error("gp_pager_info missing from this libgpupager")
            pi = _lib.PagerInfo(struct_size=ctypes.sizeof(_lib.PagerInfo))
            rc = lib.gp_pager_info(self._handle(), ctypes.byref(pi))
            if rc < 0 and not pi.device_name:
                raise error_for(rc)
            self._info = {f: (_s(getattr(pi, f)) if isinstance(getattr(pi, f), bytes)
                              else getattr(pi, f)) for f, _ in _lib.PagerInfo._fields_
                          if f != "struct_size"}
            self._info["simulated"] = bool(pi.simulated)
        return dict(self._info)

    @property
    def simulated(self) -> bool:
        """True on the simulated device: device memory is host memory."""
        return self.info()["simulated"]

    @property
    def device(self) -> int:
        return self.options["device"]

    @property
    def policy(self) -> str:
        return self.info()["policy"]

    # -- models
    def open_model(self, path: str | os.PathLike) -> "Model":
        """Open a .safetensors file, an index or a directory in its own
        reserved device range."""
        h = ctypes.c_void_p()
        check(_lib.lib().gp_model_open(self._handle(), _b(os.fspath(path)), ctypes.byref(h)))
        m = Model(h, os.fspath(path), self)
        with self._lock:
            self._models.append(m)
        return m

    @property
    def models(self) -> list["Model"]:
        return list(self._models)

    def restore(self, key: str) -> None:
        """Bring an offloaded model back to the device (NotFound for an
        unknown key)."""
        check(_lib.lib().gp_model_restore(self._handle(), _b(key)))
        self.offloaded.pop(key, None)

    # -- statistics
    def stats(self) -> dict[str, int]:
        """Every counter of struct gp_pager_stats by name (bytes, counts,
        stall_ns; vram_*/host_* are what is held now)."""
        s = _lib.PagerStats(struct_size=ctypes.sizeof(_lib.PagerStats))
        check(_lib.lib().gp_pager_get_stats(self._handle(), ctypes.byref(s)))
        return {n: getattr(s, n) for n in _lib.STATS_FIELDS}

    def stats_line(self) -> str:
        """"VRAM 3.2/8.0 GiB, host 6.0/12.0 GiB, hit 91.3%, ..." """
        lib = _lib.lib()
        buf = ctypes.create_string_buffer(256)
        n = lib.gp_pager_stats_line(self._handle(), buf, len(buf))
        if n >= len(buf):
            buf = ctypes.create_string_buffer(n + 1)
            lib.gp_pager_stats_line(self._handle(), buf, len(buf))
        return buf.value.decode()

    def trace_start(self, path: str) -> None:
        check(_lib.lib().gp_trace_start(self._handle(), _b(os.fspath(path))))

    def trace_stop(self) -> None:
        check(_lib.lib().gp_trace_stop(self._handle()))

    # -- app memory from the budget
    def alloc(self, size: int | str) -> "Allocation":
        """Device memory from the pager's VRAM budget; unused weight chunks
        are evicted to make room.  Free it with .free() (or let it go)."""
        n = parse_size(size)
        ptr = ctypes.c_uint64()
        check(_lib.lib().gp_pager_alloc(self._handle(), n, ctypes.byref(ptr)))
        return Allocation(self, ptr.value, n)

    # -- the budget at run time
    @property
    def vram_budget(self) -> int:
        """The VRAM budget now, bytes."""
        return self.stats()["vram_budget"]

    def set_vram_budget(self, size_or_pct: int | str) -> None:
        """Change the VRAM budget now: bytes or a size ("6G"), or a
        percentage ("50%") of the budget the pager opened with; rounded down
        to whole chunks.  Lowering it evicts weight chunks not in use and
        gives their device memory back to the driver; raising it lets the
        pool grow again (up to what the device has free).  Busy when
        acquired chunks or allocations keep the pool above the new budget:
        the budget is set all the same and the pool shrinks to it as they
        are released.  Needs gp_pager_set_vram_budget."""
        lib = _lib.lib()
        if not hasattr(lib, "gp_pager_set_vram_budget"):
            raise Error("gp_pager_set_vram_budget missing from this libgpupager")
        n, pct = parse_budget(size_or_pct)
        if pct > 0:
            n = int(self._open_budget * pct / 100.0)
        check(lib.gp_pager_set_vram_budget(self._handle(), n))

    def trim(self, size: int | str | None = None) -> int:
        """Give device memory back to the driver now: up to `size` bytes
        (rounded up to whole chunks; None or 0: every chunk not in use),
        free chunks first, then weight chunks not acquired (evicted, dirty
        ones written back).  The budget is unchanged: the pool may grow
        back later.  Returns the bytes released.  Needs gp_pager_trim."""
        lib = _lib.lib()
        if not hasattr(lib, "gp_pager_trim"):
            raise Error("gp_pager_trim missing from this libgpupager")
        n = 0 if size is None else parse_size(size)
        released = ctypes.c_uint64()
        check(lib.gp_pager_trim(self._handle(), n, ctypes.byref(released)))
        return released.value

    # -- streams (programs without CUDA code of their own)
    def stream_create(self) -> int:
        s = ctypes.c_void_p()
        check(_lib.lib().gp_pager_stream_create(self._handle(), ctypes.byref(s)))
        return s.value

    def stream_destroy(self, stream: int) -> None:
        _lib.lib().gp_pager_stream_destroy(self._handle(), _stream_ptr(stream))

    def synchronize(self, stream: Stream = None) -> None:
        check(_lib.lib().gp_pager_stream_synchronize(self._handle(), _stream_ptr(stream)))


def memory_stats(pager: "Pager") -> str:
    """One line: VRAM, RAM (host tier) and cache (offloaded models) status."""
    s = pager.stats()
    cache = ", ".join(f"'{k}'" for k in pager.offloaded) or "none"
    return (f"VRAM {format_size(s['vram_used'])} / {format_size(s['vram_budget'])}, "
            f"RAM {format_size(s['host_used'])} / {format_size(s['host_budget'])}, "
            f"cache: {len(pager.offloaded)} offloaded ({cache}); {pager.stats_line()}")


def write_sample(out_dir: str | os.PathLike, arch: str, scale: float, seed: int = 0,
                 dtype: str | None = None, shard_size: str | int | None = None,
                 force: bool = False) -> dict:
    """Write a sample model (README, "gpupager mkmodel"): the tensors of a
    published architecture scaled by `scale`, with content a pure function
    of (seed, name, offset).  Returns n_files, n_tensors, tensor_bytes,
    file_bytes."""
    lib = _lib.lib()
    o = _lib.SampleOptions()
    lib.gp_sample_options_init_size(ctypes.byref(o), ctypes.sizeof(o))
    o.arch, o.scale, o.seed, o.force = _b(arch), float(scale), int(seed), 1 if force else 0
    if dtype is not None:
        v = ctypes.c_int()
        check(lib.gp_dtype_parse(_b(dtype), ctypes.byref(v)))
        o.dtype = v.value
    if shard_size is not None:
        o.shard_size = parse_size(shard_size)
    r = _lib.SampleResult(struct_size=ctypes.sizeof(_lib.SampleResult))
    check(lib.gp_sample_write(ctypes.byref(o), _b(os.fspath(out_dir)), ctypes.byref(r)))
    return {f: getattr(r, f) for f, _ in _lib.SampleResult._fields_ if f != "struct_size"}


def describe(path: str | os.PathLike) -> "Model":
    """A model described without a device (no pager): tensors, groups and
    the layout; device addresses are 0 and residency calls fail with
    StateError.  Close it with .close()."""
    h = ctypes.c_void_p()
    check(_lib.lib().gp_model_open(None, _b(os.fspath(path)), ctypes.byref(h)))
    return Model(h, os.fspath(path), None)


def process_stats() -> dict[str, int]:
    """The process's totals over all its pagers (what pagerstat shows)."""
    s = _lib.PagerStats(struct_size=ctypes.sizeof(_lib.PagerStats))
    check(_lib.lib().gp_process_get_stats(ctypes.byref(s)))
    return {n: getattr(s, n) for n in _lib.STATS_FIELDS}


class Allocation:
    """Device memory from a pager's budget (Pager.alloc)."""

    def __init__(self, pager: Pager, ptr: int, nbytes: int):
        self.pager, self.ptr, self.nbytes = pager, ptr, nbytes

    def view(self, dtype: str = "U8", shape: tuple[int, ...] | None = None) -> DeviceView:
        size = DTYPES[dtype][2] // 8 or 1
        if shape is None:
            shape = (self.nbytes // size,)
        n = 1
        for s in shape:
            n *= s
        if n * DTYPES[dtype][2] // 8 > self.nbytes:
            raise InvalidArgument(f"{dtype}{list(shape)} needs more than {self.nbytes} bytes")
        return DeviceView(self.ptr, n * DTYPES[dtype][2] // 8, dtype, shape, self.pager.device,
                          self.pager.simulated, owner=self)

    def free(self, stream: Stream = None) -> None:
        """Give the memory back after the work queued on stream (the last
        one using it; None: the pager's own)."""
        if self.ptr and not self.pager.closed:
            check(_lib.lib().gp_pager_free(self.pager._h, self.ptr, _stream_ptr(stream)))
        self.ptr = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass


# -------------------------------------------------------------------- model
class _Tensors(Mapping):
    def __init__(self, model: "Model"):
        self._m = model

    def __getitem__(self, name: str) -> Tensor:
        return self._m.tensor_info(name)

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self)):
            yield self._m.tensor_info(i).name

    def __len__(self) -> int:
        return self._m.tensor_count


class Model:
    """A model opened on a pager (Pager.open_model).

    `tensors`: name -> Tensor (dtype, shape, device_ptr, group, ...);
    `groups`: list of Group, in forward order, with residency read now;
    `acquire(target)`: a context manager that keeps a group, tensor or byte
    range resident; `tensor(name)`: a zero-copy DeviceView.
    """

    def __init__(self, handle, source: str, pager: Pager | None):
        self._h = handle
        self.source = source
        self.pager = pager
        self._tcache: dict = {}
        self.tensor_count = _lib.lib().gp_model_tensor_count(handle)
        self.group_count = _lib.lib().gp_model_group_count(handle)
        self.offload_key: str | None = None

    def __repr__(self) -> str:
        return f"Model({self.source!r}, {self.tensor_count} tensors, {self.group_count} groups)"

    def close(self) -> None:
        if self._h is None:
            return
        _lib.lib().gp_model_close(self._h)
        self._h = None
        if self.pager is None:
            return
        with self.pager._lock:
            if self in self.pager._models:
                self.pager._models.remove(self)

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._h is None

    def _handle(self):
        if self._h is None:
            raise StateError(f"model {self.source} is closed")
        return self._h

    # -- description
    @property
    def device_base(self) -> int:
        return _lib.lib().gp_model_device_base(self._handle())

    @property
    def device_size(self) -> int:
        return _lib.lib().gp_model_device_size(self._handle())

    @property
    def tensor_bytes(self) -> int:
        lib = _lib.lib()
        if hasattr(lib, "gp_model_tensor_bytes"):
            return lib.gp_model_tensor_bytes(self._handle())
        return sum(t.nbytes for t in self.tensors.values())

    @property
    def tensors(self) -> Mapping[str, Tensor]:
        return _Tensors(self)

    def tensor_info(self, key: str | int) -> Tensor:
        t = self._tcache.get(key)
        if t is not None:
            return t
        lib = _lib.lib()
        ti = _lib.TensorInfo(struct_size=ctypes.sizeof(_lib.TensorInfo))
        if isinstance(key, int):
            rc = lib.gp_model_tensor_at(self._handle(), key, ctypes.byref(ti))
        else:
            rc = lib.gp_model_tensor(self._handle(), _b(key), ctypes.byref(ti))
        check(rc)
        t = Tensor(name=ti.name.decode(),
                   dtype=lib.gp_dtype_name(ti.dtype).decode(),
                   shape=tuple(ti.shape[i] for i in range(ti.ndim)), nbytes=ti.nbytes,
                   group=ti.group, range_offset=ti.range_offset, device_ptr=ti.device_ptr)
        self._tcache[key] = t
        return t

    def group_info(self, group: int | str) -> Group:
        g = self.group_index(group)
        gi = _lib.GroupInfo(struct_size=ctypes.sizeof(_lib.GroupInfo))
        check(_lib.lib().gp_model_group_info(self._handle(), g, ctypes.byref(gi)))
        return Group(index=g, name=gi.name.decode(), block_index=gi.block_index,
                     n_tensors=gi.n_tensors, nbytes=gi.nbytes, range_offset=gi.range_offset,
                     range_size=gi.range_size, resident_chunks=gi.resident_chunks,
                     total_chunks=gi.total_chunks)

    @property
    def groups(self) -> list[Group]:
        """Every group in forward order; residency is read at the call."""
        return [self.group_info(i) for i in range(self.group_count)]

    def group_index(self, group: int | str | Group) -> int:
        if isinstance(group, Group):
            return group.index
        if isinstance(group, int):
            if not 0 <= group < self.group_count:
                raise NotFound(f"{self.source}: no group {group} (the model has {self.group_count})")
            return group
        return check(_lib.lib().gp_model_group_find(self._handle(), _b(group)))

    # -- residency
    def acquire(self, target: int | str | Group | Tensor | tuple[int, int], stream: Stream = None,
                write: bool = False) -> "Acquisition":
        """Make a group (index, name or Group), a tensor (name or Tensor)
        or a byte range ((offset, length) in the model's range) resident
        for work queued on `stream` after the call (None: the pager's own
        stream, and the call returns with the data resident).  Use as a
        context manager, or call .release(stream) yourself.  write=True
        marks the bytes dirty: written back to the host tier on eviction,
        never dropped."""
        return Acquisition(self, target, stream, write)

    def prefetch(self, group: int | str | Group) -> None:
        """Hint: start loading a group now."""
        check(_lib.lib().gp_hint_prefetch(self._handle(), self.group_index(group)))

    def done(self, group: int | str | Group) -> None:
        """Hint: the app is done with a group for this iteration (its chunks
        become the first eviction candidates until it is acquired again)."""
        check(_lib.lib().gp_hint_done(self._handle(), self.group_index(group)))

    def default_offload_key(self) -> str:
        """A key stable for the same model file: its real path, size and
        modification time."""
        p = os.path.realpath(self.source)
        try:
            st = os.stat(p)
            ident = f"{p}\0{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            ident = p
        return "gpupager-" + hashlib.sha256(ident.encode()).hexdigest()[:16]

    def offload(self, key: str | None = None) -> str:
        """Keep the whole model in the host tier under key and give its
        device chunks back; returns the key.  InsufficientHostMemory before
        anything moves when the host tier cannot hold it."""
        key = key or self.default_offload_key()
        check(_lib.lib().gp_model_offload(self._handle(), _b(key)))
        self.offload_key = key
        self.pager.offloaded[key] = self.source
        return key

    def restore(self, key: str | None = None) -> None:
        self.pager.restore(key or self.offload_key or self.default_offload_key())

    # -- views
    def tensor(self, name: str, stream: Stream = None) -> DeviceView:
        """A zero-copy view of a tensor at its stable device address.
        `stream` is the stream the data was acquired on (the view's
        __cuda_array_interface__ "stream"; DLPack consumers on another
        stream are made to wait for it).  Read it only while acquired."""
        t = self.tensor_info(name)
        return self._view(t, stream)

    def _view(self, t: Tensor, stream: Stream = None) -> DeviceView:
        sim = self.pager.simulated
        s = _stream_int(stream)

        def sync(consumer: int, t=t) -> None:
            # The consumer's stream waits for the copies through a nested
            # acquire; the outer acquisition keeps the data pinned.
            lib = _lib.lib()
            check(lib.gp_acquire_range(self._handle(), t.range_offset, t.nbytes,
                                       _lib.ACCESS_READ, ctypes.c_void_p(consumer)))
            check(lib.gp_release_range(self._handle(), t.range_offset, t.nbytes,
                                       ctypes.c_void_p(consumer)))

        return DeviceView(t.device_ptr, t.nbytes, t.dtype, t.shape, self.pager.device, sim,
                          owner=self, stream=s, sync=sync, name=t.name)

    def range_view(self, offset: int, length: int) -> DeviceView:
        """The bytes [offset, offset+length) of the model's range as uint8."""
        if offset < 0 or length < 0 or offset + length > self.device_size:
            raise InvalidArgument(f"range [{offset}, {offset + length}) outside the model's "
                                  f"{self.device_size} bytes")
        return DeviceView(self.device_base + offset, length, "U8", (length,), self.pager.device,
                          self.pager.simulated, owner=self)


class Acquisition:
    """An acquired group, tensor or range (Model.acquire)."""

    def __init__(self, model: Model, target, stream: Stream, write: bool):
        self.model = model
        self.write = write
        self.stream = stream
        lib = _lib.lib()
        h = model._handle()
        acc = _lib.ACCESS_WRITE if write else _lib.ACCESS_READ
        sp = _stream_ptr(stream)
        self.kind, self.target = self._resolve(target)
        if self.kind == "group" and not write:
            rc = lib.gp_acquire_group(h, self.target, sp)
        elif self.kind == "group":
            g = model.group_info(self.target)
            self.kind, self.target = "range", (g.range_offset, g.range_size)
            rc = lib.gp_acquire_range(h, g.range_offset, g.range_size, acc, sp)
        elif self.kind == "tensor":
            rc = lib.gp_acquire_tensor(h, _b(self.target), acc, sp)
        else:
            rc = lib.gp_acquire_range(h, self.target[0], self.target[1], acc, sp)
        check(rc)
        self.held = True
        if model.offload_key:  # an acquire restores an offloaded model and frees its key
            model.pager.offloaded.pop(model.offload_key, None)
            model.offload_key = None

    def _resolve(self, target):
        m = self.model
        if isinstance(target, Group) or isinstance(target, int) and not isinstance(target, bool):
            return "group", m.group_index(target)
        if isinstance(target, Tensor):
            return "tensor", target.name
        if isinstance(target, tuple) and len(target) == 2:
            return "range", (int(target[0]), int(target[1]))
        if isinstance(target, str):
            rc = _lib.lib().gp_model_group_find(m._handle(), _b(target))
            if rc >= 0:
                return "group", rc
            try:
                m.tensor_info(target)
            except NotFound:
                raise NotFound(f"{m.source}: no group or tensor named '{target}'") from None
            return "tensor", target
        raise TypeError(f"cannot acquire {target!r}: give a group (index, name or Group), "
                        f"a tensor (name or Tensor) or an (offset, length) range")

    def release(self, stream: Stream = "same") -> None:
        """Record the work queued on stream so far as the last use (default:
        the stream given to acquire)."""
        if not self.held:
            return
        if isinstance(stream, str) and stream == "same":
            stream = self.stream
        lib = _lib.lib()
        h = self.model._handle()
        sp = _stream_ptr(stream)
        if self.kind == "group":
            rc = lib.gp_release_group(h, self.target, sp)
        elif self.kind == "tensor":
            rc = lib.gp_release_tensor(h, _b(self.target), sp)
        else:
            rc = lib.gp_release_range(h, self.target[0], self.target[1], sp)
        self.held = False
        check(rc)

    def __enter__(self) -> "Acquisition":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
