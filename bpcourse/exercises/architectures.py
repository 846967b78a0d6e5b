r"""Exercises of the chapter on modern architectures.

The equation numbers in the pitfalls are those the chapter prints:
(13.4) is the input gradient of a convolution, a full correlation of δ with
the kernel rotated by 180°; (13.7) is attention, S = Kᵀ Q / √d_k,
A = softmax(S + M), O = V A; (13.8) is the softmax backward pass
∂L/∂S = A ⊙ (∂L/∂A − 1 1ᵀ (A ⊙ ∂L/∂A)); (13.9) the rest of the attention
backward pass; (13.14) the normalized adjacency
Â = D̃^{−1/2} (A + I) D̃^{−1/2}; (13.6) the size of the im2col buffer.

Every function the learner writes returns new arrays and leaves its
arguments unchanged, because the check flags a function that writes into
its arguments.
"""

import numpy as np

from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_CONV_INPUT = "13.4"
EQ_IM2COL_SIZE = "13.6"
EQ_ATTENTION = "13.7"
EQ_SOFTMAX_BACKWARD = "13.8"
EQ_ATTENTION_BACKWARD = "13.9"
EQ_GCN_NORMALIZE = "13.14"
# NOTE: these numbers match the page only while _toc.yml numbers its chapters
# (options: numbered: true) and this chapter is the thirteenth.


# The input gradient of a convolution -----------------------------------------------


def _full_correlation(delta, K):
    """Return the correlation of δ, padded with k − 1 zeros, with K as given."""
    kh, kw = K.shape
    padded = np.pad(delta, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    H = delta.shape[0] + kh - 1
    W = delta.shape[1] + kw - 1
    dx = np.zeros((H, W))
    for u in range(kh):
        for v in range(kw):
            dx += K[u, v] * padded[u : u + H, v : v + W]
    return dx


def _conv2d_backward_input(delta, K):
    # ∂L/∂x[p, q] = Σ_{u,v} δ[p − u, q − v] K[u, v]: every output position
    # (i, j) sends δ[i, j] K back to the patch it read.
    return _full_correlation(delta, K[::-1, ::-1])


def _valid_correlation(delta, K):
    kh, kw = K.shape
    H, W = delta.shape[0] - kh + 1, delta.shape[1] - kw + 1
    out = np.zeros((max(H, 0), max(W, 0)))
    for u in range(kh):
        for v in range(kw):
            out += K[u, v] * delta[u : u + H, v : v + W]
    return out


def _conv2d_backward_input_cases(rng):
    # (H_out, W_out, k_h, k_w): the book's 3×3 image with a 2×2 kernel, non-square
    # kernels, where a transposed kernel differs from a rotated one, and a single
    # output position.
    shapes = [(2, 2, 2, 2), (3, 4, 2, 3), (4, 3, 3, 3), (1, 1, 2, 2), (3, 2, 3, 2),
              (5, 5, 3, 3)]
    return [
        {"delta": rng.normal(size=(ho, wo)), "K": rng.normal(size=(kh, kw))}
        for ho, wo, kh, kw in shapes
    ]


register(
    CodingExercise(
        id="architectures.conv2d_backward_input",
        chapter=13,
        title="The gradient of a convolution's input",
        signature="conv2d_backward_input(delta, K)",
        reference=_conv2d_backward_input,
        cases=_conv2d_backward_input_cases,
        outputs=[Output("dx", "∂L/∂x", "(H_out + k_h − 1, W_out + k_w − 1)")],
        pitfalls=[
            Pitfall(
                name="kernel_not_flipped",
                message=(
                    "The kernel is not flipped: the forward pass correlates x "
                    "with K, so the input gradient is a full correlation of δ "
                    "with K rotated by 180°, K[::-1, ::-1], which is a true "
                    "convolution of δ with K."
                ),
                equation=EQ_CONV_INPUT,
                wrong=lambda delta, K: _full_correlation(delta, K),
            ),
            Pitfall(
                name="kernel_transposed",
                message=(
                    "The kernel is transposed instead of rotated by 180°: K.T "
                    "swaps its rows and columns, while the input gradient needs "
                    "K[::-1, ::-1], which reverses both."
                ),
                equation=EQ_CONV_INPUT,
                wrong=lambda delta, K: _full_correlation(delta, K.T),
            ),
            Pitfall(
                name="valid_not_full",
                message=(
                    "The correlation is 'valid', as in the forward pass, so the "
                    "result is smaller than the input: pad δ with k − 1 zeros on "
                    "every side first, so that every input pixel collects the "
                    "gradients of all the outputs it took part in."
                ),
                equation=EQ_CONV_INPUT,
                wrong=lambda delta, K: _valid_correlation(delta, K[::-1, ::-1]),
            ),
        ],
    )
)


# The backward pass of causal attention ---------------------------------------------


def _softmax_columns(S):
    e = np.exp(S - S.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _mask(T):
    return np.tril(np.ones((T, T), dtype=bool)).T


def _attention_backward(Q, K, V, dO, *, variant=None):
    """Return (dQ, dK, dV) of causal attention, or of the named mistake."""
    d_k, T = Q.shape
    scale = 1.0 / np.sqrt(d_k)
    S = K.T @ Q * scale
    mask = _mask(T)
    if variant == "mask_after_softmax":
        A_full = _softmax_columns(S)
        A = A_full * mask
    elif variant == "mask_missing":
        A = _softmax_columns(S)
    else:
        A = _softmax_columns(np.where(mask, S, -np.inf))
    dV = dO @ A.T
    dA = V.T @ dO
    if variant == "mask_after_softmax":
        dS = A_full * (dA * mask - np.sum(A_full * dA * mask, axis=0, keepdims=True))
    elif variant == "softmax_diagonal_only":
        dS = A * (1 - A) * dA
    else:
        dS = A * (dA - np.sum(A * dA, axis=0, keepdims=True))
    if variant == "scale_missing":
        scale = 1.0
    if variant == "scores_transposed":
        return scale * (K @ dS.T), scale * (Q @ dS), dV
    return scale * (K @ dS), scale * (Q @ dS.T), dV


def _attention_variant(name):
    def wrong(Q, K, V, dO):
        return _attention_backward(Q, K, V, dO, variant=name)

    wrong.__name__ = f"attention_backward_{name}"
    return wrong


def _attention_reference(Q, K, V, dO):
    return _attention_backward(Q, K, V, dO)


def _attention_cases(rng):
    # (d_k, d_v, T): the book's two tokens, a single token, square matrices
    # (d_k = d_v = T), and d_k = 1, where 1/√d_k is 1.
    shapes = [(2, 2, 2), (3, 2, 4), (4, 4, 4), (2, 3, 1), (1, 2, 5), (3, 3, 6)]
    return [
        {
            "Q": rng.normal(size=(d_k, T)),
            "K": rng.normal(size=(d_k, T)),
            "V": rng.normal(size=(d_v, T)),
            "dO": rng.normal(size=(d_v, T)),
        }
        for d_k, d_v, T in shapes
    ]


register(
    CodingExercise(
        id="architectures.attention_backward",
        chapter=13,
        title="The backward pass of causal attention",
        signature="attention_backward(Q, K, V, dO)",
        reference=_attention_reference,
        cases=_attention_cases,
        outputs=[
            Output("dQ", "∂L/∂Q", "(d_k, T)"),
            Output("dK", "∂L/∂K", "(d_k, T)"),
            Output("dV", "∂L/∂V", "(d_v, T)"),
        ],
        pitfalls=[
            Pitfall(
                name="mask_after_softmax",
                message=(
                    "The causal mask is applied after the softmax: zeroing "
                    "weights of A leaves columns that no longer sum to 1, and the "
                    "later tokens still take part in every column's normalization. "
                    "Add −∞ to the masked scores before the softmax."
                ),
                equation=EQ_ATTENTION,
                wrong=_attention_variant("mask_after_softmax"),
            ),
            Pitfall(
                name="mask_missing",
                message=(
                    "The causal mask is missing: token t may attend only to "
                    "tokens s ≤ t, so the scores with s > t get −∞ before the "
                    "softmax."
                ),
                equation=EQ_ATTENTION,
                wrong=_attention_variant("mask_missing"),
            ),
            Pitfall(
                name="softmax_diagonal_only",
                message=(
                    "Only the diagonal of the softmax Jacobian is used, "
                    "A ⊙ (1 − A) ⊙ ∂L/∂A: every weight of a column depends on "
                    "every score of that column, which the subtracted column sum "
                    "of A ⊙ ∂L/∂A accounts for."
                ),
                equation=EQ_SOFTMAX_BACKWARD,
                wrong=_attention_variant("softmax_diagonal_only"),
            ),
            Pitfall(
                name="scale_missing",
                message=(
                    "∂L/∂Q and ∂L/∂K miss the factor 1/√d_k: the scores are "
                    "Kᵀ Q / √d_k, so the factor comes back in both gradients."
                ),
                equation=EQ_ATTENTION_BACKWARD,
                wrong=_attention_variant("scale_missing"),
            ),
            Pitfall(
                name="scores_transposed",
                message=(
                    "∂L/∂S is used transposed: S[s, t] is the score of key s for "
                    "query t, so ∂L/∂Q = K ∂L/∂S / √d_k and "
                    "∂L/∂K = Q (∂L/∂S)ᵀ / √d_k."
                ),
                equation=EQ_ATTENTION_BACKWARD,
                wrong=_attention_variant("scores_transposed"),
            ),
        ],
    )
)


# The normalized adjacency of a graph convolution -------------------------------------


def _gcn_normalize(A, *, variant=None):
    n = A.shape[0]
    A_tilde = A if variant == "self_loops_missing" else A + np.eye(n)
    source = A if variant == "degrees_without_self_loops" else A_tilde
    degree = source.sum(axis=1)
    if variant == "one_sided":
        return A_tilde / degree[:, None]
    inv_sqrt = 1.0 / np.sqrt(degree)
    return inv_sqrt[:, None] * A_tilde * inv_sqrt[None, :]


def _gcn_variant(name):
    def wrong(A):
        return _gcn_normalize(A, variant=name)

    wrong.__name__ = f"gcn_normalize_{name}"
    return wrong


def _random_graph(rng, n, p):
    """Draw a symmetric 0/1 adjacency matrix in which every node has a neighbour."""
    upper = np.triu(rng.random((n, n)) < p, k=1)
    # A path through all nodes in random order, so no node is isolated.
    order = rng.permutation(n)
    upper[np.minimum(order[:-1], order[1:]), np.maximum(order[:-1], order[1:])] = True
    return (upper | upper.T).astype(np.float64)


def _gcn_cases(rng):
    # Sizes from a single edge to 7 nodes; the denser graphs give nodes of
    # different degrees, where one-sided normalization is not symmetric.
    settings = [(2, 0.0), (3, 0.0), (4, 0.5), (5, 0.3), (6, 0.6), (7, 0.4)]
    return [{"A": _random_graph(rng, n, p)} for n, p in settings]


register(
    CodingExercise(
        id="architectures.gcn_normalize",
        chapter=13,
        title="The normalized adjacency Â",
        signature="gcn_normalize(A)",
        reference=_gcn_normalize,
        cases=_gcn_cases,
        outputs=[Output("A_hat", "Â", "(n, n)")],
        pitfalls=[
            Pitfall(
                name="self_loops_missing",
                message=(
                    "The self-loops are left out: without A + I, a node's own "
                    "features do not enter its new features, only its "
                    "neighbours' do."
                ),
                equation=EQ_GCN_NORMALIZE,
                wrong=_gcn_variant("self_loops_missing"),
            ),
            Pitfall(
                name="degrees_without_self_loops",
                message=(
                    "The degrees are those of A, not of A + I: D̃ counts the "
                    "self-loop too, d̃_i = 1 + the number of neighbours."
                ),
                equation=EQ_GCN_NORMALIZE,
                wrong=_gcn_variant("degrees_without_self_loops"),
            ),
            Pitfall(
                name="one_sided",
                message=(
                    "The degree normalization is applied on one side only, "
                    "D̃^{−1} (A + I), which averages the neighbours but is not "
                    "symmetric: divide by √d̃_i on the left and by √d̃_j on the "
                    "right."
                ),
                equation=EQ_GCN_NORMALIZE,
                wrong=_gcn_variant("one_sided"),
            ),
        ],
    )
)


# The size of an im2col buffer -------------------------------------------------------


register(
    ShortAnswer(
        id="architectures.im2col_bytes",
        chapter=13,
        title="The size of an im2col buffer",
        prompt=(
            "A convolution with 3×3 kernels, stride 1 and padding 1 reads a "
            "batch of N = 32 colour images of 32×32 pixels (C = 3) in float32. "
            "How many bytes does its im2col buffer take?"
        ),
        # (C k_h k_w) rows × (H_out W_out N) columns × 4 bytes.
        answer=27 * 32 * 32 * 32 * 4,
        rtol=0.0,
        mistakes={
            27 * 32 * 32 * 32: (
                "that is the number of entries; a float32 entry takes 4 bytes"
            ),
            27 * 32 * 32 * 32 * 8: "that counts 8 bytes an entry, as float64 does",
            3 * 32 * 32 * 32 * 4: (
                "that is the size of the input itself; im2col copies each pixel "
                "once for every kernel entry that reads it"
            ),
            9 * 32 * 32 * 32 * 4: (
                "each patch has C k_h k_w = 27 entries, one per channel and "
                "kernel entry"
            ),
        },
    )
)
