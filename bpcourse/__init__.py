"""bpcourse: the backpropagation equations of the course, as tested numpy code.

Notation follows the book: layers are numbered 1 … L, ``W[ℓ]`` has shape
(d_ℓ, d_{ℓ−1}), ``b[ℓ]`` has shape (d_ℓ, 1) and examples are columns, so a
batch ``X`` has shape (d_0, N).
"""

__version__ = "0.1.0"

UPDATE_HINT = (
    "update it with 'make venv' in the course repository, or "
    "'pip install --upgrade -e .' from its folder"
)


class VersionMismatchError(ImportError):
    """Raised by ``require`` when the installed package is older than needed."""


def _version_tuple(version):
    parts = []
    for part in str(version).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise ValueError(f"version {version!r} is not of the form '0.1' or '0.1.2'")
    return tuple(parts)


def require(minimum, installed=None):
    """Raise ``VersionMismatchError`` unless bpcourse is at least ``minimum``.

    Every chapter calls this first, so a notebook written for a newer package
    stops with both versions and the fix instead of an ``AttributeError`` later.

    Parameters
    ----------
    minimum : str
        The oldest version the caller works with, such as ``"0.1"``.
    installed : str, optional
        The version to compare; by default ``__version__``.
    """
    installed = __version__ if installed is None else installed
    needed, have = _version_tuple(minimum), _version_tuple(installed)
    # Compare "0.1" as "0.1.0", so versions of different lengths line up.
    width = max(len(needed), len(have))
    needed += (0,) * (width - len(needed))
    have += (0,) * (width - len(have))
    if have < needed:
        raise VersionMismatchError(
            f"this notebook needs bpcourse {minimum} or newer, but bpcourse "
            f"{installed} is installed: {UPDATE_HINT}"
        )
    return installed
