"""Tests of bpcourse.checkpoint: counting the cache, FLOPs, and checkpointing."""

import tracemalloc

import numpy as np
import pytest

from bpcourse.checkpoint import (
    bytes_per_number,
    cache_bytes,
    cache_nbytes,
    checkpointed_gradients,
    flop_counts,
    measure_peak,
    memory_model,
    recompute_segment,
    segment_boundaries,
    sqrt_segments,
)
from bpcourse.network import Network


def _problem(loss="cross_entropy", activation="relu", dtype=np.float64, seed=0):
    sizes = [6, 9, 7, 9, 5, 8, 9, 4]
    if loss == "binary_cross_entropy":
        sizes[-1] = 1
    net = Network(sizes, activation=activation, loss=loss, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 11))
    if loss == "cross_entropy":
        Y = rng.integers(0, 4, size=11)
    elif loss == "mse":
        Y = rng.standard_normal((4, 11))
    else:
        Y = rng.integers(0, 2, size=11)
    return net, X, Y


# --- Counting ----------------------------------------------------------------------


def test_bytes_per_number():
    assert bytes_per_number(np.float64) == 8
    assert bytes_per_number("float32") == 4


def test_cache_bytes_by_hand():
    # [4, 3, 2], N = 5: 5 · 8 · (4 + 2 · (3 + 2)) = 560.
    assert cache_bytes([4, 3, 2], 5) == 560
    assert cache_bytes([4, 3, 2], 5, np.float32) == 280
    assert cache_bytes([784, 256, 256, 10], 128, "float32") == 935_936


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cache_nbytes_equals_the_count(dtype):
    net, X, _ = _problem(dtype=dtype)
    _, cache = net.forward(X)
    assert cache_nbytes(cache) == cache_bytes(net.sizes, X.shape[1], dtype)


def test_flop_counts_by_hand():
    counts = flop_counts([4, 3, 2], 5)
    assert counts["per_layer"] == [2 * 3 * 4 * 5, 2 * 2 * 3 * 5]
    assert counts["forward"] == 120 + 60
    # Layer 1 computes δ¹ (a⁰)ᵀ but no (W¹)ᵀ δ¹.
    assert counts["backward"] == 2 * 180 - 120
    assert counts["recompute"] == 0


def test_flop_counts_of_a_schedule():
    sizes = [8] * 11
    counts = flop_counts(sizes, 4, boundaries=[0, 4, 7, 10])
    assert counts["recompute"] == 7 * 2 * 8 * 8 * 4
    assert flop_counts(sizes, 4, boundaries=[0, 10])["recompute"] == 0


# --- Segments ------------------------------------------------------------------------


def test_segment_boundaries_examples():
    assert segment_boundaries(10, 3) == [0, 4, 7, 10]
    assert segment_boundaries(16, 4) == [0, 4, 8, 12, 16]
    assert segment_boundaries(5, 1) == [0, 5]
    assert segment_boundaries(3, 3) == [0, 1, 2, 3]


@pytest.mark.parametrize("L", range(1, 21))
def test_segment_boundaries_are_nearly_equal_longer_first(L):
    for k in range(1, L + 1):
        b = segment_boundaries(L, k)
        lengths = np.diff(b)
        assert b[0] == 0
        assert b[-1] == L
        assert len(b) == k + 1
        assert lengths.min() >= 1
        assert lengths.max() - lengths.min() <= 1
        assert np.all(np.diff(lengths) <= 0)


@pytest.mark.parametrize("L, k", [(3, 4), (3, 0), (0, 1), (2.5, 1), (True, 1)])
def test_segment_boundaries_rejects_bad_arguments(L, k):
    with pytest.raises(ValueError):
        segment_boundaries(L, k)


def test_sqrt_segments():
    assert [sqrt_segments(L) for L in (1, 2, 3, 4, 9, 10, 16, 30)] == [1, 1, 2, 2, 3, 3, 4, 5]


# --- Checkpointed gradients ---------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "loss, activation",
    [("cross_entropy", "relu"), ("mse", "tanh"), ("binary_cross_entropy", "sigmoid")],
)
def test_gradients_are_identical_bit_for_bit(loss, activation, dtype):
    net, X, Y = _problem(loss, activation, dtype)
    reference = net.gradients(X, Y)
    for k in range(1, net.num_layers + 1):
        grads = checkpointed_gradients(net, X, Y, segments=k, keep_delta=True)
        assert grads.loss == reference.loss
        for g, r in zip(grads.as_list(), reference.as_list()):
            assert g.dtype == r.dtype
            assert np.array_equal(g, r)
        for g, r in zip(grads.delta, reference.delta):
            assert np.array_equal(g, r)


def test_sqrt_schedule_is_the_default():
    net, X, Y = _problem()
    grads = checkpointed_gradients(net, X, Y)
    assert grads.boundaries == segment_boundaries(7, sqrt_segments(7))
    assert grads.delta == []
    assert checkpointed_gradients(net, X, Y, segments="sqrt").boundaries == grads.boundaries


def test_recomputed_layers_are_all_but_the_last_segment():
    net, X, Y = _problem()
    for k in range(1, 8):
        grads = checkpointed_gradients(net, X, Y, segments=k)
        assert grads.recomputed_layers == grads.boundaries[-2]


def test_custom_boundaries_and_their_checks():
    net, X, Y = _problem()
    reference = net.gradients(X, Y)
    grads = checkpointed_gradients(net, X, Y, boundaries=[0, 1, 5, 7])
    assert all(np.array_equal(g, r) for g, r in zip(grads.dW, reference.dW))
    for bad in ([0, 7, 5, 7], [1, 3, 7], [0, 3, 6], [0]):
        with pytest.raises(ValueError, match="boundaries"):
            checkpointed_gradients(net, X, Y, boundaries=bad)


def test_recompute_segment_reproduces_the_forward_cache():
    net, X, _ = _problem()
    _, cache = net.forward(X)
    segment = recompute_segment(net, cache.a[2], 2, 5)
    assert len(segment.z) == 3
    assert len(segment.a) == 4
    for i in range(3):
        assert np.array_equal(segment.z[i], cache.z[2 + i])
        assert np.array_equal(segment.a[i + 1], cache.a[3 + i])


def test_checkpointing_rejects_other_architectures():
    from bpcourse.depth import DeepNetwork

    net = DeepNetwork([4, 4, 4, 2], residual=True)
    with pytest.raises(TypeError, match="plain Network"):
        checkpointed_gradients(net, np.zeros((4, 3)), [0, 1, 0])


def test_checkpointing_does_not_change_the_network():
    net, X, Y = _problem()
    before = [p.copy() for p in net.parameters()]
    checkpointed_gradients(net, X, Y, segments=3)
    assert all(np.array_equal(p, q) for p, q in zip(before, net.parameters()))


# --- Memory ---------------------------------------------------------------------------


def test_memory_model_of_one_segment_is_the_cache():
    sizes = [6, 9, 7, 9, 4]
    assert memory_model(sizes, 11, [0, 4])["total"] == cache_bytes(sizes, 11)


def test_memory_model_by_hand():
    # Equal widths 4, N = 2, float64: one number is 8 bytes, a column 64 bytes per
    # example pair. Boundaries [0, 2, 4]: stored a⁰, a² (2 · 4 · 2 · 8 = 128), a
    # segment of two layers holds 2 · (4 + 4) · 2 · 8 = 256.
    model = memory_model([4] * 5, 2, [0, 2, 4])
    assert model == {"stored": 128, "segment": 256, "total": 384}


def test_measure_peak_warms_up_unmeasured():
    calls = []

    def allocate(size):
        calls.append(size)
        return np.ones(size)

    array, peak = measure_peak(allocate, 1000, warmup=True)
    assert calls == [1000, 1000]
    assert array.shape == (1000,)
    assert 8000 <= peak < 20_000


def test_measure_peak_sees_an_allocation_and_restores_tracing():
    def allocate():
        a = np.ones(1_000_000)
        return float(a.sum())

    assert not tracemalloc.is_tracing()
    result, peak = measure_peak(allocate)
    assert result == 1_000_000.0
    assert 8_000_000 <= peak < 8_100_000
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        _, again = measure_peak(allocate)
        assert tracemalloc.is_tracing()
        assert abs(again - peak) < 10_000
    finally:
        tracemalloc.stop()


def test_measured_peak_is_deterministic_and_falls_with_segments():
    rng = np.random.default_rng(0)
    net = Network([32] * 12 + [4], activation="relu", seed=0)
    X = rng.standard_normal((32, 256))
    Y = rng.integers(0, 4, size=256)
    peaks = {}
    for k in (1, 3, 12):
        runs = [measure_peak(checkpointed_gradients, net, X, Y, segments=k, warmup=True)[1]
                for _ in range(2)]
        # The same arrays every run; Python's free lists for small objects can
        # change what tracemalloc records by some tens of bytes.
        assert abs(runs[0] - runs[1]) < 1_000
        peaks[k] = runs[0]
    assert peaks[3] < 0.6 * peaks[1]
    assert peaks[3] < peaks[12]
    # Ordinary backpropagation keeps at least the cache (less X, allocated before).
    assert peaks[1] >= cache_bytes(net.sizes, 256) - X.nbytes
