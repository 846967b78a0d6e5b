"""Measure the peak memory of backpropagation, with and without gradient checkpointing.

First table: the peak of new memory (``tracemalloc``) of ``Network.forward``
and of ``Network.gradients`` (forward plus backward) against the unit
Σ_ℓ d_ℓ·N·b (ℓ = 1 … L, b bytes per number), and against the cache that
``bpcourse.checkpoint.cache_bytes`` predicts, N·b·(d_0 + 2 Σ_ℓ d_ℓ). X and the
weights exist before the call and are not counted.

Second table: ``bpcourse.checkpoint.checkpointed_gradients`` on a deep network
for several numbers of segments k: the peak memory, the memory the schedule
keeps by ``memory_model``, and the time per call, measured in alternating
rounds, relative to one segment (no recomputation).

    .venv/bin/python benchmarks/memory.py
"""

import argparse
import sys

import numpy as np

import _common as common
from bpcourse.network import Network

CASES = [
    ([784, 256, 256, 10], 128, np.float32),
    ([784, 256, 256, 10], 128, np.float64),
    ([784] + [256] * 8 + [10], 256, np.float32),
]
DEEP = ([256] * 16 + [10], 256, np.float32)
DEEP_QUICK = ([64] * 16 + [10], 32, np.float32)


def _data(sizes, N, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((sizes[0], N)).astype(dtype)
    y = rng.integers(0, sizes[-1], size=N)
    return X, y


def mib(nbytes):
    return f"{nbytes / 2**20:.2f}"


def plain_table(cases, measure_peak, cache_bytes):
    rows = []
    for sizes, N, dtype in cases:
        net = Network(sizes, activation="relu", seed=0, dtype=dtype)
        X, y = _data(sizes, N, dtype)
        b = np.dtype(dtype).itemsize
        unit = sum(sizes[1:]) * N * b
        _, forward_peak = measure_peak(net.forward, X, warmup=True)
        _, peak = measure_peak(net.gradients, X, y, warmup=True)
        label = f"{'-'.join(map(str, sizes))}, N = {N}, {np.dtype(dtype).name}"
        model = cache_bytes(sizes, N, dtype)
        rows.append([label, mib(unit), mib(forward_peak), mib(peak), f"{peak / unit:.2f}",
                     mib(model), f"{peak / model:.2f}"])
        print(f"ratio peak / (sum d_l N b), {label}: {peak / unit:.2f}; "
              f"peak / cache model: {peak / model:.2f}")
    return rows


def checkpoint_table(checkpoint, rounds, calls, quick):
    sizes, N, dtype = DEEP_QUICK if quick else DEEP
    net = Network(sizes, activation="relu", seed=0, dtype=dtype)
    X, y = _data(sizes, N, dtype)
    L = net.num_layers
    counts = [1, 2, 4, 16] if quick else [1, 2, checkpoint.sqrt_segments(L), 8, 16]
    counts = sorted(set(counts))
    contenders = {"Network.gradients": lambda: net.gradients(X, y)}
    for k in counts:
        contenders[k] = (lambda k=k: checkpoint.checkpointed_gradients(net, X, y, segments=k))
    times = common.alternate(contenders, rounds, calls)

    base = times[1]
    rows = []
    _, plain_peak = checkpoint.measure_peak(net.gradients, X, y, warmup=True)
    rows.append(["Network.gradients (keeps δ)", "–", mib(plain_peak), "–",
                 common.time_cell(times["Network.gradients"]),
                 common.ratio_cell(*common.ratio_spread(times["Network.gradients"], base))])
    flops = checkpoint.flop_counts(sizes, N)
    for k in counts:
        boundaries = checkpoint.segment_boundaries(L, k)
        _, peak = checkpoint.measure_peak(checkpoint.checkpointed_gradients, net, X, y,
                                          segments=k, warmup=True)
        model = checkpoint.memory_model(sizes, N, boundaries, dtype)["total"]
        recompute = checkpoint.flop_counts(sizes, N, boundaries)["recompute"]
        predicted = 1 + recompute / (flops["forward"] + flops["backward"])
        ratio = common.ratio_spread(times[k], base)
        rows.append([f"k = {k}", mib(model), mib(peak), f"{predicted:.2f}",
                     common.time_cell(times[k]), common.ratio_cell(*ratio)])
        print(f"checkpointing k = {k}: peak {mib(peak)} MiB (model {mib(model)} MiB); "
              f"ratio time / k = 1: {ratio[0]:.2f} "
              f"(median of the rounds, 25-75%: {ratio[1]:.2f}-{ratio[2]:.2f}); FLOP ratio {predicted:.2f}")
    label = f"{'-'.join(map(str, sizes))} (L = {L}), N = {N}, {np.dtype(dtype).name}"
    return label, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    rounds, calls = common.rounds_and_calls(args, rounds=10, calls=3)
    threads = common.Threads(args.threads)
    print(threads.describe())
    try:
        from bpcourse import checkpoint
    except ImportError:
        checkpoint = None
    if checkpoint is not None:
        measure_peak, cache_bytes = checkpoint.measure_peak, checkpoint.cache_bytes
    else:
        print("bpcourse.checkpoint is missing: gradient checkpointing is not measured")
        import gc
        import tracemalloc

        def measure_peak(function, *arguments, warmup=False):
            if warmup:
                function(*arguments)
            gc.collect()
            tracemalloc.start()
            before, _ = tracemalloc.get_traced_memory()
            result = function(*arguments)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return result, peak - before

        def cache_bytes(sizes, N, dtype):
            return N * np.dtype(dtype).itemsize * (sizes[0] + 2 * sum(sizes[1:]))

    cases = CASES[:1] if args.quick else CASES
    rows = plain_table(cases, measure_peak, cache_bytes)
    sections = [(
        "Forward plus backward",
        ["network, batch, dtype", "Σ d_ℓ·N·b (MiB)", "peak of forward (MiB)",
         "peak of forward + backward (MiB)", "peak ÷ Σ d_ℓ·N·b",
         "cache model N·b·(d_0 + 2Σ d_ℓ) (MiB)", "peak ÷ cache model"],
        rows)]
    if checkpoint is not None:
        label, ck_rows = checkpoint_table(checkpoint, rounds, calls, args.quick)
        sections.append((
            f"Gradient checkpointing, {label}",
            ["segments", "memory_model (MiB)", "peak (MiB)",
             "time ÷ k = 1 predicted from FLOPs", "ms per call, median (25th–75th pct.); best round",
             "time ÷ k = 1, median of the rounds (25th–75th pct.)"],
            ck_rows))
    note = ("Peaks are measured with `tracemalloc` (`bpcourse.checkpoint.measure_peak`, "
            "after one unmeasured call); MiB = 2²⁰ bytes. Times: "
            f"{rounds} alternating rounds of {calls} calls.")
    common.write_markdown(common.output_path(args, "memory"), "Memory", sections,
                          threads, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
