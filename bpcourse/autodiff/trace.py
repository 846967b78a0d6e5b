r"""A graph traced once into a tape and replayed on new values.

The eager engine of this package records its graph anew at every call: each
operation creates a ``Tensor`` and a VJP closure, and ``backward`` sorts them.
A tracer runs the function once on placeholders (``Traced`` values) that record
every operation into a list, the *tape*. ``Tape.forward`` then replays that
list on new input arrays and ``Tape.backward`` walks it in reverse, so later
steps create no tensors, no closures and no graph, only the arrays themselves.

>>> import numpy as np
>>> tape = trace(lambda a, b: (a + b) * a, 2.0, -3.0)
>>> float(tape.forward(2.0, -3.0))
-2.0
>>> [float(g) for g in tape.backward()]
[1.0, 2.0]

Each entry of the tape contains the name of an operation, the slots of its inputs,
the slot of its output and its fixed parameters (an axis, an exponent). A slot
is an index into the list of values of one replay. The operation's forward
function and its vector–Jacobian product live together in ``RULES``.

What a tape cannot do
---------------------
A tape stores the operations of one run, so it replays the path that Python's
control flow took on the traced values. A branch on a traced value (``if x > 0``)
raises ``TypeError``, at the comparison or at the truth test, because the tape
could not follow the other branch on new values. Shapes are fixed too: ``forward`` raises ``ValueError`` for inputs of
other shapes, and a new batch size needs a new trace (``MLPTape`` keeps one tape
per batch shape). Only the operations of ``RULES`` can be traced.
"""

from dataclasses import dataclass

import numpy as np

from bpcourse.autodiff.ops import LEAKY_RELU_SLOPE, unbroadcast
from bpcourse.autodiff.tensor import FLOAT_DTYPES

# The rules: a forward function and a VJP per operation -------------------------
#
# forward(*inputs, **params) returns the output array. vjp(g, inputs, output,
# needs, **params) returns one gradient per input, each of that input's shape,
# or None where none flows. ``needs`` marks the inputs that require one, so that
# a matrix product skips a product whose result would be discarded. The
# arithmetic mirrors the eager operations of ops, array_ops and losses line for
# line, so that a replay gives the same bits as the eager engine (tested for
# the networks of MLPTape).
# Where a value has three or more consumers, the two engines may add their
# contributions in another order, and the results agree to rounding only.


def _sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def _add_vjp(g, inputs, output, needs):
    a, b = inputs
    return (
        unbroadcast(g, a.shape) if needs[0] else None,
        unbroadcast(g, b.shape) if needs[1] else None,
    )


def _mul_vjp(g, inputs, output, needs):
    a, b = inputs
    return (
        unbroadcast(g * b, a.shape) if needs[0] else None,
        unbroadcast(g * a, b.shape) if needs[1] else None,
    )


def _matmul_vjp(g, inputs, output, needs):
    a, b = inputs
    return (g @ b.T if needs[0] else None, a.T @ g if needs[1] else None)


def _pow_vjp(g, inputs, output, needs, p):
    (x,) = inputs
    if p == 0:
        return (np.zeros_like(g),)
    if p == 2:
        return (g * (2 * x),)
    return (g * (p * x ** (p - 1)),)


def _sum_vjp(g, inputs, output, needs, axis, keepdims):
    (x,) = inputs
    if not keepdims:
        g = np.expand_dims(g, axis)
    return (np.broadcast_to(g, x.shape),)


def _cross_entropy_forward(z, labels):
    K, N = z.shape
    shifted = z - z.max(axis=0, keepdims=True)
    log_totals = np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    if labels.ndim == 1:
        return np.asarray((log_totals[0] - shifted[labels, np.arange(N)]).sum() / N)
    return np.asarray((labels * (log_totals - shifted)).sum() / N)


def _cross_entropy_vjp(g, inputs, output, needs):
    z, labels = inputs
    N = z.shape[1]
    exps = np.exp(z - z.max(axis=0, keepdims=True))
    probs = exps / exps.sum(axis=0, keepdims=True)
    if labels.ndim == 1:
        grad = probs.copy()
        grad[labels, np.arange(N)] -= 1
    else:
        grad = probs * np.sum(labels, axis=0, keepdims=True) - labels
    grad *= g / N
    return grad, None


@dataclass(frozen=True)
class Rule:
    """The forward computation of one operation and its vector–Jacobian product."""

    forward: object
    vjp: object


RULES = {
    "add": Rule(lambda a, b: a + b, _add_vjp),
    "mul": Rule(lambda a, b: a * b, _mul_vjp),
    "neg": Rule(lambda x: -x, lambda g, inputs, output, needs: (-g,)),
    "pow": Rule(lambda x, p: x**p, _pow_vjp),
    "matmul": Rule(lambda a, b: a @ b, _matmul_vjp),
    "transpose": Rule(lambda x: x.T, lambda g, inputs, output, needs: (g.T,)),
    "sum": Rule(
        lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), _sum_vjp
    ),
    "exp": Rule(np.exp, lambda g, inputs, output, needs: (g * output,)),
    "log": Rule(np.log, lambda g, inputs, output, needs: (g / inputs[0],)),
    "tanh": Rule(
        np.tanh, lambda g, inputs, output, needs: (g * (1 - output * output),)
    ),
    "sigmoid": Rule(
        _sigmoid, lambda g, inputs, output, needs: (g * (output * (1 - output)),)
    ),
    "softplus": Rule(
        lambda x: np.logaddexp(0, x),
        lambda g, inputs, output, needs: (g * _sigmoid(inputs[0]),),
    ),
    "relu": Rule(
        lambda x: np.maximum(x, 0), lambda g, inputs, output, needs: (g * (output > 0),)
    ),
    "leaky_relu": Rule(
        lambda x, slope: np.where(x > 0, x, slope * x),
        lambda g, inputs, output, needs, slope: (
            np.where(inputs[0] > 0, g, slope * g),
        ),
    ),
    # The maximum that keeps softmax from overflowing. Its gradient is zero
    # because softmax(z − c) = softmax(z) for any c, but it must be recomputed on
    # every replay, so it is an operation and not a constant.
    "max_no_grad": Rule(
        lambda x, axis: np.max(x, axis=axis, keepdims=True),
        lambda g, inputs, output, needs, axis: (None,),
    ),
    "softmax_cross_entropy": Rule(_cross_entropy_forward, _cross_entropy_vjp),
}

#: Operations whose output never carries a gradient.
NO_GRADIENT = {"max_no_grad"}


# Recording --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One recorded operation: ``values[output] = op(values[inputs], **params)``."""

    op: str
    inputs: tuple
    output: int
    params: tuple = ()
    #: Per input, whether it requires a gradient; fixed when it is recorded.
    needs: tuple = ()

    def __str__(self):
        arguments = [f"v{slot}" for slot in self.inputs]
        arguments += [f"{name}={value!r}" for name, value in self.params]
        return f"v{self.output} = {self.op}({', '.join(arguments)})"


class Traced:
    """A placeholder that records the operations applied to it while tracing.

    It carries the value of the traced run, so shapes and the first result are
    known, and supports the operators and methods of ``Tensor`` that the tape
    can replay. A function written with them runs on ``Tensor`` objects
    eagerly and on ``Traced`` objects into a tape.
    """

    __slots__ = ("slot", "tape", "value")

    # numpy defers operators with a Traced operand to it (array + traced).
    __array_ufunc__ = None

    def __init__(self, tape, slot, value):
        self.tape = tape
        self.slot = slot
        self.value = value

    @property
    def shape(self):
        """The shape of the value, fixed for every replay of the tape."""
        return self.value.shape

    @property
    def ndim(self):
        """The number of dimensions of the value."""
        return self.value.ndim

    @property
    def dtype(self):
        """The dtype of the value."""
        return self.value.dtype

    def __repr__(self):
        return f"Traced(v{self.slot}, shape={self.value.shape})"

    def __bool__(self):
        raise TypeError(
            "a traced value has no truth value: the tape records one path through "
            "the function, so it cannot follow a branch (if, while, and, or) that "
            "depends on the values. Use the eager Tensor engine for such a "
            "function, or move the branch outside the traced function"
        )

    def _compare(self, other):
        raise TypeError(
            "traced values cannot be compared (<, <=, >, >=): the tape records one "
            "path through the function, so a comparison that picks a branch would "
            "be frozen into it. Use the eager Tensor engine for such a function, "
            "or compute the comparison outside the traced function"
        )

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __float__(self):
        raise TypeError(
            "float() of a traced value would freeze the traced number into the "
            "tape: keep the computation in traced operations"
        )

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a traced value cannot become a numpy array, because the tape would "
            "store this run's numbers as constants: use the traced operations "
            "(+, *, @, .T, .sum(), .tanh(), …) instead of numpy functions"
        )

    def __add__(self, other):
        return _record("add", self, other)

    def __radd__(self, other):
        return _record("add", other, self)

    def __sub__(self, other):
        # As in the eager engine: a − b = a + (−b).
        return _record("add", self, _negative(other, self))

    def __rsub__(self, other):
        return _record("add", other, _record("neg", self))

    def __mul__(self, other):
        return _record("mul", self, other)

    def __rmul__(self, other):
        return _record("mul", other, self)

    def __truediv__(self, other):
        if not isinstance(other, Traced) and np.ndim(other) == 0:
            return _record("mul", self, 1.0 / np.float64(other))
        return _record("mul", self, _record("pow", other, p=-1.0))

    def __rtruediv__(self, other):
        return _record("mul", other, _record("pow", self, p=-1.0))

    def __neg__(self):
        return _record("neg", self)

    def __pow__(self, exponent):
        if isinstance(exponent, Traced) or np.ndim(exponent) != 0:
            raise TypeError(
                "the tracer supports only a constant number as exponent, x ** p"
            )
        return _record("pow", self, p=float(exponent))

    def __matmul__(self, other):
        return _record("matmul", self, other)

    def __rmatmul__(self, other):
        return _record("matmul", other, self)

    @property
    def T(self):
        """The transpose of a 2-D value."""
        return _record("transpose", self)

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
        return _record("sum", self, axis=_axes(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Average over ``axis``: the sum times 1/n, as the eager engine does it."""
        axes = _axes(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axes, keepdims) * (1.0 / count)

    def exp(self):
        """Apply e^x to each entry."""
        return _record("exp", self)

    def log(self):
        """Take the natural logarithm of each entry."""
        return _record("log", self)

    def tanh(self):
        """Apply tanh to each entry."""
        return _record("tanh", self)

    def sigmoid(self):
        """Apply σ(x) = 1 / (1 + e^{−x}) to each entry."""
        return _record("sigmoid", self)

    def relu(self):
        """Apply ReLU, max(x, 0), to each entry."""
        return _record("relu", self)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim for a in axes)


def _negative(value, like):
    if isinstance(value, Traced):
        return _record("neg", value)
    return -_constant_array(value, like)


def _constant_array(value, like):
    """Convert a constant operand as ``as_tensor`` does.

    A number takes the dtype of ``like``, so that ``2 * x`` stays float32 when x is.
    """
    array = np.asarray(value)
    if array.ndim == 0 and array.dtype.kind in "biuf":
        return array.astype(like.dtype, copy=False)
    if array.dtype in FLOAT_DTYPES:
        return array
    return array.astype(np.float64)


def _record(op, *operands, **params):
    """Compute ``op`` on the traced values, append it to the tape, return the output."""
    traced = next(x for x in operands if isinstance(x, Traced))
    tape = traced.tape
    slots = []
    for operand in operands:
        if isinstance(operand, Traced):
            if operand.tape is not tape:
                raise ValueError(
                    "an operation mixes values of two different traces: trace the "
                    "whole computation in one call of trace()"
                )
            slots.append(operand.slot)
        else:
            slots.append(tape._add_constant(_constant_array(operand, traced)))
    params = tuple(sorted(params.items()))
    output = RULES[op].forward(*(tape._values[s] for s in slots), **dict(params))
    output = np.asarray(output)
    needs = tuple(tape._requires_grad[s] for s in slots)
    requires_grad = any(needs) and op not in NO_GRADIENT
    slot = tape._add_slot(output, requires_grad=requires_grad)
    tape.entries.append(Entry(op, tuple(slots), slot, params, needs))
    return Traced(tape, slot, output)


# Functions that work on Tensors and on traced values ----------------------------


def sigmoid(x):
    """Apply σ: recorded on a traced value, eager on a Tensor."""
    return _record("sigmoid", x) if isinstance(x, Traced) else _eager().sigmoid(x)


def tanh(x):
    """Apply tanh: recorded on a traced value, eager on a Tensor."""
    return _record("tanh", x) if isinstance(x, Traced) else _eager().tanh(x)


def relu(x):
    """Apply ReLU: recorded on a traced value, eager on a Tensor."""
    return _record("relu", x) if isinstance(x, Traced) else _eager().relu(x)


def leaky_relu(x, slope=LEAKY_RELU_SLOPE):
    """Apply leaky ReLU: recorded on a traced value, eager on a Tensor."""
    if isinstance(x, Traced):
        return _record("leaky_relu", x, slope=slope)
    return _eager().leaky_relu(x, slope)


def softplus(x):
    """Apply softplus, ln(1 + e^x): recorded on a traced value, eager on a Tensor."""
    return _record("softplus", x) if isinstance(x, Traced) else _eager().softplus(x)


def softmax(z, axis=0):
    """Compute softmax along ``axis``, shifted by the maximum as the eager one is."""
    if not isinstance(z, Traced):
        return _eager().softmax(z, axis)
    e = (z - _record("max_no_grad", z, axis=axis)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Compute the mean cross-entropy of softmax(logits) against labels.

    On a traced value the labels must be a traced input too (integer labels of
    shape (N,) or target columns of shape (K, N)), so that a replay can change
    them.
    """
    if not isinstance(logits, Traced):
        return _eager().softmax_cross_entropy(logits, labels)
    if not isinstance(labels, Traced):
        raise TypeError(
            "labels are a constant of the trace, so every replay would use the "
            "traced labels: pass them as an argument of the traced function"
        )
    return _record("softmax_cross_entropy", logits, labels)


def _eager():
    from bpcourse import autodiff

    return autodiff


# The tape ---------------------------------------------------------------------


class Tape:
    """The operations of one traced run, ready to be replayed forward and backward.

    Attributes
    ----------
    entries : list of Entry
        The operations in the order they ran, which is a topological order.
    inputs : list of int
        The slot of each argument of the traced function.
    output : int
        The slot of the function's result.
    """

    def __init__(self):
        self.entries = []
        self.inputs = []
        self.output = None
        self._values = []
        self._constant = []
        self._requires_grad = []

    def __len__(self):
        return len(self.entries)

    def __repr__(self):
        return (
            f"Tape({len(self.inputs)} inputs, {len(self.entries)} operations, "
            f"{sum(self._constant)} constants)"
        )

    def listing(self):
        """Return the tape as text: the inputs, the constants, one line per operation."""
        lines = [f"inputs: {', '.join(f'v{s}' for s in self.inputs)}"]
        for slot, constant in enumerate(self._constant):
            if constant:
                value = self._values[slot]
                text = (
                    np.array2string(value, precision=4)
                    if value.size <= 4
                    else f"array of shape {value.shape}"
                )
                lines.append(f"constant: v{slot} = {text}")
        lines += [str(entry) for entry in self.entries]
        lines.append(f"output: v{self.output}")
        return "\n".join(lines)

    def _add_slot(self, value, constant=False, requires_grad=False):
        self._values.append(value)
        self._constant.append(constant)
        self._requires_grad.append(requires_grad)
        return len(self._values) - 1

    def _add_constant(self, value):
        return self._add_slot(value, constant=True)

    def forward(self, *args):
        """Replay the tape on new argument values and return the output array.

        The arguments are arrays of the traced shapes, one per argument of the
        traced function. The values of every slot are kept for ``backward``.

        Raises
        ------
        ValueError
            When the number of arguments or a shape differs from the trace.
        """
        if len(args) != len(self.inputs):
            raise ValueError(
                f"the tape was traced with {len(self.inputs)} arguments but forward "
                f"got {len(args)}"
            )
        values = self._values
        for position, (slot, arg) in enumerate(zip(self.inputs, args)):
            array = np.asarray(arg)
            if array.shape != values[slot].shape:
                raise ValueError(
                    f"argument {position} has shape {array.shape} but the tape was "
                    f"traced with shape {values[slot].shape}: shapes are part of a "
                    "trace, so trace the function again for the new shape"
                )
            values[slot] = array.astype(values[slot].dtype, copy=False)
        for entry in self.entries:
            inputs = [values[slot] for slot in entry.inputs]
            forward = RULES[entry.op].forward
            values[entry.output] = forward(*inputs, **dict(entry.params))
        return values[self.output]

    def backward(self, gradient=None):
        """Walk the tape in reverse and return ∂output/∂argument for each argument.

        It uses the values of the last ``forward`` (or of the trace itself).
        Like ``Tensor.backward``, a gradient reaching a slot from several
        operations is summed.

        Parameters
        ----------
        gradient : array_like, optional
            ∂L/∂output; by default 1, which needs an output with one entry.

        Returns
        -------
        list of ndarray
            One gradient per argument of the traced function: zeros where the
            output does not depend on it, and None for an argument outside
            ``wrt`` of ``trace``.
        """
        values = self._values
        output = values[self.output]
        if gradient is None:
            if output.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs an output with one entry, "
                    f"but the output has shape {output.shape}: pass gradient="
                )
            gradient = np.ones(output.shape, dtype=output.dtype)
        grads = [None] * len(values)
        grads[self.output] = np.asarray(gradient, dtype=output.dtype)
        requires_grad = self._requires_grad
        for entry in reversed(self.entries):
            g = grads[entry.output]
            if g is None:
                continue
            inputs = [values[slot] for slot in entry.inputs]
            vjp = RULES[entry.op].vjp
            results = vjp(
                g, inputs, values[entry.output], entry.needs, **dict(entry.params)
            )
            for slot, result in zip(entry.inputs, results):
                if result is None or not requires_grad[slot]:
                    continue
                if result.dtype != values[slot].dtype:
                    result = result.astype(values[slot].dtype)
                grads[slot] = result if grads[slot] is None else grads[slot] + result
        gradients = []
        for slot in self.inputs:
            if not requires_grad[slot]:
                gradients.append(None)
            elif grads[slot] is None:
                gradients.append(np.zeros_like(values[slot]))
            else:
                gradients.append(np.array(grads[slot]))
        return gradients

    def value_and_gradients(self, *args):
        """Replay forward and backward, and return (output as a float, gradients)."""
        output = self.forward(*args)
        return float(output), self.backward()


def trace(function, *example_args, wrt=None):
    """Run ``function`` once on placeholders and return the tape of its operations.

    Parameters
    ----------
    function : callable
        Written with the operators and methods of ``Traced`` (+, −, *, /, **, @,
        ``.T``, ``.sum``, ``.mean``, ``.exp``, ``.log``, ``.tanh``,
        ``.sigmoid``, ``.relu``) and the functions of this module. It must
        return a value computed from its arguments.
    *example_args : array_like
        One value per argument. Integers become float64, except when they are
        excluded by ``wrt`` (class labels stay integers).
    wrt : sequence of int, optional
        The positions of the arguments that get gradients; by default all of
        them. The others are inputs without a gradient, such as X and Y.

    Returns
    -------
    Tape
    """
    wrt = set(range(len(example_args)) if wrt is None else wrt)
    tape = Tape()
    placeholders = []
    for position, arg in enumerate(example_args):
        array = np.asarray(arg)
        if array.dtype.kind in "biu" and position in wrt:
            array = array.astype(np.float64)
        if array.dtype.kind in "biu" or array.dtype in FLOAT_DTYPES:
            slot = tape._add_slot(array, requires_grad=position in wrt)
        else:
            raise ValueError(
                f"an argument has dtype {array.dtype}: trace() takes float arrays "
                "and integer labels"
            )
        tape.inputs.append(slot)
        placeholders.append(Traced(tape, slot, array))
    result = function(*placeholders)
    if not isinstance(result, Traced) or result.tape is not tape:
        raise TypeError(
            f"the traced function returned {type(result).__name__}, not a value "
            "computed from its arguments"
        )
    tape.output = result.slot
    return tape


# The network of bpcourse.network on a tape ----------------------------------------


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "identity": lambda z: z,
    "softmax": softmax,
}


def mlp_loss_function(net):
    """Return ``f(W1, b1, …, WL, bL, X, Y)``, the network's mean loss of a batch.

    The function is the forward pass of ``bpcourse.autodiff.mlp_loss``, written
    so that it runs on Tensors (eagerly) and on traced values. Y are integer
    labels of shape (N,) for cross-entropy and target columns (d_L, N) for the
    other losses.
    """
    L = net.num_layers
    hidden = [ACTIVATIONS[act.name] for act in net.activations[:-1]]
    loss_name, output = net.loss_name, net.output
    if loss_name not in ("cross_entropy", "binary_cross_entropy", "mse"):
        raise ValueError(f"the tracer has no version of the loss {loss_name!r}")

    def loss(*args):
        params, a, Y = args[: 2 * L], args[2 * L], args[2 * L + 1]
        N = a.shape[1]
        for layer in range(L):
            W, b = params[2 * layer], params[2 * layer + 1]
            z = W @ a + b
            if layer < L - 1:
                a = hidden[layer](z)
        if loss_name == "cross_entropy":
            return softmax_cross_entropy(z, Y)
        if loss_name == "binary_cross_entropy":
            return (softplus(z) - z * Y).sum() * (1.0 / N)
        error = ACTIVATIONS[output](z) - Y
        return (error * error).sum() * (0.5 / N)

    return loss


class MLPTape:
    """``Network.gradients`` computed by replaying a traced tape.

    The first batch of each shape is traced, and every later batch of that
    shape replays the stored tape. The parameters are read from ``net`` at every
    call, so an update of ``net.weights`` in place is seen by the next replay.

    >>> from bpcourse.network import Network
    >>> net = Network([2, 3, 2], activation="tanh", seed=0)
    >>> loss, grads = MLPTape(net).gradients(np.ones((2, 4)), [0, 1, 1, 0])
    >>> [g.shape for g in grads]
    [(3, 2), (3, 1), (2, 3), (2, 1)]
    """

    def __init__(self, net):
        self.net = net
        self.function = mlp_loss_function(net)
        self.tapes = {}

    def _arguments(self, X, Y):
        from bpcourse.losses import targets_as_columns

        net = self.net
        X = np.asarray(X, dtype=net.dtype)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or X.shape[0] != net.sizes[0]:
            raise ValueError(
                f"X has shape {X.shape} but the network expects ({net.sizes[0]}, N): "
                "one example per column"
            )
        K, N = net.sizes[-1], X.shape[1]
        Y = np.asarray(Y)
        if net.loss_name == "cross_entropy" and Y.ndim == 1:
            Y = Y.astype(np.intp)
        else:
            Y = targets_as_columns(Y, K, N, net.dtype, net.loss_name)
        return [*net.parameters(), X, Y]

    def tape_for(self, X, Y):
        """Return the tape for a batch of this shape, tracing it the first time."""
        args = self._arguments(X, Y)
        key = (args[-2].shape, args[-1].shape, args[-1].dtype.kind)
        if key not in self.tapes:
            parameters = range(2 * self.net.num_layers)
            self.tapes[key] = trace(self.function, *args, wrt=parameters)
        return self.tapes[key], args

    def gradients(self, X, Y):
        """Return the mean loss and ``[dW1, db1, …]`` for a batch.

        Returns
        -------
        loss : float
        grads : list of ndarray
            In the order of ``Network.parameters()``.
        """
        tape, args = self.tape_for(X, Y)
        loss, grads = tape.value_and_gradients(*args)
        return loss, grads[: 2 * self.net.num_layers]
