"""Tests of bpcourse.layers.graph_conv: Â and the layer Z = W H Â + b."""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor
from bpcourse.layers import graph_conv
from bpcourse.layers.checking import check_backward, relative_error

#: See tests/test_layers_conv.py.
GRADCHECK_TOL = 1e-7
FLOAT64_TOL = 1e-12

#: A path 1 — 2 — 3, nodes 0, 1, 2.
PATH = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_path_graph_by_hand():
    A_hat = graph_conv.normalized_adjacency(PATH)
    # Degrees with self-loops: 2, 3, 2.
    expected = np.array([
        [1 / 2, 1 / np.sqrt(6), 0],
        [1 / np.sqrt(6), 1 / 3, 1 / np.sqrt(6)],
        [0, 1 / np.sqrt(6), 1 / 2],
    ])
    assert np.allclose(A_hat, expected)


def test_normalized_adjacency_is_symmetric(rng):
    upper = np.triu(rng.random((6, 6)) < 0.5, k=1)
    A = (upper | upper.T).astype(float)
    A_hat = graph_conv.normalized_adjacency(A)
    assert np.allclose(A_hat, A_hat.T)
    # Its largest eigenvalue is 1, so repeated mixing does not blow up.
    assert np.isclose(np.max(np.linalg.eigvalsh(A_hat)), 1.0)


def test_isolated_node_keeps_own_features():
    A_hat = graph_conv.normalized_adjacency(np.zeros((2, 2)))
    assert np.array_equal(A_hat, np.eye(2))


def test_rejects_self_loops():
    with pytest.raises(ValueError, match="self-loops"):
        graph_conv.normalized_adjacency(np.eye(3))


def test_rejects_asymmetric():
    with pytest.raises(ValueError, match="symmetric"):
        graph_conv.normalized_adjacency(np.triu(np.ones((3, 3)), k=1))


def test_forward_mixes_neighbour_columns(rng):
    H = rng.standard_normal((2, 3))
    W = np.eye(2)
    Z, _ = graph_conv.gcn_forward(H, W, np.zeros((2, 1)), graph_conv.normalized_adjacency(PATH))
    # Node 0 takes half its own features and 1/√6 of node 1's.
    assert np.allclose(Z[:, 0], H[:, 0] / 2 + H[:, 1] / np.sqrt(6))


def test_backward_matches_central_differences(rng):
    A_hat = graph_conv.normalized_adjacency(PATH)
    H = rng.standard_normal((4, 3))
    W = rng.standard_normal((2, 4))
    b = rng.standard_normal((2, 1))

    def forward(H, W, b):
        return graph_conv.gcn_forward(H, W, b, A_hat)[0]

    def backward(G, H, W, b):
        return graph_conv.gcn_backward(G, graph_conv.gcn_forward(H, W, b, A_hat)[1])

    errors = check_backward(forward, backward, [H, W, b])
    assert max(errors.values()) < GRADCHECK_TOL, errors


def test_backward_matches_autodiff(rng):
    A_hat = graph_conv.normalized_adjacency(PATH)
    H = rng.standard_normal((4, 3))
    W = rng.standard_normal((2, 4))
    b = rng.standard_normal((2, 1))
    Z, cache = graph_conv.gcn_forward(H, W, b, A_hat)
    G = rng.standard_normal(Z.shape)
    tensors = [Tensor(H), Tensor(W), Tensor(b)]
    Zt = graph_conv.gcn_tensor(*tensors, A_hat)
    (Zt * G).sum().backward()
    assert np.allclose(Zt.data, Z, atol=FLOAT64_TOL)
    for tensor, grad in zip(tensors, graph_conv.gcn_backward(G, cache)):
        assert relative_error(tensor.grad, grad) < FLOAT64_TOL


def test_row_layout_equivalence(rng):
    A_hat = graph_conv.normalized_adjacency(PATH)
    X_rows = rng.standard_normal((3, 4))
    W_rows = rng.standard_normal((4, 2))
    Z, _ = graph_conv.gcn_forward(X_rows.T, W_rows.T, np.zeros((2, 1)), A_hat)
    assert np.allclose(Z.T, A_hat @ X_rows @ W_rows)
