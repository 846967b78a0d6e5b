"""Tests of bpcourse.beyond.vectors: parameter lists as one vector."""

import numpy as np
import pytest

from bpcourse.beyond import vectors


def test_flatten_and_unflatten_round_trip():
    arrays = [np.arange(6.0).reshape(2, 3), np.array([[7.0], [8.0]])]
    vector = vectors.flatten(arrays)
    np.testing.assert_array_equal(vector, [0, 1, 2, 3, 4, 5, 7, 8])
    back = vectors.unflatten(vector, arrays)
    for a, b in zip(arrays, back):
        np.testing.assert_array_equal(a, b)


def test_unflatten_rejects_wrong_length():
    with pytest.raises(ValueError, match="entries in total"):
        vectors.unflatten(np.zeros(3), [np.zeros((2, 2))])


def test_dot_norm_cosine():
    u = [np.array([1.0, 0.0]), np.array([[2.0]])]
    v = [np.array([0.0, 3.0]), np.array([[1.0]])]
    assert vectors.dot(u, v) == 2.0
    assert vectors.norm(u) == pytest.approx(np.sqrt(5))
    assert vectors.cosine_similarity(u, v) == pytest.approx(2 / (np.sqrt(5) * np.sqrt(10)))
    assert vectors.cosine_similarity(u, vectors.zeros_like(u)) == 0.0


def test_relative_error_and_variance():
    truth = [np.array([3.0, 4.0])]
    assert vectors.relative_error([np.array([3.0, 5.0])], truth) == pytest.approx(0.2)
    estimates = [[np.array([3.0, 5.0])], [np.array([3.0, 3.0])]]
    assert vectors.relative_variance(estimates, truth) == pytest.approx(0.04)


def test_basis_direction():
    like = [np.zeros((2, 2)), np.zeros((1, 1))]
    e = vectors.basis_direction(like, 4)
    assert e[1][0, 0] == 1.0
    assert not e[0].any()


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="must match"):
        vectors.dot([np.zeros(2)], [np.zeros(3)])
