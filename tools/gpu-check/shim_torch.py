"""PyTorch under the LD_PRELOAD shim (gpu-check step 5): a CUDA-runtime client.

Run as `gpupager exec --budget BYTES --evict all -- python shim_torch.py BYTES`.  It
allocates int32 tensors holding 1.5x the budget, fills each with its index,
reads every one back by a device-side sum, adds one to each and sums again,
so every tensor is evicted to the host tier and brought back at least once.
Prints one JSON line; exit 0 only if every sum is right.
"""
import json
import sys
import time


def main() -> int:
    budget = int(sys.argv[1])
    out = {"ok": False, "budget": budget}
    try:
        import torch
    except ImportError as e:
        out["error"] = f"torch not importable: {e}"
        print(json.dumps(out))
        return 2
    if not torch.cuda.is_available():
        out["error"] = "torch.cuda.is_available() is False"
        print(json.dumps(out))
        return 2
    t0 = time.monotonic()
    free, total = torch.cuda.mem_get_info()
    out["mem_get_info"] = [free, total]
    numel = 16 << 20                      # 64 MiB of int32 per tensor
    n = max(4, int(budget * 3 // 2 // (numel * 4)))
    tensors = [torch.full((numel,), i, dtype=torch.int32, device="cuda") for i in range(n)]
    bad = 0
    for rnd in range(2):
        for i, t in enumerate(tensors):
            if t.sum(dtype=torch.int64).item() != (i + rnd) * numel:
                bad += 1
            t.add_(1)
    torch.cuda.synchronize()
    out.update(ok=bad == 0, tensors=n, bytes=n * numel * 4, bad_sums=bad,
               seconds=round(time.monotonic() - t0, 3), torch=torch.__version__)
    print(json.dumps(out))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
