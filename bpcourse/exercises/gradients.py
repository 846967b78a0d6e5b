r"""Exercises of the chapter on parameter gradients and gradient checking.

The weight and bias gradients keep the ids ``backward.weight_gradient``,
``backward.bias_gradient`` and ``backward.parameter_gradients`` because they finish
the backward pass, but they belong to chapter 4 and are defined here. The
equation numbers in the pitfalls are those the chapter prints: (4.2) is
∂L/∂W^ℓ = δ^ℓ (a^{ℓ−1})ᵀ, (4.3) is ∂L/∂b^ℓ = Σ_n δ^ℓ_{:,n} and (4.4) is the central
difference.
"""

import numpy as np

from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register
from bpcourse.functions import SmoothFunction
from bpcourse.network import Cache, Network

EQ_WEIGHT = "4.2"
EQ_BIAS = "4.3"
EQ_CENTRAL = "4.4"
# The chapter numbers come from the numbered chapters of _toc.yml.


# ∂L/∂W^ℓ ----------------------------------------------------------------------------


def _weight_gradient(delta, a_prev):
    return delta @ a_prev.T


def _weight_gradient_cases(rng):
    # (d_ℓ, d_{ℓ−1}, N). Square layers make a reversed product a mistake of values.
    shapes = [(3, 3, 1), (4, 4, 5), (2, 3, 4), (3, 2, 1), (5, 3, 2)]
    return [
        {"delta": rng.normal(size=(d, N)), "a_prev": rng.normal(size=(d_prev, N))}
        for d, d_prev, N in shapes
    ]


register(
    CodingExercise(
        id="backward.weight_gradient",
        chapter=4,
        title="The weight gradient from δ and the layer's input",
        signature="weight_gradient(delta, a_prev)",
        reference=_weight_gradient,
        cases=_weight_gradient_cases,
        outputs=[Output("dW", "∂L/∂W^ℓ", "(d_ℓ, d_{ℓ−1})")],
        pitfalls=[
            Pitfall(
                name="outer_product_reversed",
                message=(
                    "The outer product is taken in the wrong order, a^{ℓ−1} (δ^ℓ)ᵀ: "
                    "∂L/∂W^ℓ has the shape of W^ℓ, (d_ℓ, d_{ℓ−1}), so δ^ℓ comes first."
                ),
                equation=EQ_WEIGHT,
                wrong=lambda delta, a_prev: a_prev @ delta.T,
            ),
            Pitfall(
                name="divided_by_N_again",
                message=(
                    "The gradient is divided by N again: δ^ℓ already carries the 1/N "
                    "of the mean loss, so the product δ^ℓ (a^{ℓ−1})ᵀ sums over the "
                    "batch without another division."
                ),
                equation=EQ_WEIGHT,
                wrong=lambda delta, a_prev: delta @ a_prev.T / delta.shape[1],
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The sign is flipped: ∂L/∂W^ℓ = +δ^ℓ (a^{ℓ−1})ᵀ. The minus sign "
                    "belongs to the update W ← W − lr ∂L/∂W, not to the gradient."
                ),
                equation=EQ_WEIGHT,
                wrong=lambda delta, a_prev: -(delta @ a_prev.T),
            ),
        ],
    )
)


# ∂L/∂b^ℓ ----------------------------------------------------------------------------


def _bias_gradient(delta):
    return np.sum(delta, axis=1, keepdims=True)


def _bias_gradient_cases(rng):
    # (d_ℓ, N), with N = 1 and N > 1 and one single-unit layer.
    shapes = [(3, 1), (4, 5), (2, 3), (1, 4), (5, 2)]
    return [{"delta": rng.normal(size=shape)} for shape in shapes]


register(
    CodingExercise(
        id="backward.bias_gradient",
        chapter=4,
        title="The bias gradient from δ",
        signature="bias_gradient(delta)",
        reference=_bias_gradient,
        cases=_bias_gradient_cases,
        outputs=[Output("db", "∂L/∂b^ℓ", "(d_ℓ, 1)")],
        pitfalls=[
            Pitfall(
                name="not_summed",
                message=(
                    "δ^ℓ is returned without summing over the batch: b^ℓ is added to "
                    "every column, so its gradient adds up the N columns of δ^ℓ."
                ),
                equation=EQ_BIAS,
                wrong=lambda delta: delta.copy(),
            ),
            Pitfall(
                name="summed_over_units",
                message=(
                    "The sum runs over the units (axis 0) instead of the examples "
                    "(axis 1): examples are columns, and ∂L/∂b^ℓ has one value per "
                    "unit, shape (d_ℓ, 1)."
                ),
                equation=EQ_BIAS,
                wrong=lambda delta: np.sum(delta, axis=0, keepdims=True),
            ),
            Pitfall(
                name="summed_to_scalar",
                message=(
                    "Every entry of δ^ℓ is summed into one number: sum over the "
                    "examples only (axis=1), which leaves one value per unit."
                ),
                equation=EQ_BIAS,
                wrong=lambda delta: np.sum(delta),
            ),
            Pitfall(
                name="keepdims_missing",
                message=(
                    "The sum drops the column: np.sum(delta, axis=1) has shape (d_ℓ,), "
                    "while b^ℓ has shape (d_ℓ, 1). Pass keepdims=True."
                ),
                equation=EQ_BIAS,
                wrong=lambda delta: np.sum(delta, axis=1),
            ),
            Pitfall(
                name="mean_instead_of_sum",
                message=(
                    "The batch is averaged instead of summed: δ^ℓ already carries the "
                    "1/N of the mean loss, so averaging divides by N twice."
                ),
                equation=EQ_BIAS,
                wrong=lambda delta: np.mean(delta, axis=1, keepdims=True),
            ),
            Pitfall(
                name="sign_flipped",
                message="The sign is flipped: ∂L/∂b^ℓ = +Σ_n δ^ℓ_{:,n}.",
                equation=EQ_BIAS,
                wrong=lambda delta: -np.sum(delta, axis=1, keepdims=True),
            ),
        ],
    )
)


# Both gradients of every layer ------------------------------------------------------


def _parameter_gradients(deltas, cache):
    grads = []
    for l, delta in enumerate(deltas):
        grads.append(delta @ cache.a[l].T)
        grads.append(np.sum(delta, axis=1, keepdims=True))
    return tuple(grads)


def _parameter_gradients_cases(rng):
    # L = 2 in every case, so the function always returns dW¹, db¹, dW², db².
    # Equal widths make a^ℓ in place of a^{ℓ−1} a mistake of values.
    shapes = [([3, 3, 3], 1), ([4, 4, 4], 5), ([2, 3, 4], 3), ([3, 5, 2], 1)]
    cases = []
    for sizes, N in shapes:
        net = Network(sizes, activation="tanh", loss="mse", output="identity",
                      seed=int(rng.integers(2**31)))
        _, cache = net.forward(rng.normal(size=(sizes[0], N)))
        deltas = [rng.normal(size=z.shape) for z in cache.z]
        cases.append({"deltas": deltas, "cache": Cache(z=cache.z, a=cache.a)})
    return cases


def _with_activation_index(offset):
    def parameter_gradients(deltas, cache):
        grads = []
        for l, delta in enumerate(deltas):
            grads.append(delta @ cache.a[l + offset].T)
            grads.append(np.sum(delta, axis=1, keepdims=True))
        return tuple(grads)

    return parameter_gradients


register(
    CodingExercise(
        id="backward.parameter_gradients",
        chapter=4,
        title="The gradients of every layer from the δ and the cache",
        signature="parameter_gradients(deltas, cache)",
        reference=_parameter_gradients,
        cases=_parameter_gradients_cases,
        outputs=[
            Output("dW1", "∂L/∂W¹", "(d_1, d_0)"),
            Output("db1", "∂L/∂b¹", "(d_1, 1)"),
            Output("dW2", "∂L/∂W²", "(d_2, d_1)"),
            Output("db2", "∂L/∂b²", "(d_2, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="a_instead_of_a_prev",
                message=(
                    "a^ℓ is used where a^{ℓ−1} belongs: W^ℓ multiplies the layer's "
                    "input a^{ℓ−1}, which is cache.a[l] for deltas[l] because "
                    "cache.a[0] is X."
                ),
                equation=EQ_WEIGHT,
                wrong=_with_activation_index(1),
            ),
        ],
    )
)


# The central difference -------------------------------------------------------------


def _central_difference(f, x, h):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def _central_difference_cases(rng):
    # h = 1e-3 makes a forward difference wrong by about h |f″| / 2 ≈ 1e-3, far
    # outside the tolerance, while a central one stays within about h² |f‴| / 6.
    cases = []
    for shape, h in [((3,), 1e-3), ((2, 3), 1e-4), ((4, 1), 1e-3), ((1, 1), 1e-3)]:
        f = SmoothFunction(
            weights=rng.uniform(0.5, 2.0, size=shape),
            scales=rng.uniform(1.0, 3.0, size=shape),
        )
        cases.append({"f": f, "x": rng.normal(size=shape), "h": h})
    return cases


def _unit_steps(x, h):
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        yield index, step


def _forward_difference(f, x, h):
    grad = np.zeros(x.shape)
    for index, step in _unit_steps(x, h):
        grad[index] = (f(x + step) - f(x)) / h
    return grad


def _central_without_half(f, x, h):
    grad = np.zeros(x.shape)
    for index, step in _unit_steps(x, h):
        grad[index] = (f(x + step) - f(x - step)) / h
    return grad


def _central_sign_flipped(f, x, h):
    grad = np.zeros(x.shape)
    for index, step in _unit_steps(x, h):
        grad[index] = (f(x - step) - f(x + step)) / (2 * h)
    return grad


def _all_entries_at_once(f, x, h):
    return np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))


register(
    CodingExercise(
        id="gradients.central_difference",
        chapter=4,
        title="The central difference of a function of an array",
        signature="central_difference(f, x, h)",
        reference=_central_difference,
        cases=_central_difference_cases,
        in_place_reason=(
            "Each evaluation of f must see x as it was, and the caller reads x "
            "again afterwards: perturb a copy (x plus a step array) instead of "
            "an entry of x. Adding h and subtracting it again does not always "
            "give back x, because each operation is rounded."
        ),
        outputs=[Output("grad", "∂f/∂x", "the shape of x")],
        # Two correct central differences differ by rounding, about ε |f| / h.
        rtol=1e-6,
        atol=1e-8,
        pitfalls=[
            Pitfall(
                name="forward_difference",
                message=(
                    "This is a forward difference, (f(x + h) − f(x)) / h, whose error "
                    "falls only like h. The central difference "
                    "(f(x + h) − f(x − h)) / 2h is accurate to order h²."
                ),
                equation=EQ_CENTRAL,
                wrong=_forward_difference,
            ),
            Pitfall(
                name="half_missing",
                message=(
                    "The difference is divided by h instead of 2h: the two points "
                    "x + h and x − h are 2h apart."
                ),
                equation=EQ_CENTRAL,
                wrong=_central_without_half,
            ),
            Pitfall(
                name="sign_flipped",
                message="The sign is flipped: take f(x + h) − f(x − h), in that order.",
                equation=EQ_CENTRAL,
                wrong=_central_sign_flipped,
            ),
            Pitfall(
                name="all_entries_at_once",
                message=(
                    "Every entry of x is moved at once, so each result is the sum of "
                    "all partial derivatives. Move one entry at a time: x + h e_i, "
                    "where e_i is 1 at entry i and 0 elsewhere."
                ),
                equation=EQ_CENTRAL,
                wrong=_all_entries_at_once,
            ),
        ],
    )
)


# Short answers ----------------------------------------------------------------------

register(
    ShortAnswer(
        id="gradients.best_step",
        chapter=4,
        title="The step h of a central difference in float64",
        prompt=(
            "Which step h gives the most accurate central difference of a smooth "
            "function of size about 1 in float64?"
        ),
        answer="1e-5",
        choices=["1e-2", "1e-5", "1e-8", "1e-12"],
        mistakes={
            "1e-2": (
                "at h = 1e-2 the truncation error h² |f‴| / 6 is about 1e-5, far "
                "above the round-off."
            ),
            "1e-8": (
                "1e-8 ≈ √ε is the best step of a forward difference. The central "
                "difference's truncation error falls like h², so its best step is "
                "larger, near ε^(1/3)."
            ),
            "1e-12": (
                "at h = 1e-12 the round-off error ε |f| / h is about 1e-4: the two "
                "values f(x ± h) agree in almost all their digits."
            ),
        },
    )
)

register(
    ShortAnswer(
        id="gradients.bias_shape",
        chapter=4,
        title="The shape of ∂L/∂b²",
        prompt=(
            "A network with widths 3-4-4-2 gets a batch of N = 5 examples. What is "
            "the shape of ∂L/∂b²?"
        ),
        answer=(4, 1),
        mistakes={
            (4, 5): "that is the shape of δ²: the bias gradient sums over the batch.",
            (1, 5): "that sums over the units. Sum over the examples, the columns.",
            (4,): "b² has shape (d_2, 1), so its gradient keeps the column.",
            (2, 1): "that is ∂L/∂b³, of the output layer. Layer 2 has d_2 = 4 units.",
            (1, 4): "that is the transpose: b² is a column, (d_2, 1).",
        },
    )
)
