r"""Small models built from the blocks, each with a hand-written backward pass.

Every model keeps its parameters in an ordered dict ``params`` of named
arrays and offers

- ``forward(...)``, returning the logits and a cache,
- ``loss_and_gradients(...)``, returning the mean loss of a batch and one
  gradient per parameter, in the order of ``parameters()``,
- ``tensor_loss(tensors, ...)``, the same loss built from
  ``bpcourse.autodiff`` operations on tensors that wrap the parameters, so
  that ``loss.backward()`` can check the hand-written gradients.

``fit`` trains any of them with an optimizer of ``bpcourse.optim``.
"""

import numpy as np

from bpcourse.autodiff import Tensor, softmax_cross_entropy
from bpcourse.layers import attention, conv, graph_conv, norm
from bpcourse.losses import log_softmax


def _he(rng, shape, fan_in):
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)


def _cross_entropy(logits, labels):
    """Return the mean cross-entropy of logit columns (K, M) and δ = (ŷ − y)/M."""
    K, M = logits.shape
    log_probs = log_softmax(logits)
    loss = -np.mean(log_probs[labels, np.arange(M)])
    delta = np.exp(log_probs)
    delta[labels, np.arange(M)] -= 1.0
    return float(loss), delta / M


class Model:
    """Base class of the models: named parameters, their count and their tensors."""

    params: dict

    def parameters(self):
        """Return the live parameter arrays, in the order of the gradients."""
        return list(self.params.values())

    @property
    def num_parameters(self):
        """The number of trainable numbers."""
        return sum(p.size for p in self.params.values())

    def tensors(self):
        """Return one autodiff tensor per parameter, sharing its array."""
        return {name: Tensor(p, name=name) for name, p in self.params.items()}


# A small convolutional network -----------------------------------------------


def digits_as_images(X):
    """Turn digits columns of shape (64, N) into images of shape (1, 8, 8, N).

    Pixel p = 8 r + c of column n becomes entry [0, r, c, n]; no data is
    copied or reordered, because the examples stay the last axis.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] != 64:
        raise ValueError(f"X has shape {X.shape}: expected digits columns (64, N)")
    return X.reshape(1, 8, 8, X.shape[1])


class SmallCNN(Model):
    """conv 3×3 → ReLU → max-pool 2 → conv 3×3 → ReLU → max-pool 2 → dense.

    Both convolutions pad by 1, so an 8×8 image becomes F_1 maps of 8×8,
    then 4×4 after pooling, F_2 maps of 4×4, then 2×2, and the dense layer
    reads the 4 F_2 features of each example as a column.

    Parameters
    ----------
    channels : (int, int)
        F_1 and F_2, the kernels of each convolution.
    image_shape : (C, H, W)
    classes : int
    seed : int
    """

    def __init__(self, channels=(8, 16), image_shape=(1, 8, 8), classes=10, seed=0):
        rng = np.random.default_rng(seed)
        C, H, W = image_shape
        F1, F2 = channels
        if H % 4 or W % 4:
            raise ValueError(f"image_shape {image_shape}: H and W must be multiples of 4")
        self.image_shape = tuple(image_shape)
        features = F2 * (H // 4) * (W // 4)
        self.params = {
            "W1": _he(rng, (F1, C, 3, 3), C * 9),
            "b1": np.zeros((F1, 1)),
            "W2": _he(rng, (F2, F1, 3, 3), F1 * 9),
            "b2": np.zeros((F2, 1)),
            "W3": _he(rng, (classes, features), features) / np.sqrt(2.0),
            "b3": np.zeros((classes, 1)),
        }

    def forward(self, images):
        """Return the logits (classes, N) and the cache of every layer."""
        p = self.params
        z1, conv1 = conv.conv2d_forward(images, p["W1"], p["b1"], padding=1)
        a1 = np.maximum(z1, 0)
        m1, pool1 = conv.maxpool_forward(a1, 2)
        z2, conv2 = conv.conv2d_forward(m1, p["W2"], p["b2"], padding=1)
        a2 = np.maximum(z2, 0)
        m2, pool2 = conv.maxpool_forward(a2, 2)
        flat = m2.reshape(-1, m2.shape[-1])
        logits = p["W3"] @ flat + p["b3"]
        cache = {
            "images": images, "z1": z1, "conv1": conv1, "pool1": pool1, "m1": m1,
            "z2": z2, "conv2": conv2, "pool2": pool2, "m2": m2, "flat": flat,
        }
        return logits, cache

    def backward(self, delta, cache):
        """Return the gradients (in ``parameters()`` order) and ∂L/∂input of each conv.

        Parameters
        ----------
        delta : ndarray, shape (classes, N)
            ∂L/∂logits.

        Returns
        -------
        grads : list of ndarray
        inputs : dict
            ``"conv1"``: ∂L/∂images, ``"conv2"``: ∂L/∂(input of conv 2).
        """
        p = self.params
        dW3 = delta @ cache["flat"].T
        db3 = np.sum(delta, axis=1, keepdims=True)
        dm2 = (p["W3"].T @ delta).reshape(cache["m2"].shape)
        dz2 = conv.maxpool_backward(dm2, cache["pool2"]) * (cache["z2"] > 0)
        dm1, dW2, db2 = conv.conv2d_backward(dz2, cache["conv2"])
        dz1 = conv.maxpool_backward(dm1, cache["pool1"]) * (cache["z1"] > 0)
        dimages, dW1, db1 = conv.conv2d_backward(dz1, cache["conv1"])
        grads = [dW1, db1, dW2, db2, dW3, db3]
        return grads, {"conv1": dimages, "conv2": dm1}

    def loss_and_gradients(self, images, y):
        """Return the mean cross-entropy of a batch and its gradients."""
        logits, cache = self.forward(images)
        loss, delta = _cross_entropy(logits, y)
        grads, _ = self.backward(delta, cache)
        return loss, grads

    def predict(self, images):
        """Return the predicted class of every example, shape (N,)."""
        return np.argmax(self.forward(images)[0], axis=0)

    def accuracy(self, images, y):
        """Return the fraction of examples classified correctly."""
        return float(np.mean(self.predict(images) == y))

    def tensor_loss(self, t, images, y):
        """Return the loss from autodiff operations on the tensors ``t``."""
        z1 = conv.conv2d_tensor(images, t["W1"], t["b1"], padding=1)
        m1 = conv.maxpool_tensor(z1.relu(), 2)
        z2 = conv.conv2d_tensor(m1, t["W2"], t["b2"], padding=1)
        m2 = conv.maxpool_tensor(z2.relu(), 2)
        logits = t["W3"] @ m2.reshape(-1, images.shape[-1]) + t["b3"]
        return softmax_cross_entropy(logits, y)


# A one-layer Transformer ------------------------------------------------------


class TinyTransformer(Model):
    """Token and position embeddings, one pre-norm block, a final norm, logits.

    For a stack of token sequences, with every array of shape (N, d, T):

    .. math::

        x^0 = E[\\text{tokens}] + P, \\quad
        x^1 = x^0 + \\mathrm{MHA}(\\mathrm{LN}_1(x^0)), \\quad
        x^2 = x^1 + W_2\\,\\mathrm{ReLU}(W_1 \\mathrm{LN}_2(x^1) + b_1) + b_2,

    and logits W_U LN_f(x²) + b_U of shape (N, V, T). Multi-head attention
    is causal.

    Parameters
    ----------
    vocabulary : int
        V, the number of distinct tokens.
    length : int
        T, the sequence length (one learned position vector per position).
    d : int
        Features per token.
    heads : int
    d_ff : int
        Hidden width of the per-token MLP.
    seed : int
    """

    def __init__(self, vocabulary, length, d=32, heads=2, d_ff=64, seed=0):
        rng = np.random.default_rng(seed)
        self.heads = heads
        ones, zeros = np.ones((d, 1)), np.zeros((d, 1))
        self.params = {
            "E": rng.standard_normal((d, vocabulary)),
            "P": rng.standard_normal((d, length)),
            "gamma1": ones.copy(), "beta1": zeros.copy(),
            "W_Q": rng.standard_normal((d, d)) / np.sqrt(d),
            "W_K": rng.standard_normal((d, d)) / np.sqrt(d),
            "W_V": rng.standard_normal((d, d)) / np.sqrt(d),
            "W_O": rng.standard_normal((d, d)) / np.sqrt(d),
            "gamma2": ones.copy(), "beta2": zeros.copy(),
            "W1": _he(rng, (d_ff, d), d), "b1": np.zeros((d_ff, 1)),
            "W2": rng.standard_normal((d, d_ff)) / np.sqrt(d_ff),
            "b2": zeros.copy(),
            "gammaf": ones.copy(), "betaf": zeros.copy(),
            "W_U": rng.standard_normal((vocabulary, d)) / np.sqrt(d),
            "b_U": np.zeros((vocabulary, 1)),
        }

    def forward(self, tokens):
        """Return the logits (N, V, T) and the cache of every block."""
        p = self.params
        tokens = np.asarray(tokens)
        x0 = p["E"][:, tokens].transpose(1, 0, 2) + p["P"]
        h1, ln1 = norm.layer_norm_forward(x0, p["gamma1"], p["beta1"])
        mixed, sa = attention.self_attention_forward(
            h1, p["W_Q"], p["W_K"], p["W_V"], p["W_O"], self.heads, causal=True
        )
        x1 = x0 + mixed
        h2, ln2 = norm.layer_norm_forward(x1, p["gamma2"], p["beta2"])
        u = p["W1"] @ h2 + p["b1"]
        r = np.maximum(u, 0)
        x2 = x1 + p["W2"] @ r + p["b2"]
        h3, lnf = norm.layer_norm_forward(x2, p["gammaf"], p["betaf"])
        logits = p["W_U"] @ h3 + p["b_U"]
        cache = {"tokens": tokens, "ln1": ln1, "sa": sa, "ln2": ln2, "h2": h2,
                 "u": u, "r": r, "lnf": lnf, "h3": h3}
        return logits, cache

    def backward(self, dlogits, cache):
        """Return the gradients (in ``parameters()`` order) and the score gradient.

        Each residual connection x + f(x) passes its upstream gradient on
        unchanged and adds the VJP of f: ∂L/∂x = g + f's VJP of g.

        Returns
        -------
        grads : list of ndarray
        dS : ndarray, shape (N, heads, T, T)
            ∂L/∂S, the gradient of the attention scores.
        """
        p = self.params
        g = {}
        sum_outer = attention._sum_outer
        g["W_U"] = sum_outer(dlogits, cache["h3"])
        g["b_U"] = dlogits.sum(axis=(0, 2)).reshape(-1, 1)
        dx2, g["gammaf"], g["betaf"] = norm.layer_norm_backward(
            p["W_U"].T @ dlogits, cache["lnf"]
        )
        # x2 = x1 + MLP(LN2(x1)): the gradient reaches x1 on both paths.
        g["W2"] = sum_outer(dx2, cache["r"])
        g["b2"] = dx2.sum(axis=(0, 2)).reshape(-1, 1)
        du = (p["W2"].T @ dx2) * (cache["u"] > 0)
        g["W1"] = sum_outer(du, cache["h2"])
        g["b1"] = du.sum(axis=(0, 2)).reshape(-1, 1)
        dh2, g["gamma2"], g["beta2"] = norm.layer_norm_backward(
            p["W1"].T @ du, cache["ln2"]
        )
        dx1 = dx2 + dh2
        # x1 = x0 + MHA(LN1(x0)).
        dh1, sa = attention.self_attention_backward(dx1, cache["sa"])
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            g[name] = sa[name]
        dln1, g["gamma1"], g["beta1"] = norm.layer_norm_backward(dh1, cache["ln1"])
        dx0 = dx1 + dln1
        g["P"] = dx0.sum(axis=0)
        dE_rows = np.zeros(p["E"].shape[::-1])
        # Every occurrence of a token adds its column of ∂L/∂x⁰ to that
        # token's embedding; np.add.at sums repeated tokens.
        np.add.at(dE_rows, cache["tokens"], dx0.transpose(0, 2, 1))
        g["E"] = dE_rows.T
        return [g[name] for name in self.params], sa["S"]

    def _targets(self, targets):
        targets = np.asarray(targets)
        position = np.nonzero(targets >= 0)
        return position, targets[position]

    def loss_and_gradients(self, tokens, targets):
        """Return the mean cross-entropy over the positions with a target (≥ 0).

        Returns
        -------
        loss : float
        grads : list of ndarray
        """
        loss, grads, _ = self.loss_gradients_and_scores(tokens, targets)
        return loss, grads

    def loss_gradients_and_scores(self, tokens, targets):
        """Return the loss, the gradients and ∂L/∂S of the attention scores."""
        logits, cache = self.forward(tokens)
        (n, t), labels = self._targets(targets)
        loss, delta = _cross_entropy(logits[n, :, t].T, labels)
        dlogits = np.zeros_like(logits)
        dlogits[n, :, t] = delta.T
        grads, dS = self.backward(dlogits, cache)
        return loss, grads, dS

    def predict(self, tokens):
        """Return the most likely next token at every position, shape (N, T)."""
        return np.argmax(self.forward(tokens)[0], axis=1)

    def accuracy(self, tokens, targets):
        """Return the fraction of target positions predicted correctly."""
        (n, t), labels = self._targets(targets)
        return float(np.mean(self.predict(tokens)[n, t] == labels))

    def tensor_loss(self, t, tokens, targets):
        """Return the loss from autodiff operations on the tensors ``t``."""
        tokens = np.asarray(tokens)
        x0 = t["E"][:, tokens].transpose(1, 0, 2) + t["P"]
        h1 = norm.layer_norm_tensor(x0, t["gamma1"], t["beta1"])
        x1 = x0 + attention.self_attention_tensor(
            h1, t["W_Q"], t["W_K"], t["W_V"], t["W_O"], self.heads, causal=True
        )
        h2 = norm.layer_norm_tensor(x1, t["gamma2"], t["beta2"])
        x2 = x1 + t["W2"] @ (t["W1"] @ h2 + t["b1"]).relu() + t["b2"]
        h3 = norm.layer_norm_tensor(x2, t["gammaf"], t["betaf"])
        logits = t["W_U"] @ h3 + t["b_U"]
        (n, pos), labels = self._targets(targets)
        columns = logits.transpose(1, 0, 2)[:, n, pos]
        return softmax_cross_entropy(columns, labels)


# A two-layer graph convolutional network ---------------------------------------


class GCN(Model):
    """Two graph convolutions, ReLU between them, softmax over the classes.

    Z¹ = W¹ X Â + b¹, H¹ = ReLU(Z¹), Z² = W² H¹ Â + b²; the loss is the mean
    cross-entropy over the labelled nodes only, but every node's features
    take part through Â.
    """

    def __init__(self, features, hidden=16, classes=3, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": _he(rng, (hidden, features), features),
            "b1": np.zeros((hidden, 1)),
            "W2": rng.standard_normal((classes, hidden)) / np.sqrt(hidden),
            "b2": np.zeros((classes, 1)),
        }

    def forward(self, X, A_hat):
        """Return the logits of every node (classes, n) and the cache."""
        p = self.params
        z1, layer1 = graph_conv.gcn_forward(X, p["W1"], p["b1"], A_hat)
        h1 = np.maximum(z1, 0)
        z2, layer2 = graph_conv.gcn_forward(h1, p["W2"], p["b2"], A_hat)
        return z2, {"z1": z1, "layer1": layer1, "layer2": layer2}

    def backward(self, delta, cache):
        """Return the gradients and ∂L/∂(input) of each layer, from ∂L/∂Z²."""
        dh1, dW2, db2 = graph_conv.gcn_backward(delta, cache["layer2"])
        dz1 = dh1 * (cache["z1"] > 0)
        dX, dW1, db1 = graph_conv.gcn_backward(dz1, cache["layer1"])
        return [dW1, db1, dW2, db2], {"layer1": dX, "layer2": dh1}

    def loss_and_gradients(self, X, A_hat, y, nodes):
        """Return the mean cross-entropy over ``nodes`` and the gradients."""
        logits, cache = self.forward(X, A_hat)
        loss, delta_nodes = _cross_entropy(logits[:, nodes], y[nodes])
        delta = np.zeros_like(logits)
        delta[:, nodes] = delta_nodes
        grads, _ = self.backward(delta, cache)
        return loss, grads

    def accuracy(self, X, A_hat, y, nodes):
        """Return the fraction of ``nodes`` classified correctly."""
        predicted = np.argmax(self.forward(X, A_hat)[0], axis=0)
        return float(np.mean(predicted[nodes] == y[nodes]))

    def tensor_loss(self, t, X, A_hat, y, nodes):
        """Return the loss from autodiff operations on the tensors ``t``."""
        h1 = graph_conv.gcn_tensor(X, t["W1"], t["b1"], A_hat).relu()
        logits = graph_conv.gcn_tensor(h1, t["W2"], t["b2"], A_hat)
        return softmax_cross_entropy(logits[:, nodes], y[nodes])


# Training ------------------------------------------------------------------------


def fit(model, batch, optimizer, steps, evaluate=None, every=None):
    """Train by repeating: draw a batch, compute the gradients, update in place.

    Parameters
    ----------
    model : object
        With ``parameters()`` and ``loss_and_gradients(*arguments)``.
    batch : callable
        ``batch(step)`` returns the tuple of arguments of
        ``loss_and_gradients`` for step 0, 1, …
    optimizer : bpcourse.optim.Optimizer
    steps : int
    evaluate : callable, optional
        ``evaluate(model)`` returns a number (an accuracy, say), recorded
        every ``every`` steps and after the last.
    every : int, optional

    Returns
    -------
    dict
        ``loss``: the loss of every step, before its update. ``eval_step``
        and ``eval``: the steps evaluated and their results.
    """
    losses, eval_steps, evals = [], [], []
    for step in range(steps):
        loss, grads = model.loss_and_gradients(*batch(step))
        optimizer.step(model.parameters(), grads)
        losses.append(loss)
        done = step + 1
        if evaluate is not None and (done == steps or (every and done % every == 0)):
            eval_steps.append(done)
            evals.append(evaluate(model))
    return {"loss": np.array(losses), "eval_step": np.array(eval_steps),
            "eval": np.array(evals)}
