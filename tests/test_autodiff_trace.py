"""The tracer: a tape recorded once and replayed gives the eager engine's gradients."""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor, mlp_loss
from bpcourse.autodiff import trace as tracing
from bpcourse.autodiff.trace import MLPTape, Traced, mlp_loss_function, trace
from bpcourse.examples import hand_worked_network
from bpcourse.network import Network

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
LOSS_OUTPUTS = [
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("mse", "identity"),
    ("mse", "sigmoid"),
    ("mse", "tanh"),
    ("mse", "softmax"),
]


def _random_case(activation, loss, output, N, seed, sizes=(4, 5, 3, 3)):
    rng = np.random.default_rng(seed)
    net = Network(list(sizes), activation=activation, loss=loss, output=output,
                  seed=seed)
    for b in net.biases:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    K = sizes[-1]
    X = rng.normal(size=(sizes[0], N))
    if loss == "cross_entropy":
        Y = rng.integers(0, K, size=N)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(K, N)).astype(float)
    else:
        Y = rng.normal(size=(K, N))
    return net, X, Y, rng


def _eager_gradients(function, *values):
    tensors = [Tensor(v) for v in values]
    out = function(*tensors)
    out.backward()
    return out.item(), [t.grad for t in tensors]


# A small function, by hand ---------------------------------------------------------


def test_hand_numbers_of_product_of_sum():
    tape = trace(lambda a, b: (a + b) * a, 2.0, -3.0)
    assert float(tape.forward(2.0, -3.0)) == -2.0
    grad_a, grad_b = tape.backward()
    assert float(grad_a) == 1.0
    assert float(grad_b) == 2.0


def test_replay_on_new_values():
    tape = trace(lambda a, b: (a + b) * a, 2.0, -3.0)
    assert float(tape.forward(1.0, 4.0)) == 5.0
    grad_a, grad_b = tape.backward()
    # ∂/∂a (a + b) a = 2a + b = 6 and ∂/∂b = a = 1.
    assert float(grad_a) == 6.0
    assert float(grad_b) == 1.0


def test_listing_shows_each_operation():
    tape = trace(lambda a, b: (a + b) * a, 2.0, -3.0)
    assert tape.listing().splitlines() == [
        "inputs: v0, v1",
        "v2 = add(v0, v1)",
        "v3 = mul(v2, v0)",
        "output: v3",
    ]
    assert len(tape) == 2


def test_listing_shows_constants():
    tape = trace(lambda x: (x * 0.5).sum(), np.ones(2))
    assert "constant: v1 = 0.5" in tape.listing().splitlines()


def test_reused_value_sums_its_gradients():
    tape = trace(lambda a: (a + a) + (a + a), 1.0)
    (grad,) = tape.backward()
    assert float(grad) == 4.0


def test_trace_records_operations_once():
    calls = []

    def f(x):
        calls.append(1)
        return (x * x).sum()

    tape = trace(f, np.ones(3))
    for value in range(3):
        tape.forward(np.full(3, float(value)))
    assert len(calls) == 1


# Agreement with the eager engine ---------------------------------------------------


def _composite(x, W, b):
    h = (W @ x + b).tanh()
    s = tracing.sigmoid(h * 2.0 - 0.5)
    r = (1.0 - s) / (s + 1.0)
    return (r**3).mean() + (h.exp() + 1.0).log().sum(axis=0).mean() - h.T.sum() / 4


def test_composite_function_matches_eager():
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(3, 4)), rng.normal(size=(5, 3)), rng.normal(size=(5, 1))]
    tape = trace(_composite, *values)
    new_values = [rng.normal(size=v.shape) for v in values]
    output = tape.forward(*new_values)
    grads = tape.backward()
    expected_output, expected_grads = _eager_gradients(_composite, *new_values)
    assert float(output) == expected_output
    # h has three consumers, so the sum of their contributions may be taken in
    # another order than the eager engine's.
    for grad, expected in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("function", [
    lambda x: (x.relu() * x).sum(),
    lambda x: tracing.leaky_relu(x).sum(),
    lambda x: tracing.softplus(x).mean(),
    lambda x: (2.0 - x).sum(keepdims=True).sum(),
    lambda x: (x ** 0).sum() + (x ** 2).sum(),
    lambda x: (-x).exp().sum(axis=(0, 1)),
], ids=["relu", "leaky_relu", "softplus", "rsub", "pow", "neg-exp"])
def test_single_operations_match_eager(function):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    tape = trace(function, x)
    x_new = rng.normal(size=x.shape)
    output = tape.forward(x_new)
    (grad,) = tape.backward()
    expected_output, (expected,) = _eager_gradients(function, x_new)
    assert float(output) == expected_output
    np.testing.assert_array_equal(grad, expected)


def test_softmax_matches_eager():
    rng = np.random.default_rng(2)
    weights = rng.normal(size=(4, 3))

    def f(z):
        return (tracing.softmax(z, axis=0) * weights).sum()

    tape = trace(f, rng.normal(size=(4, 3)))
    z = 50 * rng.normal(size=(4, 3))  # large logits: the shift must be replayed
    output = tape.forward(z)
    (grad,) = tape.backward()
    expected_output, (expected,) = _eager_gradients(f, z)
    assert np.isfinite(output)
    assert float(output) == expected_output
    np.testing.assert_array_equal(grad, expected)


def test_upstream_gradient_for_array_output():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3))
    upstream = rng.normal(size=(2, 3))
    tape = trace(lambda v: v.tanh() * v, x)
    tape.forward(x)
    (grad,) = tape.backward(upstream)
    tensor = Tensor(x)
    (tensor.tanh() * tensor).backward(upstream)
    np.testing.assert_array_equal(grad, tensor.grad)


def test_float32_stays_float32():
    x = np.ones((2, 2), dtype=np.float32)
    tape = trace(lambda v: (v * 0.5 + 1).sum(), x)
    assert tape.forward(x).dtype == np.float32
    assert tape.backward()[0].dtype == np.float32


# The network on a tape --------------------------------------------------------------


@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_mlp_tape_equals_eager_bit_for_bit(activation, loss, output):
    net, X, Y, rng = _random_case(activation, loss, output, N=6, seed=4)
    mlp_tape = MLPTape(net)
    for _ in range(2):
        X = rng.normal(size=X.shape)
        value, grads = mlp_tape.gradients(X, Y)
        eager_loss, params = mlp_loss(net, X, Y)
        eager_loss.backward()
        assert value == eager_loss.item()
        for grad, param in zip(grads, params):
            np.testing.assert_array_equal(grad, param.grad)


@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
def test_mlp_tape_equals_delta_recursion(loss, output):
    net, X, Y, _ = _random_case("tanh", loss, output, N=5, seed=5)
    value, grads = MLPTape(net).gradients(X, Y)
    expected = net.gradients(X, Y)
    assert value == pytest.approx(expected.loss, rel=1e-12)
    for grad, reference in zip(grads, expected.as_list()):
        np.testing.assert_allclose(grad, reference, rtol=1e-10, atol=1e-13)


def test_hand_worked_network_gradients():
    net, x, y = hand_worked_network()
    value, grads = MLPTape(net).gradients(x, y)
    assert value == pytest.approx(0.2628125, abs=1e-15)
    np.testing.assert_allclose(grads[2], [[-0.0725, -0.76125]], atol=1e-15)
    np.testing.assert_allclose(grads[0], [[-0.725, -1.45], [0.3625, 0.725]], atol=1e-15)


def test_mlp_tape_sees_updated_parameters():
    net, X, Y, _ = _random_case("relu", "cross_entropy", "softmax", N=4, seed=6)
    mlp_tape = MLPTape(net)
    for _ in range(3):
        _, grads = mlp_tape.gradients(X, Y)
        expected = net.gradients(X, Y)
        for grad, reference in zip(grads, expected.as_list()):
            np.testing.assert_allclose(grad, reference, rtol=1e-10, atol=1e-13)
        net.update(expected, lr=0.5)
    assert len(mlp_tape.tapes) == 1


def test_new_batch_size_gets_new_tape():
    net, X, Y, _ = _random_case("tanh", "cross_entropy", "softmax", N=4, seed=7)
    mlp_tape = MLPTape(net)
    mlp_tape.gradients(X, Y)
    mlp_tape.gradients(X[:, :3], Y[:3])
    mlp_tape.gradients(X, Y)
    assert len(mlp_tape.tapes) == 2


def test_replay_builds_no_tensors_and_no_entries(monkeypatch):
    net, X, Y, _ = _random_case("tanh", "mse", "identity", N=4, seed=8)
    mlp_tape = MLPTape(net)
    tape, _ = mlp_tape.tape_for(X, Y)
    entries = list(tape.entries)
    created = []
    original_wrap = Tensor._wrap.__func__

    def counting_wrap(cls, *args, **kwargs):
        created.append("Tensor._wrap")
        return original_wrap(cls, *args, **kwargs)

    monkeypatch.setattr(Tensor, "__init__", lambda *a, **k: created.append("Tensor"))
    monkeypatch.setattr(Tensor, "_wrap", classmethod(counting_wrap))
    monkeypatch.setattr(Traced, "__init__", lambda *a, **k: created.append("Traced"))
    mlp_tape.gradients(X, Y)
    assert created == []
    assert tape.entries == entries
    assert all(a is b for a, b in zip(tape.entries, entries))


def test_loss_function_runs_eagerly():
    net, X, Y, _ = _random_case("sigmoid", "cross_entropy", "softmax", N=3, seed=9)
    params = [Tensor(p) for p in net.parameters()]
    value = mlp_loss_function(net)(*params, Tensor(X, requires_grad=False), Y)
    assert value.item() == pytest.approx(net.loss(X, Y), rel=1e-12)


# What a tape cannot do --------------------------------------------------------------


def test_branch_on_traced_value_raises():
    def f(x):
        if (x.sum() * 1.0).sum():
            return x * 2
        return x

    with pytest.raises(TypeError, match="no truth value"):
        trace(f, np.ones(2))


@pytest.mark.parametrize("compare", [
    lambda x: x > 0, lambda x: x < 0, lambda x: x >= 0, lambda x: 0 <= x,
], ids=[">", "<", ">=", "reflected <="])
def test_comparison_of_traced_value_raises(compare):
    with pytest.raises(TypeError, match="cannot be compared"):
        trace(lambda x: x * 2 if compare(x.sum()) else x, np.ones(2))


def test_numpy_function_on_traced_value_raises():
    with pytest.raises(TypeError, match="cannot become a numpy array"):
        trace(lambda x: np.sin(np.asarray(x)), np.ones(2))


def test_float_of_traced_value_raises():
    with pytest.raises(TypeError, match="freeze"):
        trace(lambda x: x * float(x.sum()), np.ones(2))


def test_other_shape_raises():
    tape = trace(lambda x: x.sum(), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 4\).*traced with shape \(2, 3\)"):
        tape.forward(np.ones((2, 4)))


def test_wrong_number_of_arguments_raises():
    tape = trace(lambda x, y: (x * y).sum(), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="2 arguments but forward got 1"):
        tape.forward(np.ones(2))


def test_constant_labels_raise():
    with pytest.raises(TypeError, match="pass them as an argument"):
        trace(lambda z: tracing.softmax_cross_entropy(z, np.array([0, 1])),
              np.ones((2, 2)))


def test_result_not_computed_from_arguments_raises():
    with pytest.raises(TypeError, match="returned float"):
        trace(lambda x: 1.0, np.ones(2))


def test_backward_of_array_without_gradient_raises():
    tape = trace(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match="one entry"):
        tape.backward()


def test_arguments_outside_wrt_get_no_gradient():
    tape = trace(lambda x, y: (x * y).sum(), np.ones(2), np.full(2, 3.0), wrt=[0])
    grad_x, grad_y = tape.backward()
    np.testing.assert_array_equal(grad_x, [3.0, 3.0])
    assert grad_y is None


def test_unused_argument_gets_zeros():
    tape = trace(lambda x, y: x.sum(), np.ones(2), np.ones(3))
    _, grad_y = tape.backward()
    np.testing.assert_array_equal(grad_y, np.zeros(3))


def test_mixing_two_traces_raises():
    inner = {}

    def first(x):
        inner["x"] = x
        return x.sum()

    trace(first, np.ones(2))
    with pytest.raises(ValueError, match="two different traces"):
        trace(lambda y: (y + inner["x"]).sum(), np.ones(2))
