#!/usr/bin/env python3
"""GPU restore workload, driven by gpu-restore-bench.

Fills --gib GiB of GPU memory (int64 tensors) and --host-mib MiB of host memory
(a numpy uint64 array) with a hash of each element's index and a seed, computed in
chunks (on the GPU for the GPU part), then writes "ready <pid>" to --ready.
On every SIGUSR1 it recomputes both patterns, compares every element and writes
"OK <gpu bytes> <host bytes>" or "BAD <where>" to --result, then waits again.

It holds no file open while it waits (stdout and stderr go to /dev/null once it is
ready), so that CRIU can dump it between two signals.
"""
import argparse
import os
import signal

# Block SIGUSR1 before torch or CUDA start any thread: every thread inherits the
# mask, so the signal stays pending until sigwait() below takes it.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})

import numpy as np  # noqa: E402
import torch  # noqa: E402

BLOCK = 1 << 27  # int64 elements per GPU tensor (1 GiB)
CHUNK = 1 << 24  # elements per pattern computation (128 MiB)
# splitmix64's multipliers, as signed 64-bit values for torch.
M1 = 0x9E3779B97F4A7C15 - (1 << 64)
M2 = 0xBF58476D1CE4E5B9 - (1 << 64)


def gpu_pattern(start, n, seed, device):
    """Elements start..start+n of the GPU pattern (int64 arithmetic wraps)."""
    x = torch.arange(start, start + n, dtype=torch.int64, device=device)
    x.mul_(M1).add_(seed)
    x ^= x >> 31
    x.mul_(M2)
    x ^= x >> 29
    return x


def host_pattern(start, n, seed):
    """Elements start..start+n of the host pattern (uint64 arithmetic wraps)."""
    x = np.arange(start, start + n, dtype=np.uint64)
    x *= np.uint64(M1 + (1 << 64))
    x += np.uint64(seed)
    x ^= x >> np.uint64(31)
    x *= np.uint64(M2 + (1 << 64))
    x ^= x >> np.uint64(29)
    return x


def chunks(total, size):
    return [(s, min(size, total - s)) for s in range(0, total, size)]


class Workload:
    def __init__(self, gib, host_mib, seed, device):
        self.device, self.seed = device, seed
        self.gpu_elems = int(gib * (1 << 30)) // 8
        self.blocks = chunks(self.gpu_elems, BLOCK)
        self.tensors = []
        for start, n in self.blocks:
            t = torch.empty(n, dtype=torch.int64, device=device)
            for off, m in chunks(n, CHUNK):
                t[off:off + m] = gpu_pattern(start + off, m, seed, device)
            self.tensors.append(t)
        self.host = np.empty(host_mib * (1 << 20) // 8, dtype=np.uint64)
        for start, n in chunks(self.host.size, CHUNK):
            self.host[start:start + n] = host_pattern(start, n, seed + 1)
        self.settle()

    def settle(self):
        """Wait for the GPU and hand the allocator's spare blocks back to the driver."""
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.empty_cache()

    def verify(self):
        for (start, n), t in zip(self.blocks, self.tensors):
            for off, m in chunks(n, CHUNK):
                bad = (t[off:off + m] != gpu_pattern(start + off, m, self.seed, self.device)).nonzero()
                if len(bad):
                    i = start + off + int(bad[0, 0])
                    return f"BAD gpu element {i} of {self.gpu_elems}: {int(t.view(-1)[i - start])}"
        for start, n in chunks(self.host.size, CHUNK):
            bad = np.flatnonzero(self.host[start:start + n] != host_pattern(start, n, self.seed + 1))
            if bad.size:
                i = start + int(bad[0])
                return f"BAD host element {i} of {self.host.size}: {int(self.host[i])}"
        self.settle()
        return f"OK {self.gpu_elems * 8} {self.host.size * 8}"


def write_atomic(path, text):
    """Write via a rename, so that a reader sees all of it or nothing."""
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=8.0, help="GiB of GPU memory to fill")
    ap.add_argument("--host-mib", type=int, default=1024, help="MiB of host memory to fill")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--ready", required=True, help='file to write "ready <pid>" to')
    ap.add_argument("--result", required=True, help="file to write each verification's result to")
    args = ap.parse_args()

    w = Workload(args.gib, args.host_mib, args.seed, args.device)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    write_atomic(args.ready, f"ready {os.getpid()}")
    while True:
        signal.sigwait({signal.SIGUSR1})
        try:
            result = w.verify()
        except Exception as e:  # reported, and the next signal tries again
            result = f"BAD exception {type(e).__name__}: {e}".replace("\n", " ")
        write_atomic(args.result, result)


if __name__ == "__main__":
    main()
