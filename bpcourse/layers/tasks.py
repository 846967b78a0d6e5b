"""Small generated data sets for the models of ``bpcourse.layers.models``.

Every generator is seeded and returns arrays in the layouts of the blocks:
points and node features as columns, token sequences as rows of integers.
Nothing is downloaded.
"""

from dataclasses import dataclass

import numpy as np


def gaussian_ring(n=2000, modes=6, radius=1.5, std=0.12, seed=0):
    """Draw n points from equal Gaussians centred on a circle.

    Returns
    -------
    X : ndarray, shape (2, n)
        One point per column.
    centres : ndarray, shape (2, modes)
    """
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(modes) / modes
    centres = radius * np.vstack([np.cos(angles), np.sin(angles)])
    component = rng.integers(0, modes, size=n)
    X = centres[:, component] + std * rng.standard_normal((2, n))
    return X, centres


@dataclass
class Graph:
    """A graph for node classification.

    Attributes
    ----------
    A : ndarray, shape (n, n)
        Symmetric 0/1 adjacency matrix without self-loops.
    X : ndarray, shape (d_0, n)
        Node features, one column per node.
    y : ndarray of int, shape (n,)
        Node classes.
    train : ndarray of int
        The labelled nodes, the only ones the loss reads. Every other node is a test node.
    test : ndarray of int
    """

    A: np.ndarray
    X: np.ndarray
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray

    @property
    def num_nodes(self):
        """n, the number of nodes."""
        return self.A.shape[0]

    @property
    def num_edges(self):
        """The number of undirected edges."""
        return int(self.A.sum() // 2)


def stochastic_block_model(
    block_size=40,
    blocks=3,
    p_in=0.12,
    p_out=0.01,
    features=16,
    signal=0.5,
    labelled_per_class=3,
    seed=0,
):
    """Draw a graph whose nodes link mostly inside their own block (class).

    Every pair of nodes in one block is an edge with probability ``p_in``,
    every other pair with probability ``p_out``. A node's features are
    standard normal noise plus ``signal`` times a direction of its class, so
    that features alone classify poorly and the neighbours' features help.

    Returns
    -------
    Graph
        With ``labelled_per_class`` labelled nodes per class.
    """
    rng = np.random.default_rng(seed)
    n = block_size * blocks
    y = np.repeat(np.arange(blocks), block_size)
    same = y[:, None] == y[None, :]
    probability = np.where(same, p_in, p_out)
    upper = np.triu(rng.random((n, n)) < probability, k=1)
    A = (upper | upper.T).astype(np.float64)
    directions = rng.standard_normal((features, blocks))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    X = rng.standard_normal((features, n)) + signal * directions[:, y] * np.sqrt(features)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == k), labelled_per_class, replace=False)
         for k in range(blocks)]
    )
    test = np.setdiff1d(np.arange(n), train)
    return Graph(A=A, X=X, y=y, train=np.sort(train), test=test)


@dataclass
class ReversalTask:
    """Sequences x_1 … x_m, a separator, then the same symbols in reverse.

    Attributes
    ----------
    tokens : ndarray of int, shape (N, 2m)
        The model's input: x_1 … x_m, the separator, y_1 … y_{m−1}.
    targets : ndarray of int, shape (N, 2m)
        The token each position must predict, the next token of the full
        sequence: −1 (no target) at the first m positions, then
        y_1 … y_m = x_m … x_1 from the separator on.
    symbols : int
        Tokens 0 … symbols − 1 are symbols, token ``symbols`` is the separator.
    """

    tokens: np.ndarray
    targets: np.ndarray
    symbols: int

    @property
    def vocabulary(self):
        """The number of distinct tokens, separator included."""
        return self.symbols + 1


def reversal_task(num, length=6, symbols=8, seed=0):
    """Draw ``num`` random sequences of ``length`` symbols and their reversals.

    With a causal mask, position m + k attends to x_1 … x_m and y_1 … y_k and must
    predict y_{k+1} = x_{m−k}: one attention head can learn to look back
    from position m + k to position m − 1 − k.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, symbols, size=(num, length))
    reversed_x = x[:, ::-1]
    separator = np.full((num, 1), symbols)
    tokens = np.hstack([x, separator, reversed_x[:, :-1]])
    targets = np.hstack([np.full((num, length), -1), reversed_x])
    return ReversalTask(tokens=tokens, targets=targets, symbols=symbols)
