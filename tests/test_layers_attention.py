"""Tests of bpcourse.layers.attention: causal attention and multi-head self-attention."""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor
from bpcourse.layers import attention
from bpcourse.layers.checking import check_backward, relative_error

#: See tests/test_layers_conv.py.
GRADCHECK_TOL = 1e-7
FLOAT64_TOL = 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_causal_mask_allows_earlier_keys():
    mask = attention.causal_mask(3)
    assert mask[0, 2]
    assert mask[2, 2]
    assert not mask[2, 0]


def test_two_tokens_by_hand():
    # S[s, t] = k_s · q_t / √2: both keys score 1/√2 for query 2.
    Q = np.array([[1.0, 1.0], [0.0, 1.0]])
    K = np.array([[1.0, 0.0], [0.0, 1.0]])
    V = np.array([[2.0, 4.0]])
    O, cache = attention.attention_forward(Q, K, V, causal=True)
    A = cache["A"]
    # Token 1 attends only to itself, and token 2 to both keys equally.
    assert np.allclose(A, [[1.0, 0.5], [0.0, 0.5]])
    assert np.allclose(O, [[2.0, 3.0]])
    dQ, dK, dV, dS = attention.attention_backward(np.array([[1.0, 1.0]]), cache)
    assert np.allclose(dV, [[1.5, 0.5]])
    # ∂L/∂A = Vᵀ G = [[2, 2], [4, 4]]; column 2: A ⊙ (dA − 3) = [-0.5, 0.5].
    assert np.allclose(dS, [[0.0, -0.5], [0.0, 0.5]])
    assert np.allclose(dQ, K @ dS / np.sqrt(2))


@pytest.mark.parametrize("causal", [True, False])
def test_attention_backward_matches_central_differences(rng, causal):
    Q, K = rng.standard_normal((2, 2, 3, 5))
    V = rng.standard_normal((2, 4, 5))

    def forward(Q, K, V):
        return attention.attention_forward(Q, K, V, causal)[0]

    def backward(G, Q, K, V):
        return attention.attention_backward(G, attention.attention_forward(Q, K, V, causal)[1])[:3]

    errors = check_backward(forward, backward, [Q, K, V])
    assert max(errors.values()) < GRADCHECK_TOL, errors


@pytest.mark.parametrize("causal", [True, False])
def test_attention_backward_matches_autodiff(rng, causal):
    Q, K = rng.standard_normal((2, 2, 3, 5))
    V = rng.standard_normal((2, 4, 5))
    O, cache = attention.attention_forward(Q, K, V, causal)
    G = rng.standard_normal(O.shape)
    tensors = [Tensor(Q), Tensor(K), Tensor(V)]
    Ot = attention.attention_tensor(*tensors, causal)
    (Ot * G).sum().backward()
    assert np.allclose(Ot.data, O, atol=FLOAT64_TOL)
    for tensor, grad in zip(tensors, attention.attention_backward(G, cache)[:3]):
        assert relative_error(tensor.grad, grad) < FLOAT64_TOL


def test_masked_scores_get_no_gradient(rng):
    Q, K, V = rng.standard_normal((3, 2, 4))
    O, cache = attention.attention_forward(Q, K, V, causal=True)
    dS = attention.attention_backward(rng.standard_normal(O.shape), cache)[3]
    assert np.all(dS[~attention.causal_mask(4)] == 0)


def test_attention_columns_sum_to_one(rng):
    Q, K, V = rng.standard_normal((3, 2, 4, 6))
    _, cache = attention.attention_forward(Q, K, V, causal=True)
    assert np.allclose(cache["A"].sum(axis=-2), 1.0)


def test_softmax_backward_against_jacobian(rng):
    S = rng.standard_normal((4, 1))
    A = attention.softmax_columns(S)
    dA = rng.standard_normal((4, 1))
    jacobian = np.diag(A[:, 0]) - A @ A.T
    assert np.allclose(attention.softmax_columns_backward(A, dA), jacobian @ dA)


def test_self_attention_backward_matches_central_differences(rng):
    X = rng.standard_normal((3, 8, 5))
    weights = [rng.standard_normal((8, 8)) / 3 for _ in range(4)]

    def forward(X, *weights):
        return attention.self_attention_forward(X, *weights, heads=2)[0]

    def backward(G, X, *weights):
        cache = attention.self_attention_forward(X, *weights, heads=2)[1]
        dX, grads = attention.self_attention_backward(G, cache)
        return [dX] + [grads[name] for name in ("W_Q", "W_K", "W_V", "W_O")]

    errors = check_backward(forward, backward, [X] + weights)
    assert max(errors.values()) < GRADCHECK_TOL, errors


def test_self_attention_backward_matches_autodiff(rng):
    X = rng.standard_normal((3, 8, 5))
    weights = [rng.standard_normal((8, 8)) / 3 for _ in range(4)]
    Y, cache = attention.self_attention_forward(X, *weights, heads=2)
    G = rng.standard_normal(Y.shape)
    dX, grads = attention.self_attention_backward(G, cache)
    tensors = [Tensor(a) for a in [X] + weights]
    Yt = attention.self_attention_tensor(*tensors, heads=2)
    (Yt * G).sum().backward()
    assert np.allclose(Yt.data, Y, atol=FLOAT64_TOL)
    expected = [dX] + [grads[name] for name in ("W_Q", "W_K", "W_V", "W_O")]
    for tensor, grad in zip(tensors, expected):
        assert relative_error(tensor.grad, grad) < FLOAT64_TOL


def test_attention_matrix_memory(rng):
    N, heads, T = 4, 2, 12
    X = rng.standard_normal((N, 8, T))
    weights = [np.eye(8)] * 4
    _, cache = attention.self_attention_forward(X, *weights, heads=heads)
    assert cache["A"].nbytes == N * heads * T * T * 8


def test_split_heads_rejects_uneven():
    with pytest.raises(ValueError, match="heads"):
        attention.split_heads(np.zeros((1, 6, 2)), 4)


def test_attention_rejects_mismatched_keys():
    with pytest.raises(ValueError, match="K has shape"):
        attention.attention_forward(np.zeros((2, 3)), np.zeros((3, 3)), np.zeros((1, 3)))
