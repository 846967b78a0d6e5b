"""A second, independent implementation of the MLP's gradients, for the tests.

It works one example at a time with scalar loops and math functions, sharing no
code with ``bpcourse.network`` except the parameters it reads.
"""

import math

import numpy as np


def _sigma(name, z):
    if name == "sigmoid":
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    if name == "leaky_relu":
        return z if z > 0 else 0.01 * z
    if name == "identity":
        return z
    raise KeyError(name)


def _sigma_prime(name, z):
    if name == "sigmoid":
        s = _sigma("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - math.tanh(z) ** 2
    if name == "relu":
        return 1.0 if z > 0 else 0.0
    if name == "leaky_relu":
        return 1.0 if z > 0 else 0.01
    if name == "identity":
        return 1.0
    raise KeyError(name)


def loop_gradients(net, X, T):
    """Return (loss, dW, db) of the batch mean, computed example by example.

    T is the target matrix of shape (K, N) (one-hot for classification).
    """
    L = net.num_layers
    names = [act.name for act in net.activations]
    W = [w.astype(float).tolist() for w in net.weights]
    b = [v[:, 0].astype(float).tolist() for v in net.biases]
    N = X.shape[1]
    total = 0.0
    dW = [np.zeros(w.shape) for w in net.weights]
    db = [np.zeros(v.shape) for v in net.biases]
    for n in range(N):
        a = [list(map(float, X[:, n]))]
        zs = []
        for l in range(L):
            z = [
                sum(W[l][i][j] * a[l][j] for j in range(len(a[l]))) + b[l][i]
                for i in range(len(W[l]))
            ]
            zs.append(z)
            if l == L - 1 and names[l] == "softmax":
                top = max(z)
                exps = [math.exp(v - top) for v in z]
                a.append([e / sum(exps) for e in exps])
            else:
                a.append([_sigma(names[l], v) for v in z])
        y_hat, t, zL = a[L], list(map(float, T[:, n])), zs[L - 1]
        K = len(y_hat)
        if net.loss_name == "cross_entropy":
            top = max(zL)
            lse = top + math.log(sum(math.exp(v - top) for v in zL))
            total += -sum(t[k] * (zL[k] - lse) for k in range(K))
            delta = [y_hat[k] - t[k] for k in range(K)]
        elif net.loss_name == "binary_cross_entropy":
            for k in range(K):
                z = zL[k]
                total += max(z, 0) - t[k] * z + math.log1p(math.exp(-abs(z)))
            delta = [y_hat[k] - t[k] for k in range(K)]
        else:
            total += 0.5 * sum((y_hat[k] - t[k]) ** 2 for k in range(K))
            if names[-1] == "softmax":
                error = [y_hat[k] - t[k] for k in range(K)]
                dot = sum(error[k] * y_hat[k] for k in range(K))
                delta = [y_hat[i] * (error[i] - dot) for i in range(K)]
            else:
                delta = [
                    (y_hat[k] - t[k]) * _sigma_prime(names[-1], zL[k]) for k in range(K)
                ]
        for l in range(L - 1, -1, -1):
            for i in range(len(delta)):
                db[l][i, 0] += delta[i] / N
                for j in range(len(a[l])):
                    dW[l][i, j] += delta[i] * a[l][j] / N
            if l > 0:
                delta = [
                    sum(W[l][i][j] * delta[i] for i in range(len(delta)))
                    * _sigma_prime(names[l - 1], zs[l - 1][j])
                    for j in range(len(a[l]))
                ]
    return total / N, dW, db


def central_difference(f, array, h=1e-6):
    """Estimate ∂f/∂array entry by entry with (f(x + h) − f(x − h)) / 2h, in place."""
    grad = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        up = f()
        array[index] = saved - h
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * h)
    return grad
