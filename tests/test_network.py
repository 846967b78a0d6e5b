import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bpcourse.examples import hand_worked_network
from bpcourse.losses import targets_as_columns
from bpcourse.network import Network, TrainingDivergedError
from reference import central_difference, loop_gradients

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
LOSS_OUTPUTS = [
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("mse", "identity"),
    ("mse", "sigmoid"),
    ("mse", "tanh"),
    ("mse", "softmax"),
]


def _targets(net, N, rng):
    K = net.sizes[-1]
    if net.loss_name == "cross_entropy":
        return rng.integers(0, K, size=N)
    if net.loss_name == "binary_cross_entropy":
        return rng.integers(0, 2, size=(K, N)).astype(float)
    return rng.normal(size=(K, N))


def _random_case(draw_sizes, activation, loss, output, N, seed):
    rng = np.random.default_rng(seed)
    if output == "softmax":
        draw_sizes = [*draw_sizes[:-1], max(2, draw_sizes[-1])]
    net = Network(draw_sizes, activation=activation, loss=loss, output=output, seed=seed)
    for b in net.biases:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    X = rng.normal(size=(draw_sizes[0], N))
    Y = _targets(net, N, rng)
    return net, X, Y


def test_hand_worked_network():
    net, x, y = hand_worked_network()
    out, cache = net.forward(x)
    np.testing.assert_allclose(cache.z[0], [[0.1], [1.05]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(cache.a[1], [[0.1], [1.05]], rtol=0, atol=1e-12)
    assert out[0, 0] == pytest.approx(-0.225, abs=1e-12)
    g = net.gradients(x, y)
    assert g.loss == pytest.approx(0.2628125, abs=1e-12)
    np.testing.assert_allclose(g.delta[1], [[-0.725]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.delta[0], [[-0.725], [0.3625]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.dW[1], [[-0.0725, -0.76125]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.db[1], [[-0.725]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        g.dW[0], [[-0.725, -1.45], [0.3625, 0.725]], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(g.db[0], [[-0.725], [0.3625]], rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=6),
    activation=st.sampled_from(HIDDEN),
    loss_output=st.sampled_from(LOSS_OUTPUTS),
    N=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_central_differences(sizes, activation, loss_output, N, seed):
    loss, output = loss_output
    net, X, Y = _random_case(sizes, activation, loss, output, N, seed)
    if net.activations[0].kinked:
        _, cache = net.forward(X)
        # A probe that crosses a kink does not estimate the derivative.
        assume(min(np.abs(z).min() for z in cache.z[:-1]) > 1e-4)
    g = net.gradients(X, Y)
    for l in range(net.num_layers):
        for param, grad in ((net.weights[l], g.dW[l]), (net.biases[l], g.db[l])):
            numeric = central_difference(lambda: net.loss(X, Y), param)
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5),
    activation=st.sampled_from(HIDDEN),
    loss_output=st.sampled_from(LOSS_OUTPUTS),
    N=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_loop_implementation(sizes, activation, loss_output, N, seed):
    loss, output = loss_output
    net, X, Y = _random_case(sizes, activation, loss, output, N, seed)
    g = net.gradients(X, Y)
    T = targets_as_columns(Y, net.sizes[-1], N, np.float64, net.loss_name)
    ref_loss, ref_dW, ref_db = loop_gradients(net, X, T)
    assert g.loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-14)
    for l in range(net.num_layers):
        np.testing.assert_allclose(g.dW[l], ref_dW[l], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(g.db[l], ref_db[l], rtol=1e-10, atol=1e-14)


def test_bias_gradient_one_value_per_class():
    net = Network([4, 6, 3], seed=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 5))
    g = net.gradients(X, [0, 1, 2, 1, 0])
    assert g.db[-1].shape == (3, 1)
    np.testing.assert_allclose(g.db[-1], g.delta[-1].sum(axis=1, keepdims=True))
    assert g.dW[-1].shape == (3, 6)
    assert g.delta[0].shape == (6, 5)


def test_batch_gradient_is_mean_of_single_examples():
    net = Network([3, 4, 2], activation="tanh", seed=5)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 6))
    y = rng.integers(0, 2, size=6)
    g = net.gradients(X, y)
    singles = [net.gradients(X[:, [n]], y[[n]]) for n in range(6)]
    for l in range(2):
        mean_dW = np.mean([s.dW[l] for s in singles], axis=0)
        np.testing.assert_allclose(g.dW[l], mean_dW, rtol=1e-12, atol=1e-15)


def test_float32_stays_float32():
    net = Network([5, 4, 3], dtype=np.float32, seed=0)
    X = np.random.default_rng(0).normal(size=(5, 7))  # float64 input
    out, cache = net.forward(X)
    assert out.dtype == np.float32
    assert all(z.dtype == np.float32 for z in cache.z)
    assert all(a.dtype == np.float32 for a in cache.a)
    g = net.gradients(X, [0, 1, 2, 0, 1, 2, 0])
    for array in [*g.dW, *g.db, *g.delta]:
        assert array.dtype == np.float32
    net.update(g, 0.1)
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_float32_gradients_close_to_float64():
    net32 = Network([6, 5, 4], activation="tanh", dtype=np.float32, seed=2)
    net64 = net32.astype(np.float64)
    X = np.random.default_rng(2).normal(size=(6, 8))
    y = np.arange(8) % 4
    g32, g64 = net32.gradients(X, y), net64.gradients(X, y)
    for a, b in zip(g32.as_list(), g64.as_list()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_astype_keeps_a_subclass_and_its_attributes():
    class Labelled(Network):
        def __init__(self, sizes, label, **kwargs):
            super().__init__(sizes, **kwargs)
            self.label = label

    net = Labelled([3, 2], "mine", seed=0)
    single = net.astype(np.float32)
    assert type(single) is Labelled
    assert single.label == "mine"
    assert single.weights[0].dtype == np.float32
    single.weights[0][...] = 0.0
    assert np.any(net.weights[0] != 0.0)


def test_forward_cache_holds_each_value_once():
    net = Network([3, 4, 2], seed=0)
    X = np.ones((3, 2))
    _, cache = net.forward(X)
    assert len(cache.z) == 2
    assert len(cache.a) == 3
    assert cache.a[0] is X or np.shares_memory(cache.a[0], X)


def test_update_moves_against_gradient():
    net, x, y = hand_worked_network()
    before = [p.copy() for p in net.parameters()]
    g = net.gradients(x, y)
    net.update(g, lr=0.1)
    for old, new, grad in zip(before, net.parameters(), g.as_list()):
        np.testing.assert_allclose(new, old - 0.1 * grad)
    assert net.loss(x, y) < g.loss


def test_parameters_are_live():
    net = Network([2, 3, 2])
    net.parameters()[0][0, 0] = 42.0
    assert net.weights[0][0, 0] == 42.0


def test_activation_per_layer():
    net = Network([2, 3, 3, 2], activation=["tanh", "relu"])
    assert [a.name for a in net.activations] == ["tanh", "relu", "softmax"]


def test_seed_reproducible():
    a = Network([4, 3, 2], seed=7)
    b = Network([4, 3, 2], seed=7)
    c = Network([4, 3, 2], seed=8)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_transposed_input_hint():
    net = Network([64, 32, 10])
    X = np.zeros((1797, 64))
    with pytest.raises(ValueError) as info:
        net.forward(X)
    message = str(info.value)
    assert "X has shape (1797, 64)" in message
    assert "expects (64, N)" in message
    assert "examples are columns, pass X.T" in message


@pytest.mark.parametrize(
    "X, error, pattern",
    [
        (np.zeros((3, 0)), ValueError, "empty batch"),
        (np.array([[np.nan], [0.0], [1.0]]), ValueError, "contains nan at index"),
        (np.zeros((2, 4)), ValueError, r"expects \(3, N\)"),
        (np.zeros((3, 2, 1)), ValueError, "one example per column"),
        (None, TypeError, "X is None"),
        (np.array([["a"], ["b"], ["c"]]), TypeError, "expected real numbers"),
    ],
)
def test_bad_inputs(X, error, pattern):
    net = Network([3, 2, 2])
    with pytest.raises(error, match=pattern):
        net.forward(X)


def test_single_example_vector():
    net = Network([3, 2, 2])
    out, _ = net.forward(np.array([1.0, 2.0, 3.0]))
    assert out.shape == (2, 1)


def test_labels_out_of_range():
    net = Network([3, 2, 4])
    with pytest.raises(ValueError, match="label 4 is out of range for 4 classes"):
        net.loss(np.zeros((3, 2)), [0, 4])


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"sizes": [3]}, "at least the input and output"),
        ({"sizes": [3, 0, 2]}, "width < 1"),
        ({"sizes": [3, 2], "loss": "cross_entropy", "output": "sigmoid"}, "fused"),
        ({"sizes": [3, 1]}, "softmax output needs at least 2"),
        ({"sizes": [3, 2, 2], "activation": "softmax"}, "cannot be a hidden"),
        ({"sizes": [3, 2, 2], "activation": ["relu", "tanh"]}, "one name per hidden"),
        ({"sizes": [3, 2], "dtype": np.int32}, "dtype int32 is not supported"),
        ({"sizes": [3, 2], "init": "zeros"}, "unknown init 'zeros'"),
    ],
)
def test_bad_construction(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Network(**kwargs)


def test_divergence_names_epoch_and_step():
    net = Network([2, 16, 1], activation="identity", loss="mse", seed=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 64)) * 10
    y = rng.normal(size=64) * 10
    with pytest.raises(TrainingDivergedError) as info:
        net.fit(X, y, epochs=50, batch_size=8, lr=10.0, progress=False)
    message = str(info.value)
    assert "epoch" in message
    assert "step" in message
    assert "smaller learning rate" in message


def test_fit_learns_xor():
    from bpcourse.data import xor

    X, y = xor(n=200, noise=0.05, seed=0)
    net = Network([2, 8, 2], activation="tanh", seed=0)
    history = net.fit(X, y, epochs=200, batch_size=20, lr=0.5, progress=False)
    assert history.loss[-1] < history.loss[0]
    assert net.accuracy(X, y) == 1.0
    assert len(history.epoch) == 200
    assert len(history.step_loss) == 200 * 10


def test_fit_is_reproducible():
    from bpcourse.data import moons

    X, y = moons(n=100, seed=1)
    results = []
    for _ in range(2):
        net = Network([2, 8, 2], seed=3)
        results.append(net.fit(X, y, epochs=5, lr=0.1, seed=4, progress=False).loss)
    assert results[0] == results[1]


def test_predict_binary_and_multiclass():
    net = Network([2, 3, 1], loss="binary_cross_entropy")
    assert net.predict(np.zeros((2, 4))).shape == (4,)
    net = Network([2, 3, 5])
    assert net.predict(np.zeros((2, 4))).shape == (4,)


def test_binary_targets_out_of_range():
    net = Network([2, 3, 1], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        net.loss(np.zeros((2, 2)), np.array([0.0, 2.0]))
