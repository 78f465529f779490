"""ctypes binding of libgpupager's C API (include/gpupager.h).

Every struct here mirrors the C layout field for field; the tests compare
ctypes.sizeof and every field offset with what a C program compiled
against the header reports.  Nothing in this module raises except
`load()`; the higher layers turn return codes into exceptions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (POINTER, Structure, c_char_p, c_double, c_int, c_int64,
                    c_size_t, c_uint, c_uint32, c_uint64, c_void_p)

from ._version import __version__

VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = (int(x) for x in __version__.split(".")[:3])
#: The package's version as the C header's GP_VERSION_NUMBER (0x00MMmmpp).
VERSION_NUMBER = (VERSION_MAJOR << 16) | (VERSION_MINOR << 8) | VERSION_PATCH

MAX_DIMS = 8
ACCESS_READ = 0
ACCESS_WRITE = 1


class TensorInfo(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("dtype", c_int),
        ("ndim", c_int),
        ("shape", c_int64 * MAX_DIMS),
        ("nbytes", c_uint64),
        ("group", c_uint32),
        ("range_offset", c_uint64),
        ("device_ptr", c_uint64),
    ]


class GroupInfo(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("block_index", c_int64),
        ("n_tensors", c_uint32),
        ("nbytes", c_uint64),
        ("range_offset", c_uint64),
        ("range_size", c_uint64),
        ("resident_chunks", c_uint32),
        ("total_chunks", c_uint32),
    ]


class PagerOptions(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("device", c_int),
        ("driver_path", c_char_p),
        ("vram_budget", c_uint64),
        ("vram_budget_pct", c_double),
        ("host_budget", c_uint64),
        ("policy", c_char_p),
        ("swap_blocks", c_char_p),
        ("load_all", c_int),
        ("plan", c_char_p),             # appended after v1: a plan file (pagerstat plan)
    ]


#: The counters of struct gp_pager_stats, in order (after struct_size).
STATS_FIELDS = (
    "hits", "misses", "chunk_hits", "chunk_misses", "bytes_disk",
    "bytes_h2d", "bytes_d2h", "host_hits", "dev_evictions", "host_evictions",
    "prefetch_issued", "prefetch_hits", "prefetch_wasted", "stall_ns",
    "vram_used", "vram_budget", "host_used", "host_budget",
    "weights_dropped", "weights_written",
)


class PagerStats(Structure):
    _fields_ = [("struct_size", c_uint32)] + [(n, c_uint64) for n in STATS_FIELDS]


class PagerInfo(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("device_name", c_char_p),
        ("device", c_int),
        ("simulated", c_int),
        ("driver_path", c_char_p),
        ("driver_version", c_int),
        ("chunk_size", c_uint64),
        ("vram_budget", c_uint64),
        ("host_budget", c_uint64),
        ("policy", c_char_p),
        ("link_h2d_gbps", c_double),
        ("checksum_gbps", c_double),
    ]


class VerifyResult(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("tensors_checked", c_uint64),
        ("mismatches", c_uint64),
        ("first_mismatch", c_char_p),
        ("device_checksum", c_uint64),
        ("file_checksum", c_uint64),
    ]


class ModelOptions(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("chunk_size", c_uint64),
        ("group_pattern", c_char_p),
    ]


class FileInfo(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("path", c_char_p),
        ("name", c_char_p),
        ("size", c_uint64),
        ("header_bytes", c_uint64),
        ("n_tensors", c_uint32),
        ("n_metadata", c_uint32),
    ]


class EnvVar(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("accepted", c_char_p),
        ("default_value", c_char_p),
        ("help", c_char_p),
        ("value", c_char_p),
    ]


class SampleArchInfo(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_tensors", c_uint64),
        ("params", c_uint64),
        ("bytes", c_uint64),
        ("dtype", c_int),
    ]


PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, c_uint64, c_uint64)


class SampleOptions(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("arch", c_char_p),
        ("scale", c_double),
        ("seed", c_uint64),
        ("dtype", c_int),
        ("shard_size", c_uint64),
        ("force", c_int),
        ("progress", PROGRESS_FN),
        ("progress_ctx", c_void_p),
    ]


class SampleResult(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_files", c_uint32),
        ("n_tensors", c_uint64),
        ("tensor_bytes", c_uint64),
        ("file_bytes", c_uint64),
    ]


#: Every ABI struct by its C name (the layout test walks this).
STRUCTS = {
    "gp_tensor_info": TensorInfo,
    "gp_group_info": GroupInfo,
    "gp_pager_options": PagerOptions,
    "gp_pager_stats": PagerStats,
    "gp_pager_info": PagerInfo,
    "gp_verify_result": VerifyResult,
    "gp_model_options": ModelOptions,
    "gp_file_info": FileInfo,
    "gp_env_var": EnvVar,
    "gp_sample_arch_info": SampleArchInfo,
    "gp_sample_options": SampleOptions,
    "gp_sample_result": SampleResult,
}

_P = c_void_p  # opaque struct pointers
_u64p = POINTER(c_uint64)

# name: (restype, argtypes, required).  Optional entries are newer functions
# the package can do without (it says so when one is missing).
_PROTOTYPES = {
    "gp_strerror": (c_char_p, [c_int], True),
    "gp_error_name": (c_char_p, [c_int], True),
    "gp_last_error": (c_char_p, [], True),
    "gp_version": (c_char_p, [], True),
    "gp_check_version": (c_int, [c_uint], True),
    "gp_dtype_name": (c_char_p, [c_int], True),
    "gp_dtype_size": (c_size_t, [c_int], True),
    "gp_dtype_bits": (c_size_t, [c_int], False),
    "gp_dtype_parse": (c_int, [c_char_p, POINTER(c_int)], True),
    "gp_parse_size": (c_int, [c_char_p, _u64p], True),
    "gp_parse_budget": (c_int, [c_char_p, _u64p, POINTER(c_double)], True),
    "gp_ranges_parse": (c_int, [c_char_p, POINTER(_P)], True),
    "gp_ranges_contains": (c_int, [_P, c_uint64], True),
    "gp_ranges_count": (c_size_t, [_P], True),
    "gp_ranges_get": (None, [_P, c_size_t, _u64p, _u64p], True),
    "gp_ranges_free": (None, [_P], True),
    "gp_checksum": (c_uint64, [c_void_p, c_size_t], True),
    "gp_checksum_at": (c_uint64, [c_void_p, c_size_t, c_uint64], True),
    "gp_mix64": (c_uint64, [c_uint64], True),
    "gp_pager_options_init_size": (None, [POINTER(PagerOptions), c_size_t], True),
    "gp_pager_open": (c_int, [POINTER(PagerOptions), POINTER(_P)], True),
    "gp_pager_close": (None, [_P], True),
    "gp_pager_alloc": (c_int, [_P, c_uint64, _u64p], True),
    "gp_pager_free": (c_int, [_P, c_uint64, c_void_p], True),
    "gp_pager_set_vram_budget": (c_int, [_P, c_uint64], False),
    "gp_pager_trim": (c_int, [_P, c_uint64, _u64p], False),
    "gp_model_open": (c_int, [_P, c_char_p, POINTER(_P)], True),
    "gp_model_close": (None, [_P], True),
    "gp_model_tensor_count": (c_uint32, [_P], True),
    "gp_model_group_count": (c_uint32, [_P], True),
    "gp_model_tensor": (c_int, [_P, c_char_p, POINTER(TensorInfo)], True),
    "gp_model_tensor_at": (c_int, [_P, c_uint32, POINTER(TensorInfo)], True),
    "gp_model_group_info": (c_int, [_P, c_uint32, POINTER(GroupInfo)], True),
    "gp_model_group_find": (c_int, [_P, c_char_p], True),
    "gp_model_device_base": (c_uint64, [_P], True),
    "gp_model_device_size": (c_uint64, [_P], True),
    "gp_acquire_group": (c_int, [_P, c_uint32, c_void_p], True),
    "gp_release_group": (c_int, [_P, c_uint32, c_void_p], True),
    "gp_acquire_range": (c_int, [_P, c_uint64, c_uint64, c_int, c_void_p], True),
    "gp_release_range": (c_int, [_P, c_uint64, c_uint64, c_void_p], True),
    "gp_acquire_tensor": (c_int, [_P, c_char_p, c_int, c_void_p], True),
    "gp_release_tensor": (c_int, [_P, c_char_p, c_void_p], True),
    "gp_hint_prefetch": (c_int, [_P, c_uint32], True),
    "gp_hint_done": (c_int, [_P, c_uint32], True),
    "gp_model_offload": (c_int, [_P, c_char_p], True),
    "gp_model_restore": (c_int, [_P, c_char_p], True),
    "gp_pager_get_stats": (c_int, [_P, POINTER(PagerStats)], True),
    "gp_process_get_stats": (c_int, [POINTER(PagerStats)], True),
    "gp_pager_stats_line": (c_int, [_P, ctypes.c_char_p, c_size_t], True),
    "gp_trace_start": (c_int, [_P, c_char_p], True),
    "gp_trace_stop": (c_int, [_P], True),
    # Newer functions (0.3): used when present.
    "gp_pager_info": (c_int, [_P, POINTER(PagerInfo)], False),
    "gp_policy_check": (c_int, [c_char_p], False),
    "gp_pager_stream_create": (c_int, [_P, POINTER(c_void_p)], False),
    "gp_pager_stream_destroy": (None, [_P, c_void_p], False),
    "gp_pager_stream_synchronize": (c_int, [_P, c_void_p], False),
    "gp_pager_stream_delay": (c_int, [_P, c_void_p, c_uint64], False),
    "gp_model_verify_prepare": (c_int, [_P], False),
    "gp_model_verify_group": (c_int, [_P, c_uint32, c_void_p], False),
    "gp_model_verify_collect": (c_int, [_P, c_void_p, POINTER(VerifyResult)], False),
    "gp_model_options_init_size": (None, [POINTER(ModelOptions), c_size_t], False),
    "gp_model_describe": (c_int, [c_char_p, POINTER(ModelOptions), POINTER(_P)], False),
    "gp_model_source": (c_char_p, [_P], False),
    "gp_model_chunk_size": (c_uint64, [_P], False),
    "gp_model_tensor_bytes": (c_uint64, [_P], False),
    "gp_model_file_count": (c_uint32, [_P], False),
    "gp_model_file_info": (c_int, [_P, c_uint32, POINTER(FileInfo)], False),
    "gp_model_file_metadata": (c_int, [_P, c_uint32, c_uint32, POINTER(c_char_p),
                                       POINTER(c_char_p)], False),
    "gp_model_tensor_location": (c_int, [_P, c_uint32, POINTER(c_uint32), _u64p], False),
    "gp_format_size": (c_char_p, [c_uint64, ctypes.c_char_p, c_size_t], False),
    "gp_env_count": (c_size_t, [], False),
    "gp_env_describe": (c_int, [c_size_t, POINTER(EnvVar)], False),
    "gp_env_check": (c_int, [], False),
    "gp_sample_arch_count": (c_size_t, [], False),
    "gp_sample_arch_name": (c_char_p, [c_size_t], False),
    "gp_sample_arch_info": (c_int, [c_char_p, c_double, POINTER(SampleArchInfo)], False),
    "gp_sample_options_init_size": (None, [POINTER(SampleOptions), c_size_t], False),
    "gp_sample_write": (c_int, [POINTER(SampleOptions), c_char_p, POINTER(SampleResult)], False),
    "gp_sample_file_name": (None, [c_uint32, c_uint32, ctypes.c_char_p, c_size_t], False),
    "gp_host_budget_default_bytes": (c_int, [_u64p], False),
}

# Error codes (GP_ERROR_LIST in the header); the tests check them against
# gp_error_name() of the loaded library.
ERROR_CODES = {
    "GP_OK": 0, "GP_EINVAL": -1, "GP_ENOMEM": -2, "GP_EIO": -3, "GP_ENOENT": -4,
    "GP_EFORMAT": -5, "GP_EUNSUPPORTED": -6, "GP_ENODRIVER": -7, "GP_ECUDA": -8,
    "GP_EDEVMEM": -9, "GP_EHOSTMEM": -10, "GP_ECONFIG": -11, "GP_ERANGE": -12,
    "GP_ENOSYS": -13, "GP_ESTATE": -14, "GP_EBUSY": -15, "GP_EEXIST": -16,
    "GP_ETIMEDOUT": -17,
}


class LibraryNotFound(ImportError):
    """libgpupager.so could not be found or loaded."""


class LibraryVersionMismatch(ImportError):
    """The loaded libgpupager cannot serve this package's version."""


_lock = threading.Lock()
_lib = None
_lib_path = None


def candidates() -> list[str]:
    """Where the library is looked for, in order."""
    out = []
    env = os.environ.get("GPUPAGER_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libgpupager.so.0", "libgpupager.so"):
        out.append(os.path.join(here, name))
    found = ctypes.util.find_library("gpupager")
    if found:
        out.append(found)
    out.extend(["libgpupager.so.0", "libgpupager.so"])
    return out


def _bind(lib: ctypes.CDLL) -> None:
    for name, (res, args, required) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            if required:
                raise LibraryNotFound(
                    f"{lib._name}: symbol {name} missing: not libgpupager, or too old")
            continue
        fn.restype = res
        fn.argtypes = args


def load(expected: int = VERSION_NUMBER) -> ctypes.CDLL:
    """Load and check libgpupager once; later calls return the same handle.

    Raises LibraryNotFound (with every place it looked) or
    LibraryVersionMismatch (naming both versions)."""
    global _lib, _lib_path
    with _lock:
        if _lib is not None and expected == VERSION_NUMBER:
            return _lib
        errors = []
        lib = None
        for path in candidates():
            if os.sep in path and not os.path.exists(path):
                errors.append(f"{path}: no such file")
                continue
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                errors.append(str(e))
                continue
            break
        if lib is None:
            raise LibraryNotFound(
                "libgpupager not found (tried: " + "; ".join(errors) + "); set "
                "GPUPAGER_LIB=<path>/libgpupager.so, install the library "
                "(make install), or use a wheel built by `make python`")
        _bind(lib)
        rc = lib.gp_check_version(expected)
        if rc < 0:
            msg = (lib.gp_last_error() or b"").decode("utf-8", "replace")
            raise LibraryVersionMismatch(
                f"gpupager package {expected >> 16}.{(expected >> 8) & 0xff}."
                f"{expected & 0xff} cannot use {lib._name} (version "
                f"{lib.gp_version().decode()}): {msg}")
        if expected == VERSION_NUMBER:
            _lib, _lib_path = lib, lib._name
        return lib


def lib() -> ctypes.CDLL:
    return _lib if _lib is not None else load()


def has(name: str) -> bool:
    return hasattr(lib(), name)


def library_path() -> str:
    """Path of the loaded library (loads it if needed)."""
    lib()
    return _lib_path
