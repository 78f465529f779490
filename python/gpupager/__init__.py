"""gpupager: Python bindings of libgpupager, a userspace pager for GPU model
weights (ctypes over libgpupager.so; no compiler needed).

    import gpupager
    with gpupager.Pager(vram_budget="8G") as pager:
        model = pager.open_model("/models/wan2.1-14b")
        with model.acquire("blocks.0"):
            view = model.tensor("blocks.0.self_attn.q.weight")   # zero-copy

The library is found through GPUPAGER_LIB, next to this package (wheels
built by `make python` bundle it), or the system's library path; it is
loaded on first use and must serve this package's version.  PyTorch
integration: gpupager.torch.
"""

from ._lib import LibraryNotFound, LibraryVersionMismatch, library_path
from ._version import __version__
from .core import (Acquisition, Allocation, Group, Model, Pager, Tensor, checksum,
                   describe, format_size, memory_stats, write_sample, parse_budget, parse_ranges, parse_size, process_stats,
                   version)
from .errors import (AlreadyExists, Busy, ConfigError, CudaError, Error, FormatError,
                     InsufficientHostMemory, InvalidArgument, IOFailure, NoDriver,
                     NotAvailable, NotFound, OutOfDeviceMemory, OutOfHostMemory,
                     RangeError, StateError, TimedOut, Unsupported)
from .view import DeviceView

__all__ = [
    "__version__", "Pager", "Model", "Tensor", "Group", "Acquisition", "Allocation",
    "DeviceView", "Error", "InvalidArgument", "OutOfHostMemory", "IOFailure", "NotFound",
    "FormatError", "Unsupported", "NoDriver", "CudaError", "OutOfDeviceMemory",
    "InsufficientHostMemory", "ConfigError", "RangeError", "NotAvailable", "StateError",
    "Busy", "AlreadyExists", "TimedOut", "LibraryNotFound", "LibraryVersionMismatch",
    "library_path", "parse_size", "parse_budget", "parse_ranges", "format_size",
    "checksum", "version", "process_stats", "describe", "write_sample", "memory_stats",
]
