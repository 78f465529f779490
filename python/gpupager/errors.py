"""Exceptions: gpupager.Error and one subclass per GP_E* code.

`str(e)` is the library's detailed message (gp_last_error()); `e.code` is
the negative code and `e.name` its symbol ("GP_EFORMAT").
"""

from __future__ import annotations

from . import _lib


class Error(Exception):
    """A libgpupager call failed."""

    code: int = 0
    name: str = "GP_OK"

    def __init__(self, message: str = "", code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
            self.name = _NAMES.get(code, f"GP_E{code}")

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.name})"


class InvalidArgument(Error, ValueError):
    """GP_EINVAL: invalid argument."""
    code, name = -1, "GP_EINVAL"


class OutOfHostMemory(Error, MemoryError):
    """GP_ENOMEM: an allocation failed."""
    code, name = -2, "GP_ENOMEM"


class IOFailure(Error, OSError):
    """GP_EIO: I/O error reading or writing a file."""
    code, name = -3, "GP_EIO"


class NotFound(Error, KeyError):
    """GP_ENOENT: no such file, tensor, group or key."""
    code, name = -4, "GP_ENOENT"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class FormatError(Error):
    """GP_EFORMAT: malformed model file."""
    code, name = -5, "GP_EFORMAT"


class Unsupported(Error):
    """GP_EUNSUPPORTED: valid but unsupported (dtype, feature, version)."""
    code, name = -6, "GP_EUNSUPPORTED"


class NoDriver(Error):
    """GP_ENODRIVER: CUDA driver library not found or unusable."""
    code, name = -7, "GP_ENODRIVER"


class CudaError(Error):
    """GP_ECUDA: the CUDA driver returned an error."""
    code, name = -8, "GP_ECUDA"


class OutOfDeviceMemory(Error, MemoryError):
    """GP_EDEVMEM: out of device memory."""
    code, name = -9, "GP_EDEVMEM"


class InsufficientHostMemory(Error, MemoryError):
    """GP_EHOSTMEM: insufficient host memory for the request."""
    code, name = -10, "GP_EHOSTMEM"


class ConfigError(Error):
    """GP_ECONFIG: bad GPUPAGER_* environment variable."""
    code, name = -11, "GP_ECONFIG"


class RangeError(Error, OverflowError):
    """GP_ERANGE: value out of range or arithmetic overflow."""
    code, name = -12, "GP_ERANGE"


class NotAvailable(Error):
    """GP_ENOSYS: facility not available on this system."""
    code, name = -13, "GP_ENOSYS"


class StateError(Error):
    """GP_ESTATE: call not valid in the object's current state."""
    code, name = -14, "GP_ESTATE"


class Busy(Error):
    """GP_EBUSY: resource busy."""
    code, name = -15, "GP_EBUSY"


class AlreadyExists(Error):
    """GP_EEXIST: already exists."""
    code, name = -16, "GP_EEXIST"


class TimedOut(Error, TimeoutError):
    """GP_ETIMEDOUT: operation timed out."""
    code, name = -17, "GP_ETIMEDOUT"


#: code -> exception class
BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, OutOfHostMemory, IOFailure, NotFound, FormatError, Unsupported,
    NoDriver, CudaError, OutOfDeviceMemory, InsufficientHostMemory, ConfigError,
    RangeError, NotAvailable, StateError, Busy, AlreadyExists, TimedOut)}
_NAMES = {cls.code: cls.name for cls in BY_CODE.values()}


def last_error() -> str:
    msg = _lib.lib().gp_last_error()
    return msg.decode("utf-8", "replace") if msg else ""


def error_for(code: int, context: str | None = None) -> Error:
    """The exception for a negative return code, with gp_last_error()'s message."""
    msg = last_error()
    if not msg:
        msg = _lib.lib().gp_strerror(code).decode()
    if context:
        msg = f"{context}: {msg}"
    cls = BY_CODE.get(code, Error)
    return cls(msg, code) if cls is Error else cls(msg)


def check(rc: int, context: str | None = None) -> int:
    """Raise the exception for rc when it is negative; return it otherwise."""
    if rc < 0:
        raise error_for(rc, context)
    return rc
