"""Zero-copy views of device memory: __cuda_array_interface__ v3, DLPack,
and, on the simulated device (where device memory is host memory), the
host protocols (__array_interface__, memoryview(), numpy()).

A view never owns residency: it describes bytes at a stable device
address.  Read it only while the range is acquired (`Model.acquire`);
on the simulator touching an evicted chunk faults (SIGSEGV), on a GPU it
is an illegal address.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import POINTER, Structure, c_int32, c_int64, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p

# safetensors dtype -> (numpy typestr or None, DLPack (code, bits), element bits)
DTYPES = {
    "BOOL": ("|b1", (6, 8), 8),
    "U8": ("|u1", (1, 8), 8),
    "I8": ("|i1", (0, 8), 8),
    "I16": ("<i2", (0, 16), 16),
    "U16": ("<u2", (1, 16), 16),
    "I32": ("<i4", (0, 32), 32),
    "U32": ("<u4", (1, 32), 32),
    "I64": ("<i8", (0, 64), 64),
    "U64": ("<u8", (1, 64), 64),
    "F16": ("<f2", (2, 16), 16),
    "BF16": (None, (4, 16), 16),
    "F32": ("<f4", (2, 32), 32),
    "F64": ("<f8", (2, 64), 64),
    "F8_E4M3": (None, (10, 8), 8),
    "F8_E5M2": (None, (12, 8), 8),
    "F8_E8M0": (None, (14, 8), 8),
    "F4": (None, (17, 4), 4),
    "F6_E2M3": (None, (15, 6), 6),
    "F6_E3M2": (None, (16, 6), 6),
    "F8_E4M3FNUZ": (None, (11, 8), 8),
    "F8_E5M2FNUZ": (None, (13, 8), 8),
    "C64": ("<c8", (5, 64), 64),
}
# Unsigned integers of the same width, for dtypes numpy lacks (bf16, fp8).
_RAW_TYPESTR = {8: "|u1", 16: "<u2", 32: "<u4", 64: "<u8"}

KDL_CPU = 1
KDL_CUDA = 2


class DLDevice(Structure):
    _fields_ = [("device_type", c_int32), ("device_id", c_int32)]


class DLDataType(Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLTensor(Structure):
    _fields_ = [
        ("data", c_void_p),
        ("device", DLDevice),
        ("ndim", c_int32),
        ("dtype", DLDataType),
        ("shape", POINTER(c_int64)),
        ("strides", POINTER(c_int64)),
        ("byte_offset", c_uint64),
    ]


class DLManagedTensor(Structure):
    pass


_DELETER = ctypes.CFUNCTYPE(None, POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [
    ("dl_tensor", DLTensor),
    ("manager_ctx", c_void_p),
    ("deleter", _DELETER),
]


class DLPackVersion(Structure):
    _fields_ = [("major", c_uint32), ("minor", c_uint32)]


class DLManagedTensorVersioned(Structure):
    pass


_DELETER_V = ctypes.CFUNCTYPE(None, POINTER(DLManagedTensorVersioned))
DLManagedTensorVersioned._fields_ = [
    ("version", DLPackVersion),
    ("manager_ctx", c_void_p),
    ("deleter", _DELETER_V),
    ("flags", c_uint64),
    ("dl_tensor", DLTensor),
]

DLPACK_FLAG_READ_ONLY = 1 << 0

# Python's capsule API through ctypes.
# The destructor gets the dying capsule as a raw pointer: wrapping it in a
# py_object would take a reference to an object being deallocated.
_CAPSULE_DESTRUCTOR = ctypes.CFUNCTYPE(None, c_void_p)
_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [c_void_p, ctypes.c_char_p, _CAPSULE_DESTRUCTOR]
_PyCapsule_IsValid = ctypes.pythonapi.PyCapsule_IsValid
_PyCapsule_IsValid.restype = ctypes.c_int
_PyCapsule_IsValid.argtypes = [c_void_p, ctypes.c_char_p]
_PyCapsule_GetPointer = ctypes.pythonapi.PyCapsule_GetPointer
_PyCapsule_GetPointer.restype = c_void_p
_PyCapsule_GetPointer.argtypes = [c_void_p, ctypes.c_char_p]

# Exported DLPack tensors not yet deleted: address -> (struct, shape array, owner, on_release).
_live: dict[int, tuple] = {}


def _release(addr: int) -> None:
    entry = _live.pop(addr, None)
    if entry is not None and entry[3] is not None:
        entry[3]()  # the owner's on-release callback


@_DELETER
def _deleter(ptr):
    _release(ctypes.cast(ptr, c_void_p).value)


@_DELETER_V
def _deleter_v(ptr):
    _release(ctypes.cast(ptr, c_void_p).value)


@_CAPSULE_DESTRUCTOR
def _capsule_destructor(capsule):
    # A capsule still named "dltensor" was never consumed: delete it here.
    for name in (b"dltensor", b"dltensor_versioned"):
        if _PyCapsule_IsValid(capsule, name):
            _release(_PyCapsule_GetPointer(capsule, name))


def make_capsule(data: int, device: tuple[int, int], shape: tuple[int, ...], code: int,
                 bits: int, owner: object, versioned: bool, readonly: bool = False,
                 on_release=None):
    """A DLPack capsule over `data`; `owner` is kept alive until the consumer
    calls the deleter (or the capsule dies unconsumed), then on_release() runs."""
    ndim = len(shape)
    shape_arr = (c_int64 * max(ndim, 1))(*shape)
    if versioned:
        mt = DLManagedTensorVersioned()
        mt.version = DLPackVersion(1, 1)
        mt.deleter = _deleter_v
        mt.flags = DLPACK_FLAG_READ_ONLY if readonly else 0
        name = b"dltensor_versioned"
    else:
        mt = DLManagedTensor()
        mt.deleter = _deleter
        name = b"dltensor"
    t = mt.dl_tensor
    t.data = data
    t.device = DLDevice(*device)
    t.ndim = ndim
    t.dtype = DLDataType(code, bits, 1)
    t.shape = shape_arr
    t.strides = None  # compact row-major
    t.byte_offset = 0
    addr = ctypes.addressof(mt)
    _live[addr] = (mt, shape_arr, owner, on_release)
    return _PyCapsule_New(addr, name, _capsule_destructor)


def _stream_int(stream) -> int | None:
    """A stream as an integer handle: None, an int, or an object with
    .cuda_stream (torch.cuda.Stream), .ptr (cupy) or .handle."""
    if stream is None:
        return None
    if isinstance(stream, int):
        return stream
    for attr in ("cuda_stream", "ptr", "handle"):
        v = getattr(stream, attr, None)
        if v is not None:
            return int(v)
    raise TypeError(f"not a CUDA stream: {stream!r}")


class DeviceView:
    """Bytes at a stable device address, seen as an array of `dtype`
    with `shape` (C order).

    Attributes: `ptr` (device address), `nbytes`, `dtype` (safetensors
    name), `shape`, `device` (CUDA ordinal), `simulated` (True: the
    simulated device, whose memory the CPU can read; then the host
    protocols work and `__dlpack_device__` is kDLCPU), `kind`
    ("simulated-host" or "cuda"), `stream` (what consumers must wait on,
    as an int, or None).
    """

    def __init__(self, ptr: int, nbytes: int, dtype: str, shape: tuple[int, ...],
                 device: int, simulated: bool, owner=None, stream=None, sync=None,
                 readonly: bool = False, name: str | None = None):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}")
        self.ptr = int(ptr)
        self.nbytes = int(nbytes)
        self.dtype = dtype
        self.shape = tuple(int(s) for s in shape)
        self.device = int(device)
        self.simulated = bool(simulated)
        self.kind = "simulated-host" if simulated else "cuda"
        self.readonly = readonly
        self.name = name
        self._owner = owner      # keeps the model / allocation alive
        self.stream = _stream_int(stream)
        self._sync = sync        # sync(consumer_stream_int): make it wait for the data

    def __repr__(self) -> str:
        n = f"{self.name!r}, " if self.name else ""
        return (f"DeviceView({n}{self.dtype}{list(self.shape)}, ptr=0x{self.ptr:x}, "
                f"{self.nbytes} bytes, {self.kind})")

    # ---------------------------------------------------- CUDA array interface
    @property
    def __cuda_array_interface__(self) -> dict:
        typestr = DTYPES[self.dtype][0]
        if typestr is None:
            # numpy has no name for it (bf16, fp8): consumers should use DLPack.
            raise AttributeError(
                f"{self.dtype} has no __cuda_array_interface__ typestr; use DLPack "
                f"(torch.from_dlpack) or .raw()")
        return {
            "shape": self.shape,
            "typestr": typestr,
            "data": (self.ptr, self.readonly),
            "version": 3,
            "strides": None,
            "stream": self.stream,
        }

    # ------------------------------------------------------------------ DLPack
    def __dlpack_device__(self) -> tuple[int, int]:
        return (KDL_CPU, 0) if self.simulated else (KDL_CUDA, self.device)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if copy:
            raise BufferError("gpupager views are zero-copy; copy=True is not supported")
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"view lives on {self.__dlpack_device__()}, not {tuple(dl_device)}")
        if self.simulated:
            if stream is not None and stream != -1:
                raise BufferError("stream must be None for a simulated-device (CPU) view")
        else:
            s = _stream_int(stream)
            if s == 0:
                raise BufferError("stream 0 is ambiguous in DLPack; pass 1 for the legacy default stream")
            if s is None:
                s = 1  # DLPack: None means the legacy default stream
            if s != -1 and self._sync is not None and self.stream is not None and s != self.stream:
                self._sync(s)
        info = DTYPES[self.dtype]
        code, bits = info[1]
        versioned = max_version is not None and tuple(max_version)[0] >= 1
        return make_capsule(self.ptr, self.__dlpack_device__(), self.shape, code, bits,
                            self, versioned, self.readonly)

    # ------------------------------------------------- host protocols (simulator)
    def _host_only(self):
        if not self.simulated:
            raise BufferError(
                "device memory of a real GPU is not host-readable; use "
                "__cuda_array_interface__ or DLPack (torch.from_dlpack(view))")

    @property
    def __array_interface__(self) -> dict:
        self._host_only()
        typestr = DTYPES[self.dtype][0]
        bits = DTYPES[self.dtype][2]
        shape = self.shape
        if typestr is None:
            if bits not in _RAW_TYPESTR:
                typestr, shape = "|u1", (self.nbytes,)
            else:
                typestr = _RAW_TYPESTR[bits]
        return {"shape": shape, "typestr": typestr, "data": (self.ptr, self.readonly),
                "version": 3, "strides": None}

    def memoryview(self) -> memoryview:
        """The bytes as a flat memoryview (simulated device only)."""
        self._host_only()
        if self.nbytes == 0:
            return memoryview(b"")
        buf = (ctypes.c_char * self.nbytes).from_address(self.ptr)
        mv = memoryview(buf).cast("B")
        return mv.toreadonly() if self.readonly else mv

    if sys.version_info >= (3, 12):
        def __buffer__(self, flags):  # PEP 688
            return self.memoryview()

    def numpy(self):
        """A numpy array aliasing the memory (simulated device only).  bf16
        and fp8 come as unsigned integers of their width, packed sub-byte
        types as raw bytes."""
        import numpy as np
        return np.asarray(self)

    def raw(self):
        """The bytes as a 1-D uint8 view (same protocols as the view)."""
        return DeviceView(self.ptr, self.nbytes, "U8", (self.nbytes,), self.device,
                          self.simulated, self._owner, self.stream, self._sync,
                          self.readonly, self.name)

    def tobytes(self) -> bytes:
        """A copy of the bytes (simulated device only)."""
        return bytes(self.memoryview())
