r"""2-D convolution and pooling, each forward computation beside its backward pass.

Layout. An image batch has shape (C, H, W, N): channels, rows, columns, and
the examples last. Examples stay the last axis as in the rest of the course,
so the digits' columns X of shape (64, N) become images with a plain
``X.reshape(1, 8, 8, N)``: pixel p = 8 r + c of column n is ``[0, r, c, n]``.

Convolution. A kernel W of shape (F, C, k_h, k_w) and a bias b of shape
(F, 1) map an input a of shape (C, H, W, N) to

.. math::

    z_{f, i, j, n} = b_f + \sum_{c, u, v} W_{f, c, u, v}\,
                     a_{c,\, s i + u - p,\, s j + v - p,\, n},

with stride s and p rows and columns of zeros around the input. As in every
deep-learning library, this is a cross-correlation: the kernel is not
flipped in the forward pass.

im2col. Copying every patch of the input into a column of a matrix of shape
(C k_h k_w, H_out W_out N) turns the convolution into the dense layer of the
course, z = W a + b with W reshaped to (F, C k_h k_w). The backward pass is
then that of a dense layer, followed by ``col2im``, which adds every column
of ∂L/∂(patches) back onto the pixels it was copied from.
"""

import numpy as np

from bpcourse.autodiff.graph import record_op
from bpcourse.autodiff.tensor import as_tensor


def _pair(value, name):
    """Return an int or a pair of ints as a pair (rows, columns)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}={value!r} must be an int or a pair of ints")
        pair = tuple(int(v) for v in value)
    else:
        pair = (int(value), int(value))
    return pair


def conv_output_size(size, kernel, stride=1, padding=0):
    """Return the output length ⌊(size + 2 padding − kernel) / stride⌋ + 1 of one axis.

    Raises
    ------
    ValueError
        When the kernel is larger than the padded input.
    """
    padded = size + 2 * padding
    if kernel > padded:
        raise ValueError(
            f"a kernel of size {kernel} does not fit an input of size {size} "
            f"with padding {padding}: pad more or use a smaller kernel"
        )
    if stride < 1:
        raise ValueError(f"stride={stride} must be at least 1")
    return (padded - kernel) // stride + 1


def _check_image(X, name="X"):
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(
            f"{name} has shape {X.shape}: expected (C, H, W, N), channels, rows, "
            "columns and examples; digits columns of shape (64, N) become "
            "X.reshape(1, 8, 8, N)"
        )
    return X


def _geometry(input_shape, kernel_shape, stride, padding):
    C, H, W, N = input_shape
    kh, kw = kernel_shape
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    H_out = conv_output_size(H, kh, sh, ph)
    W_out = conv_output_size(W, kw, sw, pw)
    return (sh, sw), (ph, pw), H_out, W_out


def im2col(X, kernel_shape, stride=1, padding=0):
    """Copy every k_h × k_w patch of X into one column.

    Parameters
    ----------
    X : ndarray, shape (C, H, W, N)
    kernel_shape : (int, int)
        (k_h, k_w).
    stride, padding : int or (int, int)

    Returns
    -------
    ndarray, shape (C k_h k_w, H_out W_out N)
        Row (c k_h + u) k_w + v, column (i W_out + j) N + n contains the input
        pixel under kernel entry (c, u, v) at output position (i, j) of
        example n, or 0 where that pixel lies in the padding.
    """
    X = _check_image(X)
    C, H, W, N = X.shape
    kh, kw = kernel_shape
    (sh, sw), (ph, pw), H_out, W_out = _geometry(X.shape, kernel_shape, stride, padding)
    padded = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    cols = np.empty((C, kh, kw, H_out, W_out, N), dtype=X.dtype)
    # One strided slice per kernel offset (u, v): k_h k_w copies of the
    # whole output grid instead of one copy per output position.
    for u in range(kh):
        for v in range(kw):
            cols[:, u, v] = padded[
                :, u : u + sh * H_out : sh, v : v + sw * W_out : sw, :
            ]
    return cols.reshape(C * kh * kw, H_out * W_out * N)


def col2im(cols, input_shape, kernel_shape, stride=1, padding=0):
    """Add every column back onto the pixels ``im2col`` copied it from.

    This is the adjoint of ``im2col``: a pixel that appears in several patches
    receives the sum of their entries, and entries that fall on the padding
    are dropped.

    Parameters
    ----------
    cols : ndarray, shape (C k_h k_w, H_out W_out N)
    input_shape : (C, H, W, N)

    Returns
    -------
    ndarray, shape (C, H, W, N)
    """
    C, H, W, N = input_shape
    kh, kw = kernel_shape
    (sh, sw), (ph, pw), H_out, W_out = _geometry(
        input_shape, kernel_shape, stride, padding
    )
    expected = (C * kh * kw, H_out * W_out * N)
    if cols.shape != expected:
        raise ValueError(
            f"cols has shape {cols.shape} but an input of shape {tuple(input_shape)} "
            f"and a {kh}×{kw} kernel give {expected}"
        )
    blocks = cols.reshape(C, kh, kw, H_out, W_out, N)
    padded = np.zeros((C, H + 2 * ph, W + 2 * pw, N), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            padded[:, u : u + sh * H_out : sh, v : v + sw * W_out : sw, :] += blocks[
                :, u, v
            ]
    return padded[:, ph : ph + H, pw : pw + W, :]


def conv2d_forward(X, W, b, stride=1, padding=0):
    """Convolve (cross-correlate) X with F kernels and add their biases.

    Parameters
    ----------
    X : ndarray, shape (C, H, W, N)
    W : ndarray, shape (F, C, k_h, k_w)
    b : ndarray, shape (F, 1)
    stride, padding : int or (int, int)

    Returns
    -------
    Z : ndarray, shape (F, H_out, W_out, N)
    cache : dict
        The patches ``cols`` and the settings, for ``conv2d_backward``.
    """
    X = _check_image(X)
    W = np.asarray(W)
    if W.ndim != 4 or W.shape[1] != X.shape[0]:
        raise ValueError(
            f"W has shape {W.shape} but X has {X.shape[0]} channels: expected "
            f"(F, {X.shape[0]}, k_h, k_w)"
        )
    F, C, kh, kw = W.shape
    b = np.asarray(b)
    if b.shape != (F, 1):
        raise ValueError(f"b has shape {b.shape}: expected ({F}, 1), one per kernel")
    _, _, H_out, W_out = _geometry(X.shape, (kh, kw), stride, padding)
    cols = im2col(X, (kh, kw), stride, padding)
    W_col = W.reshape(F, C * kh * kw)
    # The dense layer of the course: z = W a + b with the patches as a.
    Z = W_col @ cols + b
    cache = {
        "cols": cols,
        "W": W,
        "input_shape": X.shape,
        "stride": stride,
        "padding": padding,
    }
    return Z.reshape(F, H_out, W_out, X.shape[3]), cache


def conv2d_backward(dZ, cache):
    """Return ∂L/∂X, ∂L/∂W and ∂L/∂b of a convolution from δ = ∂L/∂Z.

    With the patches as a, the rules of a dense layer give
    ∂L/∂W = δ aᵀ, ∂L/∂b = δ summed over every position and example, and
    ∂L/∂a = Wᵀ δ, which ``col2im`` adds back onto the input pixels.

    Parameters
    ----------
    dZ : ndarray, shape (F, H_out, W_out, N)
    cache : dict
        From ``conv2d_forward``.

    Returns
    -------
    dX : ndarray, shape (C, H, W, N)
    dW : ndarray, shape (F, C, k_h, k_w)
    db : ndarray, shape (F, 1)
    """
    W, cols = cache["W"], cache["cols"]
    F, C, kh, kw = W.shape
    delta = dZ.reshape(F, -1)
    if delta.shape[1] != cols.shape[1]:
        raise ValueError(
            f"dZ has shape {dZ.shape}, which does not match the forward pass's "
            f"output of {cols.shape[1]} positions per kernel"
        )
    dW = (delta @ cols.T).reshape(W.shape)
    db = np.sum(delta, axis=1, keepdims=True)
    dcols = W.reshape(F, C * kh * kw).T @ delta
    dX = col2im(dcols, cache["input_shape"], (kh, kw), cache["stride"], cache["padding"])
    return dX, dW, db


def flipped_kernel(W):
    """Rotate every kernel by 180° and swap its input and output channels.

    Returns
    -------
    ndarray, shape (C, F, k_h, k_w)
        Entry [c, f, u, v] is W[f, c, k_h − 1 − u, k_w − 1 − v].
    """
    W = np.asarray(W)
    return np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def conv2d_input_gradient(dZ, W, padding=0):
    """Return ∂L/∂X of a stride-1 convolution as a convolution of δ.

    ∂L/∂X is the cross-correlation of δ, padded with k − 1 − p zeros on each
    side, with the kernel rotated by 180° (``flipped_kernel``): a "full"
    convolution of δ with W. It equals the ``col2im`` result of
    ``conv2d_backward``; the book derives it on a 3×3 image.

    Parameters
    ----------
    dZ : ndarray, shape (F, H_out, W_out, N)
    W : ndarray, shape (F, C, k_h, k_w)
    padding : int or (int, int)
        The forward pass's padding, at most k − 1 on each axis.

    Returns
    -------
    ndarray, shape (C, H, W, N)
    """
    F, C, kh, kw = np.shape(W)
    ph, pw = _pair(padding, "padding")
    if ph > kh - 1 or pw > kw - 1:
        raise ValueError(
            f"padding {padding} exceeds k − 1 for a {kh}×{kw} kernel: the input "
            "gradient is then a cropped full convolution, use conv2d_backward"
        )
    zero_bias = np.zeros((C, 1), dtype=np.result_type(dZ, W))
    dX, _ = conv2d_forward(
        dZ, flipped_kernel(W), zero_bias, stride=1, padding=(kh - 1 - ph, kw - 1 - pw)
    )
    return dX


# Pooling ----------------------------------------------------------------------


def _windows(X, size):
    X = _check_image(X)
    C, H, W, N = X.shape
    if H % size or W % size:
        raise ValueError(
            f"an input of {H}×{W} pixels does not split into {size}×{size} "
            "windows: pad it or choose a size that divides both"
        )
    # (C, H/size, size, W/size, size, N) -> (C, H/size, W/size, N, size·size)
    blocks = X.reshape(C, H // size, size, W // size, size, N)
    return blocks.transpose(0, 1, 3, 5, 2, 4).reshape(
        C, H // size, W // size, N, size * size
    )


def _unwindows(windows, input_shape, size):
    C, H, W, N = input_shape
    blocks = windows.reshape(C, H // size, W // size, N, size, size)
    return blocks.transpose(0, 1, 4, 2, 5, 3).reshape(C, H, W, N)


def maxpool_forward(X, size=2):
    """Keep the largest entry of every size × size window (stride = size).

    Returns
    -------
    Z : ndarray, shape (C, H / size, W / size, N)
    cache : dict
        Which entry of each window won, for ``maxpool_backward``. Of tied
        entries, the first in row-major order wins.
    """
    windows = _windows(X, size)
    winner = np.argmax(windows, axis=-1)
    Z = np.take_along_axis(windows, winner[..., None], axis=-1)[..., 0]
    return Z, {"winner": winner, "input_shape": np.shape(X), "size": size}


def maxpool_backward(dZ, cache):
    """Route each window's gradient to the entry that won; the others get 0.

    Returns
    -------
    ndarray, shape (C, H, W, N)
    """
    size, winner = cache["size"], cache["winner"]
    windows = np.zeros(winner.shape + (size * size,), dtype=dZ.dtype)
    np.put_along_axis(windows, winner[..., None], dZ[..., None], axis=-1)
    return _unwindows(windows, cache["input_shape"], size)


def avgpool_forward(X, size=2):
    """Average every size × size window (stride = size).

    Returns
    -------
    Z : ndarray, shape (C, H / size, W / size, N)
    cache : dict
    """
    windows = _windows(X, size)
    return windows.mean(axis=-1), {"input_shape": np.shape(X), "size": size}


def avgpool_backward(dZ, cache):
    """Spread each window's gradient evenly, dZ / size², over its entries.

    Returns
    -------
    ndarray, shape (C, H, W, N)
    """
    size = cache["size"]
    windows = np.repeat(dZ[..., None] / (size * size), size * size, axis=-1)
    return _unwindows(windows, cache["input_shape"], size)


# The same computations on bpcourse.autodiff tensors ---------------------------


def pad_tensor(x, padding):
    """Pad the rows and columns of a (C, H, W, N) tensor with zeros.

    A primitive of ``bpcourse.autodiff``: its VJP cuts the padding off g.
    """
    x = as_tensor(x)
    ph, pw = _pair(padding, "padding")
    out = np.pad(x.data, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    H, W = x.shape[1], x.shape[2]

    def vjp(g):
        return (g[:, ph : ph + H, pw : pw + W, :],)

    return record_op(out, "pad", (x,), vjp)


def patch_indices(input_shape, kernel_shape, stride=1, padding=0):
    """Return the (channel, row, column) index arrays that gather the patches.

    Indexing the padded input with them gives an array of shape
    (C k_h k_w, H_out W_out, N), the patches of ``im2col`` before the last
    two axes are merged.
    """
    C = input_shape[0]
    kh, kw = kernel_shape
    (sh, sw), _, H_out, W_out = _geometry(input_shape, kernel_shape, stride, padding)
    c, u, v = (a.reshape(-1, 1) for a in np.indices((C, kh, kw)))
    i, j = (a.reshape(1, -1) for a in np.indices((H_out, W_out)))
    return c, u + sh * i, v + sw * j


def conv2d_tensor(X, W, b, stride=1, padding=0):
    """Compute ``conv2d_forward`` from autodiff operations.

    The patches are gathered by indexing (``getitem``, whose VJP adds the
    gradient back with ``np.add.at``), not by ``im2col``, so ``backward``
    checks ``col2im`` with code that shares none of it.

    Parameters
    ----------
    X : Tensor or ndarray, shape (C, H, W, N)
    W : Tensor, shape (F, C, k_h, k_w)
    b : Tensor, shape (F, 1)

    Returns
    -------
    Tensor, shape (F, H_out, W_out, N)
    """
    X, W, b = as_tensor(X), as_tensor(W), as_tensor(b)
    C, H, Wd, N = X.shape
    F, _, kh, kw = W.shape
    _, _, H_out, W_out = _geometry(X.shape, (kh, kw), stride, padding)
    padded = pad_tensor(X, padding)
    patches = padded[patch_indices(X.shape, (kh, kw), stride, padding)]
    cols = patches.reshape(C * kh * kw, H_out * W_out * N)
    Z = W.reshape(F, C * kh * kw) @ cols + b
    return Z.reshape(F, H_out, W_out, N)


def maxpool_tensor(X, size=2):
    """Compute ``maxpool_forward`` from autodiff operations.

    The winning entries are found with numpy and then read by indexing, so
    the gradient flows to them alone: away from ties, the derivative of a
    maximum is 1 for the entry that wins and 0 for the others.
    """
    X = as_tensor(X)
    C, H, W, N = X.shape
    winner = np.argmax(_windows(X.data, size), axis=-1)
    du, dv = np.divmod(winner, size)
    c, i, j, n = np.indices(winner.shape)
    return X[c, size * i + du, size * j + dv, n]


def avgpool_tensor(X, size=2):
    """Compute ``avgpool_forward`` from autodiff operations: reshape and mean."""
    X = as_tensor(X)
    C, H, W, N = X.shape
    blocks = X.reshape(C, H // size, size, W // size, size, N)
    return blocks.mean(axis=(2, 4))
