"""Time one training step of a 784-256-256-10 network against other implementations.

A step is a forward pass, the backward pass and an SGD update on a batch of 128
examples in float32, with ReLU hidden layers and softmax cross-entropy:

- ``bpcourse.Network``: ``gradients`` then ``update``;
- PyTorch's CPU build: the same layers with ``torch.nn``, ``torch.optim.SGD``;
- scikit-learn: ``MLPClassifier(solver="sgd").partial_fit`` on the batch;
- naive numpy: the course's equations written out below;
- the matrix products alone: the 3 products per layer of a step
  (W a, δ aᵀ and Wᵀ δ), timed as ``A @ B``, which gives this machine's
  single-precision matrix-multiply rate for these shapes.

    .venv/bin/python benchmarks/training_step.py
    .venv/bin/python benchmarks/training_step.py --threads 1

GFLOP/s count 2·d_ℓ·d_{ℓ−1}·N per layer for the forward pass and twice that for
the backward pass, 6·Σ_ℓ d_ℓ·d_{ℓ−1}·N per step.
"""

import argparse
import sys
import warnings

import numpy as np

import _common as common
from bpcourse.network import Network

SIZES = [784, 256, 256, 10]
BATCH = 128
# --quick only checks that the script runs, on a network small enough for seconds.
QUICK_SIZES, QUICK_BATCH = [64, 32, 32, 10], 16
LR = 0.01


def step_flops(sizes=None, N=None):
    sizes, N = sizes or SIZES, N or BATCH
    return 6 * sum(d * d_prev for d_prev, d in zip(sizes, sizes[1:])) * N


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SIZES[0], BATCH)).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=BATCH)
    return X, y


def bpcourse_step(X, y):
    net = Network(SIZES, activation="relu", loss="cross_entropy", seed=0,
                  dtype=np.float32)

    def step():
        grads = net.gradients(X, y)
        net.update(grads, LR)

    return step, net


def naive_step(X, y, net):
    """Return a step that runs the equations of the course, with examples as columns."""
    W = [w.copy() for w in net.weights]
    b = [v.copy() for v in net.biases]
    N = X.shape[1]
    Y = np.zeros((SIZES[-1], N), dtype=np.float32)
    Y[y, np.arange(N)] = 1

    def step():
        a = [X]
        z = []
        for l in range(len(W)):
            z.append(W[l] @ a[-1] + b[l])
            a.append(np.maximum(z[-1], 0) if l < len(W) - 1 else z[-1])
        logits = z[-1]
        e = np.exp(logits - logits.max(axis=0, keepdims=True))
        p = e / e.sum(axis=0, keepdims=True)
        delta = (p - Y) / N
        for l in range(len(W) - 1, -1, -1):
            dW = delta @ a[l].T
            db = delta.sum(axis=1, keepdims=True)
            if l > 0:
                delta = (W[l].T @ delta) * (z[l - 1] > 0)
            W[l] -= LR * dW
            b[l] -= LR * db

    return step


def torch_step(torch, X, y, net):
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
        torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
        torch.nn.Linear(SIZES[2], SIZES[3]),
    )
    with torch.no_grad():
        for layer, W, b in zip(model[::2], net.weights, net.biases):
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(b[:, 0]))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    inputs = torch.from_numpy(np.ascontiguousarray(X.T))
    targets = torch.from_numpy(y)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()

    return step


def sklearn_step(X, y):
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        print("scikit-learn is not installed, so it is not measured")
        return None, None
    model = MLPClassifier(hidden_layer_sizes=tuple(SIZES[1:-1]), activation="relu",
                          solver="sgd", batch_size=BATCH, learning_rate_init=LR,
                          momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                          shuffle=False, random_state=0)
    rows = np.ascontiguousarray(X.T)
    classes = np.arange(SIZES[-1])
    warnings.filterwarnings("ignore", module="sklearn")
    model.partial_fit(rows, y, classes=classes)

    def step():
        model.partial_fit(rows, y)

    return step, model.coefs_[0].dtype


def matmul_step(X):
    """Return a step that runs the matrix products of one step as float32 ``A @ B``."""
    rng = np.random.default_rng(1)
    products = []
    a_prev = X
    for d_prev, d in zip(SIZES, SIZES[1:]):
        W = rng.standard_normal((d, d_prev)).astype(np.float32)
        delta = rng.standard_normal((d, BATCH)).astype(np.float32)
        a = rng.standard_normal((d_prev, BATCH)).astype(np.float32) if a_prev is None else a_prev
        products += [(W, a), (delta, a.T), (W.T, delta)]
        a_prev = None

    def step():
        for A, B in products:
            A @ B

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

    X, y = make_data()
    contenders = {}
    contenders["bpcourse Network"], net = bpcourse_step(X, y)
    if torch is not None:
        contenders["PyTorch (torch.nn, CPU)"] = torch_step(torch, X, y, net)
    sk_step, sk_dtype = sklearn_step(X, y)
    if sk_step is not None:
        contenders["scikit-learn partial_fit"] = sk_step
    contenders["naive numpy"] = naive_step(X, y, net)
    contenders["matrix products alone"] = matmul_step(X)

    times = common.alternate(contenders, rounds, calls)
    flops = step_flops()
    base = times["bpcourse Network"]
    peak = np.median(times["matrix products alone"])
    rows = []
    for name, values in times.items():
        median = np.median(values)
        ratio = common.ratio_spread(values, base)
        rows.append([name, common.time_cell(values), common.ratio_cell(*ratio),
                     f"{flops / median / 1e9:.1f}", f"{peak / median:.2f}"])
    print(f"{'contender':26} {'ms per step, median (25-75%); best':>44} "
          f"{'÷ bpcourse':>18} {'GFLOP/s':>8} {'of matmul':>9}")
    for row in rows:
        print(f"{row[0]:26} {row[1]:>44} {row[2]:>18} {row[3]:>8} {row[4]:>9}")
    print()
    if torch is not None:
        ratio, q25, q75 = common.ratio_spread(base, times["PyTorch (torch.nn, CPU)"])
        verdict = "met" if ratio <= 1.0 else f"missed by {(ratio - 1.0) * 100:.0f}%"
        print(f"ratio bpcourse / PyTorch time per step: {ratio:.2f} "
              f"(median of the rounds, 25-75%: {q25:.2f}-{q75:.2f}); goal <= 1.0: {verdict}")
    else:
        print("ratio bpcourse / PyTorch time per step: not measured (PyTorch missing)")
    if sk_step is not None:
        ratio, q25, q75 = common.ratio_spread(base, times["scikit-learn partial_fit"])
        print(f"ratio bpcourse / scikit-learn time per step: {ratio:.2f} "
              f"(median of the rounds, 25-75%: {q25:.2f}-{q75:.2f})")
    ratio, q25, q75 = common.ratio_spread(base, times["naive numpy"])
    print(f"ratio bpcourse / naive numpy time per step: {ratio:.2f} "
          f"(median of the rounds, 25-75%: {q25:.2f}-{q75:.2f})")
    ratio, q25, q75 = common.ratio_spread(base, times["matrix products alone"])
    print(f"ratio bpcourse / matrix products alone: {ratio:.2f} "
          f"(median of the rounds, 25-75%: {q25:.2f}-{q75:.2f})")

    header = ["contender", "ms per step, median (25th–75th pct.); best round",
              "time ÷ bpcourse, median of the rounds (25th–75th pct.)", "GFLOP/s",
              "fraction of the matmul rate"]
    note = (f"Network {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, ReLU, "
            f"softmax cross-entropy, SGD (lr {LR}). {rounds} alternating rounds of "
            f"{calls} steps of each contender. A step counts {flops / 1e6:.1f} MFLOP "
            "(6·Σ d_ℓ·d_{ℓ−1}·N). The matrix products alone are the 9 float32 "
            "`A @ B` of one step; their rate is this machine's matmul rate for "
            "these shapes.")
    extra = [f"scikit-learn weights dtype: {sk_dtype}"] if sk_dtype is not None else []
    common.write_markdown(common.output_path(args, "training_step"),
                          "Training step", [("", header, rows)], threads, torch,
                          extra=extra, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
