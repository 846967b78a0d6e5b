r"""Exercises of the depth chapter: Xavier's scale, the residual δ, layer norm, clipping.

The equation numbers in the pitfalls are those the chapter prints: (7.3) is
Xavier's variance 2 / (d_{ℓ−1} + d_ℓ), (7.6) the gradient through a residual
block ∂L/∂a^{ℓ−1} = ∂L/∂a^ℓ + (W^ℓ)ᵀ (∂L/∂a^ℓ ⊙ σ′(z^ℓ)), (7.8) the backward
pass of layer normalization and (7.9) clipping by the global norm.

NOTE: the book prints these chapter-qualified numbers only when _toc.yml
numbers its chapters (``options: numbered: true``). Without that, Sphinx
numbers the equations across the whole book.
"""

import numpy as np

from bpcourse.activations import get_activation
from bpcourse.depth import layernorm_forward
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register
from bpcourse.optim import clip_by_global_norm

EQ_XAVIER = "7.3"
EQ_RESIDUAL_BACKWARD = "7.6"
EQ_LAYERNORM_BACKWARD = "7.8"
EQ_CLIP = "7.9"


# Xavier's standard deviation ------------------------------------------------------

register(
    ShortAnswer(
        id="depth.xavier_std",
        chapter=7,
        title="The standard deviation of Xavier initialisation",
        prompt=(
            "A tanh layer has d_{ℓ−1} = 300 inputs and d_ℓ = 100 units. What standard "
            "deviation does Xavier initialisation (xavier_normal) give every entry of "
            "W^ℓ?"
        ),
        answer=float(np.sqrt(2.0 / 400.0)),
        rtol=2e-3,
        mistakes={
            0.005: (
                "that is the variance 2 / (d_{ℓ−1} + d_ℓ); the standard deviation is "
                "its square root."
            ),
            float(np.sqrt(1.0 / 300.0)): (
                "that keeps only the forward pass's variance, 1 / d_{ℓ−1}. Xavier "
                f"averages the forward and the backward condition, equation ({EQ_XAVIER})."
            ),
            float(np.sqrt(1.0 / 100.0)): (
                "that keeps only the backward pass's variance, 1 / d_ℓ. Xavier "
                f"averages the forward and the backward condition, equation ({EQ_XAVIER})."
            ),
            float(np.sqrt(2.0 / 300.0)): (
                "that is He initialisation, 2 / d_{ℓ−1}, made for ReLU layers, which "
                "zero half their inputs. tanh is close to the identity near 0."
            ),
            float(np.sqrt(6.0 / 400.0)): (
                "that is the bound r of the uniform variant U(−r, r); its standard "
                "deviation is r / √3."
            ),
        },
    )
)


# The gradient through a residual block -----------------------------------------------


def _residual_backward(W, z, da, activation):
    return da + W.T @ (da * get_activation(activation).derivative(z))


def _residual_backward_cases(rng):
    # Residual blocks need d_{ℓ−1} = d_ℓ, so W is square in every case, and a
    # transposed W is a mistake of values, not of shape.
    cases = []
    for d, N, activation in [
        (3, 1, "tanh"),
        (4, 5, "relu"),
        (4, 3, "sigmoid"),
        (5, 2, "tanh"),
        (2, 4, "relu"),
    ]:
        cases.append(
            {
                "W": rng.normal(size=(d, d)),
                "z": rng.normal(size=(d, N)),
                "da": rng.normal(size=(d, N)),
                "activation": activation,
            }
        )
    return cases


def _sigma_prime(activation, z):
    return get_activation(activation).derivative(z)


register(
    CodingExercise(
        id="depth.residual_backward",
        chapter=7,
        title="The gradient through a residual block",
        signature="residual_backward(W, z, da, activation)",
        reference=_residual_backward,
        cases=_residual_backward_cases,
        outputs=[Output("da_prev", "∂L/∂a^{ℓ−1}", "(d_{ℓ−1}, N)")],
        pitfalls=[
            Pitfall(
                name="skip_path_missing",
                message=(
                    "The skip path's gradient is missing: a^ℓ = a^{ℓ−1} + σ(z^ℓ) "
                    "depends on a^{ℓ−1} directly too, so ∂L/∂a^ℓ itself is added to "
                    "(W^ℓ)ᵀ δ^ℓ."
                ),
                equation=EQ_RESIDUAL_BACKWARD,
                wrong=lambda W, z, da, activation: W.T @ (da * _sigma_prime(activation, z)),
            ),
            Pitfall(
                name="skip_path_through_sigma_prime",
                message=(
                    "The skip path is multiplied by σ′(z^ℓ): the identity path "
                    "bypasses σ, so ∂L/∂a^ℓ passes to a^{ℓ−1} unchanged."
                ),
                equation=EQ_RESIDUAL_BACKWARD,
                wrong=lambda W, z, da, activation: (
                    (da + W.T @ da) * _sigma_prime(activation, z)
                ),
            ),
            Pitfall(
                name="sigma_prime_missing",
                message=(
                    "σ′(z^ℓ) is left out of the branch: δ^ℓ = ∂L/∂a^ℓ ⊙ σ′(z^ℓ) "
                    "before it goes back through (W^ℓ)ᵀ."
                ),
                equation=EQ_RESIDUAL_BACKWARD,
                wrong=lambda W, z, da, activation: da + W.T @ da,
            ),
            Pitfall(
                name="W_not_transposed",
                message=(
                    "W^ℓ is used where its transpose belongs: the branch's gradient is "
                    "(W^ℓ)ᵀ δ^ℓ."
                ),
                equation=EQ_RESIDUAL_BACKWARD,
                wrong=lambda W, z, da, activation: (
                    da + W @ (da * _sigma_prime(activation, z))
                ),
            ),
        ],
    )
)


# The backward pass of layer normalization ----------------------------------------------


def _layernorm_backward(du, z_hat, s, gamma):
    g = gamma * du
    dz = (
        g
        - np.mean(g, axis=0, keepdims=True)
        - z_hat * np.mean(g * z_hat, axis=0, keepdims=True)
    ) / s
    dgamma = np.sum(du * z_hat, axis=1, keepdims=True)
    dbeta = np.sum(du, axis=1, keepdims=True)
    return dz, dgamma, dbeta


def _layernorm_backward_cases(rng):
    cases = []
    for d, N in [(4, 1), (5, 3), (3, 6), (6, 2)]:
        z = rng.normal(loc=0.5, scale=2.0, size=(d, N))
        gamma = rng.uniform(0.5, 1.5, size=(d, 1))
        beta = rng.normal(size=(d, 1))
        _, cache = layernorm_forward(z, gamma, beta)
        cases.append(
            {
                "du": rng.normal(size=(d, N)),
                "z_hat": cache.z_hat,
                "s": cache.s,
                "gamma": gamma,
            }
        )
    return cases


def _layernorm_with(dz_of_g):
    """Build a layer-norm backward pass whose ∂L/∂z is ``dz_of_g(g, du, z_hat, s)``."""

    def layernorm_backward(du, z_hat, s, gamma):
        _, dgamma, dbeta = _layernorm_backward(du, z_hat, s, gamma)
        return dz_of_g(gamma * du, du, z_hat, s), dgamma, dbeta

    return layernorm_backward


def _units_mean(x):
    return np.mean(x, axis=0, keepdims=True)


def _batch_mean(x):
    return np.mean(x, axis=1, keepdims=True)


register(
    CodingExercise(
        id="depth.layernorm_backward",
        chapter=7,
        title="The backward pass of layer normalization",
        signature="layernorm_backward(du, z_hat, s, gamma)",
        reference=_layernorm_backward,
        cases=_layernorm_backward_cases,
        outputs=[
            Output("dz", "∂L/∂z^ℓ", "(d_ℓ, N)"),
            Output("dgamma", "∂L/∂γ^ℓ", "(d_ℓ, 1)"),
            Output("dbeta", "∂L/∂β^ℓ", "(d_ℓ, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="statistics_held_constant",
                message=(
                    "The mean μ and the scale s are treated as constants: every "
                    "entry of a column moves both, so ∂L/∂z subtracts the mean of "
                    "g = γ ⊙ ∂L/∂u and ẑ times the mean of g ⊙ ẑ."
                ),
                equation=EQ_LAYERNORM_BACKWARD,
                wrong=_layernorm_with(lambda g, du, z_hat, s: g / s),
            ),
            Pitfall(
                name="variance_term_missing",
                message=(
                    "The term of the variance is missing: s depends on z too, which "
                    "gives −ẑ ⊙ mean(g ⊙ ẑ) inside the bracket."
                ),
                equation=EQ_LAYERNORM_BACKWARD,
                wrong=_layernorm_with(lambda g, du, z_hat, s: (g - _units_mean(g)) / s),
            ),
            Pitfall(
                name="mean_term_missing",
                message=(
                    "The term of the mean is missing: μ depends on every entry of the "
                    "column, which gives −mean(g) inside the bracket."
                ),
                equation=EQ_LAYERNORM_BACKWARD,
                wrong=_layernorm_with(
                    lambda g, du, z_hat, s: (g - z_hat * _units_mean(g * z_hat)) / s
                ),
            ),
            Pitfall(
                name="means_over_the_batch",
                message=(
                    "The means are taken over the batch (axis 1): layer normalization "
                    "normalizes every example over its units, so its means run over "
                    "the d_ℓ rows of a column (axis 0)."
                ),
                equation=EQ_LAYERNORM_BACKWARD,
                wrong=_layernorm_with(
                    lambda g, du, z_hat, s: (
                        g - _batch_mean(g) - z_hat * _batch_mean(g * z_hat)
                    ) / s
                ),
            ),
            Pitfall(
                name="gamma_missing",
                message=(
                    "γ is left out: u = γ ⊙ ẑ + β, so the gradient reaching ẑ is "
                    "g = γ ⊙ ∂L/∂u."
                ),
                equation=EQ_LAYERNORM_BACKWARD,
                wrong=_layernorm_with(
                    lambda g, du, z_hat, s: (
                        du - _units_mean(du) - z_hat * _units_mean(du * z_hat)
                    ) / s
                ),
            ),
        ],
    )
)


# Clipping by the global norm -------------------------------------------------------------


def _clip_global_norm(grads, max_norm):
    clipped, _ = clip_by_global_norm(grads, max_norm)
    return tuple(clipped)


def _clip_cases(rng):
    # Each case is [dW1, db1, dW2, db2] of a network [d_0, d_1, d_2]. The global
    # norm exceeds max_norm in all cases but the last. Single arrays lie on both
    # sides of max_norm, so that clipping each array on its own gives other values.
    cases = []
    for (d0, d1, d2), scales, max_norm in [
        ((3, 4, 2), (2.0, 0.1, 1.0, 0.1), 1.0),
        ((2, 3, 3), (0.5, 0.5, 3.0, 0.2), 2.0),
        ((4, 2, 1), (5.0, 1.0, 0.3, 0.05), 1.5),
        ((3, 3, 2), (0.05, 0.02, 0.05, 0.01), 1.0),
    ]:
        shapes = [(d1, d0), (d1, 1), (d2, d1), (d2, 1)]
        grads = [scale * rng.normal(size=shape) for shape, scale in zip(shapes, scales)]
        cases.append({"grads": grads, "max_norm": max_norm})
    return cases


def _global_norm(grads):
    return np.sqrt(sum(np.sum(g * g) for g in grads))


def _clip_each_array(grads, max_norm):
    return tuple(
        g * min(1.0, max_norm / np.sqrt(np.sum(g * g))) for g in grads
    )


def _always_rescale(grads, max_norm):
    factor = max_norm / _global_norm(grads)
    return tuple(g * factor for g in grads)


def _squared_norm(grads, max_norm):
    squared = sum(np.sum(g * g) for g in grads)
    factor = min(1.0, max_norm / squared)
    return tuple(g * factor for g in grads)


def _clip_values(grads, max_norm):
    return tuple(np.clip(g, -max_norm, max_norm) for g in grads)


register(
    CodingExercise(
        id="depth.clip_global_norm",
        chapter=7,
        title="Clipping gradients by their global norm",
        signature="clip_global_norm(grads, max_norm)",
        reference=_clip_global_norm,
        cases=_clip_cases,
        in_place_reason=(
            "The caller still holds `grads` and may read them again, for example "
            "to log the norm before clipping or to compare it with the clipped "
            "one: return new arrays instead of scaling the given ones in place."
        ),
        outputs=[
            Output("dW1", "clipped ∂L/∂W¹", "(d_1, d_0)"),
            Output("db1", "clipped ∂L/∂b¹", "(d_1, 1)"),
            Output("dW2", "clipped ∂L/∂W²", "(d_2, d_1)"),
            Output("db2", "clipped ∂L/∂b²", "(d_2, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="clipped_per_array",
                message=(
                    "Each array is clipped to max_norm on its own: clipping by the "
                    "global norm scales all of them by one factor, max_norm / ‖g‖, "
                    "with ‖g‖ the norm of all arrays together, so the direction of "
                    "the whole gradient is kept."
                ),
                equation=EQ_CLIP,
                wrong=_clip_each_array,
            ),
            Pitfall(
                name="always_rescaled",
                message=(
                    "The gradients are rescaled even when ‖g‖ ≤ max_norm: a gradient "
                    "within the limit is left as it is, the factor is "
                    "min(1, max_norm / ‖g‖)."
                ),
                equation=EQ_CLIP,
                wrong=_always_rescale,
            ),
            Pitfall(
                name="squared_norm",
                message=(
                    "The norm is the sum of squares without the square root: "
                    "‖g‖ = √(Σ g²) over every entry of every array."
                ),
                equation=EQ_CLIP,
                wrong=_squared_norm,
            ),
            Pitfall(
                name="clipped_values",
                message=(
                    "Every entry is clipped to [−max_norm, max_norm]: that changes the "
                    "gradient's direction. Clipping by the norm multiplies every "
                    "entry by the same factor."
                ),
                equation=EQ_CLIP,
                wrong=_clip_values,
            ),
        ],
    )
)
