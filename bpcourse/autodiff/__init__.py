"""Reverse-mode automatic differentiation on a graph of numpy arrays.

Every operation on ``Tensor`` objects computes its value and records a node of
the computational graph: its inputs and its vector–Jacobian product (VJP), the
rule that turns ∂L/∂output into ∂L/∂input. ``loss.backward()`` visits the nodes
from the loss back to the inputs and applies the rules, which is
backpropagation for any computation built from these operations.

>>> from bpcourse.autodiff import Tensor
>>> a, b = Tensor(2.0, name="a"), Tensor(-3.0, name="b")
>>> e = (a + b) * a
>>> e.backward()
>>> float(a.grad), float(b.grad)
(1.0, 2.0)

Modules, one concept each:

``tensor``
    The ``Tensor`` class, its operators and its version counter.
``graph``
    Recording (``record_op``), ``no_grad``, the topological order, ``backward``
    and the check of saved values.
``ops``
    Elementwise operations and broadcasting.
``array_ops``
    Matrix product, transpose, reshape, indexing, sum and mean.
``losses``
    Softmax, softmax cross-entropy, binary cross-entropy, mean squared error.
``mlp``
    ``bpcourse.network.Network`` rebuilt from these operations.
``drawing``
    ``draw_graph``, a figure of the graph with every value and gradient.
"""

# The tensor module comes first: it imports the others once Tensor is defined.
from bpcourse.autodiff.tensor import Tensor, as_tensor  # isort: split

from bpcourse.autodiff.array_ops import getitem, matmul, mean, reshape, sum, transpose
from bpcourse.autodiff.drawing import draw_graph
from bpcourse.autodiff.graph import (
    InPlaceModificationError,
    backward,
    is_grad_enabled,
    no_grad,
    record_op,
    topological_order,
    verify_saved_values,
    zero_grad,
)
from bpcourse.autodiff.losses import (
    binary_cross_entropy,
    mean_squared_error,
    softmax,
    softmax_cross_entropy,
)
from bpcourse.autodiff.mlp import mlp_forward, mlp_loss, mlp_parameters
from bpcourse.autodiff.ops import (
    add,
    divide,
    exp,
    leaky_relu,
    log,
    multiply,
    negative,
    power,
    relu,
    sigmoid,
    softplus,
    subtract,
    tanh,
    unbroadcast,
)

__all__ = [
    "InPlaceModificationError",
    "Tensor",
    "add",
    "as_tensor",
    "backward",
    "binary_cross_entropy",
    "divide",
    "draw_graph",
    "exp",
    "getitem",
    "is_grad_enabled",
    "leaky_relu",
    "log",
    "matmul",
    "mean",
    "mean_squared_error",
    "mlp_forward",
    "mlp_loss",
    "mlp_parameters",
    "multiply",
    "negative",
    "no_grad",
    "power",
    "record_op",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "subtract",
    "sum",
    "tanh",
    "topological_order",
    "transpose",
    "unbroadcast",
    "verify_saved_values",
    "zero_grad",
]
