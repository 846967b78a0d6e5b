r"""The multilayer perceptron of the course's equations.

With examples as columns, a batch X of shape (d_0, N) flows through

.. math::

    a^0 = X, \quad z^\ell = W^\ell a^{\ell-1} + b^\ell, \quad
    a^\ell = \sigma(z^\ell), \quad \hat y = f_{out}(z^L),

and the backward pass is the δ-recursion

.. math::

    \delta^L = \partial L / \partial z^L, \quad
    \delta^\ell = (W^{\ell+1})^\top \delta^{\ell+1} \odot \sigma'(z^\ell), \quad
    \partial L / \partial W^\ell = \delta^\ell (a^{\ell-1})^\top, \quad
    \partial L / \partial b^\ell = \textstyle\sum_n \delta^\ell_{:,n}.

Python lists are indexed from 0, so ``weights[l]`` is W^{l+1} and ``cache.z[l]``
is z^{l+1}. The loss is the mean over the batch, so δᴸ already carries the 1/N
and the sums above give the gradient of that mean.
"""

from dataclasses import dataclass, field

import numpy as np

from bpcourse._validate import as_array, as_float_dtype, check_finite
from bpcourse.activations import get_activation
from bpcourse.init import get_initializer
from bpcourse.losses import DEFAULT_OUTPUT, get_loss, targets_as_columns


class TrainingDivergedError(FloatingPointError):
    """Raised by ``Network.fit`` when the loss becomes nan or inf."""


@dataclass
class Cache:
    """The forward values the backward pass reuses.

    Attributes
    ----------
    z : list of ndarray
        ``z[l]`` is z^{l+1}, shape (d_{l+1}, N).
    a : list of ndarray
        ``a[0]`` is X and ``a[l + 1]`` is σ(z^{l+1}); ``a[-1]`` is the output ŷ.
    """

    z: list
    a: list


@dataclass
class Gradients:
    """∂L/∂W, ∂L/∂b and δ for every layer, from one forward and one backward pass.

    Attributes
    ----------
    dW, db, delta : list of ndarray
        ``dW[l]`` has the shape of ``weights[l]``, ``db[l]`` that of ``biases[l]``
        and ``delta[l]`` is δ^{l+1}, shape (d_{l+1}, N).
    loss : float
        The mean loss of the batch.
    """

    dW: list
    db: list
    delta: list
    loss: float

    def as_list(self):
        """Return ``[dW1, db1, dW2, db2, …]``, the order of ``Network.parameters()``."""
        return [g for pair in zip(self.dW, self.db) for g in pair]


@dataclass
class History:
    """What ``Network.fit`` recorded, one entry per epoch unless said otherwise."""

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)  # one entry per minibatch


class Network:
    """A fully connected network trained by backpropagation.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[d_0, d_1, …, d_L]``, for example ``[64, 32, 10]``.
    activation : str or sequence of str
        The hidden layers' activation, one name for all or one per hidden layer.
    output : str, optional
        The output activation f_out; by default the one the loss is fused with
        (softmax for cross-entropy, sigmoid for binary cross-entropy, identity
        for mean squared error).
    loss : {"cross_entropy", "binary_cross_entropy", "mse"}
    init : str or callable
        ``"auto"`` (He for ReLU-family layers, Xavier otherwise) or a name from
        ``bpcourse.init.INITIALIZERS``.
    seed : int
        Seed of the weights' random generator.
    dtype : np.float64 or np.float32
        Every parameter, activation and gradient is of this dtype.
    """

    def __init__(
        self,
        sizes,
        activation="relu",
        output=None,
        loss="cross_entropy",
        init="auto",
        seed=0,
        dtype=np.float64,
    ):
        self.sizes = _check_sizes(sizes)
        self.dtype = as_float_dtype(dtype)
        self._loss = get_loss(loss)
        self.activations = _layer_activations(
            activation, output, self._loss, self.sizes
        )
        rng = np.random.default_rng(seed)
        self.weights = []
        self.biases = []
        for l in range(self.num_layers):
            fan_in, fan_out = self.sizes[l], self.sizes[l + 1]
            initializer = get_initializer(init, self.activations[l].name)
            W = initializer(fan_out, fan_in, rng, self.dtype)
            self.weights.append(np.ascontiguousarray(W, dtype=self.dtype))
            self.biases.append(np.zeros((fan_out, 1), dtype=self.dtype))

    @property
    def num_layers(self):
        """L, the number of layers with weights."""
        return len(self.sizes) - 1

    @property
    def loss_name(self):
        """The loss's name."""
        return self._loss.name

    @property
    def output(self):
        """The output activation's name."""
        return self.activations[-1].name

    def __repr__(self):
        hidden = [act.name for act in self.activations[:-1]]
        return (
            f"Network(sizes={self.sizes}, activation={hidden}, "
            f"output={self.output!r}, loss={self.loss_name!r}, "
            f"dtype={self.dtype.name})"
        )

    def parameters(self):
        """Return the live parameter arrays ``[W1, b1, W2, b2, …]``."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def parameter_names(self):
        """Return the names of ``parameters()``, in its order: ``["W1", "b1", "W2", …]``."""
        return [f"{kind}{l}" for l in range(1, len(self.weights) + 1) for kind in "Wb"]

    def copy(self):
        """Return an independent copy with the same parameters."""
        return self.astype(self.dtype)

    def astype(self, dtype):
        """Return an independent copy whose parameters are of ``dtype``.

        The copy has the class of ``self``. Attributes that a subclass adds are
        carried over as they are (not copied); a subclass whose attributes hold
        parameters converts them in its own ``astype``.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.sizes = list(self.sizes)
        clone.dtype = as_float_dtype(dtype)
        clone._loss = self._loss
        clone.activations = list(self.activations)
        clone.weights = [W.astype(clone.dtype) for W in self.weights]
        clone.biases = [b.astype(clone.dtype) for b in self.biases]
        return clone

    # The forward pass ---------------------------------------------------------

    def forward(self, X):
        """Run the forward pass, keeping every z^ℓ and a^ℓ.

        Parameters
        ----------
        X : ndarray, shape (d_0, N)
            One example per column; a vector of shape (d_0,) is one example.

        Returns
        -------
        output : ndarray, shape (d_L, N)
            ŷ = f_out(z^L).
        cache : Cache
        """
        a = self._check_inputs(X)
        cache = Cache(z=[], a=[a])
        for W, b, activation in zip(self.weights, self.biases, self.activations):
            z = W @ a + b
            a = activation(z)
            cache.z.append(z)
            cache.a.append(a)
        return a, cache

    def loss(self, X, Y):
        """Return the mean loss over the batch, a Python float.

        Y is integer labels of shape (N,) or target columns of shape (d_L, N).
        """
        output, cache = self.forward(X)
        loss, _ = self._loss_and_output_error(cache, Y)
        return loss

    # The backward pass --------------------------------------------------------

    def gradients(self, X, Y):
        """Compute ∂L/∂W, ∂L/∂b and every δ by the δ-recursion.

        One forward pass, then ``backward`` on its cache.

        Returns
        -------
        Gradients
        """
        _, cache = self.forward(X)
        return self.backward(cache, Y)

    def backward(self, cache, Y):
        """Run the δ-recursion on the values a forward pass cached.

        Parameters
        ----------
        cache : Cache
            From ``forward`` on the same network (its arrays are only read).
        Y : ndarray, shape (N,) or (d_L, N)

        Returns
        -------
        Gradients
        """
        L = self.num_layers
        loss, delta = self._loss_and_output_error(cache, Y)
        deltas = [None] * L
        dW = [None] * L
        db = [None] * L
        deltas[L - 1] = delta
        for l in range(L - 1, -1, -1):
            dW[l] = deltas[l] @ cache.a[l].T
            db[l] = np.sum(deltas[l], axis=1, keepdims=True)
            if l > 0:
                sigma_prime = self.activations[l - 1].derivative(cache.z[l - 1])
                deltas[l - 1] = (self.weights[l].T @ deltas[l]) * sigma_prime
        return Gradients(dW=dW, db=db, delta=deltas, loss=loss)

    def _loss_and_output_error(self, cache, Y):
        zL, aL = cache.z[-1], cache.a[-1]
        K, N = zL.shape
        targets = targets_as_columns(Y, K, N, self.dtype, self.loss_name)
        if self.loss_name == "binary_cross_entropy":
            if np.any((targets < 0) | (targets > 1)):
                raise ValueError(
                    "binary cross-entropy needs targets in [0, 1]; Y has values "
                    f"from {targets.min()} to {targets.max()}"
                )
        check_finite(targets, "Y")
        return self._loss.value_and_delta(zL, aL, targets, self.activations[-1])

    # The update and training --------------------------------------------------

    def update(self, grads, lr):
        """Take one gradient-descent step in place: W ← W − lr ∂L/∂W, b likewise.

        Parameters
        ----------
        grads : Gradients
        lr : float
            The learning rate, > 0.
        """
        lr = _check_learning_rate(lr)
        if len(grads.dW) != self.num_layers or len(grads.db) != self.num_layers:
            raise ValueError(
                f"grads has {len(grads.dW)} layers but the network has "
                f"L = {self.num_layers}: compute them with this network"
            )
        for l in range(self.num_layers):
            for name, param, grad in (
                ("dW", self.weights[l], grads.dW[l]),
                ("db", self.biases[l], grads.db[l]),
            ):
                if grad.shape != param.shape:
                    raise ValueError(
                        f"grads.{name}[{l}] has shape {grad.shape} but the "
                        f"parameter has shape {param.shape}"
                    )
                param -= lr * grad

    def fit(
        self,
        X,
        Y,
        epochs=10,
        batch_size=32,
        lr=0.1,
        optimizer="sgd",
        seed=0,
        validation_data=None,
        progress=True,
    ):
        """Train by minibatch gradient descent: forward, backward, update.

        Parameters
        ----------
        X : ndarray, shape (d_0, N)
        Y : ndarray, shape (N,) or (d_L, N)
        epochs : int
            Passes over the training set.
        batch_size : int
            Examples per minibatch; the last one of an epoch may be smaller.
        lr : float
            Learning rate, used when ``optimizer`` is a name.
        optimizer : str or optimizer object
            ``"sgd"``, ``"momentum"`` or ``"adam"``, or an object with
            ``step(params, grads)`` from ``bpcourse.optim``.
        seed : int
            Seed of the shuffling of examples into minibatches.
        validation_data : tuple (X_val, Y_val), optional
            Evaluated after every epoch.
        progress : bool
            Show a progress bar on standard error.

        Returns
        -------
        History

        Raises
        ------
        TrainingDivergedError
            When the loss of a minibatch becomes nan or inf.
        """
        from bpcourse.data import minibatches
        from bpcourse.optim import make_optimizer

        X = self._check_inputs(X)
        epochs = _check_positive_int(epochs, "epochs")
        batch_size = _check_positive_int(batch_size, "batch_size")
        if isinstance(optimizer, str):
            optimizer = make_optimizer(optimizer, lr=_check_learning_rate(lr))
        rng = np.random.default_rng(seed)
        history = History()
        bar = _progress_bar(epochs, progress)
        params = self.parameters()
        for epoch in range(1, epochs + 1):
            batch_losses = []
            for step, (Xb, Yb) in enumerate(
                minibatches(X, Y, batch_size, rng=rng), start=1
            ):
                # Overflow is expected once training diverges; the check below
                # turns it into one clear error instead of a stream of warnings.
                with np.errstate(over="ignore", invalid="ignore"):
                    grads = self.gradients(Xb, Yb)
                if not np.isfinite(grads.loss):
                    # The optimizer's own rate: ``lr`` is unused when an
                    # optimizer object is passed.
                    rate = getattr(optimizer, "lr", lr)
                    raise TrainingDivergedError(
                        f"the loss became {grads.loss} at epoch {epoch}, step "
                        f"{step}: training diverged; try a smaller learning "
                        f"rate (lr={rate:g} now; try {rate / 10:g})"
                    )
                optimizer.step(params, grads.as_list())
                batch_losses.append(grads.loss)
            history.epoch.append(epoch)
            history.step_loss.extend(batch_losses)
            history.loss.append(float(np.mean(batch_losses)))
            history.accuracy.append(self._accuracy_or_nan(X, Y))
            if validation_data is not None:
                X_val, Y_val = validation_data
                history.val_loss.append(self.loss(X_val, Y_val))
                history.val_accuracy.append(self._accuracy_or_nan(X_val, Y_val))
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}", refresh=False)
            bar.update(1)
        bar.close()
        return history

    # Predictions --------------------------------------------------------------

    def predict(self, X):
        """Return predicted classes of shape (N,) for a classifier, else ŷ.

        Softmax outputs give the argmax class; a single sigmoid output gives 0 or
        1; several sigmoid outputs give a 0/1 array of shape (d_L, N).
        """
        output, _ = self.forward(X)
        if self.output == "softmax":
            return np.argmax(output, axis=0)
        if self.output == "sigmoid":
            labels = (output > 0.5).astype(np.int64)
            return labels[0] if output.shape[0] == 1 else labels
        return output

    def accuracy(self, X, Y):
        """Return the fraction of examples classified correctly.

        Raises ``ValueError`` for a network that does not classify (a single
        output that is not a sigmoid, for example regression with MSE).
        """
        K = self.sizes[-1]
        output, _ = self.forward(X)
        Y = as_array(Y, "Y")
        if K > 1 and self.output != "sigmoid":
            predicted = np.argmax(output, axis=0)
            labels = np.argmax(Y, axis=0) if Y.ndim == 2 else Y
        elif self.output == "sigmoid":
            predicted = (output > 0.5).astype(np.int64)
            labels = Y.reshape(predicted.shape)
        else:
            raise ValueError(
                f"accuracy is defined for classifiers; this network has one "
                f"{self.output!r} output"
            )
        if labels.shape != predicted.shape:
            raise ValueError(
                f"Y has shape {Y.shape}, which does not match predictions of "
                f"shape {predicted.shape}"
            )
        return float(np.mean(predicted == labels))

    def _accuracy_or_nan(self, X, Y):
        try:
            return self.accuracy(X, Y)
        except ValueError:
            return float("nan")

    # Input checks ------------------------------------------------------------

    def _check_inputs(self, X):
        X = as_array(X, "X")
        d0 = self.sizes[0]
        if X.ndim == 1 and X.shape[0] == d0:
            X = X.reshape(d0, 1)
        if X.ndim != 2:
            raise ValueError(
                f"X has shape {X.shape} but the network expects ({d0}, N): "
                "one example per column"
            )
        if X.shape[0] != d0:
            hint = (
                "examples are columns, pass X.T"
                if X.shape[1] == d0
                else f"the first layer has d_0 = {d0} inputs"
            )
            raise ValueError(
                f"X has shape {X.shape} but the network expects ({d0}, N): {hint}"
            )
        if X.shape[1] == 0:
            raise ValueError(
                f"X is an empty batch (shape {X.shape}): pass at least one example"
            )
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(
            X.dtype, np.complexfloating
        ):
            raise TypeError(f"X has dtype {X.dtype}: expected real numbers")
        X = np.asarray(X, dtype=self.dtype)
        check_finite(X, "X")
        return X


def _check_sizes(sizes):
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"sizes {sizes!r} must be a list of layer widths such as [64, 32, 10]"
        ) from error
    if len(sizes) < 2:
        raise ValueError(
            f"sizes {sizes} has {len(sizes)} entries: give at least the input and "
            "output widths, such as [2, 1]"
        )
    if any(s < 1 for s in sizes):
        raise ValueError(f"sizes {sizes} has a width < 1: every layer needs a unit")
    return sizes


def _layer_activations(activation, output, loss, sizes):
    num_hidden = len(sizes) - 2
    if isinstance(activation, str) or not hasattr(activation, "__len__"):
        names = [activation] * num_hidden
    else:
        names = list(activation)
        if len(names) != num_hidden:
            raise ValueError(
                f"activation lists {len(names)} names but sizes {sizes} has "
                f"{num_hidden} hidden layers: give one name per hidden layer or a "
                "single name for all"
            )
    hidden = [get_activation(name) for name in names]
    for act in hidden:
        if not act.elementwise:
            raise ValueError(
                f"{act.name} cannot be a hidden activation, because it couples the "
                "units of a layer: use it as the output activation"
            )
    if output is None:
        output = DEFAULT_OUTPUT[loss.name]
    output_activation = get_activation(output)
    if loss.output is not None and output_activation.name != loss.output:
        raise ValueError(
            f"loss {loss.name!r} is fused with a {loss.output} output, but "
            f"output={output_activation.name!r}: use output={loss.output!r}, or "
            "loss='mse' for another output"
        )
    if output_activation.name == "softmax" and sizes[-1] < 2:
        raise ValueError(
            "a softmax output needs at least 2 units: use a sigmoid output with "
            "loss='binary_cross_entropy' for two classes"
        )
    return [*hidden, output_activation]


def _check_learning_rate(lr):
    if not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr={lr!r} is not a positive finite learning rate")
    return float(lr)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)


def _progress_bar(total, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="epoch", disable=not enabled)
