r"""Exercises of the chapter on computational graphs and reverse-mode differentiation.

The equation numbers in the pitfalls are those the chapter prints: (6.1) is the
sum over a node's consumers, (6.3) the VJP of an elementwise product, (6.4)
the VJPs of a matrix product and (6.5) the sum over broadcast axes.
"""

import numpy as np

from bpcourse.exercises.core import (
    CodingExercise,
    Output,
    Pitfall,
    ShortAnswer,
    register,
)

EQ_CONSUMERS = "6.1"
EQ_MULTIPLY = "6.3"
EQ_MATMUL = "6.4"
EQ_UNBROADCAST = "6.5"
# NOTE: the book prints "6.3" and so on only when _toc.yml numbers its chapters
# (options: numbered: true). Without it Sphinx numbers equations across the whole
# book, and these numbers no longer match the page.


# The VJP of an elementwise product --------------------------------------------------


def _mul_vjp(g, a, b):
    return g * b, g * a


def _mul_vjp_cases(rng):
    shapes = [(3, 1), (4, 5), (2, 3), (1, 1), (5, 2)]
    return [
        {
            "g": rng.normal(size=shape),
            "a": rng.normal(size=shape),
            "b": rng.normal(size=shape),
        }
        for shape in shapes
    ]


register(
    CodingExercise(
        id="graphs.mul_vjp",
        chapter=6,
        title="The VJP of an elementwise product",
        signature="mul_vjp(g, a, b)",
        reference=_mul_vjp,
        cases=_mul_vjp_cases,
        outputs=[
            Output("grad_a", "∂L/∂a", "the shape of a"),
            Output("grad_b", "∂L/∂b", "the shape of b"),
        ],
        pitfalls=[
            Pitfall(
                name="factors_swapped",
                message=(
                    "Each gradient uses its own input: ∂(a ⊙ b)/∂a is b, so "
                    "∂L/∂a = g ⊙ b takes the other factor, and ∂L/∂b = g ⊙ a."
                ),
                equation=EQ_MULTIPLY,
                wrong=lambda g, a, b: (g * a, g * b),
            ),
            Pitfall(
                name="upstream_gradient_missing",
                message=(
                    "The upstream gradient g is left out: a VJP returns "
                    "g ⊙ ∂y/∂x, the local derivative times what arrives from the "
                    "loss, not the local derivative alone."
                ),
                equation=EQ_MULTIPLY,
                wrong=lambda g, a, b: (b.copy(), a.copy()),
            ),
            Pitfall(
                name="sign_flipped",
                message="The sign is flipped: ∂L/∂a = +g ⊙ b and ∂L/∂b = +g ⊙ a.",
                equation=EQ_MULTIPLY,
                wrong=lambda g, a, b: (-(g * b), -(g * a)),
            ),
        ],
    )
)


# The VJPs of a matrix product -------------------------------------------------------


def _matmul_vjp(g, A, B):
    return g @ B.T, A.T @ g


def _matmul_vjp_cases(rng):
    # (n, k, m) for A of shape (n, k) and B of shape (k, m). Square cases make a
    # transpose on the wrong side a mistake of values; m = 1 is B a single
    # column, as for W a with one example.
    shapes = [(3, 3, 3), (2, 3, 4), (4, 4, 4), (3, 2, 1), (2, 2, 2), (4, 3, 5)]
    return [
        {
            "g": rng.normal(size=(n, m)),
            "A": rng.normal(size=(n, k)),
            "B": rng.normal(size=(k, m)),
        }
        for n, k, m in shapes
    ]


register(
    CodingExercise(
        id="graphs.matmul_vjp",
        chapter=6,
        title="The VJPs of a matrix product C = A B",
        signature="matmul_vjp(g, A, B)",
        reference=_matmul_vjp,
        cases=_matmul_vjp_cases,
        outputs=[
            Output("grad_A", "∂L/∂A", "(n, k), the shape of A"),
            Output("grad_B", "∂L/∂B", "(k, m), the shape of B"),
        ],
        pitfalls=[
            Pitfall(
                name="transpose_wrong_side",
                message=(
                    "The transposed factor is on the wrong side of g: "
                    "∂L/∂A = g Bᵀ, with Bᵀ on the right, and ∂L/∂B = Aᵀ g, with Aᵀ "
                    "on the left. Check the shapes: g is (n, m), so only g Bᵀ is "
                    "(n, k)."
                ),
                equation=EQ_MATMUL,
                wrong=lambda g, A, B: (B.T @ g, g @ A.T),
            ),
            Pitfall(
                name="transpose_missing",
                message=(
                    "The factors are not transposed: ∂L/∂A = g Bᵀ and "
                    "∂L/∂B = Aᵀ g. Entry (i, j) of ∂L/∂A sums g_{ic} B_{jc} over "
                    "the columns c of C, which is a product with Bᵀ."
                ),
                equation=EQ_MATMUL,
                wrong=lambda g, A, B: (g @ B, A @ g),
            ),
            Pitfall(
                name="gradients_swapped",
                message=(
                    "The two gradients are returned in the wrong order: first "
                    "∂L/∂A = g Bᵀ, of the shape of A, then ∂L/∂B = Aᵀ g."
                ),
                equation=EQ_MATMUL,
                wrong=lambda g, A, B: (A.T @ g, g @ B.T),
            ),
            Pitfall(
                name="sign_flipped",
                message="The sign is flipped: ∂L/∂A = +g Bᵀ and ∂L/∂B = +Aᵀ g.",
                equation=EQ_MATMUL,
                wrong=lambda g, A, B: (-(g @ B.T), -(A.T @ g)),
            ),
        ],
    )
)


# Reducing a gradient to an input's broadcast shape ----------------------------------


def _broadcast_axes(g_shape, shape):
    """Return the axes numpy added in front and the axes it stretched from 1."""
    added = len(g_shape) - len(shape)
    stretched = tuple(
        added + i
        for i, size in enumerate(shape)
        if size == 1 and g_shape[added + i] != 1
    )
    return tuple(range(added)), stretched


def _unbroadcast(g, shape):
    added, stretched = _broadcast_axes(g.shape, shape)
    return g.sum(axis=added + stretched, keepdims=True).reshape(shape)


def _unbroadcast_cases(rng):
    # (shape of g, shape of the input before broadcasting): a bias column, a
    # row, added leading axes, a scalar, and inputs that were not broadcast.
    shapes = [
        ((3, 5), (3, 1)),
        ((3, 5), (5,)),
        ((2, 3, 4), (3, 1)),
        ((3, 5), (1, 5)),
        ((4,), ()),
        ((3, 1), (3, 1)),
        ((2, 3), (2, 3)),
        ((4, 2), (1, 1)),
    ]
    return [
        {"g": rng.normal(size=g_shape), "shape": shape} for g_shape, shape in shapes
    ]


def _unbroadcast_without_keepdims(g, shape):
    added, stretched = _broadcast_axes(g.shape, shape)
    return np.asarray(g.sum(axis=added + stretched))


def _unbroadcast_by_mean(g, shape):
    added, stretched = _broadcast_axes(g.shape, shape)
    return g.mean(axis=added + stretched, keepdims=True).reshape(shape)


def _unbroadcast_leading_axes_kept(g, shape):
    _, stretched = _broadcast_axes(g.shape, shape)
    return g.sum(axis=stretched, keepdims=True)


def _unbroadcast_over_kept_axes(g, shape):
    added, stretched = _broadcast_axes(g.shape, shape)
    g = g.sum(axis=added)
    full_size = tuple(
        i for i in range(g.ndim) if i + len(added) not in stretched and g.shape[i] != 1
    )
    return g.sum(axis=full_size, keepdims=True)


register(
    CodingExercise(
        id="graphs.unbroadcast",
        chapter=6,
        title="Reduce a gradient to an input's broadcast shape",
        signature="unbroadcast(g, shape)",
        reference=_unbroadcast,
        cases=_unbroadcast_cases,
        outputs=[Output("grad", "∂L/∂x", "the shape of x before broadcasting")],
        pitfalls=[
            Pitfall(
                name="summed_over_wrong_axes",
                message=(
                    "The sum runs over the axes the input had at full size instead "
                    "of those broadcasting stretched from 1: for b^ℓ of shape "
                    "(d_ℓ, 1) added to a (d_ℓ, N) array, ∂L/∂b^ℓ sums g over axis "
                    "1, the examples."
                ),
                equation=EQ_UNBROADCAST,
                wrong=_unbroadcast_over_kept_axes,
            ),
            Pitfall(
                name="keepdims_missing",
                message=(
                    "The stretched axes are summed away: an input of shape (d, 1) "
                    "needs a gradient of shape (d, 1), so sum with keepdims=True "
                    "(or reshape to `shape` at the end)."
                ),
                equation=EQ_UNBROADCAST,
                wrong=_unbroadcast_without_keepdims,
            ),
            Pitfall(
                name="leading_axes_kept",
                message=(
                    "The axes that broadcasting added in front are not summed: "
                    "numpy aligns shapes from the right, so a g with more "
                    "dimensions than `shape` is also summed over its leading "
                    "axes."
                ),
                equation=EQ_UNBROADCAST,
                wrong=_unbroadcast_leading_axes_kept,
            ),
            Pitfall(
                name="mean_instead_of_sum",
                message=(
                    "The broadcast axes are averaged instead of summed: an entry "
                    "copied to n places is used n times, and by the sum over its "
                    "consumers its gradient adds up all n contributions."
                ),
                equation=EQ_UNBROADCAST,
                wrong=_unbroadcast_by_mean,
            ),
        ],
    )
)


# Exercises with a number as answer ------------------------------------------------


register(
    ShortAnswer(
        id="graphs.reused_node",
        chapter=6,
        title="The gradient through a reused node",
        prompt="a = 1; b = a + a; c = b + b. What is dc/da?",
        answer=4.0,
        mistakes={
            1.0: (
                "each reused node kept only its last contribution. By the sum over "
                "consumers (6.1), b receives 1 from each of its two uses in c."
            ),
            2.0: (
                "one of the two reused nodes was summed and the other was not: "
                "b and a are both used twice, so each of them sums two "
                "contributions (6.1)."
            ),
        },
    )
)

register(
    ShortAnswer(
        id="graphs.forward_passes",
        chapter=6,
        title="Passes of forward mode for a gradient",
        prompt=(
            "How many forward-mode passes give the gradient of the loss of a "
            "network with widths 3-4-2 with respect to all its parameters?"
        ),
        answer=26,
        mistakes={
            1: (
                "one pass is what reverse mode needs. Forward mode carries one "
                "input direction per pass, so it needs one pass per parameter."
            ),
            2: (
                "2 is d_L, the number of outputs of the network. The loss is one "
                "number, and its inputs are the parameters: one pass each."
            ),
            3: (
                "3 is d_0, the number of inputs of the network, but the gradient is "
                "taken with respect to the parameters: one pass each."
            ),
            20: (
                "that counts the weights of W¹ and W² only; the biases b¹ and b² "
                "are parameters too."
            ),
        },
    )
)
