"""Where a training step's time goes: cProfile over sigmalab's fit on a reference shape.

    python benchmarks/profile_step.py            # 64 x 20 hidden, one thread
    python benchmarks/profile_step.py --shape 0  # 2-8-8-8-1 (1: 784-256-256-10)

Prints the functions that take the most time of their own (NumPy's matrix products
show inside Dense.forward/backward, which call them directly), and the share of the
step spent in the GEMM-only ceiling's products, timed separately on the same data.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from speed import SHAPES, ceiling_trainer, make_data, sigmalab_trainer
from threadpoolctl import threadpool_limits

ROUNDS = 5


def main() -> None:
    """Profile a few epochs of one shape on one thread and print the top entries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, default=2, help="index into speed.SHAPES")
    parser.add_argument("--top", type=int, default=15, help="how many functions to list")
    args = parser.parse_args()
    shape = SHAPES[args.shape]
    X, y = make_data(shape, shape.samples // 4)
    with threadpool_limits(limits=1):
        train, ceiling = sigmalab_trainer(shape, X, y), ceiling_trainer(shape, X, y)
        train(), ceiling()  # warm-up: buffers, caches
        timings = {"sigmalab": float("inf"), "GEMM ceiling": float("inf")}
        for _ in range(ROUNDS):  # interleaved; the fastest round counts, as in speed.py
            for name, run in (("sigmalab", train), ("GEMM ceiling", ceiling)):
                start = time.perf_counter()
                run()
                timings[name] = min(timings[name], time.perf_counter() - start)
        profiler = cProfile.Profile()
        profiler.runcall(train)
    print(f"{shape.name}, batch {shape.batch_size}, {len(X)} samples, one thread")
    for name, seconds in timings.items():
        print(f"  {name}: {len(X) / seconds:,.0f} samples/s")
    share = timings["GEMM ceiling"] / timings["sigmalab"]
    print(f"  the ceiling's matrix products alone take {share:.0%} of sigmalab's step\n")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
