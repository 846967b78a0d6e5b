r"""Weight initialisation, seeded: Xavier/Glorot and He/Kaiming.

Each initialiser returns W of shape (fan_out, fan_in) = (d_ℓ, d_{ℓ−1}). Biases
start at zero.

=================  =====================================
name               distribution of each entry of W
=================  =====================================
``xavier_uniform`` U(−r, r), r = √(6 / (fan_in + fan_out))
``xavier_normal``  N(0, 2 / (fan_in + fan_out))
``he_uniform``     U(−r, r), r = √(6 / fan_in)
``he_normal``      N(0, 2 / fan_in)
=================  =====================================

Xavier keeps the variance of activations and gradients about constant through
tanh and sigmoid layers; He doubles it to make up for ReLU zeroing half its
inputs.
"""

import numpy as np


def xavier_uniform(fan_out, fan_in, rng, dtype=np.float64):
    """Glorot uniform: U(−r, r) with r = √(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(dtype)


def xavier_normal(fan_out, fan_in, rng, dtype=np.float64):
    """Glorot normal: N(0, σ²) with σ² = 2 / (fan_in + fan_out)."""
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (std * rng.standard_normal((fan_out, fan_in))).astype(dtype)


def he_uniform(fan_out, fan_in, rng, dtype=np.float64):
    """He uniform: U(−r, r) with r = √(6 / fan_in)."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(dtype)


def he_normal(fan_out, fan_in, rng, dtype=np.float64):
    """He normal: N(0, σ²) with σ² = 2 / fan_in."""
    std = np.sqrt(2.0 / fan_in)
    return (std * rng.standard_normal((fan_out, fan_in))).astype(dtype)


INITIALIZERS = {
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}
INITIALIZERS["xavier"] = xavier_normal
INITIALIZERS["glorot"] = xavier_normal
INITIALIZERS["he"] = he_normal
INITIALIZERS["kaiming"] = he_normal

_RELU_FAMILY = ("relu", "leaky_relu")


def get_initializer(name, activation=None):
    """Look up an initialiser by name.

    ``"auto"`` picks He for the ReLU family and Xavier for every other
    activation. An unknown name raises ``ValueError`` listing the valid ones.
    """
    if callable(name):
        return name
    if name == "auto":
        return he_normal if activation in _RELU_FAMILY else xavier_normal
    if not isinstance(name, str) or name not in INITIALIZERS:
        valid = ", ".join(["auto", *sorted(INITIALIZERS)])
        raise ValueError(f"unknown init {name!r}: valid names are {valid}")
    return INITIALIZERS[name]
