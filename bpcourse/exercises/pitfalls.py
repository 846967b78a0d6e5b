r"""Exercises of the pitfalls chapter: buggy code to fix, and symptoms to name.

Each coding exercise starts from a function with one classic bug. The bug is
the first pitfall of the exercise, so a learner who runs the check on the code
as given, or fixes it only halfway, reads the name of the mistake.

The equation numbers are those the chapter prints: (12.1) is the δ-recursion
δ^ℓ = (W^{ℓ+1})ᵀ δ^{ℓ+1} ⊙ σ′(z^ℓ), (12.2) is σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)
for the sigmoid, (12.3) is ∂L/∂W^ℓ = δ^ℓ (a^{ℓ−1})ᵀ and (12.4) is ∂L/∂b^ℓ,
δ^ℓ summed over the batch.

The hidden layers of these exercises use the sigmoid. Every function returns
new arrays: the in-place exercise is about exactly that, and the check flags a
function that writes into its arguments as ``input_modified_in_place``.
"""

import numpy as np

from bpcourse.activations import sigmoid, sigmoid_derivative
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_DELTA = "12.1"
EQ_SIGMOID_PRIME = "12.2"
EQ_DW = "12.3"
EQ_DB = "12.4"

# (d_ℓ, d_{ℓ+1}, N): a single example, a single unit, square, wide and tall.
_SHAPES = [(3, 2, 1), (1, 2, 4), (4, 4, 5), (2, 3, 6), (5, 1, 3)]


# The factor σ′(z^ℓ) ------------------------------------------------------------------


def _hidden_delta(W_next, delta_next, z):
    return (W_next.T @ delta_next) * sigmoid_derivative(z)


def hidden_delta_as_given(W_next, delta_next, z):
    """Compute δ^ℓ without σ′, as the code of ``pitfalls.fix_sigma_prime`` starts."""
    return W_next.T @ delta_next


def _hidden_delta_cases(rng):
    return [
        {
            "W_next": rng.normal(size=(d_next, d)),
            "delta_next": rng.normal(size=(d_next, N)),
            "z": rng.normal(scale=2.0, size=(d, N)),
        }
        for d, d_next, N in _SHAPES
    ]


register(
    CodingExercise(
        id="pitfalls.fix_sigma_prime",
        chapter=12,
        title="Put σ′ back into the δ-recursion",
        signature="hidden_delta(W_next, delta_next, z)",
        reference=_hidden_delta,
        cases=_hidden_delta_cases,
        outputs=[Output("delta", "δ^ℓ", "(d_ℓ, N)")],
        pitfalls=[
            Pitfall(
                name="sigma_prime_missing",
                message=(
                    "δ^ℓ is (W^{ℓ+1})ᵀ δ^{ℓ+1} alone: the factor σ′(z^ℓ) of the "
                    "hidden layer is left out, as if the layer were linear."
                ),
                equation=EQ_DELTA,
                wrong=hidden_delta_as_given,
            ),
            Pitfall(
                name="sigma_prime_of_a",
                message=(
                    "σ′ is evaluated at a^ℓ = σ(z^ℓ) instead of at z^ℓ: σ′(σ(z^ℓ)) "
                    "applies the sigmoid twice. Either σ′(z^ℓ) or a^ℓ(1 − a^ℓ) is "
                    "right."
                ),
                equation=EQ_SIGMOID_PRIME,
                wrong=lambda W_next, delta_next, z: (
                    (W_next.T @ delta_next) * sigmoid_derivative(sigmoid(z))
                ),
            ),
            Pitfall(
                name="sigma_instead_of_sigma_prime",
                message=(
                    "δ^ℓ is multiplied by σ(z^ℓ), the activation itself, instead of "
                    "its derivative σ′(z^ℓ) = σ(z^ℓ)(1 − σ(z^ℓ))."
                ),
                equation=EQ_SIGMOID_PRIME,
                wrong=lambda W_next, delta_next, z: (
                    (W_next.T @ delta_next) * sigmoid(z)
                ),
            ),
        ],
    )
)


# A value the backward pass reads, overwritten in place -------------------------------


def _backward_step(W_next, a, delta_next):
    sigma_prime = a * (1 - a)
    delta = (W_next.T @ delta_next) * sigma_prime
    dW_next = delta_next @ a.T
    return delta, dW_next


def backward_step_as_given(W_next, a, delta_next):
    """Compute δ^ℓ and ∂L/∂W^{ℓ+1} as the code of ``pitfalls.fix_in_place`` starts.

    It writes σ′ = a(1 − a) into the array ``a`` itself, so the argument
    changes, and ∂L/∂W^{ℓ+1} then reads σ′ where it needs a^ℓ.
    """
    sigma_prime = a
    sigma_prime *= 1 - a  # a now contains σ′(z^ℓ) too, because it is the same array
    delta = (W_next.T @ delta_next) * sigma_prime
    dW_next = delta_next @ a.T
    return delta, dW_next


def _backward_step_cases(rng):
    return [
        {
            "W_next": rng.normal(size=(d_next, d)),
            "a": sigmoid(rng.normal(scale=2.0, size=(d, N))),
            "delta_next": rng.normal(size=(d_next, N)),
        }
        for d, d_next, N in _SHAPES
    ]


def _overwritten_copy(W_next, a, delta_next):
    # The same bug on a copy: the argument survives, the gradient does not.
    a = a.copy()
    return backward_step_as_given(W_next, a, delta_next)


register(
    CodingExercise(
        id="pitfalls.fix_in_place",
        chapter=12,
        title="Keep the cached activation intact",
        signature="backward_step(W_next, a, delta_next)",
        reference=_backward_step,
        cases=_backward_step_cases,
        in_place_reason=(
            "Here `a` is the activation the forward pass cached, and the weight "
            "gradient reads it after σ′ is computed, so σ′ must be a new array, "
            "not `a` written over."
        ),
        outputs=[
            Output("delta", "δ^ℓ", "(d_ℓ, N)"),
            Output("dW_next", "∂L/∂W^{ℓ+1}", "(d_{ℓ+1}, d_ℓ)"),
        ],
        pitfalls=[
            Pitfall(
                name="a_overwritten_by_sigma_prime",
                message=(
                    "∂L/∂W^{ℓ+1} = δ^{ℓ+1} (a^ℓ)ᵀ is computed from an array that "
                    "was overwritten with σ′(z^ℓ) = a^ℓ(1 − a^ℓ): an in-place "
                    "operation (*=) on a name that shares the array of a^ℓ. "
                    "Compute σ′ into a new array."
                ),
                equation=EQ_DW,
                wrong=_overwritten_copy,
            ),
            Pitfall(
                name="sigma_prime_missing",
                message=(
                    "δ^ℓ is (W^{ℓ+1})ᵀ δ^{ℓ+1} alone: the factor σ′(z^ℓ) = "
                    "a^ℓ(1 − a^ℓ) is left out."
                ),
                equation=EQ_DELTA,
                wrong=lambda W_next, a, delta_next: (
                    W_next.T @ delta_next,
                    delta_next @ a.T,
                ),
            ),
            Pitfall(
                name="sigma_prime_is_a",
                message=(
                    "δ^ℓ is multiplied by a^ℓ itself; for the sigmoid the factor is "
                    "σ′(z^ℓ) = a^ℓ(1 − a^ℓ)."
                ),
                equation=EQ_SIGMOID_PRIME,
                wrong=lambda W_next, a, delta_next: (
                    (W_next.T @ delta_next) * a,
                    delta_next @ a.T,
                ),
            ),
        ],
    )
)


# The batch axis of ∂L/∂b ----------------------------------------------------------


def _bias_gradient(delta):
    return np.sum(delta, axis=1, keepdims=True)


def bias_gradient_as_given(delta):
    """Sum δ^ℓ over the units, as the code of ``pitfalls.fix_bias_axis`` starts."""
    return np.sum(delta, axis=0, keepdims=True)


def _bias_gradient_cases(rng):
    # (d_ℓ, N): one example, one unit, square, wide, tall.
    shapes = [(3, 1), (1, 4), (4, 4), (2, 7), (6, 3)]
    return [{"delta": rng.normal(size=shape)} for shape in shapes]


register(
    CodingExercise(
        id="pitfalls.fix_bias_axis",
        chapter=12,
        title="Sum δ over the batch, not over the units",
        signature="bias_gradient(delta)",
        reference=_bias_gradient,
        cases=_bias_gradient_cases,
        outputs=[Output("db", "∂L/∂b^ℓ", "(d_ℓ, 1)")],
        pitfalls=[
            Pitfall(
                name="summed_over_units",
                message=(
                    "δ^ℓ is summed over its rows, the units (axis 0), instead of "
                    "over its columns, the examples of the batch (axis 1)."
                ),
                equation=EQ_DB,
                wrong=bias_gradient_as_given,
            ),
            Pitfall(
                name="averaged_over_batch",
                message=(
                    "∂L/∂b^ℓ is the mean of δ^ℓ over the batch. δᴸ already carries "
                    "the 1/N of the mean loss, so a second mean divides by N twice: "
                    "sum over the batch."
                ),
                equation=EQ_DB,
                wrong=lambda delta: np.mean(delta, axis=1, keepdims=True),
            ),
            Pitfall(
                name="keepdims_missing",
                message=(
                    "The sum over the batch drops the column: ∂L/∂b^ℓ must keep the "
                    "shape (d_ℓ, 1) of b^ℓ (keepdims=True)."
                ),
                equation=EQ_DB,
                wrong=lambda delta: np.sum(delta, axis=1),
            ),
            Pitfall(
                name="first_example_only",
                message=(
                    "∂L/∂b^ℓ uses the first column of δ^ℓ only: every example of "
                    "the batch contributes, so sum all N columns."
                ),
                equation=EQ_DB,
                wrong=lambda delta: delta[:, :1].copy(),
            ),
        ],
    )
)


# Choices and numbers --------------------------------------------------------------

SYMPTOM_CHOICES = [
    "the gradient check fails for every W and b",
    "the gradient check fails for the biases only",
    "the gradient check passes but the loss grows",
    "the gradient check passes but ∂L/∂W¹ is zero",
]

register(
    ShortAnswer(
        id="pitfalls.symptom_of_averaged_db",
        chapter=12,
        title="The symptom of a bias gradient averaged twice",
        prompt=(
            "A backward pass computes every ∂L/∂b^ℓ as the mean of δ^ℓ over the "
            "batch and everything else correctly. Which symptom appears?"
        ),
        answer="the gradient check fails for the biases only",
        choices=SYMPTOM_CHOICES,
        mistakes={
            "the gradient check fails for every W and b": (
                "∂L/∂W^ℓ = δ^ℓ (a^{ℓ−1})ᵀ reads δ^ℓ, which is still right; only "
                "the biases' gradients are divided by N."
            ),
            "the gradient check passes but the loss grows": (
                "a gradient check compares every ∂L/∂b^ℓ with a finite "
                "difference, and a gradient N times too small fails it."
            ),
            "the gradient check passes but ∂L/∂W¹ is zero": (
                "that is the symptom of a discrete step in the forward pass, "
                "such as a rounding, not of a wrong bias gradient."
            ),
        },
    )
)

register(
    ShortAnswer(
        id="pitfalls.symptom_of_large_lr",
        chapter=12,
        title="The symptom of a learning rate that is too large",
        prompt=(
            "Backpropagation is correct but the learning rate is far too large. "
            "Which symptom appears?"
        ),
        answer="the gradient check passes but the loss grows",
        choices=SYMPTOM_CHOICES,
        mistakes={
            "the gradient check fails for every W and b": (
                "the gradient check never looks at the learning rate: it compares "
                "the gradients at one point."
            ),
            "the gradient check fails for the biases only": (
                "the gradient check never looks at the learning rate: it compares "
                "the gradients at one point."
            ),
            "the gradient check passes but ∂L/∂W¹ is zero": (
                "a large step does not make any gradient zero; it overshoots the "
                "minimum, so the loss grows."
            ),
        },
    )
)

register(
    ShortAnswer(
        id="pitfalls.gradient_through_round",
        chapter=12,
        title="The gradient through a rounding",
        prompt=(
            "The hidden layer computes a¹ = round(σ(z¹)). At a point where no "
            "entry of σ(z¹) is exactly 1/2, what is ∂L/∂W¹₁₁?"
        ),
        answer=0.0,
        atol=1e-12,
        mistakes={
            1.0: (
                "the derivative of round is 0 wherever it is defined: a small "
                "change of W¹ changes no rounded value, so the loss does not move."
            ),
        },
    )
)
