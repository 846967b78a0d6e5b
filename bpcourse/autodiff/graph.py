"""Recording the graph and walking it backwards.

An operation computes its output array and hands it to ``record_op`` with its
inputs and its vector–Jacobian product (VJP), a function from the gradient of the
output to the gradients of the inputs. ``backward`` then visits the recorded
tensors in reverse topological order, so every tensor has received the gradients
of all its consumers, summed, before its own VJP passes the total on.

Saved values and in-place writes
--------------------------------
A VJP reads arrays of the forward pass, such as both factors of a product.
Writing into one of them before ``backward`` would make the gradient use the new
values while the graph still describes the old computation. Every tensor
therefore has a version counter that assigning to ``Tensor.data`` increments
(``x.data *= 2`` assigns too). ``record_op`` stores the versions of the tensors an
operation saves, and ``backward`` raises ``InPlaceModificationError`` when one has
changed. A counter costs one integer per tensor and one comparison per saved
tensor, where a copy of every saved array would double the memory of the graph.

The counter cannot see writes that bypass the ``data`` attribute, such as
``x.data[0] = 5`` or a write into the numpy array the tensor was created from.
Inside ``verify_saved_values()`` every operation also stores a CRC-32 checksum
of each saved array and ``backward`` recomputes it, which catches those writes
too, at the cost of one extra pass over every saved array.
"""

import zlib
from contextlib import contextmanager

import numpy as np

from bpcourse.autodiff.tensor import Tensor, describe


class InPlaceModificationError(RuntimeError):
    """Raised by ``backward`` when a value saved for it was modified afterwards."""


class _Mode:
    """Switches that change what ``record_op`` stores, one set per process."""

    __slots__ = ("checksums", "grad_enabled")

    def __init__(self):
        self.grad_enabled = True
        self.checksums = False


_mode = _Mode()


@contextmanager
def no_grad():
    """Record no graph inside this block.

    Operations still compute their values, but their outputs have
    ``requires_grad=False`` and no parents, so nothing is kept for a backward
    pass. Use it for evaluation and for parameter updates. It also works as a
    decorator.

    >>> from bpcourse.autodiff import Tensor, no_grad
    >>> x = Tensor(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.requires_grad
    False
    """
    previous = _mode.grad_enabled
    _mode.grad_enabled = False
    try:
        yield
    finally:
        _mode.grad_enabled = previous


def is_grad_enabled():
    """Return False inside ``no_grad()``, else True."""
    return _mode.grad_enabled


@contextmanager
def verify_saved_values():
    """Check saved arrays by checksum as well as by version inside this block.

    Operations recorded in the block store a CRC-32 checksum of every array they
    save, and ``backward`` raises ``InPlaceModificationError`` when a checksum no
    longer matches. This catches writes that the version counter cannot see,
    such as ``x.data[0] = 5``, at the cost of one pass over each saved array when
    it is saved and one during ``backward``.
    """
    previous = _mode.checksums
    _mode.checksums = True
    try:
        yield
    finally:
        _mode.checksums = previous


def _checksum(array):
    return zlib.crc32(np.ascontiguousarray(array).data)


def record_op(data, op, parents, vjp, saved=(), saves_output=False, view_of=None):
    """Wrap an operation's output array in a tensor linked to its inputs.

    Parameters
    ----------
    data : ndarray
        The operation's output.
    op : str
        Its name, shown by ``draw_graph`` and in error messages.
    parents : tuple of Tensor
        The inputs, constants included.
    vjp : callable
        ``vjp(g)`` takes ∂L/∂output (an array of the output's shape) and returns
        one entry per parent: ∂L/∂parent, an array of that parent's shape, or
        None for a parent that needs no gradient.
    saved : tuple of Tensor
        The inputs whose values ``vjp`` reads.
    saves_output : bool
        Whether ``vjp`` reads the output's value as well.
    view_of : Tensor, optional
        The input whose memory ``data`` is a view of; the output then shares
        its version counter.

    Returns
    -------
    Tensor
        With ``requires_grad`` True when grad mode is on and a parent requires
        gradients; otherwise a constant with no parents.
    """
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    out = Tensor._wrap(data, None if view_of is None else view_of._version)
    if not _mode.grad_enabled:
        return out
    for parent in parents:
        if parent.requires_grad:
            break
    else:
        return out
    out.requires_grad = True
    out.op = op
    out.parents = parents
    out._vjp = vjp
    if saved or saves_output:
        # Each entry is (tensor, counter, version, checksum). The tensor None is
        # the output itself, which must not refer to itself.
        entries = [(t, t._version, t._version[0], None) for t in saved]
        if saves_output:
            entries.append((None, out._version, out._version[0], None))
        if _mode.checksums:
            entries = [
                (t, counter, version, _checksum((out if t is None else t)._data))
                for t, counter, version, _ in entries
            ]
        out._saved = tuple(entries)
    return out


def topological_order(root, constants=False):
    """Return the tensors ``root`` depends on, each after all of its parents.

    The depth-first search keeps its own stack instead of recursing, so graphs of
    any depth work. Tensors define no ``__eq__``, so sets and dicts of tensors
    compare them by identity.

    Parameters
    ----------
    root : Tensor
    constants : bool
        Include tensors that do not require gradients (for drawings).

    Returns
    -------
    list of Tensor
        Ending with ``root``.
    """
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for parent in node.parents:
            if parent not in visited and (constants or parent.requires_grad):
                stack.append((parent, False))
    return order


def backward(root, gradient=None):
    """Add ``gradient`` times ∂root/∂t to ``t.grad`` for every tensor t of the graph.

    See ``Tensor.backward``, which calls this.
    """
    if not root.requires_grad:
        raise ValueError(
            f"backward() was called on {describe(root)}, which does not require "
            "gradients: it was computed under no_grad() or from constants only. "
            "Create the inputs with Tensor(..., requires_grad=True) and compute "
            "outside no_grad()"
        )
    upstream = _initial_gradient(root, gradient)
    pending = {root: upstream}
    for node in reversed(topological_order(root)):
        g = pending.pop(node, None)
        if g is None:
            continue
        _accumulate(node, g)
        if node._vjp is None:
            continue
        if node._saved:
            _check_saved(node)
        for parent, parent_grad in zip(node.parents, node._vjp(g)):
            if parent_grad is None or not parent.requires_grad:
                continue
            parent_grad = _checked_gradient(parent_grad, parent, node)
            if parent in pending:
                pending[parent] = pending[parent] + parent_grad
            else:
                pending[parent] = parent_grad


def _initial_gradient(root, gradient):
    if gradient is None:
        if root.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a tensor with one entry, but "
                f"{describe(root)} has {root.size}: reduce it to a scalar first "
                "(.sum() or .mean()), or pass gradient=an array of shape "
                f"{root.shape}"
            )
        return np.ones(root.shape, dtype=root.dtype)
    if isinstance(gradient, Tensor):
        gradient = gradient.data
    gradient = np.asarray(gradient, dtype=root.dtype)
    if gradient.shape != root.shape:
        raise ValueError(
            f"gradient has shape {gradient.shape} but {describe(root)} needs one "
            f"of the same shape {root.shape}: pass ∂L/∂output, one entry per "
            "entry of the output"
        )
    return gradient


def _checked_gradient(g, parent, node):
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.shape != parent._data.shape:
        raise RuntimeError(
            f"the VJP of {node.op} returned a gradient of shape {g.shape} for "
            f"{describe(parent)}: a VJP must return one array of each input's "
            "shape (sum a broadcast gradient over the broadcast axes)"
        )
    if g.dtype != parent._data.dtype:
        g = g.astype(parent._data.dtype)
    return g


def _accumulate(node, g):
    if node.grad is None:
        # A leaf's gradient outlives the pass, so it gets an array of its own
        # rather than one shared with other gradients or a read-only broadcast.
        node.grad = np.array(g) if node._vjp is None else g
    else:
        node.grad = node.grad + g


def _check_saved(node):
    for tensor, counter, version, checksum in node._saved:
        owner = node if tensor is None else tensor
        if counter[0] != version:
            raise InPlaceModificationError(
                f"{describe(owner)} was modified in place after {node.op} saved it "
                f"for the backward pass (its version went from {version} to "
                f"{counter[0]}), so the gradients would be computed from the new "
                "values. Change tensors only after backward(), or run the forward "
                "pass again after the change; to compute with new values, make a "
                "new tensor (x2 = x * 2) instead of writing into x.data"
            )
        if checksum is not None and _checksum(owner._data) != checksum:
            raise InPlaceModificationError(
                f"{describe(owner)} was modified in place after {node.op} saved it "
                "for the backward pass (its checksum changed, so an entry was "
                "written directly, as in x.data[i] = v), so the gradients would be "
                "computed from the new values. Change tensors only after "
                "backward(), or run the forward pass again after the change"
            )


def zero_grad(parameters):
    """Reset ``grad`` to None on every tensor of ``parameters``.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for index, tensor in enumerate(parameters):
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"parameters[{index}] is a {type(tensor).__name__}, not a Tensor: "
                "pass the list of Tensors whose gradients to reset"
            )
        tensor.grad = None
