"""bpcourse: the backpropagation equations of the course, as tested numpy code.

Notation follows the book: layers are numbered 1 … L, ``W[ℓ]`` has shape
(d_ℓ, d_{ℓ−1}), ``b[ℓ]`` has shape (d_ℓ, 1) and examples are columns, so a
batch ``X`` has shape (d_0, N).
"""

__version__ = "0.1.0"
