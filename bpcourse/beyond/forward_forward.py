r"""The forward-forward algorithm: every layer trains on a local objective.

Each layer ℓ computes h^ℓ = ReLU(W^ℓ x̂^{ℓ−1} + b^ℓ) from the normalized
output of the layer below, x̂ = x √d / ‖x‖ per example (column), which has a
root mean square of 1, and scores an example by its goodness, the mean
square of its activations,

.. math::

    G^\ell_n = \frac{1}{d_\ell} \sum_i (h^\ell_{i,n})^2 .

The input x⁰ of an example is its image stacked on a one-hot label. A
*positive* example has the true label and a *negative* one the same image with
a wrong label drawn at random. Every layer lowers its own loss

.. math::

    L^\ell = \frac1N \sum_n \Big[\log\big(1 + e^{\,\vartheta - G^\ell_n(\text{pos})}\big)
        + \log\big(1 + e^{\,G^\ell_n(\text{neg}) - \vartheta}\big)\Big],

which pushes the goodness of positives above the threshold ϑ and that of
negatives below it. Its gradient with respect to the layer's parameters needs
only the layer's own input and output: with ∂G/∂z = 2 h / d_ℓ (ReLU passes
z > 0 unchanged), δ^ℓ = (∂L^ℓ/∂G) · 2 h^ℓ / d_ℓ, ∂L^ℓ/∂W^ℓ = δ^ℓ (x̂^{ℓ−1})ᵀ
for positives plus negatives. Nothing is sent back down, so layer ℓ can update
as soon as its own forward pass is done. The normalization hides the
goodness of the layer below from layer ℓ, which must find its own features.

A trained network classifies an image by trying every label: the label whose
input has the largest goodness summed over the layers wins. That takes one
forward pass per class.
"""

import numpy as np

from bpcourse.activations import sigmoid
from bpcourse.data import minibatches

#: ϑ, the goodness threshold between positive and negative examples.
DEFAULT_THRESHOLD = 2.0

#: The value of the label entry of the input. The pixels of a standardized
#: image have a root mean square below 1, so a label entry of 2 is larger
#: than a typical pixel.
DEFAULT_LABEL_SCALE = 2.0

#: Added to ‖x‖ before dividing, so an all-zero column stays zero.
NORM_EPS = 1e-8


def embed_labels(X, labels, num_classes, scale=1.0):
    """Return the inputs [X; scale · one-hot labels], shape (d_0 + K, N)."""
    onehot = np.zeros((num_classes, X.shape[1]))
    onehot[labels, np.arange(X.shape[1])] = scale
    return np.vstack([X, onehot])


def normalize(x):
    """Return every column divided by its root mean square, ‖x‖ / √d."""
    rms = np.linalg.norm(x, axis=0, keepdims=True) / np.sqrt(x.shape[0])
    return x / (rms + NORM_EPS)


def goodness(h):
    """Return the mean square of each column, shape (N,)."""
    return np.mean(h * h, axis=0)


def softplus(x):
    """Return log(1 + eˣ), computed without overflow."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def layer_loss_and_gradients(W, b, x_pos, x_neg, threshold=DEFAULT_THRESHOLD):
    """Return the local loss L^ℓ of one layer, its gradients and its outputs.

    Parameters
    ----------
    W : ndarray, shape (d_ℓ, d_{ℓ−1})
    b : ndarray, shape (d_ℓ, 1)
    x_pos, x_neg : ndarray, shape (d_{ℓ−1}, N)
        The normalized inputs of the positive and negative examples.

    Returns
    -------
    loss : float
    dW, db : ndarray
    h_pos, h_neg : ndarray, shape (d_ℓ, N)
    """
    N = x_pos.shape[1]
    d = W.shape[0]
    h_pos = np.maximum(W @ x_pos + b, 0)
    h_neg = np.maximum(W @ x_neg + b, 0)
    margin_pos = threshold - goodness(h_pos)
    margin_neg = goodness(h_neg) - threshold
    loss = float(np.sum(softplus(margin_pos) + softplus(margin_neg)) / N)
    # ∂L/∂G for each example, then δ = ∂L/∂G · 2h/d.
    dG_pos = -sigmoid(margin_pos) / N
    dG_neg = sigmoid(margin_neg) / N
    delta_pos = dG_pos * 2 * h_pos / d
    delta_neg = dG_neg * 2 * h_neg / d
    dW = delta_pos @ x_pos.T + delta_neg @ x_neg.T
    db = np.sum(delta_pos + delta_neg, axis=1, keepdims=True)
    return loss, dW, db, h_pos, h_neg


class ForwardForwardNetwork:
    """A stack of ReLU layers trained layer by layer with the forward-forward losses.

    Parameters
    ----------
    sizes : sequence of int
        ``[d_0, d_1, …]``, where d_0 counts the pixels only; the K label units
        are added to the first layer's inputs.
    num_classes : int
        K.
    seed : int
        Seed of the weights, drawn from N(0, 2 / fan_in) (He).
    threshold : float
        ϑ.
    label_scale : float
        The value of the label's one-hot entry, so that the label is not
        drowned by d_0 pixels once the input is normalized.
    """

    def __init__(self, sizes, num_classes, seed=0, threshold=DEFAULT_THRESHOLD,
                 label_scale=DEFAULT_LABEL_SCALE):
        self.sizes = [int(s) for s in sizes]
        self.num_classes = int(num_classes)
        self.threshold = float(threshold)
        self.label_scale = float(label_scale)
        rng = np.random.default_rng(seed)
        fan_ins = [self.sizes[0] + self.num_classes, *self.sizes[1:-1]]
        self.weights = [
            rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)
            for fan_in, fan_out in zip(fan_ins, self.sizes[1:])
        ]
        self.biases = [np.zeros((fan_out, 1)) for fan_out in self.sizes[1:]]

    @property
    def num_layers(self):
        """L, the number of trained layers."""
        return len(self.weights)

    def parameters(self):
        """Return ``[W1, b1, W2, b2, …]``, the live arrays."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def layer_outputs(self, X, labels):
        """Return h^ℓ for every layer, for the images X shown with ``labels``."""
        x = embed_labels(X, labels, self.num_classes, self.label_scale)
        outputs = []
        for W, b in zip(self.weights, self.biases):
            h = np.maximum(W @ normalize(x) + b, 0)
            outputs.append(h)
            x = h
        return outputs

    def draw_wrong_labels(self, labels, rng):
        """Return a label different from each of ``labels``, uniformly at random."""
        K = self.num_classes
        return (labels + rng.integers(1, K, size=np.shape(labels))) % K

    def local_gradients(self, X, labels, wrong_labels, optimizers=None):
        """Return every layer's local loss and gradients ``[dW1, db1, dW2, …]``.

        Each layer's gradient uses its own input and output only. With
        ``optimizers``, one per layer, each layer is also updated as soon as
        its gradient is known, and the layer above receives the outputs
        computed before that update.

        Returns
        -------
        losses : list of float
        gradients : list of ndarray
        """
        K = self.num_classes
        x_pos = embed_labels(X, labels, K, self.label_scale)
        x_neg = embed_labels(X, wrong_labels, K, self.label_scale)
        losses, gradients = [], []
        for l in range(self.num_layers):
            W, b = self.weights[l], self.biases[l]
            loss, dW, db, h_pos, h_neg = layer_loss_and_gradients(
                W, b, normalize(x_pos), normalize(x_neg), self.threshold
            )
            if optimizers is not None:
                optimizers[l].step([W, b], [dW, db])
            losses.append(loss)
            gradients.extend([dW, db])
            x_pos, x_neg = h_pos, h_neg
        return losses, gradients

    def train_step(self, X, labels, rng, optimizers):
        """Update every layer on one minibatch from its local loss; return the losses.

        Parameters
        ----------
        rng : numpy Generator
            Draws the wrong label of each negative example.
        optimizers : list
            One ``bpcourse.optim`` optimizer per layer.
        """
        wrong = self.draw_wrong_labels(labels, rng)
        losses, _ = self.local_gradients(X, labels, wrong, optimizers)
        return losses

    def label_goodness(self, X):
        """Return the goodness summed over layers for every label, shape (K, N)."""
        N = X.shape[1]
        scores = np.zeros((self.num_classes, N))
        for k in range(self.num_classes):
            labels = np.full(N, k)
            scores[k] = sum(goodness(h) for h in self.layer_outputs(X, labels))
        return scores

    def predict(self, X):
        """Return the label with the largest summed goodness, shape (N,)."""
        return np.argmax(self.label_goodness(X), axis=0)

    def accuracy(self, X, y):
        """Return the fraction of examples whose predicted label is y."""
        return float(np.mean(self.predict(X) == y))


def train_forward_forward(net, X, y, make_optimizer, epochs=5, batch_size=32,
                          seed=0, X_test=None, y_test=None):
    """Train a ``ForwardForwardNetwork`` in place; return its losses and accuracies.

    Parameters
    ----------
    make_optimizer : callable
        ``make_optimizer() -> optimizer``, called once per layer.
    seed : int
        Seed of the shuffling; the wrong labels come from a generator seeded
        with ``seed + 1``.

    Returns
    -------
    dict
        ``layer_loss`` of shape (steps, L), and ``test_accuracy`` after every
        epoch (epoch 0 first) when test data are given.
    """
    shuffle_rng = np.random.default_rng(seed)
    label_rng = np.random.default_rng(seed + 1)
    optimizers = [make_optimizer() for _ in range(net.num_layers)]
    history = {"layer_loss": [], "test_accuracy": []}
    if X_test is not None:
        history["test_accuracy"].append(net.accuracy(X_test, y_test))
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=shuffle_rng):
            history["layer_loss"].append(
                net.train_step(X_batch, y_batch, label_rng, optimizers)
            )
        if X_test is not None:
            history["test_accuracy"].append(net.accuracy(X_test, y_test))
    return {key: np.array(value) for key, value in history.items()}
