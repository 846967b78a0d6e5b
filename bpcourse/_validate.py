"""Argument checks shared by the package, with messages in the course's notation."""

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_dtype(dtype):
    """Return ``dtype`` as a numpy float dtype, or raise for anything else."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype {dtype!r} is not a numpy dtype") from error
    if resolved.type not in FLOAT_DTYPES:
        raise ValueError(
            f"dtype {resolved} is not supported: use np.float64 (the default) "
            "or np.float32"
        )
    return resolved


def as_array(value, name, dtype=None):
    """Convert ``value`` to a numpy array, naming the argument when that fails."""
    if value is None:
        raise TypeError(f"{name} is None: expected a numpy array")
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} cannot be converted to a numeric array: {error}"
        ) from error
    if array.dtype == object:
        raise TypeError(f"{name} has dtype object: expected a numeric array")
    return array


def check_finite(array, name):
    """Raise ``ValueError`` when ``array`` holds nan or inf, saying where."""
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        where = tuple(int(i) for i in bad)
        raise ValueError(
            f"{name} contains {array[where]} at index {where}: inputs must be "
            "finite; check the data for missing values or divide-by-zero"
        )
