"""cuda-python (`cuda.bindings.driver`, PyPI cuda-bindings), a client nobody
here wrote, under the LD_PRELOAD shim on the simulated device.  It binds the
driver as it does everywhere (dlopen, then every entry point through
cuGetProcAddress_v2), loads every tensor of a generated model with cuMemAlloc
and cuMemcpyHtoD, checksums each on the device in two passes with the kernel
module of tests/apps (cuModuleLoad, cuLaunchKernel) and reads the results
back (cuMemcpyDtoH).  On a device smaller than the model it runs out of
memory without the shim; under `gpupager exec` with 40% of the model as the
budget every checksum equals the one of the file's bytes, with cuda-python's
per-thread default stream off and on (CUDA_PYTHON_CUDA_PER_THREAD_DEFAULT_STREAM:
it then asks for the per-thread forms, _ptds and _ptsz).

Run as a script (python test_shim_cuda_python.py MODEL KERNELS), this file
is that program: exit 0 when all match, 3 out of device memory, 1 another
CUDA error, 4 wrong bytes."""

import importlib.util
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def shim_sum(data):
    """tests/apps/shim_app_sum.h's shim_sum of bytes, with numpy."""
    n = len(data)
    w = np.frombuffer(bytes(data) + bytes(-n % 8), dtype="<u8")
    z = w + np.arange(1, len(w) + 1, dtype=np.uint64) * np.uint64(GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (int(z.sum(dtype=np.uint64)) + n) & MASK


def tensors(path):
    """[(name, bytes)] of a .safetensors file in file order."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    spans = sorted((e["data_offsets"], name) for name, e in header.items()
                   if name != "__metadata__")
    return [(name, data[8 + n + a:8 + n + z]) for (a, z), name in spans]


def main(model, kernels, passes=2):
    from cuda.bindings import driver as cu

    def ok(call, result):
        err = result[0]
        if err != cu.CUresult.CUDA_SUCCESS:
            name = cu.cuGetErrorName(err)[1].decode()
            print(f"cuda-python: {call}: {name}", file=sys.stderr)
            sys.exit(3 if err == cu.CUresult.CUDA_ERROR_OUT_OF_MEMORY else 1)
        return result[1] if len(result) == 2 else result[1:]

    ok("cuInit", cu.cuInit(0))
    dev = ok("cuDeviceGet", cu.cuDeviceGet(0))
    ctx = ok("cuDevicePrimaryCtxRetain", cu.cuDevicePrimaryCtxRetain(dev))
    ok("cuCtxSetCurrent", cu.cuCtxSetCurrent(ctx))
    module = ok("cuModuleLoad", cu.cuModuleLoad(kernels.encode()))
    checksum = ok("cuModuleGetFunction", cu.cuModuleGetFunction(module, b"checksum"))
    stream = ok("cuStreamCreate", cu.cuStreamCreate(0))

    ts = tensors(model)
    dptrs, sums = [], []
    for name, data in ts:
        host = np.frombuffer(data, dtype=np.uint8)
        d = ok("cuMemAlloc", cu.cuMemAlloc(len(data)))
        ok("cuMemcpyHtoD", cu.cuMemcpyHtoD(d, host, len(data)))
        dptrs.append(d)
        sums.append(shim_sum(data))
    results = ok("cuMemAlloc", cu.cuMemAlloc(16 * len(ts)))
    got = np.zeros(2 * len(ts), dtype=np.uint64)
    bad = 0
    for p in range(1, passes + 1):
        for i, d in enumerate(dptrs):
            # checksum(const void *data, uint64_t len, uint64_t tag, uint64_t *out)
            args = np.array([int(d), len(ts[i][1]), p, int(results) + 16 * i], dtype=np.uint64)
            params = np.array([args.ctypes.data + 8 * k for k in range(4)], dtype=np.uint64)
            ok("cuLaunchKernel", cu.cuLaunchKernel(checksum, 1, 1, 1, 1, 1, 1, 0, stream,
                                                   params.ctypes.data, 0))
        ok("cuStreamSynchronize", cu.cuStreamSynchronize(stream))
        ok("cuMemcpyDtoH", cu.cuMemcpyDtoH(got, results, 16 * len(ts)))
        match = sum(int(got[2 * i]) == p and int(got[2 * i + 1]) == sums[i]
                    for i in range(len(ts)))
        bad += len(ts) - match
        print(f"pass {p}: {match} of {len(ts)} checksums match")
    for d in dptrs + [results]:
        ok("cuMemFree", cu.cuMemFree(d))
    ok("cuStreamDestroy", cu.cuStreamDestroy(stream))
    ok("cuModuleUnload", cu.cuModuleUnload(module))
    ok("cuDevicePrimaryCtxRelease", cu.cuDevicePrimaryCtxRelease(dev))
    return 4 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

# The tests, which run the program above.
from conftest import BUILD  # noqa: E402

GPUPAGER = os.path.join(BUILD, "bin", "gpupager")
KERNELS = os.path.join(BUILD, "tests", "apps", "shim_app_kernels.so")
PRELOAD = os.path.join(BUILD, "lib", "libgpupager-preload.so")

needs_cuda_python = pytest.mark.skipif(
    importlib.util.find_spec("cuda") is None or
    importlib.util.find_spec("cuda.bindings") is None,
    reason="cuda-bindings is not installed in this Python (make python-venv installs it "
           "when PyPI can be reached)")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """llama3-8b at scale 0.04: 291 tensors, 24 MiB, one file."""
    d = tmp_path_factory.mktemp("shim-llama")
    subprocess.run([GPUPAGER, "mkmodel", "--arch", "llama3-8b", "--scale", "0.04",
                    "--seed", "5", str(d)], check=True, capture_output=True)
    path = os.path.join(str(d), "model.safetensors")
    return path, sum(len(b) for _, b in tensors(path))


def run(model_path, sim_vram, budget=None, per_thread=False):
    """This file as a program on a simulated device of sim_vram, under the
    shim when budget is given."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(BUILD, "lib", "sim"),
               GPUPAGER_SIM_VRAM=sim_vram, GPUPAGER_VRAM_HEADROOM="0",
               GPUPAGER_HOST_BUDGET="256M",
               # The weights are read() into bytes, not mapped: anonymous, swapped.
               GPUPAGER_SHIM_EVICT="all",
               CUDA_PYTHON_CUDA_PER_THREAD_DEFAULT_STREAM="1" if per_thread else "0")
    cmd = [sys.executable, os.path.abspath(__file__), model_path, KERNELS]
    if budget:
        cmd = [GPUPAGER, "exec", "--budget", budget, "--"] + cmd
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def expect_all_match(r, n_tensors):
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "".join(f"pass {p}: {n_tensors} of {n_tensors} checksums match\n"
                               for p in (1, 2))


@needs_cuda_python
@pytest.mark.parametrize("per_thread", [False, True])
def test_cuda_python_on_the_simulator_without_the_shim(model, per_thread):
    path, _ = model
    expect_all_match(run(path, "1G", per_thread=per_thread), len(tensors(path)))


@needs_cuda_python
def test_cuda_python_out_of_memory_on_a_small_device_without_the_shim(model):
    path, nbytes = model
    r = run(path, f"{nbytes * 8 // 10 >> 20}M")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "cuda-python: cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY" in r.stderr


@needs_cuda_python
@pytest.mark.skipif(not os.path.exists(PRELOAD), reason=f"the shim is not built ({PRELOAD})")
@pytest.mark.parametrize("per_thread", [False, True])
def test_cuda_python_under_the_shim_over_budget(model, per_thread):
    path, nbytes = model
    r = run(path, f"{nbytes * 8 // 10 >> 20}M", budget=str(nbytes * 4 // 10),
            per_thread=per_thread)
    expect_all_match(r, len(tensors(path)))
