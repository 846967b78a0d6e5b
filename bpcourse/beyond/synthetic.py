r"""Synthetic gradients: the first layer learns from a prediction of its gradient.

Backpropagation makes layer 1 wait for the whole forward and backward pass
before it can update. A decoupled neural interface removes the wait: a small
model predicts the gradient ∂L/∂a¹ from the activations a¹ alone, and layer 1
updates with that prediction as soon as a¹ is computed. Here the predictor is
linear, one prediction per example (column),

.. math::

    \hat g_n = M a^1_n + B y_n + c \approx N \frac{\partial L}{\partial a^1_n}
    = \frac{\partial \ell_n}{\partial a^1_n},

where y_n is example n's one-hot label. Without the term B y_n (B = 0, set
by ``conditioned=False``) the predictor sees a¹ only and cannot tell in which
direction the loss of this example falls.

so that ∂L/∂a¹ ≈ ĝ / N for a batch of N, and the layer's update uses
δ¹ = (ĝ / N) ⊙ σ′(z¹). When the true gradient arrives from the layers above,
(W²)ᵀ δ², the predictor takes one gradient step on the regression loss
(1/2N) Σ_n ‖ĝ_n − N ∂L/∂a¹_n‖². M, B and c start at zero, so the first
updates of layer 1 are zero.

The layers above layer 1 train by ordinary backpropagation. This simulation
runs everything in one process, one step after another. It shows the quality
of the predicted gradients, not the wall-clock gain of running the layers on
separate devices.
"""

import numpy as np

from bpcourse.beyond.vectors import cosine_similarity
from bpcourse.data import minibatches
from bpcourse.network import Network

#: The methods ``train_decoupled`` compares. ``"frozen"`` never updates layer 1,
#: the floor that a useless synthetic gradient would reach.
METHODS = ("backprop", "synthetic", "frozen")


def predict_gradient(M, B, c, a1, Y):
    """Return the predicted ∂L/∂a¹ = (M a¹ + B Y + c) / N for a batch.

    Y contains one-hot labels as columns, shape (K, N).
    """
    return (M @ a1 + B @ Y + c) / a1.shape[1]


def predictor_gradients(M, B, c, a1, Y, true_gradient):
    """Return the gradients of the predictor's regression loss with respect to M, B and c.

    The loss is (1/2N) Σ_n ‖M a¹_n + B y_n + c − N ∂L/∂a¹_n‖².

    Returns
    -------
    dM : ndarray, shape (d_1, d_1)
    dB : ndarray, shape (d_1, K)
    dc : ndarray, shape (d_1, 1)
    loss : float
    """
    N = a1.shape[1]
    residual = M @ a1 + B @ Y + c - N * true_gradient
    loss = 0.5 * float(np.sum(residual * residual)) / N
    return (
        residual @ a1.T / N,
        residual @ Y.T / N,
        np.mean(residual, axis=1, keepdims=True),
        loss,
    )


def train_decoupled(method, X, y, X_test, y_test, hidden=32, epochs=10,
                    batch_size=32, lr=0.1, synthetic_lr=0.3, seed=0,
                    activation="tanh", conditioned=True):
    """Train ``Network([d_0, hidden, K])`` with layer 1 updated by ``method``.

    Parameters
    ----------
    method : {"backprop", "synthetic", "frozen"}
        How layer 1 gets its gradient: the true one, the linear predictor's, or
        none at all.
    X, y : ndarray
        Training inputs (d_0, N) and integer labels (N,).
    X_test, y_test : ndarray
        Evaluated after every epoch.
    hidden, epochs, batch_size, lr, seed, activation
        The network, its SGD and the shuffling, the same for every method, so
        the runs start from the same weights and see the same minibatches.
    synthetic_lr : float
        Learning rate of the predictor's SGD. Its inputs a¹ are bounded for
        tanh. With ReLU activations the regression's curvature grows with a¹
        and this rate can make the predictor diverge.
    conditioned : bool
        Whether the predictor sees the labels (the term B y_n); with False,
        B stays zero.

    Returns
    -------
    dict
        ``step_loss``: the loss of every minibatch before its update.
        ``cosine``: per step, the cosine similarity between the predicted and
        the true ∂L/∂a¹ over the whole minibatch (zero while the prediction is
        zero; for every method, the prediction of a predictor trained alongside).
        ``cosine_dW1``: the same for the resulting ∂L/∂W¹.
        ``predictor_loss``: per step, the regression loss of the predictor.
        ``test_accuracy``: after every epoch, epoch 0 first.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    K = int(np.max(y)) + 1
    net = Network([X.shape[0], hidden, K], activation=activation, seed=seed)
    M = np.zeros((hidden, hidden))
    B = np.zeros((hidden, K))
    c = np.zeros((hidden, 1))
    rng = np.random.default_rng(seed)
    history = {
        "method": method,
        "step_loss": [],
        "cosine": [],
        "cosine_dW1": [],
        "predictor_loss": [],
        "test_accuracy": [net.accuracy(X_test, y_test)],
    }
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
            _, cache = net.forward(X_batch)
            grads = net.backward(cache, y_batch)
            a1, z1 = cache.a[1], cache.z[0]
            sigma_prime = net.activations[0].derivative(z1)
            true_gradient = net.weights[1].T @ grads.delta[1]
            Y_batch = np.eye(K)[:, y_batch]
            predicted = predict_gradient(M, B, c, a1, Y_batch)
            synthetic_dW1 = (predicted * sigma_prime) @ X_batch.T

            history["step_loss"].append(grads.loss)
            history["cosine"].append(cosine_similarity([predicted], [true_gradient]))
            history["cosine_dW1"].append(
                cosine_similarity([synthetic_dW1], [grads.dW[0]])
            )
            if method == "synthetic":
                delta1 = predicted * sigma_prime
                grads.dW[0] = synthetic_dW1
                grads.db[0] = np.sum(delta1, axis=1, keepdims=True)
            elif method == "frozen":
                grads.dW[0] = np.zeros_like(grads.dW[0])
                grads.db[0] = np.zeros_like(grads.db[0])
            net.update(grads, lr)

            dM, dB, dc, predictor_loss = predictor_gradients(
                M, B, c, a1, Y_batch, true_gradient
            )
            M = M - synthetic_lr * dM
            if conditioned:
                B = B - synthetic_lr * dB
            c = c - synthetic_lr * dc
            history["predictor_loss"].append(predictor_loss)
        history["test_accuracy"].append(net.accuracy(X_test, y_test))
    for key in ("step_loss", "cosine", "cosine_dW1", "predictor_loss", "test_accuracy"):
        history[key] = np.array(history[key])
    return history
