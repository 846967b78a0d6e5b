r"""Implicit differentiation through a fixed-point layer (a deep equilibrium model).

The layer's output is the fixed point

.. math::

    z^\star = \tanh(W z^\star + U x + b),

with z of shape (d, N), W of shape (d, d), U of shape (d, d_0) and b of shape
(d, 1). tanh is 1-Lipschitz, so the map z ↦ tanh(W z + U x + b) is a
contraction when the spectral norm ‖W‖₂ is below 1. The iteration
z_{k+1} = tanh(W z_k + U x + b) from z_0 = 0 then converges to the unique z*,
with an error that shrinks at least like ‖W‖₂^k.

The gradient of a loss L(z*) does not need the iterations. With
s = W z* + U x + b and D = tanh′(s) = 1 − (z*)², the implicit function
theorem gives, for each example (column),

.. math::

    \mu = (I - W^\top D)^{-1} \frac{\partial L}{\partial z^\star}, \qquad
    \lambda = \frac{\partial L}{\partial s} = D \mu,

and then ∂L/∂W = λ (z*)ᵀ, ∂L/∂U = λ Xᵀ and ∂L/∂b = Σ_n λ. μ solves the
linear fixed point μ = ∂L/∂z* + Wᵀ (D ⊙ μ), itself a contraction.
"""

from dataclasses import dataclass

import numpy as np

from bpcourse.autodiff import Tensor, tanh

#: Largest max-norm change between two iterates at which the forward iteration
#: stops: a few ulps of values of order 1 in float64.
DEFAULT_TOL = 1e-13

#: Iterations allowed before ``solve_fixed_point`` gives up. At ‖W‖₂ = 0.9 the
#: bound ‖W‖₂^k reaches 1e-13 after about 280 iterations.
DEFAULT_MAX_ITERATIONS = 2000


@dataclass
class FixedPoint:
    """The outcome of ``solve_fixed_point``.

    Attributes
    ----------
    z : ndarray, shape (d, N)
        The fixed point z*.
    iterations : int
    residuals : ndarray
        max |z_{k+1} − z_k| after every iteration.
    contraction : float
        ‖W‖₂, an upper bound on the factor by which each iteration shrinks the
        distance to z*.
    """

    z: np.ndarray
    iterations: int
    residuals: np.ndarray
    contraction: float


def contraction_factor(W):
    """Return the spectral norm ‖W‖₂, the largest singular value of W."""
    return float(np.linalg.norm(W, 2))


def check_contraction(W):
    """Return ‖W‖₂ and raise ``ValueError`` unless it is below 1."""
    rho = contraction_factor(W)
    if not rho < 1.0:
        raise ValueError(
            f"‖W‖₂ = {rho:.4g} is not below 1, so z ↦ tanh(W z + U x + b) is not "
            "guaranteed to be a contraction and the fixed point may not exist or "
            "be unique: scale W down, for example W * 0.9 / ‖W‖₂"
        )
    return rho


def iterate(W, U, b, X, num_iterations):
    """Return z_K after K = ``num_iterations`` steps from z_0 = 0."""
    injection = U @ X + b
    z = np.zeros((W.shape[0], X.shape[1]))
    for _ in range(num_iterations):
        z = np.tanh(W @ z + injection)
    return z


def solve_fixed_point(W, U, b, X, tol=DEFAULT_TOL, max_iterations=DEFAULT_MAX_ITERATIONS):
    """Iterate z ← tanh(W z + U X + b) from zero until it stops changing.

    Raises
    ------
    ValueError
        When ‖W‖₂ ≥ 1 (see ``check_contraction``).
    RuntimeError
        When ``max_iterations`` pass without a change below ``tol``.
    """
    rho = check_contraction(W)
    injection = U @ X + b
    z = np.zeros((W.shape[0], X.shape[1]))
    residuals = []
    for iteration in range(1, max_iterations + 1):
        z_next = np.tanh(W @ z + injection)
        residuals.append(float(np.max(np.abs(z_next - z))))
        z = z_next
        if residuals[-1] <= tol:
            return FixedPoint(z, iteration, np.array(residuals), rho)
    raise RuntimeError(
        f"the iteration did not reach a change below tol={tol:g} in "
        f"{max_iterations} iterations (last change {residuals[-1]:.3g}): raise "
        "max_iterations or tol"
    )


def implicit_gradients(W, U, b, X, z_star, dL_dz, method="solve",
                       tol=DEFAULT_TOL, max_iterations=DEFAULT_MAX_ITERATIONS):
    """Return ∂L/∂W, ∂L/∂U and ∂L/∂b at the fixed point, by the implicit function theorem.

    Parameters
    ----------
    W, U, b, X : ndarray
        The layer and its input, as in ``solve_fixed_point``.
    z_star : ndarray, shape (d, N)
        The fixed point.
    dL_dz : ndarray, shape (d, N)
        ∂L/∂z* of the loss, with the 1/N of a mean loss.
    method : {"solve", "iterate"}
        ``"solve"`` solves (I − Wᵀ D_n) μ_n = ∂L/∂z*_n for every column n
        directly. ``"iterate"`` repeats μ ← ∂L/∂z* + Wᵀ (D ⊙ μ) until it stops
        changing, which needs only products with Wᵀ.

    Returns
    -------
    dW : ndarray, shape (d, d)
    dU : ndarray, shape (d, d_0)
    db : ndarray, shape (d, 1)
    """
    D = 1.0 - z_star**2
    if method == "solve":
        d, N = z_star.shape
        # A[n] = I − Wᵀ diag(D[:, n]), one d × d system per example.
        A = np.eye(d)[None, :, :] - W.T[None, :, :] * D.T[:, None, :]
        mu = np.linalg.solve(A, dL_dz.T[:, :, None])[:, :, 0].T
    elif method == "iterate":
        mu = dL_dz.copy()
        for _ in range(max_iterations):
            mu_next = dL_dz + W.T @ (D * mu)
            change = np.max(np.abs(mu_next - mu))
            mu = mu_next
            if change <= tol * max(1.0, np.max(np.abs(mu))):
                break
    else:
        raise ValueError(f"unknown method {method!r}: use 'solve' or 'iterate'")
    lam = D * mu
    return lam @ z_star.T, lam @ X.T, np.sum(lam, axis=1, keepdims=True)


def unrolled_gradients(W, U, b, X, num_iterations, loss_gradient):
    """Return the gradients of L(z_K) by backpropagation through K iterations.

    The K steps z_{k+1} = tanh(W z_k + U X + b) are recorded on the tensors of
    ``bpcourse.autodiff`` and differentiated in reverse, so the backward pass
    visits every iterate that the forward pass stored.

    Parameters
    ----------
    num_iterations : int
        K ≥ 0; with K = 0, z_K = 0 does not depend on the parameters.
    loss_gradient : callable
        ``loss_gradient(z) -> ∂L/∂z``, evaluated at z_K.

    Returns
    -------
    dW, dU, db : ndarray
    z : ndarray, shape (d, N)
        z_K.
    """
    W_t = Tensor(W, name="W")
    U_t = Tensor(U, name="U")
    b_t = Tensor(b, name="b")
    if num_iterations == 0:
        z = np.zeros((W.shape[0], X.shape[1]))
        return np.zeros_like(W), np.zeros_like(U), np.zeros_like(b), z
    injection = U_t @ Tensor(X, requires_grad=False, name="X") + b_t
    z = Tensor(np.zeros((W.shape[0], X.shape[1])), requires_grad=False, name="z0")
    for k in range(1, num_iterations + 1):
        z = tanh(W_t @ z + injection)
        z.name = f"z{k}"
    z.backward(loss_gradient(z.data))
    return W_t.grad, U_t.grad, b_t.grad, z.data


def readout_loss(C, c, z, Y):
    """Return the mean squared error of a linear readout ŷ = C z + c, and its gradients.

    L = (1/N) Σ_n ½ ‖ŷ_n − y_n‖².

    Returns
    -------
    loss : float
    dL_dz : ndarray, shape (d, N)
    dC : ndarray, shape of C
    dc : ndarray, shape of c
    """
    N = z.shape[1]
    error = (C @ z + c - Y) / N
    loss = 0.5 * N * float(np.sum(error * error))
    return loss, C.T @ error, error @ z.T, np.sum(error, axis=1, keepdims=True)
