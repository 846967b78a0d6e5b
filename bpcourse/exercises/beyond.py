r"""Exercises of the chapter beyond first-order backpropagation.

Four coding exercises on a single softmax layer z = W X + b with the mean
cross-entropy, so that each fits in a few lines: a Gauss–Newton (here also
Hessian) vector product, the REINFORCE estimator, the hypergradient of the
learning rate and a forward gradient. One short answer asks how many random
directions a forward gradient needs.

The equation numbers are those the chapter prints: (11.2) the tangents of the
forward pass, (11.6) the Hessian of softmax cross-entropy with respect to the
logits, (11.14) REINFORCE, (11.17) the hypergradient, (11.19) the directional
derivative by forward mode, (11.20) the forward gradient and (11.21) its
variance.

Every function returns new arrays and leaves its arguments unchanged. The
cases mix N = 1 with N > 1, learning rates that are not 1 and baselines that
are not 0, so that a missing 1/N, η or baseline shows.
"""

import numpy as np

from bpcourse.activations import softmax
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_TANGENTS = "11.2"
EQ_SOFTMAX_HESSIAN = "11.6"
EQ_REINFORCE = "11.14"
EQ_HYPERGRADIENT = "11.17"
EQ_JVP = "11.19"
EQ_FORWARD_GRADIENT = "11.20"
EQ_FORWARD_GRADIENT_VARIANCE = "11.21"
# NOTE: these numbers assume that _toc.yml lists this chapter as the 11th,
# with chapters 1 to 10 before it. tests/test_exercises_beyond.py checks the
# part after the dot against the order of the chapter's equations.


def _one_hot(rng, K, N):
    Y = np.zeros((K, N))
    Y[rng.integers(K, size=N), np.arange(N)] = 1.0
    return Y


def _layer_case(rng, K, d0, N):
    return {
        "W": rng.normal(size=(K, d0)) / np.sqrt(d0),
        "b": rng.normal(scale=0.3, size=(K, 1)),
        "X": rng.normal(size=(d0, N)),
    }


# (K, d_0, N): a single example, a square layer, more examples than inputs.
_LAYER_SHAPES = [(3, 4, 5), (2, 3, 1), (4, 2, 6), (3, 3, 4)]


# A Gauss–Newton vector product ------------------------------------------------------


def _gauss_newton_vector(W, b, X, V, *, variant=None):
    N = X.shape[1]
    p = softmax(W @ X + b)
    z_dot = V @ X + b if variant == "bias_in_tangent" else V @ X
    weighted = np.sum(p * z_dot, axis=0, keepdims=True)
    if variant == "outer_term_missing":
        r = p * z_dot
    elif variant == "sign_flipped":
        r = p * (weighted - z_dot)
    else:
        r = p * (z_dot - weighted)
    if variant != "mean_missing":
        r = r / N
    return r @ X.T


def _gauss_newton_variant(name):
    def wrong(W, b, X, V):
        return _gauss_newton_vector(W, b, X, V, variant=name)

    wrong.__name__ = f"gauss_newton_vector_{name}"
    return wrong


def _gauss_newton_reference(W, b, X, V):
    return _gauss_newton_vector(W, b, X, V)


def _gauss_newton_cases(rng):
    cases = []
    for K, d0, N in _LAYER_SHAPES:
        case = _layer_case(rng, K, d0, N)
        case["V"] = rng.normal(size=(K, d0))
        cases.append(case)
    return cases


register(
    CodingExercise(
        id="beyond.gauss_newton_vector",
        chapter=11,
        title="A Gauss–Newton vector product for a softmax layer",
        signature="gauss_newton_vector(W, b, X, V)",
        reference=_gauss_newton_reference,
        cases=_gauss_newton_cases,
        outputs=[Output("GV", "G V", "(K, d_0)")],
        pitfalls=[
            Pitfall(
                name="outer_term_missing",
                message=(
                    "Only diag(p) of the softmax Hessian is used: per column the "
                    "Hessian of the cross-entropy with respect to z is "
                    "(diag(p) − p pᵀ)/N, so H ż = p ⊙ (ż − pᵀż)/N."
                ),
                equation=EQ_SOFTMAX_HESSIAN,
                wrong=_gauss_newton_variant("outer_term_missing"),
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The sign is flipped: H ż = p ⊙ (ż − pᵀż)/N, the curvature of "
                    "the cross-entropy, which is never negative."
                ),
                equation=EQ_SOFTMAX_HESSIAN,
                wrong=_gauss_newton_variant("sign_flipped"),
            ),
            Pitfall(
                name="mean_missing",
                message=(
                    "The 1/N of the mean is missing: the loss is the mean over the "
                    "N examples, so its Hessian carries 1/N like δᴸ does."
                ),
                equation=EQ_SOFTMAX_HESSIAN,
                wrong=_gauss_newton_variant("mean_missing"),
            ),
            Pitfall(
                name="bias_in_tangent",
                message=(
                    "The tangent ż contains b: moving W along V changes z by V X "
                    "only, because b is not moved. Copying the forward line "
                    "z = W X + b adds a term that does not depend on V."
                ),
                equation=EQ_TANGENTS,
                wrong=_gauss_newton_variant("bias_in_tangent"),
            ),
        ],
    )
)


# The REINFORCE estimator -------------------------------------------------------------


def _reinforce(theta, samples, rewards, baseline, *, variant=None):
    p = softmax(theta.reshape(-1, 1))[:, 0]
    onehot = np.eye(p.size)[samples]
    weight = rewards[samples]
    if variant != "baseline_ignored":
        weight = weight - baseline
    if variant == "score_sign_flipped":
        score = p - onehot
    elif variant == "softmax_term_missing":
        score = onehot
    elif variant == "probability_gradient":
        score = p[samples][:, None] * (onehot - p)
    else:
        score = onehot - p
    terms = weight[:, None] * score
    if variant == "summed_over_samples":
        return terms.sum(axis=0)
    return terms.mean(axis=0)


def _reinforce_variant(name):
    def wrong(theta, samples, rewards, baseline):
        return _reinforce(theta, samples, rewards, baseline, variant=name)

    wrong.__name__ = f"reinforce_estimator_{name}"
    return wrong


def _reinforce_reference(theta, samples, rewards, baseline):
    return _reinforce(theta, samples, rewards, baseline)


def _reinforce_cases(rng):
    # (K, S, baseline): one sample, a zero baseline, several samples.
    settings = [(3, 1, 0.5), (4, 5, 1.2), (5, 8, 0.0), (2, 3, -0.7)]
    cases = []
    for K, S, baseline in settings:
        cases.append(
            {
                "theta": rng.normal(size=K),
                "samples": rng.integers(0, K, size=S),
                "rewards": rng.normal(loc=1.0, size=K),
                "baseline": baseline,
            }
        )
    return cases


register(
    CodingExercise(
        id="beyond.reinforce_estimator",
        chapter=11,
        title="The REINFORCE estimator with a baseline",
        signature="reinforce_estimator(theta, samples, rewards, baseline)",
        reference=_reinforce_reference,
        cases=_reinforce_cases,
        outputs=[Output("g_hat", "ĝ", "(K,)")],
        pitfalls=[
            Pitfall(
                name="score_sign_flipped",
                message=(
                    "The score has the wrong sign: ∇_θ log p_k = e_k − p, the "
                    "direction that makes category k more likely, so rewarded "
                    "samples pull θ towards themselves."
                ),
                equation=EQ_REINFORCE,
                wrong=_reinforce_variant("score_sign_flipped"),
            ),
            Pitfall(
                name="softmax_term_missing",
                message=(
                    "The score is e_k alone: the log-probability log p_k = θ_k − "
                    "log Σ_j e^{θ_j} also depends on every θ_j through the "
                    "normalization, which gives the − p in e_k − p."
                ),
                equation=EQ_REINFORCE,
                wrong=_reinforce_variant("softmax_term_missing"),
            ),
            Pitfall(
                name="probability_gradient",
                message=(
                    "This is the gradient of p_k, not of log p_k: REINFORCE "
                    "weighs ∇ log p_k = ∇p_k / p_k, and the 1/p_k is what makes "
                    "the estimate unbiased for samples drawn with probability p_k."
                ),
                equation=EQ_REINFORCE,
                wrong=_reinforce_variant("probability_gradient"),
            ),
            Pitfall(
                name="baseline_ignored",
                message=(
                    "The baseline is not subtracted: each sample is weighted by "
                    "f_k − b. The estimate stays unbiased without it, but it is "
                    "not the estimator asked for, and its variance is larger."
                ),
                equation=EQ_REINFORCE,
                wrong=_reinforce_variant("baseline_ignored"),
            ),
            Pitfall(
                name="summed_over_samples",
                message=(
                    "The samples are summed: the estimate is their mean, (1/S) Σ_s, "
                    "so that it estimates ∇J for any number of samples S."
                ),
                equation=EQ_REINFORCE,
                wrong=_reinforce_variant("summed_over_samples"),
            ),
        ],
    )
)


# The hypergradient of the learning rate ---------------------------------------------


def _layer_gradients(W, b, X, Y):
    delta = (softmax(W @ X + b) - Y) / X.shape[1]
    return delta @ X.T, np.sum(delta, axis=1, keepdims=True)


def _hypergradient(W, b, X, Y, lr, *, variant=None):
    dW, db = _layer_gradients(W, b, X, Y)
    step = -lr if variant == "step_uphill" else lr
    dW_new, db_new = _layer_gradients(W - step * dW, b - step * db, X, Y)
    if variant == "old_gradient_twice":
        dW_new, db_new = dW, db
    product = np.sum(dW_new * dW)
    if variant != "bias_left_out":
        product = product + np.sum(db_new * db)
    if variant == "sign_flipped":
        return product
    if variant == "lr_in_hypergradient":
        return -lr * product
    return -product


def _hypergradient_variant(name):
    def wrong(W, b, X, Y, lr):
        return _hypergradient(W, b, X, Y, lr, variant=name)

    wrong.__name__ = f"hypergradient_{name}"
    return wrong


def _hypergradient_reference(W, b, X, Y, lr):
    return _hypergradient(W, b, X, Y, lr)


def _hypergradient_cases(rng):
    learning_rates = [0.5, 0.3, 2.0, 0.1]
    cases = []
    for (K, d0, N), lr in zip(_LAYER_SHAPES, learning_rates):
        case = _layer_case(rng, K, d0, N)
        case["Y"] = _one_hot(rng, K, N)
        case["lr"] = lr
        cases.append(case)
    return cases


register(
    CodingExercise(
        id="beyond.hypergradient",
        chapter=11,
        title="The hypergradient of the learning rate",
        signature="lr_hypergradient(W, b, X, Y, lr)",
        reference=_hypergradient_reference,
        cases=_hypergradient_cases,
        outputs=[Output("dL_dlr", "dL(θ′)/dη", "()")],
        pitfalls=[
            Pitfall(
                name="sign_flipped",
                message=(
                    "The sign is flipped: θ′ = θ − η ∇L(θ) moves against the "
                    "gradient as η grows, so dθ′/dη = −∇L(θ) and "
                    "dL(θ′)/dη = −∇L(θ′)·∇L(θ)."
                ),
                equation=EQ_HYPERGRADIENT,
                wrong=_hypergradient_variant("sign_flipped"),
            ),
            Pitfall(
                name="old_gradient_twice",
                message=(
                    "Both gradients are taken at θ: the chain rule evaluates ∇L "
                    "at the point after the step, θ′ = θ − η ∇L(θ). −‖∇L(θ)‖² is "
                    "the hypergradient at η = 0 only."
                ),
                equation=EQ_HYPERGRADIENT,
                wrong=_hypergradient_variant("old_gradient_twice"),
            ),
            Pitfall(
                name="bias_left_out",
                message=(
                    "The dot product leaves out b: θ contains every parameter, "
                    "so ∇L(θ′)·∇L(θ) sums over the entries of both ∂L/∂W and "
                    "∂L/∂b."
                ),
                equation=EQ_HYPERGRADIENT,
                wrong=_hypergradient_variant("bias_left_out"),
            ),
            Pitfall(
                name="step_uphill",
                message=(
                    "The step goes uphill: θ′ = θ − η ∇L(θ) subtracts the "
                    "gradient."
                ),
                equation=EQ_HYPERGRADIENT,
                wrong=_hypergradient_variant("step_uphill"),
            ),
            Pitfall(
                name="lr_in_hypergradient",
                message=(
                    "The result is multiplied by η: dθ′/dη = −∇L(θ) does not "
                    "contain η, so neither does the hypergradient."
                ),
                equation=EQ_HYPERGRADIENT,
                wrong=_hypergradient_variant("lr_in_hypergradient"),
            ),
        ],
    )
)


# A forward gradient ------------------------------------------------------------------


def _forward_gradient(W, b, X, Y, V_W, V_b, *, variant=None):
    N = X.shape[1]
    delta = softmax(W @ X + b) - Y
    if variant != "mean_missing":
        delta = delta / N
    if variant == "bias_tangent_missing":
        z_dot = V_W @ X
    elif variant == "bias_in_tangent":
        z_dot = V_W @ X + b
    else:
        z_dot = V_W @ X + V_b
    derivative = np.sum(delta * z_dot)
    if variant == "direction_missing":
        return np.full(W.shape, derivative), np.full(b.shape, derivative)
    if variant == "direction_normalized":
        derivative = derivative / (np.sum(V_W * V_W) + np.sum(V_b * V_b))
    return derivative * V_W, derivative * V_b


def _forward_gradient_variant(name):
    def wrong(W, b, X, Y, V_W, V_b):
        return _forward_gradient(W, b, X, Y, V_W, V_b, variant=name)

    wrong.__name__ = f"forward_gradient_{name}"
    return wrong


def _forward_gradient_reference(W, b, X, Y, V_W, V_b):
    return _forward_gradient(W, b, X, Y, V_W, V_b)


def _forward_gradient_cases(rng):
    cases = []
    for K, d0, N in _LAYER_SHAPES:
        case = _layer_case(rng, K, d0, N)
        case["Y"] = _one_hot(rng, K, N)
        case["V_W"] = rng.normal(size=(K, d0))
        case["V_b"] = rng.normal(size=(K, 1))
        cases.append(case)
    return cases


register(
    CodingExercise(
        id="beyond.forward_gradient",
        chapter=11,
        title="A forward gradient without a backward pass",
        signature="forward_gradient_estimate(W, b, X, Y, V_W, V_b)",
        reference=_forward_gradient_reference,
        cases=_forward_gradient_cases,
        outputs=[
            Output("g_W", "ĝ_W", "(K, d_0)"),
            Output("g_b", "ĝ_b", "(K, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="direction_missing",
                message=(
                    "The directional derivative ∇L·v is not multiplied back by "
                    "v: it is one number for the whole direction, and the "
                    "estimate is (∇L·v) v, so each entry gets its own v_i."
                ),
                equation=EQ_FORWARD_GRADIENT,
                wrong=_forward_gradient_variant("direction_missing"),
            ),
            Pitfall(
                name="direction_normalized",
                message=(
                    "The estimate is divided by ‖v‖²: (∇L·v) v / ‖v‖² is the "
                    "projection of ∇L on v, whose mean is ∇L/P. The unbiased "
                    "estimate is (∇L·v) v, because E[v vᵀ] = I."
                ),
                equation=EQ_FORWARD_GRADIENT,
                wrong=_forward_gradient_variant("direction_normalized"),
            ),
            Pitfall(
                name="bias_tangent_missing",
                message=(
                    "The tangent leaves out V_b: the direction moves b too, so "
                    "ż = V_W X + V_b."
                ),
                equation=EQ_TANGENTS,
                wrong=_forward_gradient_variant("bias_tangent_missing"),
            ),
            Pitfall(
                name="bias_in_tangent",
                message=(
                    "The tangent contains b in place of V_b: ż is the change of z "
                    "along the direction, V_W X + V_b. Copying the forward line "
                    "z = W X + b adds a term that does not depend on v."
                ),
                equation=EQ_TANGENTS,
                wrong=_forward_gradient_variant("bias_in_tangent"),
            ),
            Pitfall(
                name="mean_missing",
                message=(
                    "The 1/N of the mean is missing from δᴸ = (ŷ − Y)/N, so the "
                    "directional derivative Σ δᴸ ⊙ ż is N times too large."
                ),
                equation=EQ_JVP,
                wrong=_forward_gradient_variant("mean_missing"),
            ),
        ],
    )
)


# How many directions -----------------------------------------------------------------

register(
    ShortAnswer(
        id="beyond.directions_needed",
        chapter=11,
        title="How many directions a forward gradient needs",
        prompt=(
            "The digits network [64, 32, 10] has P = 2,410 parameters. A forward "
            "gradient averages k independent estimates (∇L·v) v with standard "
            "normal directions v. What is the smallest k for which the expected "
            "squared error E‖ĝ − ∇L‖² is at most ‖∇L‖²?"
        ),
        answer=2411,
        rtol=0.0,
        atol=0.0,
        mistakes={
            2410: (
                "k = P gives (P + 1)/P = 1 + 1/P, just above 1: the error of one "
                "direction is (P + 1) ‖∇L‖², not P ‖∇L‖², see equation "
                f"({EQ_FORWARD_GRADIENT_VARIANCE})."
            ),
            2412: (
                "(P + 2) ‖∇L‖² is E‖g‖² for one direction; the error subtracts "
                "‖∇L‖² of the mean, which leaves (P + 1) ‖∇L‖², see equation "
                f"({EQ_FORWARD_GRADIENT_VARIANCE})."
            ),
            1: (
                "one direction gives an unbiased estimate, but unbiased is not "
                "accurate: its error is (P + 1) ‖∇L‖², see equation "
                f"({EQ_FORWARD_GRADIENT_VARIANCE})."
            ),
        },
    )
)
