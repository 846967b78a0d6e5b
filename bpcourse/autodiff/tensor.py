"""The ``Tensor``: a numpy array that remembers how it was computed.

A tensor stores its value ``data`` and, after ``backward``, the gradient ``grad``
of the backward pass's root with respect to it. A tensor made by an operation also
stores the operation's name ``op``, its inputs ``parents`` and the function that
turns the gradient of the output into gradients of the inputs (the vector–Jacobian
product, VJP). Those links are the computational graph that ``backward`` walks.

The arithmetic operators call the operations of ``bpcourse.autodiff.ops`` and
``bpcourse.autodiff.array_ops``, where each forward computation sits beside its VJP.
"""

import numpy as np

#: The dtypes a tensor keeps. Anything else that is real (integers, booleans)
#: becomes float64.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(value, dtype=None, argument="data"):
    """Return ``value`` as a float32 or float64 array, copying only if it must.

    Parameters
    ----------
    value : array_like
    dtype : np.float32 or np.float64, optional
        By default float32 and float64 arrays keep their dtype and other real
        values become float64.
    argument : str
        The argument's name in error messages.
    """
    if isinstance(value, Tensor):
        raise TypeError(
            f"{argument} is already a Tensor: pass tensor.data for its array, or use "
            "the tensor itself"
        )
    array = np.asarray(value, dtype=dtype)
    if array.dtype in FLOAT_DTYPES:
        return array
    if dtype is None and array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise ValueError(
        f"{argument} has dtype {array.dtype}, which a Tensor cannot hold: use float64 "
        "(the default) or float32 values, or pass dtype=np.float64"
    )


class Tensor:
    """A node of the computational graph: a value, its gradient and its origin.

    Parameters
    ----------
    data : array_like
        The value, of any shape. float32 and float64 arrays are wrapped without a
        copy (so writing into the original array also changes the tensor); other
        real values become float64.
    requires_grad : bool
        Whether ``backward`` computes a gradient for this tensor. Tensors you
        create are variables by default; Python numbers and numpy arrays that
        enter an operation are constants.
    name : str, optional
        A label used by ``draw_graph`` and in error messages, such as ``"W1"``.
    dtype : np.float32 or np.float64, optional
        Convert ``data`` to this dtype.

    Attributes
    ----------
    data : ndarray
        The value. Assigning to it, ``x.data *= 2`` included, counts as a
        modification for the in-place check of ``backward``.
    grad : ndarray or None
        None until a backward pass reaches this tensor, then an array of the
        shape and dtype of ``data``. Gradients accumulate over backward passes
        until ``zero_grad``.
    requires_grad : bool
    name : str or None
    op : str or None
        The operation that produced this tensor, None for a leaf.
    parents : tuple of Tensor
        The operation's inputs, constants included; empty for a leaf.

    Notes
    -----
    Every tensor carries a version counter that assigning to ``data`` increments
    and that views (``.T``, ``reshape``, basic indexing, ``detach``) share with the
    tensor they look into. An operation that saves a tensor for its backward
    computation records the version, and ``backward`` raises
    ``InPlaceModificationError`` when it has changed.

    The gradient arrays of intermediate tensors may share memory with one
    another, because an addition passes one array to both of its inputs. Leaf
    tensors get arrays of their own. Treat intermediate gradients as read-only.
    """

    __slots__ = (
        "_data",
        "_saved",
        "_version",
        "_vjp",
        "grad",
        "name",
        "op",
        "parents",
        "requires_grad",
    )

    # numpy defers every operator with a Tensor operand to the Tensor, so that
    # ``array * tensor`` calls ``Tensor.__rmul__`` instead of looping over entries.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=True, name=None, dtype=None):
        self._data = as_float_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.op = None
        self.parents = ()
        self._vjp = None
        self._saved = ()
        self._version = [0]

    @classmethod
    def _wrap(cls, data, version=None):
        """Make a constant tensor around an array, with no conversion."""
        tensor = cls.__new__(cls)
        tensor._data = data
        tensor.grad = None
        tensor.requires_grad = False
        tensor.name = None
        tensor.op = None
        tensor.parents = ()
        tensor._vjp = None
        tensor._saved = ()
        tensor._version = [0] if version is None else version
        return tensor

    # The value ------------------------------------------------------------------

    @property
    def data(self):
        """The value, an ndarray."""
        return self._data

    @data.setter
    def data(self, value):
        # ``x.data *= 2`` runs ``x.data = x.data.__imul__(2)``, so it passes here too.
        self._data = as_float_array(value, self._data.dtype)
        self._version[0] += 1

    @property
    def version(self):
        """How many times ``data`` (or a view sharing it) has been assigned."""
        return self._version[0]

    @property
    def shape(self):
        """The shape of ``data``."""
        return self._data.shape

    @property
    def ndim(self):
        """The number of dimensions of ``data``."""
        return self._data.ndim

    @property
    def size(self):
        """The number of entries of ``data``."""
        return self._data.size

    @property
    def dtype(self):
        """The dtype of ``data``, float32 or float64."""
        return self._data.dtype

    @property
    def is_leaf(self):
        """True for a tensor that no recorded operation produced."""
        return self._vjp is None

    def item(self):
        """Return the value of a one-entry tensor as a Python float."""
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one entry, but {describe(self)} has "
                f"{self._data.size}: index it or reduce it with .sum() first"
            )
        return self._data.item()

    def numpy(self):
        """Return ``data`` (the array itself, not a copy)."""
        return self._data

    def detach(self):
        """Return a constant tensor that shares ``data`` and records no graph."""
        return Tensor._wrap(self._data, self._version)

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        fields = [np.array2string(self._data, precision=4, threshold=8)]
        if self.name is not None:
            fields.append(f"name={self.name!r}")
        if self.op is not None:
            fields.append(f"op={self.op!r}")
        if self._data.dtype != np.float64:
            fields.append(f"dtype={self._data.dtype.name}")
        if not self.requires_grad:
            fields.append("requires_grad=False")
        return f"Tensor({', '.join(fields)})"

    # The gradient ---------------------------------------------------------------

    def backward(self, gradient=None):
        """Add ∂self/∂t to ``t.grad`` for every tensor t that this one depends on.

        Parameters
        ----------
        gradient : array_like, optional
            The upstream gradient ∂L/∂self, of this tensor's shape. It may be left
            out only when this tensor has one entry, and then it is 1.

        Notes
        -----
        Gradients **accumulate**: a second ``backward`` on the same graph adds the
        same gradients again, so every ``grad`` doubles. The graph and its saved
        values are kept, so that second call is allowed. Call ``zero_grad`` on the
        parameters before each backward pass that should start from zero.

        Raises
        ------
        ValueError
            When this tensor has more than one entry and ``gradient`` is missing,
            when ``gradient`` has another shape, or when this tensor does not
            require gradients.
        InPlaceModificationError
            When a tensor saved for the backward pass was modified after it was
            saved.
        """
        _graph.backward(self, gradient)

    def zero_grad(self):
        """Reset ``grad`` to None, so the next backward pass starts from zero."""
        self.grad = None

    # Arithmetic: every operator calls an operation of ops or array_ops -----------

    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return _ops.power(self, exponent)

    def __rpow__(self, base):
        return _ops.power(base, self)

    def __matmul__(self, other):
        return _array_ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _array_ops.matmul(other, self)

    def __getitem__(self, index):
        return _array_ops.getitem(self, index)

    @property
    def T(self):
        """The transpose, axes reversed (a view)."""
        return _array_ops.transpose(self)

    def transpose(self, *axes):
        """Permute the axes, or reverse them when none are given (a view)."""
        return _array_ops.transpose(self, axes or None)

    def reshape(self, *shape):
        """Return the same entries in another shape, ``x.reshape(3, -1)``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _array_ops.reshape(self, shape)

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
        return _array_ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        """Average over ``axis`` (an int, a tuple, or None for all axes)."""
        return _array_ops.mean(self, axis, keepdims)

    def exp(self):
        """Apply e^x to each entry."""
        return _ops.exp(self)

    def log(self):
        """Take the natural logarithm of each entry."""
        return _ops.log(self)

    def tanh(self):
        """Apply tanh to each entry."""
        return _ops.tanh(self)

    def sigmoid(self):
        """Apply σ(x) = 1 / (1 + e^{−x}) to each entry."""
        return _ops.sigmoid(self)

    def relu(self):
        """Apply ReLU, max(x, 0), to each entry."""
        return _ops.relu(self)


def as_tensor(value, like=None):
    """Return ``value`` if it is a Tensor, else a constant tensor around it.

    Parameters
    ----------
    value : Tensor or array_like
    like : Tensor, optional
        A Python number or a 0-dimensional array takes the dtype of ``like``, so
        that ``2 * x`` stays float32 when ``x`` is. Arrays with dimensions keep
        numpy's type promotion.
    """
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if like is not None and array.ndim == 0 and array.dtype.kind in "biuf":
        return Tensor._wrap(array.astype(like._data.dtype, copy=False))
    return Tensor._wrap(as_float_array(array, argument="an operand"))


def as_tensors(a, b):
    """Return the operands of a binary operation as tensors, as ``as_tensor`` does.

    A number on either side takes the dtype of the tensor on the other side.
    """
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    if isinstance(b, Tensor):
        return as_tensor(a, like=b), b
    return as_tensor(a), as_tensor(b)


def describe(tensor):
    """Name a tensor for a message: its name, else its operation, and its shape."""
    if tensor.name is not None:
        return f"tensor {tensor.name!r} of shape {tensor.shape}"
    if tensor.op is not None:
        return f"the output of {tensor.op} (shape {tensor.shape})"
    kind = "leaf tensor" if tensor.requires_grad else "constant"
    return f"an unnamed {kind} of shape {tensor.shape}"


# At the bottom because these modules import Tensor from this one.
from bpcourse.autodiff import array_ops as _array_ops
from bpcourse.autodiff import graph as _graph
from bpcourse.autodiff import ops as _ops
