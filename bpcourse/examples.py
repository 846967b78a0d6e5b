"""The small worked examples that the book computes by hand.

The book's chapters and the tests use these same numbers, so a reader can check
each value on paper and the tests hold the package to them.
"""

import numpy as np

from bpcourse.network import Network


def hand_worked_network():
    """Return the 2-2-1 network of the book's hand-worked example, with x and y.

    ReLU hidden layer, identity output, mean squared error, float64. The numbers
    are chosen so every intermediate value is a short decimal:

    ======  ==========================  ============================
    value   expression                  result
    ======  ==========================  ============================
    z¹      W¹ x + b¹                   (0.1, 1.05)
    a¹      ReLU(z¹)                    (0.1, 1.05)
    z²      W² a¹ + b²                  −0.225
    L       ½ (ŷ − y)²                  0.2628125
    δ²      ŷ − y                       −0.725
    δ¹      (W²)ᵀ δ² ⊙ ReLU′(z¹)        (−0.725, 0.3625)
    ======  ==========================  ============================

    Returns
    -------
    net : Network
    x : ndarray, shape (2, 1)
    y : ndarray, shape (1, 1)
    """
    net = Network([2, 2, 1], activation="relu", loss="mse", output="identity")
    net.weights[0][...] = [[0.5, -0.25], [0.25, 0.5]]
    net.biases[0][...] = [[0.1], [-0.2]]
    net.weights[1][...] = [[1.0, -0.5]]
    net.biases[1][...] = [[0.2]]
    x = np.array([[1.0], [2.0]])
    y = np.array([[0.5]])
    return net, x, y
