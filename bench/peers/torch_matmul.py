# PyTorch peer of bench/matmul.ts: torch.matmul of two n×n float32 matrices into a preallocated
# output on the CPU, timed the way bench/harness/timing.ts's measure() times webrlhf (warm-up
# calls, then the median of rounds lasting at least min_seconds in all). Reads a JSON job on
# stdin ({sizes, threads, min_seconds}), prints one JSON line.
import json
import statistics
import sys
import time

import torch


def median_seconds(fn, min_seconds, warmup=2, min_rounds=3, max_rounds=50):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_rounds or (time.perf_counter() - start < min_seconds and len(times) < max_rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job['threads'])
    g = torch.Generator().manual_seed(0)
    gflops = {}
    for n in job['sizes']:
        a = torch.rand(n, n, generator=g) - 0.5
        b = torch.rand(n, n, generator=g) - 0.5
        out = torch.empty(n, n)
        seconds = median_seconds(lambda: torch.matmul(a, b, out=out), job['min_seconds'])
        gflops[str(n)] = 2 * n ** 3 / seconds / 1e9
    print(json.dumps({'versions': f'torch {torch.__version__}', 'threads': torch.get_num_threads(), 'gflops': gflops}))


if __name__ == '__main__':
    main()
