"""Tests of bpcourse.precision: float16 passes, loss scaling and quantization."""

import math

import numpy as np
import pytest

from bpcourse import data
from bpcourse.network import Network
from bpcourse.optim import Adam, Momentum
from bpcourse.precision import (
    FLOAT16_EPS,
    FLOAT16_MAX,
    FLOAT16_SMALLEST_NORMAL,
    FLOAT16_SMALLEST_SUBNORMAL,
    DynamicLossScaler,
    StaticLossScaler,
    cast_outcomes,
    dynamic_scale_trace,
    fake_quantize,
    half_accuracy,
    half_forward,
    half_gradients,
    lsq_grad_scale,
    lsq_initial_step,
    lsq_step_gradient,
    max_abs_step,
    network_float16_error,
    overflow_fraction,
    quantization_range,
    quantized_copy,
    ste_gradient,
    to_float16,
    train_mixed_precision,
    train_quantized,
    underflow_fraction,
    unscale,
)

#: The unit roundoff of float16, 2⁻¹¹: the largest relative error of rounding
#: a number in the normal range.
U16 = 2.0**-11

#: float16 outputs may differ from float64 by this many unit roundoffs: the
#: network rounds its inputs, weights and every layer's result once each, and
#: the errors of the two layers add up, measured at 1u to 3u on these runs.
OUTPUT_TOL = 10 * U16

#: float16 gradients may differ from float64 by this many unit roundoffs
#: (normwise per array): the backward pass adds the rounding of δ at every
#: layer to that of the forward pass, measured at 1u to 7u on these runs.
GRADIENT_TOL = 20 * U16

#: The loss weight of the chapter's mixed-precision runs, 2⁻²⁰.
LOSS_WEIGHT = 2.0**-20


@pytest.fixture(scope="module")
def digits32():
    digits = data.load_digits(dtype=np.float32)
    X_train, X_test = data.standardize(digits.X_train, digits.X_test)
    return X_train, digits.y_train, X_test, digits.y_test


@pytest.fixture(scope="module")
def trained32(digits32):
    X, y, _, _ = digits32
    net = Network([64, 64, 10], activation="relu", seed=0, dtype=np.float32)
    net.fit(X, y, epochs=5, batch_size=32, optimizer=Momentum(lr=0.05), progress=False)
    return net


# --- float16 facts ---------------------------------------------------------------


def test_float16_limits():
    assert FLOAT16_MAX == 65504.0
    assert FLOAT16_SMALLEST_NORMAL == 2.0**-14
    assert FLOAT16_SMALLEST_SUBNORMAL == 2.0**-24
    assert FLOAT16_EPS == 2.0**-10


@pytest.mark.parametrize(
    "value, outcome",
    [(0.1, "normal"), (1e-5, "subnormal"), (3e-8, "subnormal"), (2e-8, "zero"),
     (7e4, "overflow"), (65504.0, "normal")],
)
def test_cast_outcomes_classify(value, outcome):
    result = cast_outcomes([value])
    assert result[outcome] == 1.0
    assert result["count"] == 1


def test_cast_outcomes_scale_lifts_small_values():
    values = np.array([1e-9, 1e-8, 1e-3, 1.0])
    assert cast_outcomes(values)["zero"] == 0.5
    assert cast_outcomes(values, scale=2.0**13)["zero"] == 0.0
    assert cast_outcomes(values, scale=2.0**20)["overflow"] == 0.25


def test_cast_outcomes_ignores_zeros():
    assert cast_outcomes(np.zeros(3))["count"] == 0


def test_underflow_fraction_counts_only_nonzero_reference():
    reference = [np.array([0.0, 1e-9, 1e-3]), np.array([[2e-9, 0.0]])]
    grads16 = [r.astype(np.float16) for r in reference]
    assert underflow_fraction(grads16, reference) == pytest.approx(2 / 3)


def test_overflow_fraction():
    grads = [np.array([np.inf, 1.0]), np.array([np.nan, 0.0, 2.0, 3.0])]
    assert overflow_fraction(grads) == pytest.approx(2 / 6)


def test_matrix_product_accumulates_wider_than_float16():
    # A float16 accumulator stops at 2048, where 2048 + 1 rounds to 2048.
    ones = np.ones(4096, dtype=np.float16)
    assert (ones[None, :] @ ones[:, None]).item() == 4096.0
    assert float(np.cumsum(ones)[-1]) == 2048.0


# --- The float16 passes -----------------------------------------------------------


def test_half_forward_is_float16(digits32):
    X, _, _, _ = digits32
    net = Network([64, 16, 10], activation="relu", seed=0, dtype=np.float32)
    output, zs, activations = half_forward(net, X[:, :8])
    assert output.dtype == np.float16
    assert all(z.dtype == np.float16 for z in zs)
    assert activations[0].shape == (64, 8)


@pytest.mark.parametrize("epochs", [0, 5])
def test_half_forward_agrees_with_float64(digits32, trained32, epochs):
    X, _, _, _ = digits32
    net = trained32 if epochs else Network([64, 64, 10], activation="relu", seed=0,
                                           dtype=np.float32)
    assert network_float16_error(net, X[:, :256]) < OUTPUT_TOL


@pytest.mark.parametrize("scale", [1.0, 2.0**8, 2.0**12])
def test_half_gradients_agree_with_float64(digits32, trained32, scale):
    X, y, _, _ = digits32
    X_batch, y_batch = X[:, :32], y[:32]
    reference = trained32.astype(np.float64).gradients(X_batch, y_batch)
    half = half_gradients(trained32, X_batch, y_batch, scale)
    grads, finite = unscale(half.as_list(), half.scale)
    assert finite
    for g, r in zip(grads, reference.as_list()):
        assert g.dtype == np.float32
        assert np.linalg.norm(g - r) / np.linalg.norm(r) < GRADIENT_TOL
    assert half.loss == pytest.approx(reference.loss, rel=OUTPUT_TOL)


def test_half_gradients_are_float16(digits32):
    X, y, _, _ = digits32
    net = Network([64, 8, 10], activation="tanh", seed=0, dtype=np.float32)
    half = half_gradients(net, X[:, :4], y[:4], 4.0)
    assert all(g.dtype == np.float16 for g in half.as_list())
    assert all(d.dtype == np.float16 for d in half.delta)


def test_power_of_two_scale_keeps_normal_numbers_exact():
    # Multiplying by 2^k changes only the exponent, so a number that is normal
    # before and after rounds to the same significant bits.
    x = np.random.default_rng(0).uniform(2.0**-10, 2.0**4, size=1000)
    for k in (-4, 3, 8):
        scaled = to_float16(x * 2.0**k).astype(np.float64) / 2.0**k
        np.testing.assert_array_equal(scaled, to_float16(x).astype(np.float64))


def test_power_of_two_scale_changes_subnormal_numbers():
    x = np.array([3e-7, 1.1e-6])
    lifted = to_float16(x * 2.0**10).astype(np.float64) / 2.0**10
    assert np.all(np.abs(lifted - x) < np.abs(to_float16(x).astype(np.float64) - x))


def test_loss_weight_makes_gradients_underflow(digits32, trained32):
    X, y, _, _ = digits32
    reference = [np.float32(LOSS_WEIGHT) * g
                 for g in trained32.gradients(X[:, :32], y[:32]).as_list()]
    unscaled = half_gradients(trained32, X[:, :32], y[:32], 1.0, LOSS_WEIGHT)
    assert underflow_fraction(unscaled.as_list(), reference) > 0.99
    scaled = half_gradients(trained32, X[:, :32], y[:32], 2.0**20, LOSS_WEIGHT)
    assert underflow_fraction(scaled.as_list(), reference) < 0.01
    assert overflow_fraction(scaled.as_list()) == 0.0


def test_too_large_scale_overflows(digits32, trained32):
    X, y, _, _ = digits32
    half = half_gradients(trained32, X[:, :32], y[:32], 2.0**30)
    grads, finite = unscale(half.as_list(), half.scale)
    assert not finite
    assert overflow_fraction(half.as_list()) > 0.0


def test_half_gradients_rejects_bad_scale(digits32, trained32):
    X, y, _, _ = digits32
    with pytest.raises(ValueError, match="scale"):
        half_gradients(trained32, X[:, :4], y[:4], 0.0)


def test_half_accuracy_matches_float32(digits32, trained32):
    _, _, X_test, y_test = digits32
    assert abs(half_accuracy(trained32, X_test, y_test)
               - trained32.accuracy(X_test, y_test)) <= 2 / len(y_test)


# --- Loss scalers ----------------------------------------------------------------


def test_static_scaler_skips_overflow():
    scaler = StaticLossScaler(1024.0)
    assert scaler.update(False) is True
    assert scaler.update(True) is False
    assert scaler.scale == 1024.0


def test_dynamic_scaler_halves_and_skips_on_overflow():
    scaler = DynamicLossScaler(2.0**16, growth_interval=3)
    assert scaler.update(True) is False
    assert scaler.scale == 2.0**15
    assert scaler.good_steps == 0


def test_dynamic_scaler_doubles_after_interval():
    scaler = DynamicLossScaler(2.0**10, growth_interval=3)
    for step in range(3):
        assert scaler.update(False) is True
        expected = 2.0**11 if step == 2 else 2.0**10
        assert scaler.scale == expected
    assert scaler.good_steps == 0


def test_dynamic_scaler_overflow_restarts_count():
    scaler = DynamicLossScaler(2.0**10, growth_interval=3)
    scaler.update(False)
    scaler.update(False)
    scaler.update(True)  # halves, and the two good steps no longer count
    scaler.update(False)
    scaler.update(False)
    assert scaler.scale == 2.0**9
    scaler.update(False)
    assert scaler.scale == 2.0**10


def test_dynamic_scaler_never_grows_after_overflow():
    scaler = DynamicLossScaler(2.0**12, growth_interval=1)
    before = scaler.scale
    scaler.update(True)
    assert scaler.scale < before


def test_dynamic_scaler_respects_minimum():
    scaler = DynamicLossScaler(2.0, growth_interval=5, min_scale=1.0)
    scaler.update(True)
    scaler.update(True)
    assert scaler.scale == 1.0


@pytest.mark.parametrize("kwargs", [{"initial_scale": 0.0}, {"growth_interval": 0},
                                    {"growth": 1.0}, {"backoff": 0.5}])
def test_dynamic_scaler_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        DynamicLossScaler(**kwargs)


def test_dynamic_scale_trace_by_hand():
    overflow = [True, True, False, False, False, False, True, False, False, False,
                False]
    scales, applied = dynamic_scale_trace(overflow, 2.0**16, 3)
    np.testing.assert_array_equal(np.log2(scales),
                                  [16, 15, 14, 14, 14, 15, 15, 14, 14, 14, 15])
    np.testing.assert_array_equal(applied, [not o for o in overflow])


# --- Mixed-precision training ---------------------------------------------------------


def _mixed_run(digits32, scaler, epochs=6):
    X, y, X_test, y_test = digits32
    net = Network([64, 64, 10], activation="relu", seed=0, dtype=np.float32)
    history = train_mixed_precision(
        net, X, y, scaler, epochs=epochs, batch_size=32,
        optimizer=Momentum(lr=0.05 / LOSS_WEIGHT), loss_weight=LOSS_WEIGHT,
        validation_data=(X_test, y_test), reference_every=5)
    return net, history


def test_training_without_scaling_fails(digits32):
    _, history = _mixed_run(digits32, StaticLossScaler(1.0), epochs=3)
    assert np.nanmean(history.underflow) > 0.95
    assert max(history.val_accuracy) < 0.6


def test_static_scaling_recovers_training(digits32):
    # The chapter's claim: with S = 2^20 float16 training matches float32.
    X, y, X_test, y_test = digits32
    _, history = _mixed_run(digits32, StaticLossScaler(2.0**20))
    reference = Network([64, 64, 10], activation="relu", seed=0, dtype=np.float32)
    ref_history = reference.fit(X, y, epochs=6, batch_size=32,
                                optimizer=Momentum(lr=0.05),
                                validation_data=(X_test, y_test), progress=False)
    assert history.val_accuracy[-1] > 0.96
    for ours, theirs in zip(history.val_accuracy, ref_history.val_accuracy):
        assert abs(ours - theirs) <= 2 / len(y_test)
    assert not any(history.skipped)


def test_dynamic_scaling_skips_and_recovers(digits32):
    _, history = _mixed_run(digits32, DynamicLossScaler(2.0**40, 50))
    skipped = np.flatnonzero(history.skipped)
    assert skipped[:3].tolist() == [0, 1, 2]
    assert len(skipped) < 10
    assert history.val_accuracy[-1] > 0.96
    # A skipped step halves the scale of the next one.
    for step in skipped:
        assert history.scale[step + 1] == history.scale[step] / 2


def test_mixed_precision_needs_float32_master_weights(digits32):
    X, y, _, _ = digits32
    net = Network([64, 8, 10], seed=0)
    with pytest.raises(ValueError, match="float32"):
        train_mixed_precision(net, X, y, epochs=1)


def test_float16_weights_would_lose_updates():
    w = np.float16(0.5)
    assert np.float16(np.float32(w) - np.float32(1e-4)) == w
    assert np.float32(0.5) - np.float32(1e-4) != np.float32(0.5)


# --- Quantization ---------------------------------------------------------------------


def test_quantization_range():
    assert quantization_range(3) == (-4, 3)
    assert quantization_range(8) == (-128, 127)
    with pytest.raises(ValueError):
        quantization_range(1)


def test_fake_quantize_by_hand():
    w = np.array([0.12, -0.41, 0.88, -1.3])
    np.testing.assert_allclose(fake_quantize(w, 0.25, 3), [0.0, -0.5, 0.75, -1.0])


def test_fake_quantize_lands_on_the_grid():
    w = np.random.default_rng(0).normal(size=200)
    step = 0.07
    q = fake_quantize(w, step, 4) / step
    np.testing.assert_allclose(q, np.round(q), atol=1e-9)
    assert q.min() >= -8
    assert q.max() <= 7


def test_fake_quantize_error_is_at_most_half_a_step_inside():
    w = np.random.default_rng(1).uniform(-0.5, 0.5, size=500)
    error = np.abs(fake_quantize(w, 0.01, 8) - w)
    assert error.max() <= 0.005 + 1e-12


def test_ste_gradient_by_hand():
    w = np.array([0.12, -0.41, 0.88, -1.3])
    upstream = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(ste_gradient(w, 0.25, 3, upstream), [1.0, 2.0, 0.0, 0.0])


def test_ste_gradient_includes_range_ends():
    w = np.array([-4.0, 3.0]) * 0.25
    np.testing.assert_array_equal(ste_gradient(w, 0.25, 3, np.ones(2)), [1.0, 1.0])


def test_lsq_step_gradient_by_hand():
    w = np.array([0.12, -0.41, 0.88, -1.3])
    # round(v) − v inside: 0 − 0.48 and −2 + 1.64; outside: Q_P = 3 and −Q_N = −4.
    expected = (-0.48) + (-0.36) + 3.0 - 4.0
    assert lsq_step_gradient(w, 0.25, 3, np.ones(4)) == pytest.approx(expected)


def test_lsq_step_gradient_is_exact_derivative_plus_straight_through_term():
    # Between the jumps of round, ŵ = s·q with q fixed, so dŵ/ds = q inside the
    # range and ±Q outside. LSQ's round(v) − v adds the straight-through term
    # −v = −w/s of the entries inside the range.
    w = np.array([0.3, -0.9, 2.0, -3.0])
    step, h = 0.4, 1e-7
    numerical = (np.sum(fake_quantize(w, step + h, 3))
                 - np.sum(fake_quantize(w, step - h, 3))) / (2 * h)
    inside = ste_gradient(w, step, 3, np.ones(4)) > 0
    expected = numerical - np.sum(w[inside] / step)
    assert lsq_step_gradient(w, step, 3, np.ones(4)) == pytest.approx(expected, rel=1e-6)


def test_step_helpers():
    W = np.array([[0.5, -1.4], [0.2, 0.1]])
    assert max_abs_step(W, 3) == pytest.approx(1.4 / 3)
    assert lsq_initial_step(W, 3) == pytest.approx(2 * 0.55 / math.sqrt(3))
    assert lsq_grad_scale(4, 3) == pytest.approx(1 / math.sqrt(12))


def test_quantized_copy_leaves_original_and_biases():
    net = Network([4, 3, 2], seed=0)
    net.biases[0][...] = 0.123
    qnet = quantized_copy(net, [0.1, 0.1], 3)
    assert not np.allclose(qnet.weights[0], net.weights[0])
    np.testing.assert_array_equal(qnet.biases[0], net.biases[0])


@pytest.fixture(scope="module")
def full_precision_digits():
    digits = data.load_digits()
    X_train, X_test = data.standardize(digits.X_train, digits.X_test)
    net = Network([64, 64, 10], activation="relu", seed=0)
    net.fit(X_train, digits.y_train, epochs=30, batch_size=32, optimizer=Adam(lr=1e-3),
            progress=False)
    return net, X_train, digits.y_train, X_test, digits.y_test


def test_two_bit_table_of_the_chapter(full_precision_digits):
    # The chapter's accuracy table at 2 bits: rounding after training collapses,
    # fine-tuning with the max-abs step recovers most, LSQ recovers all.
    net, X, y, X_test, y_test = full_precision_digits
    full = net.accuracy(X_test, y_test)
    steps = [max_abs_step(W, 2) for W in net.weights]
    ptq = quantized_copy(net, steps, 2).accuracy(X_test, y_test)
    accuracy = {}
    for method in ("max_abs", "lsq"):
        model = net.copy()
        _, history = train_quantized(model, X, y, 2, method=method, epochs=10, lr=1e-3,
                                     validation_data=(X_test, y_test))
        accuracy[method] = history.val_accuracy[-1]
    assert full > 0.97
    assert ptq < 0.7
    assert accuracy["max_abs"] > 0.85
    assert accuracy["lsq"] > full - 0.01


def test_eight_bits_lose_nothing(full_precision_digits):
    net, _, _, X_test, y_test = full_precision_digits
    steps = [max_abs_step(W, 8) for W in net.weights]
    assert abs(quantized_copy(net, steps, 8).accuracy(X_test, y_test)
               - net.accuracy(X_test, y_test)) <= 2 / len(y_test)


def test_train_quantized_rejects_unknown_method(full_precision_digits):
    net, X, y, _, _ = full_precision_digits
    with pytest.raises(ValueError, match="method"):
        train_quantized(net.copy(), X, y, 4, method="round")
