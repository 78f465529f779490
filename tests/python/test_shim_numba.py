"""numba-cuda (PyPI numba-cuda), a client nobody here wrote, under the
LD_PRELOAD shim on the simulated device: its memory operations only, no
kernels (so neither NVVM nor the CUDA runtime is needed).  Device arrays
(cuda.to_device, cuda.device_array, copy_to_host, copy_to_device between
device arrays), pinned host arrays (cuda.pinned_array), a stream and
events.  The program uploads ARRAYS arrays from pinned memory on a stream,
copies each to a second device array, and reads every array back twice,
recording events around the copies; every byte is compared with numpy.  On
a device smaller than what it holds it runs out of memory without the
shim; under `gpupager exec` with a budget of a third of it every byte
matches.

Run as a script (python test_shim_numba.py MIB), this file is that program:
it holds about MIB MiB of device memory; exit 0 when every array matches,
3 out of device memory, 4 wrong bytes."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

ARRAYS = 8


def main(mib):
    from numba import cuda
    from numba.cuda.cudadrv.driver import CudaAPIError

    n = mib * (1 << 20) // (2 * ARRAYS * 8)     # two device arrays of n uint64 each
    try:
        stream = cuda.stream()
        start, done = cuda.event(), cuda.event()
        host = cuda.pinned_array(n, dtype=np.uint64)
        sources, copies = [], []
        start.record(stream)
        for i in range(ARRAYS):
            host[:] = np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(i)
            d = cuda.to_device(host, stream=stream)
            stream.synchronize()                # host is refilled next
            c = cuda.device_array(n, dtype=np.uint64, stream=stream)
            c.copy_to_device(d, stream=stream)
            sources.append(d)
            copies.append(c)
        done.record(stream)
        done.synchronize()
        bad = 0
        for p in range(2):
            for i in range(ARRAYS):
                want = np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(i)
                got = sources[i].copy_to_host(stream=stream)
                stream.synchronize()
                bad += int(not np.array_equal(got, want))
                copies[i].copy_to_host(host, stream=stream)
                stream.synchronize()
                bad += int(not np.array_equal(host, want))
        free, total = cuda.current_context().get_memory_info()
        print(f"numba: {ARRAYS} arrays of {n * 8} bytes twice, {bad} differ; "
              f"events {cuda.event_elapsed_time(start, done) >= 0}; "
              f"free {free <= total}")
        del sources, copies
        return 4 if bad else 0
    except CudaAPIError as e:
        print(f"numba: {e}", file=sys.stderr)
        return 3 if "OUT_OF_MEMORY" in str(e) else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))

# The tests, which run the program above.
from conftest import BUILD  # noqa: E402

GPUPAGER = os.path.join(BUILD, "bin", "gpupager")
PRELOAD = os.path.join(BUILD, "lib", "libgpupager-preload.so")
HELD_MIB = 48

needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None or
    importlib.util.find_spec("numba_cuda") is None,
    reason="numba-cuda is not installed in this Python (make python-venv installs it when "
           "PyPI can be reached)")


def run(sim_vram, budget=None):
    """This file as a program on a simulated device of sim_vram, under the
    shim when budget is given."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(BUILD, "lib", "sim"),
               GPUPAGER_SIM_VRAM=sim_vram, GPUPAGER_VRAM_HEADROOM="0",
               GPUPAGER_HOST_BUDGET="256M", GPUPAGER_SHIM_EVICT="all",
               # The driver numba binds: the simulator, through cuda-bindings.
               NUMBA_CUDA_DRIVER=os.path.join(BUILD, "lib", "sim", "libcuda.so.1"))
    cmd = [sys.executable, os.path.abspath(__file__), str(HELD_MIB)]
    if budget:
        cmd = [GPUPAGER, "exec", "--budget", budget, "--"] + cmd
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def expect_all_match(r):
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{ARRAYS} arrays of" in r.stdout and ", 0 differ;" in r.stdout, r.stdout
    assert "events True; free True" in r.stdout, r.stdout


@needs_numba
def test_numba_memory_ops_on_the_simulator_without_the_shim():
    expect_all_match(run("1G"))


@needs_numba
def test_numba_out_of_memory_on_a_small_device_without_the_shim():
    r = run(f"{HELD_MIB * 6 // 10}M")
    assert r.returncode == 3, r.stdout + r.stderr


@needs_numba
@pytest.mark.skipif(not os.path.exists(PRELOAD), reason=f"the shim is not built ({PRELOAD})")
def test_numba_memory_ops_under_the_shim_over_budget():
    r = run(f"{HELD_MIB * 6 // 10}M", budget=f"{HELD_MIB // 3}M")
    expect_all_match(r)
