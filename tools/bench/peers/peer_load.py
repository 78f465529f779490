#!/usr/bin/env python3
"""peer_load.py - one timed load of a model's .safetensors files by a peer
loader, run by `gpupager bench load --peers --python PYTHON`.

    PYTHON peer_load.py --probe METHOD
    PYTHON peer_load.py --method METHOD [--concurrency N] [--prealloc] --lib LIB FILE...

METHOD is one of:

  runai            Run:ai Model Streamer (runai-model-streamer), CPU:
                   SafetensorsStreamer.stream_files() and every tensor of
                   get_tensors(); --concurrency sets RUNAI_STREAMER_CONCURRENCY
  fastsafetensors  SafeTensorsFileLoader(device="cpu", nogds=True),
                   copy_files_to_device() and get_tensor() of every tensor
  safetensors      the reference reader: safe_open(framework="pt") of each
                   file, get_tensor() of every tensor, cloned (get_tensor
                   returns a view of the file's mapping: the clone reads it)

The timer covers the loading only (imports and header parsing come first).
With --prealloc one uint8 destination per tensor, as large as the tensor
and touched, is allocated before the timer, and the method copies every
tensor there (Run:ai with owned=False then yields views of its reused
buffers); without it each method allocates as it does for its users.

Prints one JSON line: method, version, seconds, bytes (tensor data read),
checksum: gp_checksum_at sums of each file's tensor data as one stream
from its first data byte, the sum `gpupager bench load` computes, taken
after the timer through LIB (libgpupager.so).  --probe exits 0 when METHOD
can run.  Exit status 3 with "skip: ..." on stderr when the method's
package or torch cannot be imported; 1 on any other error.
"""
import argparse
import ctypes
import json
import os
import struct
import sys
import time

METHODS = ("runai", "fastsafetensors", "safetensors")
MODULES = {"runai": "runai_model_streamer", "fastsafetensors": "fastsafetensors",
           "safetensors": "safetensors"}
MASK = (1 << 64) - 1


def skip(why):
    print("skip: " + why, file=sys.stderr)
    sys.exit(3)


def import_method(method):
    try:
        import torch  # noqa: F401
        mod = __import__(MODULES[method])
    except ImportError as e:
        skip("%s: %s" % (method, e))
    try:
        from importlib.metadata import version
        return version(MODULES[method].replace("_", "-"))
    except Exception:
        return getattr(mod, "__version__", "unknown")


def read_header(path):
    """[(name, begin, end)] in data order: offsets from the file's first data byte."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    spans = [(k, v["data_offsets"][0], v["data_offsets"][1])
             for k, v in header.items() if k != "__metadata__"]
    return sorted(spans, key=lambda s: s[1])


class Stream:
    """The checksum of bytes fed in order, as bench_sum_feed computes it."""

    def __init__(self, lib):
        self.lib, self.sum, self.off, self.tail = lib, 0, 0, b""

    def _add(self, ptr, n):
        self.sum = (self.sum + self.lib.gp_checksum_at(ptr, n, self.off)) & MASK
        self.off += n

    def feed(self, ptr, n):
        if self.tail:
            take = min(8 - len(self.tail), n)
            self.tail += ctypes.string_at(ptr, take)
            ptr, n = ptr + take, n - take
            if len(self.tail) < 8:
                return
            self._add(self.tail, 8)
            self.tail = b""
        whole = n & ~7
        if whole:
            self._add(ptr, whole)
        self.tail = ctypes.string_at(ptr + whole, n - whole)

    def end(self):
        if self.tail:
            self._add(self.tail, len(self.tail))
        return self.sum


def nbytes(t):
    return t.numel() * t.element_size()


def as_bytes(t):
    return t.reshape(-1).view(__import__("torch").uint8)


def load_safetensors(files, dst):
    from safetensors import safe_open
    out = {}
    for path in files:
        with safe_open(path, framework="pt") as f:
            for k in f.keys():
                t = f.get_tensor(k)
                if dst is None:
                    out[k] = t.clone()
                else:
                    dst[k].copy_(as_bytes(t))
    return out


def load_fastsafetensors(files, dst):
    from fastsafetensors import SafeTensorsFileLoader
    loader = SafeTensorsFileLoader(None, "cpu", nogds=True)
    loader.add_filenames({0: list(files)})
    fb = loader.copy_files_to_device()
    out = {}
    for k in loader.get_keys():
        t = fb.get_tensor(k)
        if dst is None:
            out[k] = t
        else:
            dst[k].copy_(as_bytes(t))
    # The tensors share the buffer, which stays theirs after close.
    fb.close()
    loader.close()
    return out


def load_runai(files, dst):
    from runai_model_streamer import SafetensorsStreamer
    out = {}
    with SafetensorsStreamer() as s:
        s.stream_files(list(files), owned=dst is None)
        for k, t in s.get_tensors():
            if dst is None:
                out[k] = t
            else:
                dst[k].copy_(as_bytes(t))
    return out


LOADERS = {"runai": load_runai, "fastsafetensors": load_fastsafetensors,
           "safetensors": load_safetensors}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probe", choices=METHODS)
    ap.add_argument("--method", choices=METHODS)
    ap.add_argument("--concurrency", type=int, default=0)
    ap.add_argument("--prealloc", action="store_true")
    ap.add_argument("--lib")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.probe:
        print(import_method(a.probe))
        return 0
    if not a.method or not a.lib or not a.files:
        ap.error("--method, --lib and FILE... are needed")
    if a.concurrency:
        os.environ["RUNAI_STREAMER_CONCURRENCY"] = str(a.concurrency)
    version = import_method(a.method)
    import torch
    lib = ctypes.CDLL(a.lib)
    lib.gp_checksum_at.restype = ctypes.c_uint64
    lib.gp_checksum_at.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64)
    spans = {path: read_header(path) for path in a.files}
    dst = None
    if a.prealloc:
        dst = {k: torch.zeros(e - b, dtype=torch.uint8)
               for path in a.files for k, b, e in spans[path]}
    t0 = time.perf_counter()
    got = LOADERS[a.method](a.files, dst)
    seconds = time.perf_counter() - t0
    total, sum_all = 0, 0
    for path in a.files:
        stream = Stream(lib)
        for k, b, e in spans[path]:
            t = dst[k] if dst is not None else got[k]
            if nbytes(t) != e - b:
                raise SystemExit("%s: %s: %d bytes read, %d in the file" % (path, k, nbytes(t), e - b))
            stream.feed(t.data_ptr(), e - b)
            total += e - b
        sum_all = (sum_all + stream.end()) & MASK
    print(json.dumps({"method": a.method, "version": version, "seconds": seconds,
                      "bytes": total, "checksum": "0x%016x" % sum_all,
                      "prealloc": a.prealloc, "concurrency": a.concurrency}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
