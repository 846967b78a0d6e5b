"""Tests of bpcourse.rnn: the forward pass over time, BPTT, truncation and training."""

import numpy as np
import pytest

from bpcourse.network import Network
from bpcourse.optim import Adam, CosineSchedule
from bpcourse.rnn import (
    RNN,
    autodiff_loss,
    cosine_similarity,
    delay_sequences,
    gradient_norms_over_time,
    hand_worked_rnn,
    numerical_gradients,
    prediction_mse,
    relative_errors,
    scaled_orthogonal,
    sine_sequences,
    spectral_radius,
    train,
    truncated_bptt,
    truncated_gradients,
    truncation_ends,
    truncation_windows,
)

#: Central differences with h = 1e-5 in float64 have a truncation error of
#: about h² times the third derivative and a rounding error of about
#: 1e-16·|L|/h; on these small networks both stay below 1e-9 of the largest
#: gradient entry, while a wrong term changes it by 1e-2 or more.
CENTRAL_DIFFERENCE_TOL = 1e-7

#: The same float64 sums taken in another order agree to a few ulps.
FLOAT64_TOL = 1e-12


def _random_problem(loss="mse", T=6, d_x=2, d_h=4, d_y=3, N=5, seed=0):
    rng = np.random.default_rng(seed)
    rnn = RNN(d_x=d_x, d_h=d_h, d_y=d_y, loss=loss, seed=seed + 1)
    # Nonzero biases, so that their gradients are tested away from 0.
    rnn.b_h[...] = rng.normal(scale=0.1, size=rnn.b_h.shape)
    rnn.b_y[...] = rng.normal(scale=0.1, size=rnn.b_y.shape)
    X = rng.normal(size=(T, d_x, N))
    if loss == "mse":
        Y = rng.normal(size=(T, d_y, N))
    else:
        Y = rng.integers(d_y, size=(T, N))
    return rnn, X, Y


# --- Construction -------------------------------------------------------------------


def test_parameter_shapes():
    rnn = RNN(d_x=3, d_h=5, d_y=2)
    shapes = [p.shape for p in rnn.parameters()]
    assert shapes == [(5, 3), (5, 5), (5, 1), (2, 5), (2, 1)]


def test_recurrent_weights_have_requested_radius():
    rnn = RNN(d_x=1, d_h=16, d_y=1, spectral_radius=0.7, seed=3)
    assert spectral_radius(rnn.W_hh) == pytest.approx(0.7, rel=1e-10)
    singular_values = np.linalg.svd(rnn.W_hh, compute_uv=False)
    np.testing.assert_allclose(singular_values, 0.7, rtol=1e-10)


def test_scaled_orthogonal_is_orthogonal():
    Q = scaled_orthogonal(6, 1.0, np.random.default_rng(0))
    np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=FLOAT64_TOL)


def test_rejects_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss"):
        RNN(d_x=1, d_h=2, d_y=1, loss="hinge")


def test_copy_is_independent():
    rnn = RNN(d_x=1, d_h=3, d_y=1)
    clone = rnn.copy()
    clone.W_hh += 1.0
    assert not np.allclose(clone.W_hh, rnn.W_hh)


def test_float32_stays_float32():
    rnn = RNN(d_x=2, d_h=3, d_y=1, dtype=np.float32)
    X = np.ones((4, 2, 3), dtype=np.float32)
    grads = rnn.gradients(X, np.zeros((4, 1, 3)))
    assert all(g.dtype == np.float32 for g in grads.as_list())


# --- The forward pass -----------------------------------------------------------------


def test_forward_shapes_and_initial_state():
    rnn, X, _ = _random_problem()
    y_hat, cache = rnn.forward(X)
    assert y_hat.shape == (6, 3, 5)
    assert cache.h.shape == (7, 4, 5)
    assert cache.z.shape == (6, 4, 5)
    np.testing.assert_array_equal(cache.h[0], 0.0)


def test_forward_matches_step_by_step_equations():
    rnn, X, _ = _random_problem()
    h0 = np.random.default_rng(5).normal(size=(4, 5))
    y_hat, cache = rnn.forward(X, h0=h0)
    h = h0
    for t in range(1, X.shape[0] + 1):
        z = rnn.W_hh @ h + rnn.W_xh @ X[t - 1] + rnn.b_h
        h = np.tanh(z)
        np.testing.assert_allclose(cache.z[t - 1], z, atol=FLOAT64_TOL)
        np.testing.assert_allclose(cache.h[t], h, atol=FLOAT64_TOL)
        np.testing.assert_allclose(y_hat[t - 1], rnn.W_hy @ h + rnn.b_y,
                                   atol=FLOAT64_TOL)


def test_forward_rejects_batch_first_inputs():
    rnn = RNN(d_x=2, d_h=3, d_y=1)
    with pytest.raises(ValueError, match=r"\(T, d_x, N\)"):
        rnn.forward(np.zeros((4, 5, 2)))


def test_loss_is_summed_over_time_and_averaged_over_sequences():
    rnn, X, Y = _random_problem()
    y_hat, _ = rnn.forward(X)
    expected = 0.5 * np.sum((y_hat - Y) ** 2) / X.shape[2]
    assert rnn.loss(X, Y) == pytest.approx(expected, rel=FLOAT64_TOL)


def test_targets_of_wrong_shape_are_rejected():
    rnn, X, Y = _random_problem()
    with pytest.raises(ValueError, match="Y has shape"):
        rnn.loss(X, Y[:, :, :2])


# --- The worked example ---------------------------------------------------------------


def test_hand_worked_forward():
    rnn, X, Y = hand_worked_rnn()
    y_hat, cache = rnn.forward(X)
    np.testing.assert_allclose(cache.z.ravel(), [0.5, 0.5 * np.tanh(0.5) + 0.5])
    np.testing.assert_allclose(cache.h.ravel(), [0.0, 0.46211716, 0.62371255],
                               atol=1e-8)
    assert rnn.loss(X, Y) == pytest.approx(0.17757226, abs=1e-8)


def test_hand_worked_backward():
    rnn, X, Y = hand_worked_rnn()
    grads = rnn.gradients(X, Y)
    np.testing.assert_allclose(grads.dh[1:].ravel(), [0.34716460, -0.37628745],
                               atol=1e-8)
    np.testing.assert_allclose(grads.delta.ravel(), [0.27302682, -0.22990511],
                               atol=1e-8)
    assert grads.dW_hh.item() == pytest.approx(-0.10624309, abs=1e-8)
    assert grads.dW_xh.item() == pytest.approx(0.02156086, abs=1e-8)


# --- BPTT against other computations ------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_bptt_matches_central_differences(loss):
    rnn, X, Y = _random_problem(loss)
    grads = rnn.gradients(X, Y).as_list()
    errors = relative_errors(grads, numerical_gradients(rnn, X, Y))
    for name, error in errors.items():
        assert error < CENTRAL_DIFFERENCE_TOL, name


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_bptt_matches_autodiff(loss):
    rnn, X, Y = _random_problem(loss, T=8)
    grads = rnn.gradients(X, Y)
    tensor_loss, params = autodiff_loss(rnn, X, Y)
    tensor_loss.backward()
    assert tensor_loss.item() == pytest.approx(grads.loss, rel=FLOAT64_TOL)
    for name, error in relative_errors(grads.as_list(), [p.grad for p in params]).items():
        assert error < FLOAT64_TOL, name


def test_bptt_with_initial_state_matches_central_differences():
    rnn, X, Y = _random_problem()
    h0 = np.random.default_rng(9).normal(size=(4, 5))
    grads = rnn.gradients(X, Y, h0=h0).as_list()
    numerical = numerical_gradients(rnn, X, Y, h0=h0)
    for name, error in relative_errors(grads, numerical).items():
        assert error < CENTRAL_DIFFERENCE_TOL, name


def test_one_step_is_a_tanh_layer():
    # With T = 1 and h_0 = 0 the network is Network([d_x, d_h, d_y]) with a
    # tanh hidden layer, and BPTT is its δ-recursion.
    rnn, X, Y = _random_problem(T=1)
    net = Network([2, 4, 3], activation="tanh", loss="mse", output="identity")
    net.weights = [rnn.W_xh.copy(), rnn.W_hy.copy()]
    net.biases = [rnn.b_h.copy(), rnn.b_y.copy()]
    expected = net.gradients(X[0], Y[0])
    grads = rnn.gradients(X, Y)
    np.testing.assert_allclose(grads.dW_xh, expected.dW[0], atol=FLOAT64_TOL)
    np.testing.assert_allclose(grads.db_h, expected.db[0], atol=FLOAT64_TOL)
    np.testing.assert_allclose(grads.dW_hy, expected.dW[1], atol=FLOAT64_TOL)
    np.testing.assert_allclose(grads.db_y, expected.db[1], atol=FLOAT64_TOL)
    np.testing.assert_array_equal(grads.dW_hh, 0.0)
    assert grads.loss == pytest.approx(expected.loss, rel=FLOAT64_TOL)


def test_shared_weight_gradient_is_sum_over_steps():
    rnn, X, Y = _random_problem()
    _, cache = rnn.forward(X)
    grads = rnn.backward(cache, Y)
    per_step = sum(grads.delta[t - 1] @ cache.h[t - 1].T for t in range(1, 7))
    np.testing.assert_allclose(grads.dW_hh, per_step, atol=FLOAT64_TOL)


def test_dh_last_is_gradient_of_linear_readout():
    # L = Σ g ⊙ h_T has ∂L/∂h_T = g: bptt with dh_last = g gives its gradient.
    rnn, X, _ = _random_problem(T=5)
    g = np.random.default_rng(3).normal(size=(4, 5))
    _, cache = rnn.forward(X)
    grads = rnn.bptt(cache, np.zeros((5, 3, 5)), dh_last=g)

    def readout(W_hh):
        saved = rnn.W_hh.copy()
        rnn.W_hh[...] = W_hh
        _, c = rnn.forward(X)
        rnn.W_hh[...] = saved
        return float(np.sum(g * c.h[-1]))

    step = 1e-6
    i, j = 1, 2
    plus, minus = rnn.W_hh.copy(), rnn.W_hh.copy()
    plus[i, j] += step
    minus[i, j] -= step
    numerical = (readout(plus) - readout(minus)) / (2 * step)
    assert grads.dW_hh[i, j] == pytest.approx(numerical, rel=1e-6)


def test_steps_mask_leaves_out_losses():
    rnn, X, Y = _random_problem()
    _, cache = rnn.forward(X)
    steps = np.array([False, False, True, False, True, False])
    grads = rnn.backward(cache, Y, steps=steps)
    y_hat = cache.y_hat
    expected = 0.5 * np.sum((y_hat[steps] - Y[steps]) ** 2) / 5
    assert grads.loss == pytest.approx(expected, rel=FLOAT64_TOL)
    np.testing.assert_array_equal(grads.delta[5], 0.0)


# --- Gradients over many steps --------------------------------------------------------


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("input_scale", [0.1, 1.0])
def test_gradient_norms_respect_bound(rho, input_scale):
    result = gradient_norms_over_time(40, rho, input_scale=input_scale)
    assert result["norm"][-1] == pytest.approx(1.0)
    assert np.all(result["norm"] <= result["bound"] * (1 + 1e-12))


def test_gradient_vanishes_for_small_radius():
    result = gradient_norms_over_time(50, 0.8)
    assert result["norm"][0] < 0.8**49


def test_gradient_explodes_for_large_radius_and_small_inputs():
    result = gradient_norms_over_time(50, 2.0, input_scale=0.1)
    assert result["norm"][0] > 100.0


def test_orthogonal_recurrence_keeps_norm_near_one():
    result = gradient_norms_over_time(100, 1.0, input_scale=0.01)
    assert 0.5 < result["norm"][0] <= 1.0


# --- Truncated BPTT -------------------------------------------------------------------


def test_truncation_windows_by_hand():
    assert truncation_windows(12, 3, 5) == [(1, 3), (2, 6), (5, 9), (8, 12)]
    assert truncation_windows(10, 3, 5) == [(1, 3), (2, 6), (5, 9), (6, 10)]
    assert truncation_windows(4, 4, 4) == [(1, 4)]


def test_truncation_ends_include_last_step():
    assert truncation_ends(10, 4) == [4, 8, 10]
    assert truncation_ends(8, 4) == [4, 8]


def test_truncation_rejects_short_window():
    with pytest.raises(ValueError, match="k2 >= k1"):
        truncation_windows(10, 4, 2)


@pytest.mark.parametrize("k1", [1, 2, 3, 6])
def test_long_windows_give_full_gradient(k1):
    rnn, X, Y = _random_problem()
    full = rnn.gradients(X, Y).as_list()
    truncated = truncated_gradients(rnn, X, Y, k1, 6)
    for name, error in relative_errors(truncated, full).items():
        assert error < FLOAT64_TOL, name


def test_one_step_windows_drop_recurrent_terms():
    # With k1 = k2 = 1 no gradient crosses a step: δ_t = W_hyᵀ e_t ⊙ (1 − h_t²).
    rnn, X, Y = _random_problem()
    y_hat, cache = rnn.forward(X)
    _, dY = rnn.output_errors(y_hat, Y)
    delta = (rnn.W_hy.T @ dY) * (1 - cache.h[1:] ** 2)
    expected = sum(delta[t - 1] @ cache.h[t - 1].T for t in range(1, 7))
    truncated = truncated_gradients(rnn, X, Y, 1, 1)
    np.testing.assert_allclose(truncated[1], expected, atol=FLOAT64_TOL)


def test_truncated_gradient_matches_autodiff_with_detached_states():
    from bpcourse.autodiff import Tensor, mean_squared_error

    rnn, X, Y = _random_problem(T=10)
    k1, k2 = 3, 5
    _, cache = rnn.forward(X)
    params = [Tensor(p.copy()) for p in rnn.parameters()]
    W_xh, W_hh, b_h, W_hy, b_y = params
    previous_end = 0
    for start, end in truncation_windows(10, k1, k2):
        h = Tensor(cache.h[start - 1], requires_grad=False)
        loss = None
        for t in range(start, end + 1):
            h = (W_hh @ h + W_xh @ X[t - 1] + b_h).tanh()
            if t > previous_end:
                step = mean_squared_error(W_hy @ h + b_y, Y[t - 1])
                loss = step if loss is None else loss + step
        loss.backward()
        previous_end = end
    truncated = truncated_gradients(rnn, X, Y, k1, k2)
    for name, error in relative_errors(truncated, [p.grad for p in params]).items():
        assert error < FLOAT64_TOL, name


def test_passes_count_every_loss_once():
    rnn, X, Y = _random_problem(T=10)
    passes = list(truncated_bptt(rnn, X, Y, 3, 5))
    assert [p.first_loss for p in passes] == [1, 4, 7, 10]
    total = sum(p.grads.loss for p in passes)
    assert total == pytest.approx(rnn.loss(X, Y), rel=FLOAT64_TOL)


def test_passes_carry_state_forward():
    rnn, X, Y = _random_problem(T=9)
    _, cache = rnn.forward(X)
    for p in truncated_bptt(rnn, X, Y, 3, 4):
        np.testing.assert_allclose(p.h_end, cache.h[p.end], atol=FLOAT64_TOL)


def test_cosine_similarity_of_identical_gradients_is_one():
    grads = [np.arange(4.0).reshape(2, 2), np.ones((2, 1))]
    assert cosine_similarity(grads, grads) == pytest.approx(1.0)


# --- Data -------------------------------------------------------------------------------


def test_sine_targets_are_next_inputs():
    X, Y = sine_sequences(N=4, T=20, seed=0)
    assert X.shape == Y.shape == (20, 1, 4)
    np.testing.assert_allclose(X[1:], Y[:-1])


def test_delay_targets_are_earlier_inputs():
    X, Y = delay_sequences(N=3, T=10, delay=4, seed=0)
    np.testing.assert_array_equal(Y[4:], X[:-4])
    np.testing.assert_array_equal(Y[:4], 0.0)


def test_delay_must_fit_in_sequence():
    with pytest.raises(ValueError, match="delay"):
        delay_sequences(N=3, T=5, delay=5)


# --- Training ---------------------------------------------------------------------------


def test_sine_predictor_reaches_stated_error():
    # The chapter's run: 20 epochs of Adam with a cosine schedule and clipping.
    X, Y = sine_sequences(N=256, T=50, seed=0)
    X_val, Y_val = sine_sequences(N=128, T=50, seed=1)
    rnn = RNN(d_x=1, d_h=32, d_y=1, seed=0)
    optimizer = Adam(lr=0.01, schedule=CosineSchedule(total_steps=160))
    history = train(rnn, X, Y, epochs=20, batch_size=32, optimizer=optimizer,
                    max_norm=1.0, validation_data=(X_val, Y_val), skip=5)
    baseline = float(np.mean((X_val[5:] - Y_val[5:]) ** 2))
    assert history.val_mse[-1] < 1e-3
    assert history.val_mse[-1] < baseline / 100
    assert prediction_mse(rnn, X_val, Y_val, skip=5) == history.val_mse[-1]


def test_clipping_prevents_divergence():
    X, Y = sine_sequences(N=128, T=50, seed=0)
    results = {}
    for max_norm in (None, 1.0):
        rnn = RNN(d_x=1, d_h=32, d_y=1, seed=0)
        with np.errstate(over="ignore", invalid="ignore"):
            history = train(rnn, X, Y, epochs=4, batch_size=32, lr=0.01,
                            optimizer="sgd", max_norm=max_norm,
                            validation_data=(X, Y), skip=5)
        results[max_norm] = history
    assert not results[None].val_mse[-1] < 1.0
    assert results[1.0].val_mse[-1] < 0.2
    assert all(norm <= 1.0 or clipped for norm, clipped in
               zip(results[1.0].grad_norm, results[1.0].clipped))


def test_truncation_shorter_than_delay_cannot_learn_it():
    # The chapter's experiment: a delay of 6 steps, windows of 4 and of 6.
    X, Y = delay_sequences(N=256, T=48, delay=6, seed=0)
    X_val, Y_val = delay_sequences(N=256, T=48, delay=6, seed=1)
    final = {}
    for k in (4, 6):
        rnn = RNN(d_x=1, d_h=32, d_y=1, seed=0)
        history = train(rnn, X, Y, epochs=15, batch_size=32, lr=0.01,
                        max_norm=1.0, k1=k, k2=k,
                        validation_data=(X_val, Y_val), skip=6)
        final[k] = history.val_mse[-1]
    assert final[4] > 0.5
    assert final[6] < 0.01


def test_truncated_training_makes_one_update_per_pass():
    X, Y = sine_sequences(N=8, T=10, seed=0)
    rnn = RNN(d_x=1, d_h=4, d_y=1, seed=0)
    history = train(rnn, X, Y, epochs=1, batch_size=4, lr=0.01, k1=3, k2=5)
    assert len(history.loss) == 2 * len(truncation_windows(10, 3, 5))
