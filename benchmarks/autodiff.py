"""Time the course's autodiff engine against PyTorch autograd on the same network.

Both build the graph of a 784-256-256-10 network (ReLU, softmax cross-entropy,
batch 128, float32) and run backward on its mean loss, from the same weights:

- ``bpcourse.autodiff.mlp_loss(net, X, y)`` then ``loss.backward()``;
- PyTorch: the same equations, z = W a + b with examples as columns, on
  tensors that require gradients, then ``loss.backward()``;
- ``bpcourse.Network.gradients``, the hand-written δ-recursion, for reference.

    .venv/bin/python benchmarks/autodiff.py
"""

import argparse
import sys

import numpy as np

import _common as common
from bpcourse.autodiff import mlp_loss
from bpcourse.network import Network

SIZES = [784, 256, 256, 10]
BATCH = 128
# --quick only checks that the script runs, on a network small enough for seconds.
QUICK_SIZES, QUICK_BATCH = [64, 32, 32, 10], 16
GOAL = 1.3


def torch_step(torch, net, X, y):
    params = []
    for W, b in zip(net.weights, net.biases):
        params.append(torch.tensor(W, requires_grad=True))
        params.append(torch.tensor(b, requires_grad=True))
    inputs = torch.from_numpy(X)
    targets = torch.from_numpy(y)
    functional = torch.nn.functional

    def step():
        for p in params:
            p.grad = None
        a = inputs
        for layer in range(len(params) // 2):
            z = params[2 * layer] @ a + params[2 * layer + 1]
            a = torch.relu(z) if layer < len(params) // 2 - 1 else z
        loss = functional.cross_entropy(a.T, targets)
        loss.backward()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    global SIZES, BATCH
    if args.quick:
        SIZES, BATCH = QUICK_SIZES, QUICK_BATCH
    rounds, calls = common.rounds_and_calls(args, rounds=10, calls=5)
    threads = common.Threads(args.threads)
    torch = common.import_torch(threads)
    print(threads.describe())

    net = Network(SIZES, activation="relu", loss="cross_entropy", seed=0,
                  dtype=np.float32)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((SIZES[0], BATCH)).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=BATCH)

    def autodiff_step():
        loss, _ = mlp_loss(net, X, y)
        loss.backward()

    contenders = {"bpcourse.autodiff (mlp_loss, backward)": autodiff_step}
    if torch is not None:
        contenders["PyTorch autograd (CPU)"] = torch_step(torch, net, X, y)
    contenders["bpcourse Network.gradients"] = lambda: net.gradients(X, y)
    times = common.alternate(contenders, rounds, calls)

    base = times["bpcourse.autodiff (mlp_loss, backward)"]
    rows = [[name, common.time_cell(values),
             common.ratio_cell(*common.ratio_spread(base, values))]
            for name, values in times.items()]
    if torch is not None:
        ratio, q25, q75 = common.ratio_spread(base, times["PyTorch autograd (CPU)"])
        verdict = "met" if ratio <= GOAL else f"missed by {(ratio / GOAL - 1) * 100:.0f}%"
        print(f"ratio bpcourse.autodiff / PyTorch autograd time: {ratio:.2f} "
              f"(median of the rounds, 25-75%: {q25:.2f}-{q75:.2f}); goal <= {GOAL}: {verdict}")
    else:
        print("ratio bpcourse.autodiff / PyTorch autograd time: not measured "
              "(PyTorch missing)")
    ratio, q25, q75 = common.ratio_spread(base, times["bpcourse Network.gradients"])
    print(f"ratio bpcourse.autodiff / Network.gradients time: {ratio:.2f} "
          f"(median of the rounds, 25-75%: {q25:.2f}-{q75:.2f})")

    header = ["contender", "ms per forward + backward, median (25th–75th pct.); best round",
              "autodiff time ÷ this one, median of the rounds (25th–75th pct.)"]
    note = (f"Network {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, ReLU, "
            f"softmax cross-entropy; forward and backward, no update. {rounds} "
            f"alternating rounds of {calls} calls of each contender.")
    common.write_markdown(common.output_path(args, "autodiff"),
                          "Autodiff engine against PyTorch autograd",
                          [("", header, rows)], threads, torch, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
