r"""Exercises of the δ-recursion chapter: δᴸ, one step of the recursion, a whole pass.

The equation numbers in the pitfalls are those the chapter prints: (3.1) is δᴸ for
softmax with cross-entropy and (3.3) is the δ-recursion
δ^ℓ = (W^{ℓ+1})ᵀ δ^{ℓ+1} ⊙ σ′(z^ℓ).

Every case set mixes square layers (d_ℓ = d_{ℓ+1}), where a transposed or
misplaced matrix gives wrong values of the right shape, with other shapes and
with N = 1 and N > 1, so that a missing 1/N shows.
"""

import numpy as np

from bpcourse.activations import get_activation, softmax
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register
from bpcourse.network import Cache, Network

EQ_OUTPUT_DELTA = "3.1"
EQ_RECURSION = "3.3"
# The chapter numbers come from the numbered chapters of _toc.yml.


# δᴸ for softmax with cross-entropy ---------------------------------------------


def _output_delta(a_L, Y):
    N = a_L.shape[1]
    return (a_L - Y) / N


def _output_delta_cases(rng):
    cases = []
    for K, N in [(3, 1), (4, 5), (2, 3), (5, 2)]:
        z = rng.normal(scale=2.0, size=(K, N))
        labels = rng.integers(K, size=N)
        Y = np.zeros((K, N))
        Y[labels, np.arange(N)] = 1.0
        cases.append({"a_L": softmax(z), "Y": Y})
    return cases


register(
    CodingExercise(
        id="backward.output_delta",
        chapter=3,
        title="The output error δᴸ of softmax with cross-entropy",
        signature="output_delta(a_L, Y)",
        reference=_output_delta,
        cases=_output_delta_cases,
        outputs=[Output("delta", "δᴸ", "(d_L, N)")],
        pitfalls=[
            Pitfall(
                name="mean_missing",
                message=(
                    "The 1/N of the mean is missing: L is the mean over the N "
                    "examples, so δᴸ = (ŷ − Y) / N."
                ),
                equation=EQ_OUTPUT_DELTA,
                wrong=lambda a_L, Y: a_L - Y,
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The sign is flipped: δᴸ = (ŷ − Y) / N, so it is positive where "
                    "the network overestimates a probability."
                ),
                equation=EQ_OUTPUT_DELTA,
                wrong=lambda a_L, Y: (Y - a_L) / a_L.shape[1],
            ),
            Pitfall(
                name="softmax_derivative_applied",
                message=(
                    "σ′ of the output is applied on top: with softmax and "
                    "cross-entropy, ŷ − Y is already ∂L/∂zᴸ (times N), because the "
                    "softmax Jacobian cancels against the log of the loss."
                ),
                equation=EQ_OUTPUT_DELTA,
                wrong=lambda a_L, Y: (a_L - Y) * a_L * (1 - a_L) / a_L.shape[1],
            ),
            Pitfall(
                name="divided_by_classes",
                message=(
                    "δᴸ is divided by the number of classes d_L instead of the "
                    "number of examples N: examples are the columns."
                ),
                equation=EQ_OUTPUT_DELTA,
                wrong=lambda a_L, Y: (a_L - Y) / a_L.shape[0],
            ),
        ],
    )
)


# One step of the δ-recursion ----------------------------------------------------


def _delta_recursion(W_next, delta_next, z, a, activation):
    sigma_prime = get_activation(activation).derivative(z)
    return (W_next.T @ delta_next) * sigma_prime


def _delta_recursion_cases(rng):
    # (d_ℓ, d_{ℓ+1}, N, activation); the square ones make W-for-Wᵀ a value mistake.
    shapes = [
        (3, 3, 1, "sigmoid"),
        (4, 4, 5, "relu"),
        (4, 4, 3, "tanh"),
        (3, 2, 4, "tanh"),
        (2, 5, 1, "relu"),
        (5, 3, 2, "sigmoid"),
    ]
    cases = []
    for d, d_next, N, activation in shapes:
        z = rng.normal(size=(d, N))
        cases.append(
            {
                "W_next": rng.normal(size=(d_next, d)),
                "delta_next": rng.normal(size=(d_next, N)),
                "z": z,
                "a": get_activation(activation)(z),
                "activation": activation,
            }
        )
    return cases


def _sigma_prime_at_gradient(W_next, delta_next, z, a, activation):
    upstream = W_next.T @ delta_next
    return upstream * get_activation(activation).derivative(upstream)


register(
    CodingExercise(
        id="backward.delta_recursion",
        chapter=3,
        title="One step of the δ-recursion",
        signature="delta_recursion(W_next, delta_next, z, a, activation)",
        reference=_delta_recursion,
        cases=_delta_recursion_cases,
        outputs=[Output("delta", "δ^ℓ", "(d_ℓ, N)")],
        pitfalls=[
            Pitfall(
                name="sigma_prime_missing",
                message=(
                    "σ′(z^ℓ) is left out: a^ℓ = σ(z^ℓ) lies between z^ℓ and the next "
                    "layer, so the chain rule multiplies by σ′(z^ℓ) entry by entry."
                ),
                equation=EQ_RECURSION,
                wrong=lambda W_next, delta_next, z, a, activation: W_next.T @ delta_next,
            ),
            Pitfall(
                name="sigma_prime_at_a",
                message=(
                    "σ′ is evaluated at a^ℓ instead of z^ℓ: the derivative of "
                    "a^ℓ = σ(z^ℓ) is σ′(z^ℓ). (Written through a, it is a(1 − a) for "
                    "the sigmoid and 1 − a² for tanh, not σ′(a).)"
                ),
                equation=EQ_RECURSION,
                wrong=lambda W_next, delta_next, z, a, activation: (
                    (W_next.T @ delta_next) * get_activation(activation).derivative(a)
                ),
            ),
            Pitfall(
                name="W_not_transposed",
                message=(
                    "W^{ℓ+1} is used where its transpose belongs: δ flows back along "
                    "the same connections, so unit j of layer ℓ collects "
                    "Σ_k W^{ℓ+1}_{kj} δ^{ℓ+1}_k, which is (W^{ℓ+1})ᵀ δ^{ℓ+1}."
                ),
                equation=EQ_RECURSION,
                wrong=lambda W_next, delta_next, z, a, activation: (
                    (W_next @ delta_next) * get_activation(activation).derivative(z)
                ),
            ),
            Pitfall(
                name="sigma_prime_at_gradient",
                message=(
                    "σ′ is evaluated at the back-propagated gradient (W^{ℓ+1})ᵀ δ^{ℓ+1} "
                    "instead of z^ℓ. For ReLU this takes the mask from the gradient's "
                    "sign, but a unit passes gradient back when its own z^ℓ is positive."
                ),
                equation=EQ_RECURSION,
                wrong=_sigma_prime_at_gradient,
            ),
        ],
    )
)


# The whole backward pass ----------------------------------------------------------


def _backward_pass(weights, cache, delta_L, activation):
    sigma_prime = get_activation(activation).derivative
    L = len(weights)
    deltas = [None] * L
    deltas[L - 1] = delta_L
    for l in range(L - 2, -1, -1):
        deltas[l] = (weights[l + 1].T @ deltas[l + 1]) * sigma_prime(cache.z[l])
    return tuple(deltas)


def _backward_pass_cases(rng):
    # L = 3 in every case, so that the function always returns δ¹, δ², δ³. Equal
    # widths make a misplaced layer index a mistake of values, not only of shape.
    shapes = [
        ([3, 3, 3, 3], 1, "tanh"),
        ([4, 4, 4, 4], 5, "relu"),
        ([3, 3, 3, 3], 4, "sigmoid"),
        ([3, 5, 4, 2], 3, "tanh"),
        ([2, 3, 2, 4], 1, "relu"),
    ]
    cases = []
    for sizes, N, activation in shapes:
        net = Network(
            sizes, activation=activation, loss="mse", output="identity",
            seed=int(rng.integers(2**31)),
        )
        for b in net.biases:
            b[...] = rng.normal(scale=0.5, size=b.shape)
        _, cache = net.forward(rng.normal(size=(sizes[0], N)))
        cases.append(
            {
                "weights": net.weights,
                "cache": Cache(z=cache.z, a=cache.a),
                "delta_L": rng.normal(size=(sizes[-1], N)),
                "activation": activation,
            }
        )
    return cases


def _pass_with(step):
    """Build a backward pass whose hidden steps are ``step(weights, cache, deltas, l, σ)``."""

    def backward_pass(weights, cache, delta_L, activation):
        L = len(weights)
        deltas = [None] * L
        deltas[L - 1] = delta_L
        for l in range(L - 2, -1, -1):
            deltas[l] = step(weights, cache, deltas, l, get_activation(activation))
        return tuple(deltas)

    return backward_pass


register(
    CodingExercise(
        id="backward.backward_pass",
        chapter=3,
        title="Every δ of a network from the forward cache",
        signature="backward_pass(weights, cache, delta_L, activation)",
        reference=_backward_pass,
        cases=_backward_pass_cases,
        outputs=[
            Output("delta1", "δ¹", "(d_1, N)"),
            Output("delta2", "δ²", "(d_2, N)"),
            Output("delta3", "δ³", "(d_3, N)"),
        ],
        pitfalls=[
            Pitfall(
                name="weight_off_by_one",
                message=(
                    "δ^ℓ is computed with W^ℓ instead of W^{ℓ+1}: with 0-based lists, "
                    "δ^ℓ is deltas[l] with l = ℓ − 1, and it needs weights[l + 1]."
                ),
                equation=EQ_RECURSION,
                wrong=_pass_with(
                    lambda W, cache, deltas, l, act: (
                        (W[l].T @ deltas[l + 1]) * act.derivative(cache.z[l])
                    )
                ),
            ),
            Pitfall(
                name="sigma_prime_at_a_prev",
                message=(
                    "σ′ is taken from a^{ℓ−1}, the layer's input: cache.a[l] is "
                    "a^{l} = a^{ℓ−1} because cache.a[0] is X, while cache.z[l] is z^ℓ. "
                    "For ReLU, the mask must come from z^ℓ."
                ),
                equation=EQ_RECURSION,
                wrong=_pass_with(
                    lambda W, cache, deltas, l, act: (
                        (W[l + 1].T @ deltas[l + 1]) * act.derivative(cache.a[l])
                    )
                ),
            ),
            Pitfall(
                name="sigma_prime_at_next_z",
                message=(
                    "σ′ is taken at z^{ℓ+1}, one layer too far: δ^ℓ needs σ′(z^ℓ), "
                    "which is cache.z[l] for deltas[l]."
                ),
                equation=EQ_RECURSION,
                wrong=_pass_with(
                    lambda W, cache, deltas, l, act: (
                        (W[l + 1].T @ deltas[l + 1]) * act.derivative(cache.z[l + 1])
                    )
                ),
            ),
            Pitfall(
                name="sigma_prime_at_a",
                message=(
                    "σ′ is evaluated at a^ℓ instead of z^ℓ: the derivative of "
                    "a^ℓ = σ(z^ℓ) is σ′(z^ℓ), which is cache.z[l] for deltas[l]."
                ),
                equation=EQ_RECURSION,
                wrong=_pass_with(
                    lambda W, cache, deltas, l, act: (
                        (W[l + 1].T @ deltas[l + 1]) * act.derivative(cache.a[l + 1])
                    )
                ),
            ),
            Pitfall(
                name="sigma_prime_missing",
                message="σ′(z^ℓ) is left out of the recursion.",
                equation=EQ_RECURSION,
                wrong=_pass_with(lambda W, cache, deltas, l, act: W[l + 1].T @ deltas[l + 1]),
            ),
            Pitfall(
                name="W_not_transposed",
                message="W^{ℓ+1} is used where its transpose (W^{ℓ+1})ᵀ belongs.",
                equation=EQ_RECURSION,
                wrong=_pass_with(
                    lambda W, cache, deltas, l, act: (
                        (W[l + 1] @ deltas[l + 1]) * act.derivative(cache.z[l])
                    )
                ),
            ),
        ],
    )
)


# A value of the hand-worked network ----------------------------------------------

register(
    ShortAnswer(
        id="backward.hand_delta",
        chapter=3,
        title="δ¹₂ of the hand-worked network for another target",
        prompt=(
            "Keep the hand-worked 2-2-1 network and its input x = (1, 2), but set "
            "the target to y = 0 instead of 0.5. What is δ¹₂, the error of the "
            "second hidden unit?"
        ),
        answer=0.1125,
        rtol=1e-6,
        atol=1e-9,
        mistakes={
            -0.1125: (
                "the sign is off. δ² = ŷ − y = −0.225, and W²₁₂ = −0.5 is negative "
                "too, so their product is positive."
            ),
            0.3625: "that is δ¹₂ for the old target y = 0.5; recompute δ² = ŷ − y first.",
            -0.225: (
                "that is δ², the output error. δ¹₂ multiplies it by W²₁₂ and by "
                "ReLU′(z¹₂)."
            ),
            0.225: "the factor W²₁₂ = −0.5 is missing: δ¹₂ = W²₁₂ δ² ReLU′(z¹₂).",
        },
    )
)
