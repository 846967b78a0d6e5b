r"""Exercises of the loss chapter: a stable softmax, δᴸ of two losses, a loss value.

The equation numbers in the pitfalls are those of chapter 2: (2.1) is the
softmax, (2.2) the cross-entropy, (2.4) the mean squared error, (2.5) its
output error δᴸ = (ŷ − y) ⊙ f′(zᴸ)/N, (2.7) the result δᴸ = (ŷ − y)/N for
softmax with cross-entropy, and (2.8) the softmax with the column maximum
subtracted. As in ``bpcourse.exercises.forward``, the book prints these
numbers only when _toc.yml numbers its chapters.

Every case set has N = 1 and N > 1 (a missing 1/N shows only for N > 1) and
K ≠ N (a mean over the classes differs from one over the examples). The
softmax cases also contain a batch whose logits lie between 708.8 and 709.5.
There every exp(z) is finite in float64 but their sum overflows to inf, so the
formula without the maximum subtracted returns zeros instead of
probabilities. A case that returns nan instead could not name that pitfall,
because ``bpcourse.check`` compares arrays with ``np.allclose``, for which nan
never equals nan.
"""

import numpy as np

from bpcourse.activations import sigmoid, softmax
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_SOFTMAX = "2.1"
EQ_CROSS_ENTROPY = "2.2"
EQ_MSE = "2.4"
EQ_MSE_DELTA = "2.5"
EQ_SOFTMAX_CE_DELTA = "2.7"
EQ_STABLE_SOFTMAX = "2.8"

#: Logits in float64 whose exponentials are each finite (exp(709.5) ≈ 1.35e308)
#: but whose sum over three classes overflows the float64 maximum ≈ 1.80e308.
OVERFLOWING_LOGITS = np.array([[709.2, 709.0], [708.9, 709.4], [709.5, 708.8]])


def _one_hot(rng, K, N):
    Y = np.zeros((K, N))
    Y[rng.integers(K, size=N), np.arange(N)] = 1.0
    return Y


# Wrong variants of the softmax that several exercises share ---------------------


def _softmax_over_rows(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _softmax_without_max(z):
    # Overflow is the point of this variant, so its warnings are silenced.
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / np.sum(e, axis=0, keepdims=True)


def _softmax_max_over_rows(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def _softmax_unnormalized(z):
    return np.exp(z - np.max(z, axis=0, keepdims=True))


# A stable, column-wise softmax -----------------------------------------------------


def _softmax(z):
    shifted = z - np.max(z, axis=0, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=0, keepdims=True)


def _softmax_cases(rng):
    shapes = [(3, 4), (4, 1), (2, 6), (4, 4)]
    cases = [{"z": rng.normal(scale=3.0, size=shape)} for shape in shapes]
    cases.append({"z": OVERFLOWING_LOGITS.copy()})
    return cases


register(
    CodingExercise(
        id="loss.softmax",
        chapter=2,
        title="A stable softmax over the columns",
        signature="softmax(z)",
        reference=_softmax,
        cases=_softmax_cases,
        outputs=[Output("y_hat", "ŷ", "(K, N)")],
        pitfalls=[
            Pitfall(
                name="wrong_axis",
                message=(
                    "The softmax is taken over the rows instead of the columns: "
                    "each column of zᴸ is one example, and its K probabilities "
                    "must sum to 1 (axis=0)."
                ),
                equation=EQ_SOFTMAX,
                wrong=_softmax_over_rows,
            ),
            Pitfall(
                name="max_not_subtracted",
                message=(
                    "The maximum is not subtracted before exp: for logits above "
                    "about 709, exp overflows to inf in float64, and the result "
                    "becomes 0 or nan. Subtract each column's maximum first, "
                    "which leaves the softmax unchanged."
                ),
                equation=EQ_STABLE_SOFTMAX,
                wrong=_softmax_without_max,
            ),
            Pitfall(
                name="max_over_rows",
                message=(
                    "The maximum is taken over the rows: subtracting a different "
                    "number from each class changes the softmax. Only a constant "
                    "per column, such as the column's maximum, cancels."
                ),
                equation=EQ_STABLE_SOFTMAX,
                wrong=_softmax_max_over_rows,
            ),
            Pitfall(
                name="not_normalized",
                message=(
                    "The exponentials are not divided by their sum over the column, "
                    "so the K outputs of an example do not sum to 1."
                ),
                equation=EQ_SOFTMAX,
                wrong=_softmax_unnormalized,
            ),
        ],
    )
)


# δᴸ of softmax with cross-entropy ---------------------------------------------------


def _softmax_ce_delta(z, Y):
    N = z.shape[1]
    return (_softmax(z) - Y) / N


def _softmax_ce_delta_cases(rng):
    shapes = [(3, 4), (4, 1), (2, 6), (5, 5)]
    cases = [
        {"z": rng.normal(scale=2.0, size=(K, N)), "Y": _one_hot(rng, K, N)}
        for K, N in shapes
    ]
    cases.append({"z": OVERFLOWING_LOGITS.copy(), "Y": _one_hot(rng, 3, 2)})
    return cases


def _ce_delta_with_jacobian_diagonal(z, Y):
    y_hat = _softmax(z)
    return (y_hat - Y) * y_hat * (1 - y_hat) / z.shape[1]


register(
    CodingExercise(
        id="loss.softmax_ce_delta",
        chapter=2,
        title="δᴸ of softmax with cross-entropy",
        signature="softmax_ce_delta(z, Y)",
        reference=_softmax_ce_delta,
        cases=_softmax_ce_delta_cases,
        outputs=[Output("delta", "δᴸ", "(K, N)")],
        pitfalls=[
            Pitfall(
                name="sum_not_mean",
                message=(
                    "The 1/N is missing: L is the mean over the N examples, so "
                    "δᴸ = (ŷ − y)/N."
                ),
                equation=EQ_SOFTMAX_CE_DELTA,
                wrong=lambda z, Y: _softmax(z) - Y,
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The sign is flipped: δᴸ = (ŷ − y)/N is positive where the "
                    "network gives a class more probability than the target does."
                ),
                equation=EQ_SOFTMAX_CE_DELTA,
                wrong=lambda z, Y: (Y - _softmax(z)) / z.shape[1],
            ),
            Pitfall(
                name="jacobian_diagonal",
                message=(
                    "δᴸ is multiplied by ŷ(1 − ŷ), the diagonal of the softmax "
                    "Jacobian: the full Jacobian is already in ŷ − y, because its "
                    "product with ∂L/∂ŷ = −y/ŷ simplifies to ŷ − y."
                ),
                equation=EQ_SOFTMAX_CE_DELTA,
                wrong=_ce_delta_with_jacobian_diagonal,
            ),
            Pitfall(
                name="logits_not_probabilities",
                message=(
                    "The logits zᴸ are used in place of the probabilities: "
                    "δᴸ = (ŷ − y)/N with ŷ = softmax(zᴸ)."
                ),
                equation=EQ_SOFTMAX_CE_DELTA,
                wrong=lambda z, Y: (z - Y) / z.shape[1],
            ),
            Pitfall(
                name="mean_over_classes_too",
                message=(
                    "δᴸ is divided by K·N, the number of entries: L sums over the "
                    "K classes and averages only over the N examples, so divide "
                    "by N."
                ),
                equation=EQ_CROSS_ENTROPY,
                wrong=lambda z, Y: (_softmax(z) - Y) / z.size,
            ),
            Pitfall(
                name="wrong_axis",
                message=(
                    "The softmax is taken over the rows instead of the columns: "
                    "each column of zᴸ is one example."
                ),
                equation=EQ_SOFTMAX,
                wrong=lambda z, Y: (_softmax_over_rows(z) - Y) / z.shape[1],
            ),
            Pitfall(
                name="max_not_subtracted",
                message=(
                    "The softmax inside does not subtract the maximum, so it "
                    "overflows for logits above about 709 in float64."
                ),
                equation=EQ_STABLE_SOFTMAX,
                wrong=lambda z, Y: (_softmax_without_max(z) - Y) / z.shape[1],
            ),
        ],
    )
)


# δᴸ of the mean squared error with a sigmoid output ---------------------------------


def _sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1 - s)


def _mse_delta(z, Y):
    N = z.shape[1]
    return (sigmoid(z) - Y) * _sigmoid_derivative(z) / N


def _mse_delta_cases(rng):
    shapes = [(1, 5), (3, 1), (2, 4), (4, 4)]
    return [
        {"z": rng.normal(scale=2.0, size=(K, N)), "Y": rng.uniform(size=(K, N))}
        for K, N in shapes
    ]


register(
    CodingExercise(
        id="loss.mse_delta",
        chapter=2,
        title="δᴸ of the mean squared error with a sigmoid output",
        signature="mse_delta(z, Y)",
        reference=_mse_delta,
        cases=_mse_delta_cases,
        outputs=[Output("delta", "δᴸ", "(K, N)")],
        pitfalls=[
            Pitfall(
                name="sigma_prime_missing",
                message=(
                    "σ′(zᴸ) is left out: ŷ = σ(zᴸ) lies between zᴸ and the loss, "
                    "so the chain rule multiplies (ŷ − y)/N by σ′(zᴸ) entry by "
                    "entry. Only softmax or sigmoid with cross-entropy cancels it."
                ),
                equation=EQ_MSE_DELTA,
                wrong=lambda z, Y: (sigmoid(z) - Y) / z.shape[1],
            ),
            Pitfall(
                name="sum_not_mean",
                message=(
                    "The 1/N is missing: L is the mean over the N examples, so "
                    "δᴸ carries a factor 1/N."
                ),
                equation=EQ_MSE_DELTA,
                wrong=lambda z, Y: (sigmoid(z) - Y) * _sigmoid_derivative(z),
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The sign is flipped: the derivative of ½(ŷ − y)² with "
                    "respect to ŷ is ŷ − y, not y − ŷ."
                ),
                equation=EQ_MSE_DELTA,
                wrong=lambda z, Y: (Y - sigmoid(z)) * _sigmoid_derivative(z) / z.shape[1],
            ),
            Pitfall(
                name="logits_not_outputs",
                message=(
                    "The logits zᴸ are used in place of the outputs: the error is "
                    "ŷ − y with ŷ = σ(zᴸ)."
                ),
                equation=EQ_MSE_DELTA,
                wrong=lambda z, Y: (z - Y) * _sigmoid_derivative(z) / z.shape[1],
            ),
            Pitfall(
                name="sigma_prime_at_output",
                message=(
                    "σ′ is evaluated at ŷ = σ(zᴸ) instead of at zᴸ. Written through "
                    "the output, the sigmoid's derivative is ŷ(1 − ŷ), not σ′(ŷ)."
                ),
                equation=EQ_MSE_DELTA,
                wrong=lambda z, Y: (
                    (sigmoid(z) - Y) * _sigmoid_derivative(sigmoid(z)) / z.shape[1]
                ),
            ),
            Pitfall(
                name="half_missing",
                message=(
                    "δᴸ is twice too large: the course's loss has a factor ½, "
                    "L = (1/N) Σ ½‖ŷ − y‖², which cancels the 2 of the derivative."
                ),
                equation=EQ_MSE,
                wrong=lambda z, Y: 2 * (sigmoid(z) - Y) * _sigmoid_derivative(z) / z.shape[1],
            ),
        ],
    )
)


# A loss value by hand ---------------------------------------------------------------

#: Logits of the short-answer exercise, with class 0 as the target.
HAND_LOGITS = np.array([2.0, 1.0, 0.0])


def _hand_loss(target):
    log_probabilities = HAND_LOGITS - np.log(np.sum(np.exp(HAND_LOGITS)))
    return float(-log_probabilities[target])


register(
    ShortAnswer(
        id="loss.ce_value",
        chapter=2,
        title="A cross-entropy by hand",
        prompt=(
            "One example has logits zᴸ = (2, 1, 0) and target class 0. What is its "
            "cross-entropy L = −log ŷ₀, with ŷ = softmax(zᴸ) and the natural log?"
        ),
        answer=_hand_loss(0),
        rtol=1e-3,
        mistakes={
            round(-_hand_loss(0), 4): "L = −log ŷ₀ is positive, because ŷ₀ < 1.",
            round(float(np.exp(-_hand_loss(0))), 4): (
                "that is the probability ŷ₀ itself; the loss is −log ŷ₀."
            ),
            round(_hand_loss(0) / np.log(10), 4): (
                "that is the loss with log base 10; the course uses the natural log."
            ),
            round(_hand_loss(2), 4): "that is −log ŷ₂; the target is class 0.",
            round(_hand_loss(1), 4): "that is −log ŷ₁; the target is class 0.",
        },
    )
)
