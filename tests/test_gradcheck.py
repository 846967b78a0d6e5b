"""Tests of bpcourse.gradcheck against the real Network."""

import math

import numpy as np
import pytest

from bpcourse.gradcheck import DEFAULT_H, DEFAULT_TOL, ROUNDOFF_ULPS, gradcheck
from bpcourse.network import Network

#: Seed of every random generator in this file.
SEED = 0

#: Examples per test batch: enough for every class to appear, small enough to be fast.
BATCH = 6

#: Pre-activation of the kink test, a hundred times smaller than the step h = 1e-5,
#: so both ±h probes land on opposite sides of ReLU's kink at 0.
Z_NEAR_KINK = 1e-7

HIDDEN_ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


def batch_for(net, n=BATCH, seed=SEED):
    """Return an input batch X of shape (d_0, n) and targets Y fitting the loss."""
    rng = np.random.default_rng(seed)
    d_in, d_out = net.sizes[0], net.sizes[-1]
    X = rng.standard_normal((d_in, n))
    if net.loss_name == "cross_entropy":
        Y = np.arange(n) % d_out
    elif net.loss_name == "binary_cross_entropy":
        Y = (rng.random((d_out, n)) < 0.5).astype(np.float64)
    else:
        Y = rng.standard_normal((d_out, n))
    return X, Y


def names_of(sizes):
    layers = range(1, len(sizes))
    return [name for layer in layers for name in (f"W{layer}", f"b{layer}")]


class ScaledGradients:
    """A network whose gradients are wrong: scaled, a bias zeroed or an entry moved."""

    def __init__(self, net, scale=1.0, zero_bias=None, shift_entry=None):
        self._net = net
        self._scale = scale
        self._zero_bias = zero_bias
        self._shift_entry = shift_entry

    def __getattr__(self, name):
        return getattr(self._net, name)

    def gradients(self, X, Y):
        g = self._net.gradients(X, Y)
        g.dW = [self._scale * dW for dW in g.dW]
        g.db = [self._scale * db for db in g.db]
        if self._zero_bias is not None:
            g.db[self._zero_bias] = np.zeros_like(g.db[self._zero_bias])
        if self._shift_entry is not None:
            layer, index, amount = self._shift_entry
            g.dW[layer] = g.dW[layer].copy()
            g.dW[layer][index] += amount
        return g


# ---------------------------------------------------------------- correct networks


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(
    ("loss", "output", "sizes"),
    [
        ("cross_entropy", None, [3, 5, 4]),
        ("binary_cross_entropy", None, [3, 4, 1]),
        ("binary_cross_entropy", None, [2, 5, 3, 3]),
        ("mse", "identity", [4, 6, 2]),
        ("mse", "sigmoid", [3, 4, 4, 2]),
        ("mse", "tanh", [2, 3, 2]),
        ("mse", "relu", [3, 5, 2]),
        ("mse", "leaky_relu", [3, 5, 2]),
        ("mse", "softmax", [3, 4, 3]),
    ],
)
def test_correct_network_passes(activation, loss, output, sizes):
    net = Network(sizes, activation=activation, loss=loss, output=output, seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y)
    assert report.passed, str(report)
    assert report.failures == []
    assert list(report.worst) == names_of(sizes)
    for name, error in report.worst.items():
        assert error <= DEFAULT_TOL, f"{name}: {error}"


@pytest.mark.parametrize(
    "sizes", [[2, 2], [5, 3], [4, 8, 8, 3], [3, 4, 4, 4, 4, 2], [10, 30, 20, 5]]
)
def test_architectures_pass(sizes):
    net = Network(sizes, activation="tanh", seed=SEED)
    X, Y = batch_for(net, n=10)
    report = gradcheck(net, X, Y, samples_per_array=None)
    assert report.passed, str(report)


def test_deep_sigmoid_tiny_gradients_pass():
    # Vanishing gradients: the first layers' entries are near the rounding error of
    # the central difference, which a plain relative error would flag.
    sizes = [6] + [12] * 8 + [1]
    net = Network(sizes, activation="sigmoid", loss="binary_cross_entropy", seed=SEED)
    X, Y = batch_for(net, n=32)
    X = 3 * X
    report = gradcheck(net, X, Y)
    assert report.passed, str(report)
    assert any("rounding error" in note for note in report.notes)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "mse"])
@pytest.mark.parametrize(
    ("sizes", "n"),
    [([20] + [32] * 6 + [1], 128), ([10] + [32] * 9 + [3], 128)],
)
def test_roundoff_estimate_holds(sizes, n, loss):
    # Deep sigmoid networks have first-layer gradients below the noise floor. For
    # those, |g_num - g_bp| must stay below ROUNDOFF_ULPS * eps * |L| / h, or the
    # floor would let a real error through unseen or flag a correct entry.
    net = Network(sizes, activation="sigmoid", loss=loss, seed=SEED)
    X, Y = batch_for(net, n=n)
    X = 3 * X
    report = gradcheck(net, X, Y, directions=0, samples_per_array=20)
    noise = np.finfo(np.float64).eps * abs(net.loss(X, Y)) / DEFAULT_H
    floor = ROUNDOFF_ULPS * noise / DEFAULT_TOL
    tiny = [p for p in report.entries if abs(p.numerical) + abs(p.backprop) < floor]
    assert len(tiny) > 0
    ratios = [abs(p.numerical - p.backprop) / noise for p in tiny]
    assert max(ratios) < ROUNDOFF_ULPS


# ------------------------------------------------------------------------ sampling


def test_sampling_covers_every_array():
    net = Network([6, 7, 3], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y, samples_per_array=5)
    counts = {name: 0 for name in names_of(net.sizes)}
    for probe in report.entries:
        counts[probe.name] += 1
    # W1 (7x6), b1 (7x1) and W2 (3x7) are sampled; b2 has 3 entries, all checked.
    assert counts == {"W1": 5, "b1": 5, "W2": 5, "b2": 3}


def test_samples_none_checks_every_entry():
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y, samples_per_array=None)
    assert len(report.entries) == sum(p.size for p in net.parameters())
    indices = {(p.name, p.index) for p in report.entries}
    assert len(indices) == len(report.entries)


def test_seed_reproduces_report():
    net = Network([8, 10, 3], activation="relu", seed=SEED)
    X, Y = batch_for(net)
    first = gradcheck(net, X, Y, seed=3)
    second = gradcheck(net, X, Y, seed=3)
    assert first.entries == second.entries
    assert first.directions == second.directions
    assert str(first) == str(second)


def test_other_seed_samples_other_entries():
    net = Network([8, 10, 3], activation="relu", seed=SEED)
    X, Y = batch_for(net)
    first = gradcheck(net, X, Y, seed=1)
    second = gradcheck(net, X, Y, seed=2)
    w1_first = [p.index for p in first.entries if p.name == "W1"]
    w1_second = [p.index for p in second.entries if p.name == "W1"]
    assert w1_first != w1_second


def test_parameters_restored_bit_for_bit():
    net = Network([4, 5, 3], activation="relu", seed=SEED)
    before = [p.copy() for p in net.parameters()]
    live = net.parameters()
    X, Y = batch_for(net)
    gradcheck(net, X, Y, samples_per_array=None)
    for i, (p, original) in enumerate(zip(net.parameters(), before)):
        assert p is live[i]
        np.testing.assert_array_equal(p, original)


class FailingLoss(ScaledGradients):
    """A network whose loss raises on a chosen call, to test the restore."""

    def __init__(self, net, fail_on_call):
        super().__init__(net)
        self.calls = 0
        self.fail_on_call = fail_on_call

    def loss(self, X, Y):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("loss failed on purpose")
        return self._net.loss(X, Y)


@pytest.mark.parametrize("fail_on_call", [2, 7])
def test_parameters_restored_after_error(fail_on_call):
    # Call 2 is inside an entry probe, call 7 inside a direction probe.
    net = Network([2, 2], activation="tanh", loss="mse", seed=SEED)
    before = [p.copy() for p in net.parameters()]
    X, Y = batch_for(net)
    with pytest.raises(RuntimeError, match="on purpose"):
        gradcheck(FailingLoss(net, fail_on_call), X, Y, samples_per_array=1)
    for p, original in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, original)


# --------------------------------------------------------------- wrong gradients


def test_scaled_gradient_fails():
    net = Network([3, 5, 4], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(ScaledGradients(net, scale=1.01), X, Y)
    assert not report.passed
    failed = {p.name for p in report.failures}
    assert {"W1", "b1", "W2", "b2"} <= failed
    # A 1 % error gives |Δ| / (|a| + |b|) = 0.01 / 2.01.
    for name, error in report.worst.items():
        assert error == pytest.approx(0.01 / 2.01, rel=1e-3), name
    assert "FAILED" in str(report)


def test_zeroed_bias_gradient_names_array():
    net = Network([3, 5, 4, 2], activation="sigmoid", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(ScaledGradients(net, zero_bias=1), X, Y)
    assert not report.passed
    entry_failures = {p.name for p in report.failures if p.index is not None}
    assert entry_failures == {"b2"}
    assert report.worst["b2"] == pytest.approx(1.0)
    assert report.worst["W2"] <= DEFAULT_TOL
    table_row = next(line for line in str(report).splitlines() if line.startswith("b2"))
    assert "FAIL" in table_row


def test_single_wrong_entry_found_by_directions():
    # One sampled entry per array misses W1[4, 0] with this seed, so only the
    # directions, which involve every entry, can find the error.
    net = Network([3, 6, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    wrong = ScaledGradients(net, shift_entry=(0, (4, 0), 0.5))
    report = gradcheck(wrong, X, Y, samples_per_array=1, directions=3, seed=SEED)
    sampled_w1 = [p.index for p in report.entries if p.name == "W1"]
    assert (4, 0) not in sampled_w1
    assert report.worst["W1"] <= DEFAULT_TOL
    assert not report.passed
    assert all(p.index is None for p in report.failures)
    assert not math.isnan(report.worst_direction)


def test_wrong_gradient_shape_rejected():
    class Transposed(ScaledGradients):
        def gradients(self, X, Y):
            g = self._net.gradients(X, Y)
            g.dW[0] = g.dW[0].T
            return g

    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    with pytest.raises(ValueError, match=r"gradient of W1 has shape \(3, 4\)"):
        gradcheck(Transposed(net), X, Y)


# ------------------------------------------------------------------------ float32


def test_float32_network_note():
    net = Network([3, 5, 4], activation="tanh", seed=SEED, dtype=np.float32)
    before = [p.copy() for p in net.parameters()]
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y)
    assert report.passed, str(report)
    assert report.dtype == np.float32
    assert len(report.notes) >= 1
    assert "float64 copy" in report.notes[0]
    assert "net.astype(np.float64)" in report.notes[0]
    assert "net.astype(np.float64)" in str(report)
    for p, original in zip(net.parameters(), before):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, original)


def test_float64_network_has_no_dtype_note():
    net = Network([3, 5, 4], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y)
    assert not any("astype" in note for note in report.notes)


# -------------------------------------------------------------------------- kinks


def kink_network(activation):
    """Return a 1-1-1 network whose hidden pre-activation is z¹ = Z_NEAR_KINK."""
    net = Network([1, 1, 1], activation=activation, loss="mse", seed=SEED)
    net.weights[0][...] = Z_NEAR_KINK
    net.biases[0][...] = 0.0
    net.weights[1][...] = 1.0
    net.biases[1][...] = 0.0
    X = np.array([[1.0]])
    Y = np.array([[2.0]])
    _, cache = net.forward(X)
    assert cache.z[0][0, 0] == pytest.approx(Z_NEAR_KINK)
    return net, X, Y


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_kink_reported_not_failed(activation):
    net, X, Y = kink_network(activation)
    report = gradcheck(net, X, Y, h=1e-5)
    kinked = {p.name for p in report.kinks if p.index is not None}
    assert kinked == {"W1", "b1"}
    for probe in report.kinks:
        assert probe.kink_layers == (1,)
        assert probe.status == "kink"
    # The central difference across the kink is really far off.
    w1 = next(p for p in report.entries if p.name == "W1")
    assert w1.rel_error > DEFAULT_TOL
    assert report.failures == []
    assert report.passed, str(report)
    assert math.isnan(report.worst["W1"])
    assert report.worst["W2"] <= DEFAULT_TOL
    assert "Kinks" in str(report)


def test_smooth_activation_has_no_kink():
    net, X, Y = kink_network("tanh")
    report = gradcheck(net, X, Y, h=1e-5)
    assert report.kinks == []
    assert report.passed, str(report)


def test_only_kinks_is_not_passed():
    # One layer with a ReLU output at z = Z_NEAR_KINK: every probe crosses the kink,
    # so nothing is judged and the report must not claim a pass.
    net = Network([1, 1], output="relu", loss="mse", seed=SEED)
    net.weights[0][...] = Z_NEAR_KINK
    net.biases[0][...] = 0.0
    report = gradcheck(net, np.array([[1.0]]), np.array([[2.0]]))
    assert len(report.kinks) == len(report.probes)
    assert report.failures == []
    assert not report.passed
    assert any("W1 was not checked" in note for note in report.notes)


# ------------------------------------------------------------------------ display


def test_text_table_lists_every_array():
    net = Network([3, 4, 2], activation="relu", seed=SEED)
    X, Y = batch_for(net)
    text = str(gradcheck(net, X, Y))
    lines = text.splitlines()
    assert lines[0].startswith("Gradient check PASSED")
    assert "worst rel. error" in text
    for name in names_of(net.sizes):
        assert any(line.startswith(name + " ") for line in lines), name
    assert any(line.startswith("directions") for line in lines)


def test_html_table_lists_every_array():
    net = Network([3, 4, 2], activation="relu", seed=SEED)
    X, Y = batch_for(net)
    page = gradcheck(ScaledGradients(net, zero_bias=0), X, Y)._repr_html_()
    assert page.startswith("<div>")
    assert page.count("<table>") == 2  # summary and failures
    for name in names_of(net.sizes):
        assert f"<td>{name}</td>" in page
    assert "FAILED" in page


def test_directions_zero_skips_check():
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y, directions=0)
    assert report.directions == []
    assert math.isnan(report.worst_direction)
    assert report.passed


def test_direction_matches_dot_product():
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    report = gradcheck(net, X, Y, directions=5)
    assert len(report.directions) == 5
    for probe in report.directions:
        assert probe.numerical == pytest.approx(probe.backprop, rel=DEFAULT_TOL)


# --------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"h": 0.0}, ValueError, "h must be a finite positive"),
        ({"h": -1e-5}, ValueError, "h must be"),
        ({"h": float("nan")}, ValueError, "h must be"),
        ({"h": "1e-5"}, TypeError, "h must be a real number"),
        ({"tol": 0.0}, ValueError, "tol must be"),
        ({"samples_per_array": 0}, ValueError, "samples_per_array must be at least 1"),
        ({"samples_per_array": 2.5}, TypeError, "samples_per_array must be an integer"),
        ({"directions": -1}, ValueError, "directions must be at least 0"),
        ({"seed": None}, TypeError, "seed must be an integer"),
        ({"seed": -3}, ValueError, "seed must be at least 0"),
    ],
)
def test_bad_arguments(kwargs, error, pattern):
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    with pytest.raises(error, match=pattern):
        gradcheck(net, X, Y, **kwargs)


def test_not_a_network():
    expected = "net must be a bpcourse.network.Network, got object, which lacks"
    with pytest.raises(TypeError, match=expected):
        gradcheck(object(), np.zeros((2, 1)), np.zeros(1))


def test_bad_batch_raises_from_network():
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    with pytest.raises(ValueError, match="X has shape"):
        gradcheck(net, np.zeros((5, 2)), np.array([0, 1]))


def test_step_too_small_to_change_parameters_is_refused():
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    with pytest.raises(ValueError, match=r"h = 1e-20 is too small for W1") as caught:
        gradcheck(net, X, Y, h=1e-20)
    assert "between about 1e-7 and 1e-3" in str(caught.value)


def test_smallest_step_that_changes_parameters_is_accepted():
    net = Network([3, 4, 2], activation="tanh", seed=SEED)
    X, Y = batch_for(net)
    largest = max(float(np.max(np.abs(p))) for p in net.parameters())
    h = 4 * float(np.spacing(largest))
    report = gradcheck(net, X, Y, h=h)
    assert report.h == h
