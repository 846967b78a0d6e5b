r"""Memory of the backward pass, and gradient checkpointing.

``Network.forward`` keeps every z^ℓ and a^ℓ for the backward pass, which is

.. math::

    N \cdot b \cdot \Big( d_0 + 2 \sum_{\ell=1}^{L} d_\ell \Big) \text{ bytes}

for a batch of N examples and b bytes per number (8 for float64, 4 for float32):
a^0 = X once, and z^ℓ and a^ℓ for every layer. ``cache_bytes`` computes it and
``cache_nbytes`` adds up the arrays of a real cache.

Gradient checkpointing (rematerialization) keeps less. The L layers are split
into k segments at boundaries 0 = b_0 < b_1 < … < b_k = L
(``segment_boundaries``). The forward pass keeps only a^{b_0}, …, a^{b_{k−1}},
the inputs of the segments, and the whole cache of the last segment, which the
backward pass needs first. The backward pass then recomputes each earlier
segment's z^ℓ and a^ℓ from its stored input just before it needs them
(``recompute_segment``). ``checkpointed_gradients`` does this with the same
numpy operations, in the same order, as ``Network.forward`` and
``Network.backward``, so its gradients are identical to theirs bit for bit.

Memory falls from the whole cache to the stored inputs plus one segment's
cache. In exchange, time grows by one more forward pass through every segment
but the last.
With k ≈ √L segments of about √L layers (``sqrt_segments``), both terms of the
memory are of order √L layers. ``flop_counts`` and ``memory_model`` give the
costs of any schedule, and ``measure_peak`` measures the peak memory of a call
with ``tracemalloc``.

>>> import numpy as np
>>> from bpcourse.network import Network
>>> net = Network([4, 8, 8, 8, 3], activation="tanh", seed=0)
>>> X = np.random.default_rng(0).standard_normal((4, 6))
>>> grads = checkpointed_gradients(net, X, [0, 1, 2, 0, 1, 2], segments=2)
>>> all(np.array_equal(a, b) for a, b in zip(grads.dW, net.gradients(X, [0, 1, 2, 0, 1, 2]).dW))
True
"""

import gc
import math
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from bpcourse.losses import get_loss, targets_as_columns
from bpcourse.network import Cache, Gradients, Network


# Counting the cache ------------------------------------------------------------


def bytes_per_number(dtype):
    """Return b, the bytes of one number: 8 for float64, 4 for float32."""
    return np.dtype(dtype).itemsize


def cache_bytes(sizes, N, dtype=np.float64):
    """Return the bytes of the cache of one forward pass, N · b · (d_0 + 2 Σ_{ℓ≥1} d_ℓ).

    Parameters
    ----------
    sizes : sequence of int
        ``[d_0, d_1, …, d_L]``.
    N : int
        Examples in the batch.
    dtype : numpy dtype

    Returns
    -------
    int
    """
    sizes = [int(d) for d in sizes]
    return int(N) * bytes_per_number(dtype) * (sizes[0] + 2 * sum(sizes[1:]))


def cache_nbytes(cache):
    """Add up the ``nbytes`` of every array in a ``Cache``, a^0 = X included."""
    return int(sum(z.nbytes for z in cache.z) + sum(a.nbytes for a in cache.a))


def flop_counts(sizes, N, boundaries=None):
    """Count the floating-point operations of the matrix products of one training step.

    A product of a (m, k) matrix with a (k, n) one takes 2·m·k·n operations (a
    multiplication and an addition per term). The forward pass computes W^ℓ a^{ℓ−1}
    for every layer, 2·d_ℓ·d_{ℓ−1}·N; the backward pass computes δ^ℓ (a^{ℓ−1})ᵀ
    for every layer and (W^ℓ)ᵀ δ^ℓ for ℓ ≥ 2 (layer 1 passes no δ back), twice
    that. The elementwise operations, of order d_ℓ·N, are left out.

    Parameters
    ----------
    sizes : sequence of int
    N : int
    boundaries : list of int, optional
        A checkpointing schedule from ``segment_boundaries``; its recomputation
        is every segment's forward products except the last segment's.

    Returns
    -------
    dict
        ``forward``, ``backward`` and ``recompute`` (0 without ``boundaries``),
        ints, and ``per_layer``: the forward count of every layer.
    """
    sizes = [int(d) for d in sizes]
    per_layer = [2 * sizes[l + 1] * sizes[l] * int(N) for l in range(len(sizes) - 1)]
    forward = sum(per_layer)
    backward = 2 * forward - per_layer[0]
    recompute = 0
    if boundaries is not None:
        recompute = sum(per_layer[: boundaries[-2]])
    return {
        "forward": forward,
        "backward": backward,
        "recompute": recompute,
        "per_layer": per_layer,
    }


# Segments ---------------------------------------------------------------------


def segment_boundaries(L, k):
    """Split layers 1 … L into k consecutive segments of nearly equal length.

    The first L mod k segments get one layer more. Segment j consists of layers
    b_j + 1 … b_{j+1}, and its input is a^{b_j}.

    Parameters
    ----------
    L : int
        Number of layers, ≥ 1.
    k : int
        Number of segments, 1 ≤ k ≤ L.

    Returns
    -------
    list of int
        ``[b_0, b_1, …, b_k]`` with b_0 = 0 and b_k = L.

    >>> segment_boundaries(10, 3)
    [0, 4, 7, 10]
    """
    L, k = _positive_int(L, "L"), _positive_int(k, "k")
    if k > L:
        raise ValueError(f"k = {k} segments is more than the L = {L} layers")
    length, extra = divmod(L, k)
    boundaries = [0]
    for j in range(k):
        boundaries.append(boundaries[-1] + length + (1 if j < extra else 0))
    return boundaries


def sqrt_segments(L):
    """Return the number of segments of the √L schedule: √L rounded, at least 1."""
    return max(1, round(math.sqrt(_positive_int(L, "L"))))


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} = {value!r} must be a positive integer")
    return int(value)


def _resolve_boundaries(L, segments, boundaries):
    if boundaries is not None:
        boundaries = [int(b) for b in boundaries]
        ok = (
            len(boundaries) >= 2
            and boundaries[0] == 0
            and boundaries[-1] == L
            and all(p < q for p, q in zip(boundaries, boundaries[1:]))
        )
        if not ok:
            raise ValueError(
                f"boundaries {boundaries} must rise strictly from 0 to L = {L}"
            )
        return boundaries
    if segments is None or segments == "sqrt":
        segments = sqrt_segments(L)
    return segment_boundaries(L, segments)


# Forward with checkpoints, recomputation, backward ------------------------------


def recompute_segment(net, a_start, start, stop):
    """Recompute z^ℓ and a^ℓ of layers start + 1 … stop from the stored a^{start}.

    The operations are those of ``Network.forward``, so the values are the same
    bits the full forward pass computed.

    Returns
    -------
    Cache
        Local to the segment: ``z[i]`` is z^{start+1+i} and ``a[i]`` is
        a^{start+i}, so ``a[0]`` is ``a_start``.
    """
    a = a_start
    segment = Cache(z=[], a=[a])
    for l in range(start, stop):
        z = net.weights[l] @ a + net.biases[l]
        a = net.activations[l](z)
        segment.z.append(z)
        segment.a.append(a)
    return segment


def checkpointed_forward(net, X, boundaries):
    """Run the forward pass and keep only the segments' inputs and the last segment.

    Returns
    -------
    stored : dict of int to ndarray
        a^{b_j} for the first k − 1 boundaries b_j (a^0 = X among them).
    last : Cache
        The cache of the last segment, local as in ``recompute_segment``.
    """
    a = net._check_inputs(X)
    stored = {}
    last_start = boundaries[-2]
    for start, stop in zip(boundaries[:-2], boundaries[1:-1]):
        stored[start] = a
        for l in range(start, stop):
            z = net.weights[l] @ a + net.biases[l]
            a = net.activations[l](z)
    last = recompute_segment(net, a, last_start, boundaries[-1])
    return stored, last


@dataclass
class CheckpointGradients(Gradients):
    """``Gradients`` of ``checkpointed_gradients``, with what the schedule did.

    Attributes
    ----------
    boundaries : list of int
    recomputed_layers : int
        Layers whose z and a were computed a second time.
    """

    boundaries: list = field(default_factory=list)
    recomputed_layers: int = 0


def checkpointed_gradients(net, X, Y, segments=None, boundaries=None, keep_delta=False):
    """Compute ∂L/∂W and ∂L/∂b by backpropagation with gradient checkpointing.

    Parameters
    ----------
    net : bpcourse.network.Network
    X : ndarray, shape (d_0, N)
    Y : ndarray, shape (N,) or (d_L, N)
    segments : int or "sqrt", optional
        The number of segments k; ``"sqrt"`` (the default) is ``sqrt_segments(L)``.
    boundaries : list of int, optional
        A schedule ``[0, …, L]`` to use instead of ``segments``.
    keep_delta : bool
        Keep every δ^ℓ in the result, as ``Network.gradients`` does. That costs
        Σ_ℓ d_ℓ·N numbers, as much as half the cache, so it is off by default and
        ``delta`` is then an empty list.

    Returns
    -------
    CheckpointGradients
        ``dW``, ``db`` and ``loss`` identical, bit for bit, to
        ``net.gradients(X, Y)``.
    """
    own_passes = (type(net).forward, type(net).backward)
    if own_passes != (Network.forward, Network.backward):
        raise TypeError(
            f"checkpointed_gradients recomputes the layers of a plain Network, but "
            f"net is a {type(net).__name__} with a forward or backward pass of its "
            "own: use its gradients method instead"
        )
    L = net.num_layers
    boundaries = _resolve_boundaries(L, segments, boundaries)
    stored, segment = checkpointed_forward(net, X, boundaries)
    zL, aL = segment.z[-1], segment.a[-1]
    loss, delta = _loss_and_output_error(net, zL, aL, Y)

    dW = [None] * L
    db = [None] * L
    deltas = [None] * L if keep_delta else []
    recomputed = 0
    da = None  # ∂L/∂a^{start} handed from a segment to the one before it
    for j in range(len(boundaries) - 2, -1, -1):
        start, stop = boundaries[j], boundaries[j + 1]
        if j < len(boundaries) - 2:
            segment = recompute_segment(net, stored.pop(start), start, stop)
            recomputed += stop - start
            # δ^{stop} needs z^{stop}, which only this recomputation provides.
            delta = da * net.activations[stop - 1].derivative(segment.z[-1])
        for l in range(stop - 1, start - 1, -1):
            if keep_delta:
                deltas[l] = delta
            a_prev = segment.a[l - start]
            dW[l] = delta @ a_prev.T
            db[l] = np.sum(delta, axis=1, keepdims=True)
            if l == 0:
                break
            da = net.weights[l].T @ delta
            if l > start:
                delta = da * net.activations[l - 1].derivative(segment.z[l - 1 - start])
        del segment
    return CheckpointGradients(
        dW=dW, db=db, delta=deltas, loss=loss,
        boundaries=boundaries, recomputed_layers=recomputed,
    )


def _loss_and_output_error(net, zL, aL, Y):
    """Return the loss and δᴸ, from the same function ``Network.backward`` uses."""
    K, N = zL.shape
    targets = targets_as_columns(Y, K, N, net.dtype, net.loss_name)
    return get_loss(net.loss_name).value_and_delta(zL, aL, targets, net.activations[-1])


# The cost of a schedule --------------------------------------------------------


def memory_model(sizes, N, boundaries, dtype=np.float64):
    """Return the bytes of activations a schedule keeps at its peak.

    The stored inputs a^{b_0}, …, a^{b_{k−1}} plus the cache of the largest
    segment, z^ℓ and a^ℓ of each of its layers. One segment (k = 1) is the whole
    cache, ``cache_bytes(sizes, N, dtype)``.

    Returns
    -------
    dict
        ``stored``, ``segment`` and ``total``, in bytes.
    """
    sizes = [int(d) for d in sizes]
    b = bytes_per_number(dtype) * int(N)
    stored = b * sum(sizes[start] for start in boundaries[:-1])
    segment = b * max(
        2 * sum(sizes[start + 1 : stop + 1])
        for start, stop in zip(boundaries[:-1], boundaries[1:])
    )
    return {"stored": stored, "segment": segment, "total": stored + segment}


def measure_peak(function, *args, warmup=False, **kwargs):
    """Call ``function(*args, **kwargs)`` and measure its peak of new memory.

    ``tracemalloc`` records every allocation of Python and of numpy's arrays.
    The peak counts only what the call allocates beyond what was already held,
    so arrays that existed before (X, the weights) are not in it.

    Parameters
    ----------
    function : callable
    *args, **kwargs
        Passed to ``function``.
    warmup : bool
        Call ``function`` once, unmeasured, before the measured call. The first
        calls of a code path allocate a few kB of Python's own caches, which
        would otherwise make the first measurement differ from the next ones.

    Returns
    -------
    result
        What the measured call returned.
    peak : int
        The largest number of bytes held at once during the call, above the
        level at its start.
    """
    if warmup:
        function(*args, **kwargs)
    # A garbage collection during the call would free objects at a moment that
    # depends on the history of the process. Collecting first and pausing the
    # collector keeps the peak from varying with that history.
    collector_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = function(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
        if collector_was_enabled:
            gc.enable()
    return result, peak - before
