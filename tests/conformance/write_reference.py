#!/usr/bin/env python3
"""Write safetensors files with the reference implementation, plus a manifest.

    python3 -m venv build-conf/venv && build-conf/venv/bin/pip install safetensors numpy
    build-conf/venv/bin/python tests/conformance/write_reference.py tests/data/reference

Accepted files are written by the reference's own writers
(safetensors.numpy.save_file for numpy dtypes, safetensors.serialize for the
dtypes numpy cannot express: BF16, F8_*, F4, F6_*); rejected files are
hand-made bytes that the reference's safe_open refuses, with its error text.
manifest.json lists every file, and for accepted ones each tensor's dtype,
shape, data offsets and the project's checksum of its bytes (gp_checksum:
sum mod 2^64 of splitmix64-finalizer(w_i + i * 0x9e3779b97f4a7c15) over the
little-endian 64-bit words of the bytes, the last one zero-padded).
tests/test_conformance.c reads them back through the project's parser.
"""
import ctypes
import json
import os
import struct
import sys

import numpy as np
import safetensors
from safetensors import TensorSpec, safe_open, serialize
from safetensors.numpy import save_file

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def checksum(data):
    total = 0
    for i in range(0, len(data), 8):
        w = int.from_bytes(data[i:i + 8].ljust(8, b"\0"), "little")
        total = (total + mix64((w + (i // 8) * GOLDEN) & M64)) & M64
    return total


def rng_bytes(rng, n):
    return rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()


def numpy_files(rng):
    """name -> (tensors dict, metadata) written by save_file."""
    kinds = [("BOOL", np.bool_), ("U8", np.uint8), ("I8", np.int8), ("I16", np.int16),
             ("U16", np.uint16), ("I32", np.int32), ("U32", np.uint32), ("I64", np.int64),
             ("U64", np.uint64), ("F16", np.float16), ("F32", np.float32),
             ("F64", np.float64), ("C64", np.complex64)]
    files = {}
    d = {}
    for name, t in kinds:
        for shape in [(), (1,), (3,), (7,), (2, 3), (0,), (13, 1, 5)]:
            n = int(np.prod(shape)) if shape else 1
            raw = rng_bytes(rng, n * np.dtype(t).itemsize)
            a = np.frombuffer(raw, dtype=np.uint8).view(t).reshape(shape)
            if t is np.bool_:
                a = (np.frombuffer(raw, dtype=np.uint8) & 1).astype(np.bool_).reshape(shape)
            d[f"{name.lower()}.{'x'.join(map(str, shape)) or 'scalar'}"] = np.ascontiguousarray(a)
    files["numpy_dtypes.safetensors"] = (d, {"format": "np", "note": "every numpy dtype"})
    files["shapes.safetensors"] = ({
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0,), dtype=np.float32),
        "empty.3x0x2": np.zeros((3, 0, 2), dtype=np.float16),
        "odd.1": rng.random(1).astype(np.float32),
        "odd.5": rng.random(5).astype(np.float16),
        "odd.11": rng.random(11).astype(np.float64),
        "odd.101": rng.integers(0, 200, 101).astype(np.uint8),
        "multi.2x3x4x5": rng.random((2, 3, 4, 5)).astype(np.float32),
        "eight.dims": rng.random((1, 2, 1, 2, 1, 2, 1, 3)).astype(np.float16),
        "name with spaces/and\u00e9\u4e2d\U0001f600": np.arange(3, dtype=np.int32),
    }, None)
    many = {}
    for b in range(12):
        for k in range(25):
            many[f"model.layers.{b}.mlp.w{k}.weight"] = rng.random((k % 5 + 1, 3)).astype(np.float16)
    many["model.embed_tokens.weight"] = rng.random((8, 4)).astype(np.float32)
    many["lm_head.weight"] = rng.random((4, 8)).astype(np.float32)
    files["many_tensors.safetensors"] = (many, {"total": str(len(many))})
    files["metadata_only.safetensors"] = ({}, {"k": "v", "empty": ""})
    return files


def raw_files(rng):
    """name -> (serialize() specs, metadata, buffers): dtypes numpy has no type for.

    serialize() takes TensorSpec(dtype, shape, data_ptr, data_len) with the
    framework's dtype names; for F4 (float4_e2m1fn_x2) the shape is the
    storage shape, two values per byte, and the header gets twice the last
    dimension.  The reference has no writer name for F6_*: those are written
    as raw headers (F6_FILE below) and still checked by its reader.
    """
    names = {"bfloat16": 16, "float8_e4m3fn": 8, "float8_e5m2": 8, "float8_e8m0fnu": 8,
             "float8_e4m3fnuz": 8, "float8_e5m2fnuz": 8, "float4_e2m1fn_x2": 8}
    specs, keep = {}, []
    for name, b in names.items():
        for shape in [[4], [2, 8], [0], [3, 0], [16, 1]]:
            n = 1
            for s in shape:
                n *= s
            buf = ctypes.create_string_buffer(rng_bytes(rng, n * b // 8), max(n * b // 8, 1))
            keep.append(buf)
            specs[f"{name}.{'x'.join(map(str, shape))}"] = TensorSpec(
                dtype=name, shape=shape, data_ptr=ctypes.addressof(buf), data_len=n * b // 8)
    files = {"raw_dtypes.safetensors": (specs, {"writer": "safetensors.serialize"}, keep)}
    buf = ctypes.create_string_buffer(b"abc", 3)
    files["huge_zero_dim.safetensors"] = ({
        "z": TensorSpec(dtype="float32", shape=[0, M64], data_ptr=ctypes.addressof(buf), data_len=0),
        "w": TensorSpec(dtype="uint8", shape=[3], data_ptr=ctypes.addressof(buf), data_len=3)},
        None, [buf])
    return files


def header_file(header, data=b""):
    h = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(h)) + h + data


T = '"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}'
REJECTED = {
    "bad_minus_zero_shape.safetensors": header_file('{"t":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}'),
    "bad_float_shape.safetensors": header_file('{"t":{"dtype":"U8","shape":[4.0],"data_offsets":[0,4]}}', b"abcd"),
    "bad_negative_offset.safetensors": header_file('{"t":{"dtype":"U8","shape":[0],"data_offsets":[-1,0]}}'),
    "bad_too_big_int.safetensors": header_file('{"t":{"dtype":"U8","shape":[0,18446744073709551616],"data_offsets":[0,0]}}'),
    "bad_dtype.safetensors": header_file('{"t":{"dtype":"F2","shape":[4],"data_offsets":[0,4]}}', b"abcd"),
    "bad_f4_odd.safetensors": header_file('{"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', b"ab"),
    "bad_size.safetensors": header_file('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b"abcd"),
    "bad_hole.safetensors": header_file('{"t":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', b"abcdefgh"),
    "bad_overlap.safetensors": header_file('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                                           '"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', b"abcdef"),
    "bad_short_buffer.safetensors": header_file("{" + T + "}", b"ab"),
    "bad_long_buffer.safetensors": header_file("{" + T + "}", b"abcdef"),
    "bad_duplicate_field.safetensors": header_file('{"t":{"dtype":"U8","dtype":"U8","shape":[4],"data_offsets":[0,4]}}', b"abcd"),
    "bad_trailing_garbage.safetensors": header_file("{" + T + "} x", b"abcd"),
    "bad_not_utf8.safetensors": header_file(b'{"t\xff":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', b"abcd"),
    "bad_not_object.safetensors": header_file("[1]"),
    "bad_header_length.safetensors": struct.pack("<Q", 1000) + b"{}",
    "bad_missing_field.safetensors": header_file('{"t":{"dtype":"U8","shape":[4]}}', b"abcd"),
    "bad_metadata_value.safetensors": header_file('{"__metadata__":{"k":1},' + T + "}", b"abcd"),
    "bad_form_feed.safetensors": header_file("{" + T + "}\f", b"abcd"),
    "bad_f6_odd.safetensors": header_file('{"t":{"dtype":"F6_E2M3","shape":[3],"data_offsets":[0,2]}}', b"ab"),
}

# Accepted hand-made headers: JSON whitespace around the object.
WHITESPACE = {
    "ws_leading_trailing.safetensors": header_file(" \t\r\n{" + T + "}\r\n\t ", b"abcd"),
    "ws_newline.safetensors": header_file("{" + T + "}\n", b"abcd"),
    "ws_inside.safetensors": header_file('{ "t" : { "dtype" : "U8" ,\n "shape" : [ 4 ] ,'
                                         ' "data_offsets" : [ 0 , 4 ] } }', b"abcd"),
    "metadata_null.safetensors": header_file('{"__metadata__":null,' + T + "}", b"abcd"),
    "f6_raw.safetensors": header_file(
        '{"a":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]},'
        '"b":{"dtype":"F6_E3M2","shape":[2,4],"data_offsets":[3,9]},'
        '"c":{"dtype":"F6_E2M3","shape":[0,3],"data_offsets":[9,9]}}', b"ABCDEFGHI"),
}


def describe(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    start = 8 + n
    header = json.loads(blob[8:start])
    tensors = []
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
        for name in f.keys():
            s = f.get_slice(name)
            b, e = header[name]["data_offsets"]
            # Shapes as text ("[0, 18446744073709551615]", as gp_st_format_shape
            # writes them): jansson, which reads this file in the test, stops at 2^63-1.
            shape = "[" + ", ".join(str(d) for d in s.get_shape()) + "]"
            tensors.append({"name": name, "dtype": s.get_dtype(), "shape": shape,
                            "begin": start + b, "end": start + e,
                            "checksum": str(checksum(blob[start + b:start + e]))})
    tensors.sort(key=lambda t: (t["begin"], t["end"], t["name"].encode()))
    return {"file": os.path.basename(path), "accepted": True, "header_len": n,
            "size": len(blob), "metadata": meta or {}, "tensors": tensors}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/reference"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(9)
    entries = []
    for name, (d, meta) in numpy_files(rng).items():
        save_file(d, os.path.join(out, name), metadata=meta)
    for name, (d, meta, _keep) in raw_files(rng).items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(serialize(d, metadata=meta))
    for name, blob in WHITESPACE.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)
    for name in sorted(os.listdir(out)):
        if name.endswith(".safetensors") and not name.startswith("bad_"):
            entries.append(describe(os.path.join(out, name)))
    for name, blob in sorted(REJECTED.items()):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(blob)
        try:
            with safe_open(path, framework="numpy") as f:
                f.keys()
        except Exception as e:  # the reference's own error text
            entries.append({"file": name, "accepted": False, "error": str(e)})
            continue
        raise SystemExit(f"{name}: the reference accepts it; it does not belong in REJECTED")
    manifest = {"reference": f"safetensors {safetensors.__version__}", "numpy": np.__version__,
                "files": entries}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    acc = sum(e["accepted"] for e in entries)
    print(f"{out}: {acc} accepted, {len(entries) - acc} rejected by the reference")


if __name__ == "__main__":
    main()
