r"""Exercises of the training chapter: the update, a training step, an epoch, momentum.

The equation numbers in the pitfalls are those the chapter prints: (5.1) is the
update W^ℓ ← W^ℓ − η ∂L/∂W^ℓ, b^ℓ ← b^ℓ − η ∂L/∂b^ℓ, (5.3) is the minibatch loss
L_B = (1/B) Σ_{n∈B} ℓ_n, (5.5) is w_t = (1 − ηλ)^t w_0 on a quadratic and (5.6)
is momentum, v ← β v + ∂L/∂θ, θ ← θ − η v. The δ-recursion and δᴸ keep the
numbers of the δ-recursion chapter.

Every function the learner writes returns new arrays and leaves its arguments
unchanged, because the check flags a function that writes into its arguments.
The learning rates of the cases are never 1, so a missing or doubled η shows.
Most cases have several examples or several minibatches, so that a missing 1/N,
a gradient summed across steps or a dropped last minibatch shows.
"""

import numpy as np

from bpcourse.activations import softmax
from bpcourse.exercises.backward import EQ_OUTPUT_DELTA, EQ_RECURSION
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_UPDATE = "5.1"
EQ_MINIBATCH_LOSS = "5.3"
EQ_QUADRATIC = "5.5"
EQ_MOMENTUM = "5.6"
# NOTE: these numbers match the page because _toc.yml numbers its chapters
# (options: numbered: true). Without that option Sphinx numbers equations across
# the whole book, and the numbers above would be wrong.


def _one_hot(rng, K, N):
    Y = np.zeros((K, N))
    Y[rng.integers(K, size=N), np.arange(N)] = 1.0
    return Y


def _mean_cross_entropy(a, Y):
    return -np.sum(Y * np.log(a)) / Y.shape[1]


# One gradient-descent step for one layer --------------------------------------------


def _sgd_step(W, b, dW, db, lr):
    return W - lr * dW, b - lr * db


def _sgd_step_cases(rng):
    # (d_ℓ, d_{ℓ−1}, η): a single unit, a single input, a square layer.
    settings = [(3, 2, 0.1), (1, 4, 0.5), (4, 4, 0.01), (2, 1, 2.0)]
    return [
        {
            "W": rng.normal(size=(d, d_prev)),
            "b": rng.normal(size=(d, 1)),
            "dW": rng.normal(size=(d, d_prev)),
            "db": rng.normal(size=(d, 1)),
            "lr": lr,
        }
        for d, d_prev, lr in settings
    ]


register(
    CodingExercise(
        id="update.sgd_step",
        chapter=5,
        title="One gradient-descent step",
        signature="sgd_step(W, b, dW, db, lr)",
        reference=_sgd_step,
        cases=_sgd_step_cases,
        in_place_reason=(
            "Optimizers in frameworks often update in place, but here the step "
            "returns the new W and b and leaves the old ones as they were, so "
            "that the caller can compare the two or take the step again with "
            "another η: compute new arrays instead of using `-=`."
        ),
        outputs=[
            Output("W", "W^ℓ", "(d_ℓ, d_{ℓ−1})"),
            Output("b", "b^ℓ", "(d_ℓ, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="sign_flipped",
                message=(
                    "The step goes uphill: the gradient points to where the loss "
                    "grows, so gradient descent subtracts it, "
                    "W^ℓ ← W^ℓ − η ∂L/∂W^ℓ."
                ),
                equation=EQ_UPDATE,
                wrong=lambda W, b, dW, db, lr: (W + lr * dW, b + lr * db),
            ),
            Pitfall(
                name="lr_missing",
                message=(
                    "The learning rate is not applied: the step is η times the "
                    "gradient, W^ℓ ← W^ℓ − η ∂L/∂W^ℓ, not the gradient itself."
                ),
                equation=EQ_UPDATE,
                wrong=lambda W, b, dW, db, lr: (W - dW, b - db),
            ),
            Pitfall(
                name="lr_applied_twice",
                message=(
                    "The learning rate is applied twice, so the step is η² times "
                    "the gradient: multiply the gradient by η once."
                ),
                equation=EQ_UPDATE,
                wrong=lambda W, b, dW, db, lr: (W - lr * lr * dW, b - lr * lr * db),
            ),
            Pitfall(
                name="bias_not_updated",
                message=(
                    "Only the weights are updated: the biases are parameters too, "
                    "b^ℓ ← b^ℓ − η ∂L/∂b^ℓ."
                ),
                equation=EQ_UPDATE,
                wrong=lambda W, b, dW, db, lr: (W - lr * dW, b),
            ),
        ],
    )
)


# One training step of a network with one hidden layer -------------------------------


def _forward(W1, b1, W2, b2, X):
    z1 = W1 @ X + b1
    a1 = np.maximum(z1, 0)
    a2 = softmax(W2 @ a1 + b2)
    return z1, a1, a2


def _train_step(W1, b1, W2, b2, X, Y, lr, *, variant=None):
    """Return the updated parameters and the loss before the update.

    ``variant`` names a pitfall to reproduce instead of the correct step.
    """
    N = X.shape[1]
    z1, a1, a2 = _forward(W1, b1, W2, b2, X)
    loss = _mean_cross_entropy(a2, Y)

    delta2 = a2 - Y if variant == "mean_missing" else (a2 - Y) / N
    dW2 = delta2 @ a1.T
    db2 = np.sum(delta2, axis=1, keepdims=True)
    step = -lr if variant == "sign_flipped" else lr
    W2_new = W2 - step * dW2
    b2_new = b2 - step * db2

    W_through = W2_new if variant == "W2_updated_before_delta1" else W2
    relu_prime = 1.0 if variant == "relu_derivative_missing" else (z1 > 0)
    delta1 = (W_through.T @ delta2) * relu_prime
    dW1 = delta1 @ X.T
    db1 = np.sum(delta1, axis=1, keepdims=True)
    W1_new = W1 - step * dW1
    b1_new = b1 - step * db1

    if variant == "bias_not_updated":
        b1_new, b2_new = b1, b2
    return W1_new, b1_new, W2_new, b2_new, loss


def _train_step_variant(name):
    def wrong(W1, b1, W2, b2, X, Y, lr):
        return _train_step(W1, b1, W2, b2, X, Y, lr, variant=name)

    wrong.__name__ = f"train_step_{name}"
    return wrong


def _train_step_reference(W1, b1, W2, b2, X, Y, lr):
    return _train_step(W1, b1, W2, b2, X, Y, lr)


def _train_step_cases(rng):
    # (d_0, d_1, d_2, N, η): N = 1 among them, and one square network.
    settings = [(3, 4, 2, 5, 0.5), (2, 3, 3, 1, 0.3), (4, 4, 4, 3, 0.5),
                (3, 2, 3, 6, 0.2)]
    cases = []
    for d0, d1, d2, N, lr in settings:
        cases.append(
            {
                "W1": rng.normal(size=(d1, d0)) / np.sqrt(d0),
                "b1": rng.normal(scale=0.1, size=(d1, 1)),
                "W2": rng.normal(size=(d2, d1)) / np.sqrt(d1),
                "b2": rng.normal(scale=0.1, size=(d2, 1)),
                "X": rng.normal(size=(d0, N)),
                "Y": _one_hot(rng, d2, N),
                "lr": lr,
            }
        )
    return cases


register(
    CodingExercise(
        id="update.train_step",
        chapter=5,
        title="One training step: backward pass and update",
        signature="train_step(W1, b1, W2, b2, X, Y, lr)",
        reference=_train_step_reference,
        cases=_train_step_cases,
        outputs=[
            Output("W1", "W¹", "(d_1, d_0)"),
            Output("b1", "b¹", "(d_1, 1)"),
            Output("W2", "W²", "(d_2, d_1)"),
            Output("b2", "b²", "(d_2, 1)"),
            Output("loss", "L", "()"),
        ],
        pitfalls=[
            Pitfall(
                name="W2_updated_before_delta1",
                message=(
                    "δ¹ is propagated through the updated W²: the backward pass "
                    "computes δ¹ = (W²)ᵀ δ² ⊙ ReLU′(z¹) with the weights of the "
                    "forward pass, so compute every gradient before changing any "
                    "weight."
                ),
                equation=EQ_RECURSION,
                wrong=_train_step_variant("W2_updated_before_delta1"),
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The step goes uphill: gradient descent subtracts the "
                    "gradient, W^ℓ ← W^ℓ − η ∂L/∂W^ℓ."
                ),
                equation=EQ_UPDATE,
                wrong=_train_step_variant("sign_flipped"),
            ),
            Pitfall(
                name="bias_not_updated",
                message=(
                    "Only the weights are updated: b¹ and b² change too, "
                    "b^ℓ ← b^ℓ − η ∂L/∂b^ℓ."
                ),
                equation=EQ_UPDATE,
                wrong=_train_step_variant("bias_not_updated"),
            ),
            Pitfall(
                name="relu_derivative_missing",
                message=(
                    "ReLU′(z¹) is missing from δ¹: the error only flows back "
                    "through hidden units with z¹ > 0."
                ),
                equation=EQ_RECURSION,
                wrong=_train_step_variant("relu_derivative_missing"),
            ),
            Pitfall(
                name="mean_missing",
                message=(
                    "The 1/N of the mean is missing from δ²: L is the mean over the "
                    "N examples, so δ² = (ŷ − Y) / N."
                ),
                equation=EQ_OUTPUT_DELTA,
                wrong=_train_step_variant("mean_missing"),
            ),
        ],
    )
)


# One epoch of minibatch gradient descent --------------------------------------------


def _minibatch_loop(W, b, X, Y, lr, batch_size, *, variant=None):
    """Train a softmax layer z = W X + b for one epoch, minibatches in column order.

    ``variant`` names a pitfall to reproduce instead of the correct loop.
    """
    N = X.shape[1]
    last_start = N - batch_size + 1 if variant == "last_batch_dropped" else N
    losses = []
    dW_sum = np.zeros_like(W)
    db_sum = np.zeros_like(b)
    for start in range(0, last_start, batch_size):
        X_batch = X[:, start : start + batch_size]
        Y_batch = Y[:, start : start + batch_size]
        B = X_batch.shape[1]
        a = softmax(W @ X_batch + b)
        losses.append(_mean_cross_entropy(a, Y_batch))
        delta = (a - Y_batch) / (N if variant == "divided_by_N" else B)
        dW = delta @ X_batch.T
        db = np.sum(delta, axis=1, keepdims=True)
        if variant == "gradients_accumulated":
            dW_sum += dW
            db_sum += db
            dW, db = dW_sum, db_sum
        W = W - lr * dW
        b = b - lr * db
    mean_loss = losses[-1] if variant == "loss_of_last_batch" else np.mean(losses)
    return W, b, mean_loss


def _minibatch_loop_variant(name):
    def wrong(W, b, X, Y, lr, batch_size):
        return _minibatch_loop(W, b, X, Y, lr, batch_size, variant=name)

    wrong.__name__ = f"minibatch_loop_{name}"
    return wrong


def _minibatch_loop_reference(W, b, X, Y, lr, batch_size):
    return _minibatch_loop(W, b, X, Y, lr, batch_size)


def _minibatch_loop_cases(rng):
    # (d_0, K, N, B, η): a last minibatch of 2 and of 1, a single example, one
    # minibatch that is the whole set, and five minibatches.
    settings = [(3, 2, 10, 4, 0.5), (4, 3, 7, 3, 0.3), (2, 3, 1, 1, 0.5),
                (5, 4, 8, 8, 0.2), (3, 3, 9, 2, 0.4)]
    cases = []
    for d0, K, N, B, lr in settings:
        cases.append(
            {
                "W": rng.normal(size=(K, d0)) / np.sqrt(d0),
                "b": rng.normal(scale=0.1, size=(K, 1)),
                "X": rng.normal(size=(d0, N)),
                "Y": _one_hot(rng, K, N),
                "lr": lr,
                "batch_size": B,
            }
        )
    return cases


register(
    CodingExercise(
        id="update.minibatch_loop",
        chapter=5,
        title="One epoch of minibatch gradient descent",
        signature="minibatch_loop(W, b, X, Y, lr, batch_size)",
        reference=_minibatch_loop_reference,
        cases=_minibatch_loop_cases,
        outputs=[
            Output("W", "W¹", "(d_1, d_0)"),
            Output("b", "b¹", "(d_1, 1)"),
            Output("mean_loss", "the mean minibatch loss", "()"),
        ],
        pitfalls=[
            Pitfall(
                name="gradients_accumulated",
                message=(
                    "The gradients are summed across steps: each update must use "
                    "the gradient of its own minibatch only. A buffer that collects "
                    "gradients has to start again from zero at every step."
                ),
                equation=EQ_UPDATE,
                wrong=_minibatch_loop_variant("gradients_accumulated"),
            ),
            Pitfall(
                name="last_batch_dropped",
                message=(
                    "The last minibatch is skipped when N is not a multiple of the "
                    "batch size: it contains the remaining examples, fewer than "
                    "batch_size, and the epoch must still visit them."
                ),
                wrong=_minibatch_loop_variant("last_batch_dropped"),
            ),
            Pitfall(
                name="divided_by_N",
                message=(
                    "δ is divided by the N of the whole set: the loss of a "
                    "minibatch is the mean over its own B examples, so "
                    "δ = (ŷ − Y_batch) / B."
                ),
                equation=EQ_MINIBATCH_LOSS,
                wrong=_minibatch_loop_variant("divided_by_N"),
            ),
            Pitfall(
                name="loss_of_last_batch",
                message=(
                    "The loss returned is that of the last minibatch only: return "
                    "the mean of the losses of all minibatches of the epoch, each "
                    "computed before its update."
                ),
                wrong=_minibatch_loop_variant("loss_of_last_batch"),
            ),
        ],
    )
)


# One momentum step --------------------------------------------------------------------


def _momentum_step(W, dW, v, lr, beta):
    v_new = beta * v + dW
    return W - lr * v_new, v_new


def _momentum_old_velocity(W, dW, v, lr, beta):
    return W - lr * v, beta * v + dW


def _momentum_lr_in_velocity(W, dW, v, lr, beta):
    v_new = beta * v - lr * dW
    return W + v_new, v_new


def _momentum_step_cases(rng):
    # (d_ℓ, d_{ℓ−1}, η, β): the first step (v = 0) and later ones.
    settings = [(3, 2, 0.1, 0.9), (2, 2, 0.05, 0.5), (1, 3, 0.3, 0.8),
                (4, 1, 0.2, 0.9)]
    cases = []
    for index, (d, d_prev, lr, beta) in enumerate(settings):
        v = np.zeros((d, d_prev)) if index == 3 else rng.normal(size=(d, d_prev))
        cases.append(
            {
                "W": rng.normal(size=(d, d_prev)),
                "dW": rng.normal(size=(d, d_prev)),
                "v": v,
                "lr": lr,
                "beta": beta,
            }
        )
    return cases


register(
    CodingExercise(
        id="update.momentum_step",
        chapter=5,
        title="One momentum step",
        signature="momentum_step(W, dW, v, lr, beta)",
        reference=_momentum_step,
        cases=_momentum_step_cases,
        outputs=[
            Output("W", "W^ℓ", "(d_ℓ, d_{ℓ−1})"),
            Output("v", "v", "(d_ℓ, d_{ℓ−1})"),
        ],
        pitfalls=[
            Pitfall(
                name="velocity_not_decayed",
                message=(
                    "β is missing: v ← v + ∂L/∂W adds up every gradient since the "
                    "start, while v ← β v + ∂L/∂W lets old gradients fade."
                ),
                equation=EQ_MOMENTUM,
                wrong=lambda W, dW, v, lr, beta: (W - lr * (v + dW), v + dW),
            ),
            Pitfall(
                name="old_velocity_used",
                message=(
                    "W^ℓ steps along the old velocity: update v first, then step "
                    "along the new one, θ ← θ − η v."
                ),
                equation=EQ_MOMENTUM,
                wrong=_momentum_old_velocity,
            ),
            Pitfall(
                name="velocity_averaged",
                message=(
                    "v is an average, v ← β v + (1 − β) ∂L/∂W, which is Adam's "
                    "first moment: momentum here adds the whole gradient, "
                    "v ← β v + ∂L/∂W."
                ),
                equation=EQ_MOMENTUM,
                wrong=lambda W, dW, v, lr, beta: (
                    W - lr * (beta * v + (1 - beta) * dW),
                    beta * v + (1 - beta) * dW,
                ),
            ),
            Pitfall(
                name="lr_in_velocity",
                message=(
                    "This is the other common convention, v ← β v − η ∂L/∂W and "
                    "W ← W + v, whose v is −η times this book's: here v is the "
                    "running sum of gradients, v ← β v + ∂L/∂W, and "
                    "W ← W − η v."
                ),
                equation=EQ_MOMENTUM,
                wrong=_momentum_lr_in_velocity,
            ),
            Pitfall(
                name="sign_flipped",
                message=(
                    "The step goes uphill: W ← W − η v subtracts the velocity."
                ),
                equation=EQ_MOMENTUM,
                wrong=lambda W, dW, v, lr, beta: (
                    W + lr * (beta * v + dW),
                    beta * v + dW,
                ),
            ),
        ],
    )
)


# A learning rate that is too large ---------------------------------------------------

register(
    ShortAnswer(
        id="update.lr_too_large",
        chapter=5,
        title="A learning rate that is too large",
        prompt=(
            "Gradient descent on L(w) = ½ λ w² with λ = 4 starts from w₀ = 1 with "
            "η = 0.6. What does the loss do? A: it decreases at every step and w "
            "keeps its sign. B: it decreases at every step while w changes sign "
            "at every step. C: it grows at every step while w changes sign at "
            "every step. D: it stays the same while w changes sign at every step."
        ),
        answer="C",
        choices=["A", "B", "C", "D"],
        mistakes={
            "A": (
                "w keeps its sign only when η < 1/λ = 0.25, that is when "
                "1 − ηλ > 0. Here 1 − ηλ = 1 − 2.4 = −1.4, see equation "
                f"({EQ_QUADRATIC})."
            ),
            "B": (
                "the loss decreases only when |1 − ηλ| < 1, that is when "
                "η < 2/λ = 0.5. Here |1 − ηλ| = 1.4, see equation "
                f"({EQ_QUADRATIC})."
            ),
            "D": (
                "the loss stays the same only at η = 2/λ = 0.5, where "
                "1 − ηλ = −1. Here 1 − ηλ = −1.4, see equation "
                f"({EQ_QUADRATIC})."
            ),
        },
    )
)
