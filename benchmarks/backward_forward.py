"""Time the backward pass of ``bpcourse.Network`` against its forward pass.

The course states that the backward pass costs about twice the forward pass: every
layer's forward product W a has two backward products, δ aᵀ and Wᵀ δ. The
script times ``Network.forward`` and ``Network.backward`` (on the cache of a
forward pass) in alternating rounds and prints the ratio of their times, next
to the ratio of their FLOPs. The first layer needs no Wᵀ δ, since nothing
before it has weights, so the FLOP ratio is below 2.

    .venv/bin/python benchmarks/backward_forward.py
"""

import argparse
import sys

import numpy as np

import _common as common
from bpcourse.network import Network

CASES = [
    ([784, 256, 256, 10], 128, np.float32),
    ([784, 256, 256, 10], 128, np.float64),
    ([512, 512, 512, 512, 512], 256, np.float32),
]
GOAL = 2.2


def flop_ratio(sizes):
    products = [d * d_prev for d_prev, d in zip(sizes, sizes[1:])]
    forward = sum(products)
    backward = 2 * forward - products[0]
    return backward / forward


def measure(sizes, N, dtype, rounds, calls):
    net = Network(sizes, activation="relu", loss="cross_entropy", seed=0, dtype=dtype)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((sizes[0], N)).astype(dtype)
    y = rng.integers(0, sizes[-1], size=N)
    _, cache = net.forward(X)
    times = common.alternate(
        {"forward": lambda: net.forward(X), "backward": lambda: net.backward(cache, y)},
        rounds, calls)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    rounds, calls = common.rounds_and_calls(args, rounds=10, calls=10)
    threads = common.Threads(args.threads)
    print(threads.describe())

    cases = CASES[:1] if args.quick else CASES
    rows = []
    for sizes, N, dtype in cases:
        times = measure(sizes, N, dtype, rounds, calls)
        ratio = common.ratio_spread(times["backward"], times["forward"])
        label = f"{'-'.join(map(str, sizes))}, N = {N}, {np.dtype(dtype).name}"
        rows.append([label, common.time_cell(times["forward"]),
                     common.time_cell(times["backward"]), common.ratio_cell(*ratio),
                     f"{flop_ratio(sizes):.2f}"])
        print(f"ratio backward / forward time, {label}: {ratio[0]:.2f} "
              f"(median of the rounds, 25-75%: {ratio[1]:.2f}-{ratio[2]:.2f}); "
              f"FLOP ratio {flop_ratio(sizes):.2f}")

    first = rows[0]
    value = float(first[3].split()[0])
    verdict = "met" if value <= GOAL else f"missed by {(value / GOAL - 1) * 100:.0f}%"
    print(f"goal backward / forward <= {GOAL} for {first[0]}: {verdict}")
    header = ["network, batch, dtype", "forward ms, median (25th–75th pct.); best round",
              "backward ms, median (25th–75th pct.); best round", "backward ÷ forward, median of the rounds (25th–75th pct.)",
              "backward ÷ forward in FLOPs"]
    note = (f"{rounds} alternating rounds of {calls} calls of `Network.forward(X)` and "
            "`Network.backward(cache, y)`. ReLU hidden layers, softmax cross-entropy.")
    common.write_markdown(common.output_path(args, "backward_forward"),
                          "Backward pass against forward pass", [("", header, rows)],
                          threads, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
