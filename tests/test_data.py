import numpy as np
import pytest

from bpcourse import data


def test_digits_layout_and_split():
    d = data.load_digits()
    assert d.X_train.shape == (64, 1347)
    assert d.X_test.shape == (64, 450)
    assert d.y_train.shape == (1347,)
    assert d.X_train.min() >= 0.0
    assert d.X_train.max() <= 1.0
    assert d.X_train.flags.c_contiguous
    train_share = np.bincount(d.y_train) / d.y_train.size
    test_share = np.bincount(d.y_test) / d.y_test.size
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_digits_split_is_deterministic():
    a, b, c = data.load_digits(seed=0), data.load_digits(seed=0), data.load_digits(seed=1)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.y_test, c.y_test)


def test_digits_float32():
    assert data.load_digits(dtype=np.float32).X_train.dtype == np.float32


@pytest.mark.parametrize("loader", [data.xor, data.moons, data.circles, data.spirals])
def test_toy_sets_are_columns(loader):
    X, y = loader(n=120, seed=3)
    assert X.shape == (2, 120)
    assert y.shape == (120,)
    X2, y2 = loader(n=120, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_xor_labels():
    X, y = data.xor(n=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[0] != X[1]).astype(int))


def test_spirals_classes():
    _, y = data.spirals(n=300, classes=3)
    assert np.bincount(y).tolist() == [100, 100, 100]


def test_minibatches_cover_every_column_once():
    X = np.arange(20.0).reshape(2, 10)
    y = np.arange(10)
    batches = list(data.minibatches(X, y, 4, rng=0))
    assert [b[0].shape for b in batches] == [(2, 4), (2, 4), (2, 2)]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[0], yb)
        np.testing.assert_array_equal(Xb[1], yb + 10)


def test_minibatches_onehot_and_seed():
    X = np.zeros((3, 7))
    Y = np.eye(7)[:3]
    first = [yb for _, yb in data.minibatches(X, Y, 3, rng=5)]
    second = [yb for _, yb in data.minibatches(X, Y, 3, rng=5)]
    assert first[0].shape == (3, 3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_minibatches_bad_input():
    with pytest.raises(ValueError, match="same N"):
        list(data.minibatches(np.zeros((2, 5)), np.zeros(4), 2))
    with pytest.raises(ValueError, match="batch_size=0"):
        list(data.minibatches(np.zeros((2, 5)), np.zeros(5), 0))


def test_standardize_uses_training_statistics():
    rng = np.random.default_rng(0)
    X_train = rng.normal(3.0, 2.0, size=(4, 500))
    X_test = rng.normal(3.0, 2.0, size=(4, 50))
    Z_train, Z_test = data.standardize(X_train, X_test, std_offset=0.0)
    np.testing.assert_allclose(Z_train.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(Z_train.std(axis=1), 1, atol=1e-12)
    expected = (X_test - X_train.mean(1, keepdims=True)) / X_train.std(1, keepdims=True)
    np.testing.assert_allclose(Z_test, expected)
    with pytest.raises(ValueError, match=r"expected \(4, N\)"):
        data.standardize(X_train, np.zeros((3, 2)))


def test_to_columns():
    X = np.arange(6.0).reshape(3, 2)
    C = data.to_columns(X)
    assert C.shape == (2, 3)
    assert C.flags.c_contiguous
