"""Data sets in the course's column layout, and a seeded minibatch iterator.

Every loader returns X of shape (d_0, N), one example per column, and integer
labels y of shape (N,). Nothing is downloaded: the digits are the 8×8 images
that scikit-learn ships inside its package, and the toy sets are generated.
"""

from dataclasses import dataclass

import numpy as np

from bpcourse._validate import as_array

#: The digits' pixels are integers 0 … 16; dividing by this maps them to [0, 1].
DIGITS_MAX_PIXEL = 16.0


@dataclass
class Dataset:
    """A train/test split in the column layout.

    Attributes
    ----------
    X_train, X_test : ndarray, shape (d_0, N_train) and (d_0, N_test)
    y_train, y_test : ndarray of int, shape (N_train,) and (N_test,)
    classes : list of str
        ``classes[k]`` names label k.
    name : str
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list
    name: str

    def __repr__(self):
        return (
            f"Dataset({self.name!r}: X_train {self.X_train.shape}, "
            f"X_test {self.X_test.shape}, {len(self.classes)} classes)"
        )


def to_columns(X):
    """Convert batch-first data of shape (N, d) to the course's (d, N), contiguous."""
    X = as_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X has shape {X.shape}: expected (N, d) batch-first data")
    return np.ascontiguousarray(X.T)


#: Added to each feature's standard deviation in ``standardize``. The digits' border
#: pixels are almost always 0; without an offset the rare nonzero value would be
#: scaled up to dozens of standard deviations.
STD_OFFSET = 0.1


def standardize(X_train, *others, std_offset=STD_OFFSET):
    """Centre and scale every feature (row) by the training set's statistics.

    Parameters
    ----------
    X_train : ndarray, shape (d, N_train)
        Its per-row mean and standard deviation define the transformation.
    *others : ndarray, shape (d, N)
        Transformed with the same statistics (a test set, for example).
    std_offset : float
        Added to each standard deviation; see ``STD_OFFSET``.

    Returns
    -------
    list of ndarray
        ``[X_train, *others]`` standardized, each of its input's shape and dtype.
    """
    X_train = as_array(X_train, "X_train")
    if X_train.ndim != 2:
        raise ValueError(f"X_train has shape {X_train.shape}: expected (d, N)")
    mean = X_train.mean(axis=1, keepdims=True)
    scale = X_train.std(axis=1, keepdims=True) + std_offset
    result = []
    for name, X in [("X_train", X_train), *(("others", o) for o in others)]:
        X = as_array(X, name)
        if X.ndim != 2 or X.shape[0] != X_train.shape[0]:
            raise ValueError(
                f"an array to standardize has shape {X.shape}: expected "
                f"({X_train.shape[0]}, N), the features of X_train"
            )
        result.append(((X - mean) / scale).astype(X.dtype, copy=False))
    return result


def stratified_split(X, y, test_fraction=0.25, seed=0):
    """Split columns of X and labels y so each class keeps its share in both parts.

    Parameters
    ----------
    X : ndarray, shape (d, N)
    y : ndarray of int, shape (N,)
    test_fraction : float
        Share of each class that goes to the test part, in (0, 1).
    seed : int

    Returns
    -------
    X_train, y_train, X_test, y_test
    """
    X = as_array(X, "X")
    y = as_array(y, "y")
    if y.ndim != 1 or X.ndim != 2 or X.shape[1] != y.shape[0]:
        raise ValueError(
            f"X has shape {X.shape} and y has shape {y.shape}: expected X of shape "
            "(d, N) and y of shape (N,)"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r} must lie in (0, 1)")
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(y.shape[0], dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        num_test = int(round(test_fraction * members.size))
        test_mask[members[:num_test]] = True
    train = np.flatnonzero(~test_mask)
    test = np.flatnonzero(test_mask)
    return X[:, train], y[train], X[:, test], y[test]


def load_digits(test_fraction=0.25, seed=0, dtype=np.float64):
    """Load scikit-learn's 1,797 handwritten digits, 8×8 pixels, as columns.

    Pixels are scaled to [0, 1]. The split is stratified and deterministic for a
    given seed.

    Returns
    -------
    Dataset
        X_train of shape (64, 1348) and X_test of shape (64, 449) with the
        default ``test_fraction``; labels 0 … 9.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    X = to_columns(digits.data / DIGITS_MAX_PIXEL).astype(dtype)
    y = digits.target.astype(np.int64)
    X_train, y_train, X_test, y_test = stratified_split(X, y, test_fraction, seed)
    return Dataset(
        np.ascontiguousarray(X_train),
        y_train,
        np.ascontiguousarray(X_test),
        y_test,
        classes=[str(k) for k in range(10)],
        name="digits",
    )


def xor(n=200, noise=0.1, seed=0):
    """Sample the XOR problem: points near the four corners of the unit square.

    Corners (0, 0) and (1, 1) have label 0, the other two label 1.

    Returns
    -------
    X : ndarray, shape (2, n)
    y : ndarray of int, shape (n,)
    """
    n = _check_count(n)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(2, n))
    y = (corners[0] ^ corners[1]).astype(np.int64)
    X = corners + noise * rng.standard_normal((2, n))
    return X, y


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's ``make_moons``), as columns."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=_check_count(n), noise=noise, random_state=seed)
    return to_columns(X), y.astype(np.int64)


def circles(n=200, noise=0.05, factor=0.5, seed=0):
    """Sample a small circle inside a large one (``make_circles``), as columns."""
    from sklearn.datasets import make_circles

    X, y = make_circles(
        n_samples=_check_count(n), noise=noise, factor=factor, random_state=seed
    )
    return to_columns(X), y.astype(np.int64)


def spirals(n=300, classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one per class, as columns.

    Each arm turns once around the origin; ``noise`` is the standard deviation of
    the angle's jitter in radians.

    Returns
    -------
    X : ndarray, shape (2, n)
    y : ndarray of int, shape (n,)
    """
    n = _check_count(n)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    radius = rng.uniform(0.05, 1.0, size=n)
    angle = 2 * np.pi * (radius + y / classes) + noise * rng.standard_normal(n)
    X = np.vstack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, y.astype(np.int64)


def minibatches(X, Y, batch_size, rng=None, shuffle=True):
    """Yield minibatches ``(X_batch, Y_batch)`` over the columns of X.

    Parameters
    ----------
    X : ndarray, shape (d, N)
    Y : ndarray, shape (N,) or (K, N)
    batch_size : int
        Columns per batch; the last batch of a pass contains the rest.
    rng : numpy Generator or int, optional
        Source of the shuffle; an int is used as a seed.
    shuffle : bool

    Yields
    ------
    X_batch : ndarray, shape (d, B)
    Y_batch : ndarray, shape (B,) or (K, B)
    """
    X = as_array(X, "X")
    Y = as_array(Y, "Y")
    N = X.shape[1] if X.ndim == 2 else -1
    if X.ndim != 2 or Y.shape[-1] != N:
        raise ValueError(
            f"X has shape {X.shape} and Y has shape {Y.shape}: expected X of shape "
            "(d, N) and Y of shape (N,) or (K, N), with the same N"
        )
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
    batch_size = int(batch_size)
    if shuffle:
        rng = np.random.default_rng(rng)
        order = rng.permutation(N)
    else:
        order = np.arange(N)
    for start in range(0, N, batch_size):
        idx = order[start : start + batch_size]
        yield X[:, idx], Y[..., idx]


def _check_count(n):
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n={n!r} must be a positive number of examples")
    return int(n)
