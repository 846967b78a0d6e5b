r"""Exercises of the forward propagation chapter: the affine step, a whole pass, shapes.

The equation numbers in the pitfalls are those of chapter 1: (1.2) is the
affine step z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ, (1.3) is a^ℓ = σ(z^ℓ), (1.4) is the output
ŷ = f_out(z^L) and (1.5) is the same step for a batch, one example per column.

NOTE: the book prints these chapter-qualified numbers only when _toc.yml
numbers its chapters (``options: numbered: true``). Without that, Sphinx
numbers equations across the whole book, from (1) on the first page.

Every case set mixes square matrices (d_ℓ = d_{ℓ−1}, and for the affine step
also N = d_ℓ), where a transposed matrix or result gives wrong values of the
right shape, with other shapes and with N = 1.
"""

import numpy as np

from bpcourse.activations import relu, sigmoid, tanh
from bpcourse.examples import hand_worked_network
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_AFFINE = "1.2"
EQ_ACTIVATION = "1.3"
EQ_OUTPUT = "1.4"
EQ_BATCH = "1.5"


# The affine step z = W a + b -----------------------------------------------------


def _affine(W, a_prev, b):
    return W @ a_prev + b


def _affine_cases(rng):
    # (d_ℓ, d_{ℓ−1}, N): two square W, one of them with N = d_ℓ as well.
    shapes = [(3, 2, 5), (4, 4, 3), (2, 3, 1), (3, 3, 3), (1, 4, 2)]
    return [
        {
            "W": rng.normal(size=(d, d_prev)),
            "a_prev": rng.normal(size=(d_prev, N)),
            "b": rng.normal(size=(d, 1)),
        }
        for d, d_prev, N in shapes
    ]


register(
    CodingExercise(
        id="forward.affine",
        chapter=1,
        title="The affine step z = W a + b",
        signature="affine(W, a_prev, b)",
        reference=_affine,
        cases=_affine_cases,
        outputs=[Output("z", "z^ℓ", "(d_ℓ, N)")],
        pitfalls=[
            Pitfall(
                name="W_transposed",
                message=(
                    "W^ℓ is used transposed: z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ with W^ℓ of "
                    "shape (d_ℓ, d_{ℓ−1}), so row i of W^ℓ contains the weights into "
                    "unit i."
                ),
                equation=EQ_AFFINE,
                wrong=lambda W, a_prev, b: W.T @ a_prev + b,
            ),
            Pitfall(
                name="bias_missing",
                message=(
                    "The bias is left out: every unit adds its b^ℓ_i to the "
                    "weighted sum of its inputs."
                ),
                equation=EQ_AFFINE,
                wrong=lambda W, a_prev, b: W @ a_prev,
            ),
            Pitfall(
                name="batch_first",
                message=(
                    "The result is batch-first, shape (N, d_ℓ): in this course "
                    "examples are columns, so z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ has one "
                    "column per example, with W^ℓ on the left."
                ),
                equation=EQ_BATCH,
                wrong=lambda W, a_prev, b: (W @ a_prev + b).T,
            ),
        ],
    )
)


# The whole forward pass --------------------------------------------------------------


def _forward_pass(X, weights, biases, sigma):
    a = X
    L = len(weights)
    for l in range(L):
        z = weights[l] @ a + biases[l]
        a = sigma(z) if l < L - 1 else z
    return a


def _forward_pass_cases(rng):
    # Layer widths [d_0, …, d_L], N and σ; the all-square networks make a
    # transposed W or a reused X wrong in value rather than in shape.
    networks = [
        ([2, 3, 1], 4, tanh),
        ([3, 3, 3], 1, sigmoid),
        ([4, 5, 3, 2], 6, relu),
        ([2, 2, 2, 2], 2, tanh),
        ([3, 4, 4], 3, relu),
    ]
    cases = []
    for sizes, N, sigma in networks:
        weights = [rng.normal(size=(d, d_prev)) for d_prev, d in zip(sizes, sizes[1:])]
        biases = [rng.normal(size=(d, 1)) for d in sizes[1:]]
        cases.append(
            {
                "X": rng.normal(size=(sizes[0], N)),
                "weights": weights,
                "biases": biases,
                "sigma": sigma,
            }
        )
    return cases


def _forward_pass_sigma_everywhere(X, weights, biases, sigma):
    a = X
    for W, b in zip(weights, biases):
        a = sigma(W @ a + b)
    return a


def _forward_pass_without_sigma(X, weights, biases, sigma):
    a = X
    for W, b in zip(weights, biases):
        a = W @ a + b
    return a


def _forward_pass_without_bias(X, weights, biases, sigma):
    zero_biases = [np.zeros_like(b) for b in biases]
    return _forward_pass(X, weights, zero_biases, sigma)


def _forward_pass_W_transposed(X, weights, biases, sigma):
    return _forward_pass(X, [W.T for W in weights], biases, sigma)


def _forward_pass_input_reused(X, weights, biases, sigma):
    L = len(weights)
    for l in range(L):
        z = weights[l] @ X + biases[l]
        a = sigma(z) if l < L - 1 else z
    return a


register(
    CodingExercise(
        id="forward.forward_pass",
        chapter=1,
        title="The whole forward pass",
        signature="forward_pass(X, weights, biases, sigma)",
        reference=_forward_pass,
        cases=_forward_pass_cases,
        outputs=[Output("y_hat", "ŷ", "(d_L, N)")],
        pitfalls=[
            Pitfall(
                name="activation_on_output",
                message=(
                    "σ is applied to the output layer as well: the hidden layers "
                    "compute a^ℓ = σ(z^ℓ), but here f_out is the identity, so "
                    "ŷ = z^L."
                ),
                equation=EQ_OUTPUT,
                wrong=_forward_pass_sigma_everywhere,
            ),
            Pitfall(
                name="activation_missing",
                message=(
                    "σ is left out of the hidden layers: each hidden layer passes "
                    "on a^ℓ = σ(z^ℓ), not z^ℓ. Without σ the layers collapse into "
                    "one affine map."
                ),
                equation=EQ_ACTIVATION,
                wrong=_forward_pass_without_sigma,
            ),
            Pitfall(
                name="bias_missing",
                message=(
                    "The biases are left out: every layer computes "
                    "z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ."
                ),
                equation=EQ_AFFINE,
                wrong=_forward_pass_without_bias,
            ),
            Pitfall(
                name="W_transposed",
                message=(
                    "Every W^ℓ is used transposed: W^ℓ has shape (d_ℓ, d_{ℓ−1}) and "
                    "multiplies a^{ℓ−1} from the left as it is."
                ),
                equation=EQ_AFFINE,
                wrong=_forward_pass_W_transposed,
            ),
            Pitfall(
                name="input_reused",
                message=(
                    "Every layer is fed X instead of the previous layer's "
                    "activations: layer ℓ reads a^{ℓ−1}, so the variable that contains "
                    "a must be updated at the end of each step of the loop."
                ),
                equation=EQ_AFFINE,
                wrong=_forward_pass_input_reused,
            ),
        ],
    )
)


# Short answers ----------------------------------------------------------------------

register(
    ShortAnswer(
        id="forward.shape_of_z",
        chapter=1,
        title="The shape of z¹",
        prompt=(
            "A network has widths d_0 = 4, d_1 = 3, d_2 = 2 and is given a batch of "
            "N = 5 examples. What is the shape of z¹?"
        ),
        answer=(3, 5),
        mistakes={
            (5, 3): "that is (N, d₁): examples are columns, so z¹ is (d₁, N).",
            (3, 4): "that is the shape of W¹, (d₁, d₀); z¹ has one column per example.",
            (4, 5): "that is the shape of X = a⁰, (d₀, N); z¹ belongs to layer 1.",
            (2, 5): "that is the shape of z², (d₂, N); z¹ belongs to layer 1.",
            (3, 1): "that is the shape of b¹; b¹ is added to every one of the N columns.",
        },
    )
)


def _hand_output(x):
    net, _, _ = hand_worked_network()
    output, _ = net.forward(np.asarray(x, dtype=float).reshape(2, 1))
    return float(output[0, 0])


register(
    ShortAnswer(
        id="forward.hand_output",
        chapter=1,
        title="The hand-worked network on another input",
        prompt=(
            "Compute by hand the output ŷ of the chapter's 2-2-1 network (ReLU hidden "
            "layer, identity output) for the input x = (2, −1)."
        ),
        answer=_hand_output([2.0, -1.0]),
        mistakes={
            1.65: (
                "the ReLU is missing: z¹₂ = −0.2 is negative, so a¹₂ = ReLU(−0.2) = 0."
            ),
            1.35: "b² = 0.2 is missing from z² = W² a¹ + b².",
            1.45: "b¹ is missing from z¹ = W¹ x + b¹.",
            1.05: (
                "W¹ is transposed: row i of W¹ contains the weights into hidden unit i, "
                "so z¹₁ = 0.5·2 + (−0.25)·(−1) + 0.1."
            ),
        },
    )
)
