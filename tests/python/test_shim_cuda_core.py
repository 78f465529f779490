"""cuda.core (PyPI cuda-core, NVIDIA's Pythonic CUDA), a client nobody here
wrote, under the LD_PRELOAD shim on the simulated device.  Its
`Device.allocate` goes through the device's memory pool (cuDeviceGetMemPool,
cuMemPoolSetAttribute, cuMemAllocFromPoolAsync, cuMemFreeAsync), so it is
the pool path a program gets from `cudaMallocAsync`.  The program allocates
buffers worth more than the device, writes a distinct pattern into each
(cuMemcpyHtoDAsync through cuda.bindings, `Buffer.fill`, `Buffer.copy_to`),
reads every one back and compares bytes.  On the simulator alone it also
checks the pool's byte counts as cuda.core reports them (under the shim the
driver's pool never sees the memory: the shim serves it).  Without the shim
it runs out of memory on a small device; under `gpupager exec` with a
budget below a third of its buffers every byte comes back.

Run as a script (python test_shim_cuda_core.py N_BUFFERS MIB [--pool-counts]),
this file is that program: exit 0 when all match, 3 out of device memory, 4
wrong bytes or counts."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest


def pattern(i, n):
    return np.random.default_rng(i).integers(0, 256, n, dtype=np.uint8)


def main(n_buffers, mib, pool_counts):
    from cuda.bindings import driver as cu
    from cuda.core import Device
    from cuda.core._utils.cuda_utils import CUDAError

    size = mib << 20
    dev = Device(0)
    dev.set_current()
    stream = dev.create_stream()
    attrs = dev.memory_resource.attributes
    bufs = []
    try:
        for i in range(n_buffers):
            bufs.append(dev.allocate(size, stream=stream))
    except CUDAError as e:
        print(f"cuda.core: allocate: {e}", file=sys.stderr)
        return 3
    if pool_counts and attrs.used_mem_current < n_buffers * size:
        print(f"pool used {attrs.used_mem_current} < {n_buffers * size}", file=sys.stderr)
        return 4
    # The last two buffers: one filled by Buffer.fill, one copied from the first.
    for i, b in enumerate(bufs[:-2]):
        host = pattern(i, size)
        err, = cu.cuMemcpyHtoDAsync(int(b.handle), host, size, stream.handle)
        assert err == cu.CUresult.CUDA_SUCCESS, err
        stream.sync()
    bufs[-2].fill(0x5A, stream=stream)
    bufs[0].copy_to(bufs[-1], stream=stream)
    stream.sync()
    bad = 0
    for i, b in enumerate(bufs):
        want = (pattern(i, size) if i < n_buffers - 2 else
                np.full(size, 0x5A, np.uint8) if i == n_buffers - 2 else pattern(0, size))
        got = np.empty(size, np.uint8)
        err, = cu.cuMemcpyDtoH(got, int(b.handle), size)
        assert err == cu.CUresult.CUDA_SUCCESS, err
        if not np.array_equal(got, want):
            print(f"buffer {i}: {int((got != want).sum())} bytes differ")
            bad += 1
    for b in bufs:
        b.close(stream)
    stream.sync()
    if pool_counts and (attrs.used_mem_current != 0 or
                        attrs.used_mem_high < n_buffers * size):
        print(f"pool after the frees: used {attrs.used_mem_current}, high "
              f"{attrs.used_mem_high}", file=sys.stderr)
        return 4
    print(f"{n_buffers - bad} of {n_buffers} buffers match")
    return 4 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), "--pool-counts" in sys.argv[3:]))

# The tests, which run the program above.
from conftest import BUILD  # noqa: E402

GPUPAGER = os.path.join(BUILD, "bin", "gpupager")
PRELOAD = os.path.join(BUILD, "lib", "libgpupager-preload.so")
BUFFERS, MIB = 12, 4        # 48 MiB of buffers on a 32 MiB device

needs_cuda_core = pytest.mark.skipif(
    importlib.util.find_spec("cuda") is None or
    importlib.util.find_spec("cuda.core") is None,
    reason="cuda-core is not installed in this Python (make python-venv installs it "
           "when PyPI can be reached)")


def run(sim_vram, budget=None):
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(BUILD, "lib", "sim"),
               GPUPAGER_SIM_VRAM=sim_vram, GPUPAGER_VRAM_HEADROOM="0",
               GPUPAGER_HOST_BUDGET="128M",
               # Nothing here comes from a file: the buffers are swapped.
               GPUPAGER_SHIM_EVICT="all")
    cmd = [sys.executable, os.path.abspath(__file__), str(BUFFERS), str(MIB)]
    if budget:
        cmd = [GPUPAGER, "exec", "--budget", budget, "--"] + cmd
    else:
        cmd.append("--pool-counts")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@needs_cuda_core
def test_cuda_core_allocates_from_the_pool_without_the_shim():
    r = run("1G")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == f"{BUFFERS} of {BUFFERS} buffers match\n"


@needs_cuda_core
def test_cuda_core_runs_out_of_memory_on_a_small_device_without_the_shim():
    r = run("32M")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "CUDA_ERROR_OUT_OF_MEMORY" in r.stderr


@needs_cuda_core
@pytest.mark.skipif(not os.path.exists(PRELOAD), reason=f"the shim is not built ({PRELOAD})")
def test_cuda_core_under_the_shim_over_budget():
    r = run("32M", budget="16M")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == f"{BUFFERS} of {BUFFERS} buffers match\n"
