"""Automatic differentiation against the hand-derived δ-recursion of Network."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpcourse.autodiff import mlp_forward, mlp_loss, mlp_parameters, zero_grad
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


def _random_case(sizes, activation, loss, output, N, seed):
    rng = np.random.default_rng(seed)
    if output == "softmax":
        sizes = [*sizes[:-1], max(2, sizes[-1])]
    net = Network(sizes, activation=activation, loss=loss, output=output, seed=seed)
    for b in net.biases:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    X = rng.normal(size=(sizes[0], N))
    K = sizes[-1]
    if loss == "cross_entropy":
        Y = rng.integers(0, K, size=N)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(K, N)).astype(float)
    else:
        Y = rng.normal(size=(K, N))
    return net, X, Y


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    activation=st.sampled_from(HIDDEN),
    loss_output=st.sampled_from(LOSS_OUTPUTS),
    N=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_autodiff_equals_delta_recursion(sizes, activation, loss_output, N, seed):
    loss_name, output = loss_output
    net, X, Y = _random_case(sizes, activation, loss_name, output, N, seed)
    expected = net.gradients(X, Y)
    loss, params = mlp_loss(net, X, Y)
    loss.backward()
    assert loss.item() == pytest.approx(expected.loss, rel=1e-12, abs=1e-14)
    for param, grad in zip(params, expected.as_list()):
        assert param.grad.shape == grad.shape
        np.testing.assert_allclose(param.grad, grad, rtol=1e-10, atol=1e-13)


def test_hand_worked_network():
    net, x, y = hand_worked_network()
    loss, params = mlp_loss(net, x, y)
    loss.backward()
    assert loss.item() == pytest.approx(0.2628125, abs=1e-12)
    np.testing.assert_allclose(
        params[0].grad, [[-0.725, -1.45], [0.3625, 0.725]], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(params[1].grad, [[-0.725], [0.3625]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        params[2].grad, [[-0.0725, -0.76125]], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(params[3].grad, [[-0.725]], rtol=0, atol=1e-12)


def test_parameters_share_network_arrays():
    net = Network([3, 4, 2], seed=0)
    params = mlp_parameters(net)
    assert [p.name for p in params] == ["W1", "b1", "W2", "b2"]
    assert params[0].data is net.weights[0]
    assert params[3].data is net.biases[1]


def test_training_steps_match_network_update():
    net = Network([2, 5, 3], activation="tanh", seed=1)
    twin = net.copy()
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(2, 8)), rng.integers(0, 3, size=8)
    params = mlp_parameters(net)
    for _ in range(5):
        zero_grad(params)
        loss, _ = mlp_loss(net, X, y, params)
        loss.backward()
        for p in params:
            p.data -= 0.5 * p.grad
        twin.update(twin.gradients(X, y), lr=0.5)
    for ours, theirs in zip(net.parameters(), twin.parameters()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_float32_close_to_network():
    net = Network([6, 5, 4], activation="relu", dtype=np.float32, seed=2)
    X = np.random.default_rng(2).normal(size=(6, 8))
    y = np.arange(8) % 4
    loss, params = mlp_loss(net, X, y)
    loss.backward()
    assert loss.dtype == np.float32
    for param, grad in zip(params, net.gradients(X, y).as_list()):
        assert param.grad.dtype == np.float32
        np.testing.assert_allclose(param.grad, grad, rtol=1e-4, atol=1e-6)


def test_forward_names_layers():
    net = Network([3, 4, 2], seed=0)
    zL, _ = mlp_forward(net, np.ones(3))
    assert zL.name == "z2"
    assert zL.shape == (2, 1)
    assert zL.parents[0].parents[1].name == "a1"


def test_forward_transposed_input():
    net = Network([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"expects \(3, N\).*X.T"):
        mlp_forward(net, np.ones((5, 3)))


def test_forward_wrong_parameter_count():
    net = Network([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="L = 2 layers"):
        mlp_forward(net, np.ones((3, 1)), mlp_parameters(net)[:2])
