"""Tests of bpcourse.optim: optimizers, clipping and learning-rate schedules."""

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpcourse.optim import (
    DEFAULT_ADAM_EPS,
    OPTIMIZERS,
    SGD,
    Adam,
    CosineSchedule,
    Momentum,
    StepSchedule,
    clip_by_global_norm,
    clip_per_layer,
    make_optimizer,
)

#: Seed of every random generator in this file.
SEED = 0

#: Tolerance for float64 results of a few arithmetic operations: a handful of
#: roundings at unit scale stay well below 1e-12.
FLOAT64_TOL = 1e-12

#: Tolerance for float32 results, a few ulps at unit scale (float32 eps is 1.2e-7).
FLOAT32_TOL = 1e-5


#: Distance from the minimum that counts as converged on the quadratic test problem.
#: Every configuration below reaches it with a margin of a few orders of magnitude.
QUADRATIC_TOL = 1e-3


def float_arrays(values):
    return [np.array(v, dtype=np.float64) for v in values]


# ------------------------------------------------------------------ hand-worked steps


def test_sgd_one_and_two_steps():
    w = np.array([1.0, -2.0])
    opt = SGD(lr=0.1)

    opt.step([w], [np.array([0.5, -1.0])])
    # w - 0.1 * g = [1 - 0.05, -2 + 0.1]
    np.testing.assert_allclose(w, [0.95, -1.9], rtol=0, atol=FLOAT64_TOL)

    opt.step([w], [np.array([1.0, 1.0])])
    np.testing.assert_allclose(w, [0.85, -2.0], rtol=0, atol=FLOAT64_TOL)
    assert opt.steps == 2


def test_momentum_one_and_two_steps():
    w = np.array([1.0])
    opt = Momentum(lr=0.1, beta=0.9)

    opt.step([w], [np.array([2.0])])
    # v = 2, w = 1 - 0.1 * 2
    np.testing.assert_allclose(w, [0.8], rtol=0, atol=FLOAT64_TOL)

    opt.step([w], [np.array([1.0])])
    # v = 0.9 * 2 + 1 = 2.8, w = 0.8 - 0.28
    np.testing.assert_allclose(w, [0.52], rtol=0, atol=FLOAT64_TOL)
    velocity = opt.state[0]["velocity"]
    np.testing.assert_allclose(velocity, [2.8], rtol=0, atol=FLOAT64_TOL)


def test_adam_one_and_two_steps():
    w = np.array([1.0])
    opt = Adam(lr=0.1)

    opt.step([w], [np.array([2.0])])
    # m = 0.2, v = 0.004, m_hat = 2, v_hat = 4, step = 0.1 * 2 / (2 + eps)
    np.testing.assert_allclose(w, [0.9], rtol=0, atol=1e-8)

    opt.step([w], [np.array([-1.0])])
    # m = 0.9 * 0.2 - 0.1 = 0.08, v = 0.999 * 0.004 + 0.001 = 0.004996
    # m_hat = 0.08 / 0.19 = 0.421053, v_hat = 0.004996 / 0.001999 = 2.499250
    # w = 0.9 - 0.1 * 0.421053 / 1.580902 = 0.873366
    np.testing.assert_allclose(w, [0.8733662962], rtol=0, atol=1e-9)
    np.testing.assert_allclose(opt.state[0]["m"], [0.08], rtol=0, atol=FLOAT64_TOL)
    np.testing.assert_allclose(opt.state[0]["v"], [0.004996], rtol=0, atol=FLOAT64_TOL)


def test_adam_first_step_is_lr_sign():
    lr = 0.01
    g = np.array([[3.0, -1e-3], [1e4, -250.0]])
    w = np.zeros_like(g)
    Adam(lr=lr).step([w], [g])
    # The step is lr * |g| / (|g| + eps), so it differs from lr by lr * eps / |g|.
    smallest = np.min(np.abs(g))
    np.testing.assert_allclose(
        w, -lr * np.sign(g), rtol=0, atol=2 * lr * DEFAULT_ADAM_EPS / smallest
    )


def test_adam_zero_gradient_does_not_move():
    w = np.array([1.0, 2.0])
    Adam(lr=0.1).step([w], [np.zeros(2)])
    np.testing.assert_array_equal(w, [1.0, 2.0])


# -------------------------------------------------------------- independent loops


def random_problem(rng, count):
    """Return parameters shaped like a 3-4-2 network and ``count`` lists of grads."""
    shapes = [(4, 3), (4, 1), (2, 4), (2, 1)]
    params = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(count)]
    return params, grads


def test_momentum_matches_independent_loop():
    steps, lr, beta = 7, 0.05, 0.8
    rng = np.random.default_rng(SEED)
    params, grad_sequence = random_problem(rng, steps)
    expected = [p.copy() for p in params]
    velocities = [np.zeros_like(p) for p in params]

    opt = Momentum(lr=lr, beta=beta)
    for grads in grad_sequence:
        opt.step(params, grads)
        for i, g in enumerate(grads):
            velocities[i] = beta * velocities[i] + g
            expected[i] = expected[i] - lr * velocities[i]

    for i, (got, want) in enumerate(zip(params, expected)):
        np.testing.assert_allclose(
            got, want, rtol=0, atol=FLOAT64_TOL, err_msg=f"param {i}"
        )


def test_momentum_equals_textbook_form_at_constant_lr():
    # v <- beta v - lr g, w <- w + v gives the same trajectory at a constant lr.
    steps, lr, beta = 5, 0.1, 0.9
    rng = np.random.default_rng(SEED)
    grad_sequence = [rng.standard_normal(3) for _ in range(steps)]
    w = np.zeros(3)
    textbook_w, textbook_v = np.zeros(3), np.zeros(3)
    opt = Momentum(lr=lr, beta=beta)
    for g in grad_sequence:
        opt.step([w], [g])
        textbook_v = beta * textbook_v - lr * g
        textbook_w = textbook_w + textbook_v
    np.testing.assert_allclose(w, textbook_w, rtol=0, atol=FLOAT64_TOL)


def test_adam_matches_independent_loop():
    steps, lr, beta1, beta2, eps = 6, 0.01, 0.8, 0.99, 1e-6
    rng = np.random.default_rng(SEED)
    params, grad_sequence = random_problem(rng, steps)
    expected = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]

    opt = Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    for t, grads in enumerate(grad_sequence, start=1):
        opt.step(params, grads)
        for i, g in enumerate(grads):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            expected[i] = expected[i] - lr * m_hat / (np.sqrt(v_hat) + eps)

    for i, (got, want) in enumerate(zip(params, expected)):
        np.testing.assert_allclose(
            got, want, rtol=0, atol=FLOAT64_TOL, err_msg=f"param {i}"
        )


def test_momentum_beta_zero_is_sgd():
    rng = np.random.default_rng(SEED)
    params, grad_sequence = random_problem(rng, 4)
    sgd_params = [p.copy() for p in params]
    momentum, sgd = Momentum(lr=0.1, beta=0.0), SGD(lr=0.1)
    for grads in grad_sequence:
        momentum.step(params, grads)
        sgd.step(sgd_params, grads)
    for got, want in zip(params, sgd_params):
        np.testing.assert_allclose(got, want, rtol=0, atol=FLOAT64_TOL)


# ------------------------------------------------------------------- state and steps


def test_state_is_keyed_by_position():
    params = float_arrays([[1.0, 2.0], [[3.0]]])
    opt = Adam()
    opt.step(params, float_arrays([[1.0, 1.0], [[1.0]]]))
    assert sorted(opt.state) == [0, 1]
    assert opt.state[0]["m"].shape == (2,)
    assert opt.state[1]["v"].shape == (1, 1)


def test_steps_count_and_reset():
    w = np.array([1.0])
    opt = Momentum()
    for _ in range(3):
        opt.step([w], [np.array([1.0])])
    assert opt.steps == 3
    assert opt.last_lr == opt.lr

    opt.reset()
    assert opt.steps == 0
    assert opt.state == {}
    assert opt.last_lr is None


def test_reset_allows_new_parameter_layout():
    opt = SGD()
    opt.step([np.zeros(2)], [np.ones(2)])
    opt.reset()
    opt.step([np.zeros((3, 1))], [np.ones((3, 1))])
    assert opt.steps == 1


def test_last_grad_norm_is_before_clipping():
    opt = SGD(lr=0.1, clip=("global", 1.0))
    opt.step([np.zeros(2)], [np.array([3.0, 4.0])])
    assert opt.last_grad_norm == pytest.approx(5.0, abs=FLOAT64_TOL)


# ------------------------------------------------------------------------- schedules


@pytest.mark.parametrize(
    ("step", "factor"), [(0, 1.0), (2, 1.0), (3, 0.5), (5, 0.5), (6, 0.25), (9, 0.125)]
)
def test_step_schedule_values(step, factor):
    schedule = StepSchedule(step_size=3, gamma=0.5)
    assert schedule(step) == pytest.approx(factor, abs=FLOAT64_TOL)


@pytest.mark.parametrize(
    ("step", "factor"), [(0, 1.0), (5, 0.5), (10, 0.0), (25, 0.0)]
)
def test_cosine_schedule_values(step, factor):
    schedule = CosineSchedule(total_steps=10)
    assert schedule(step) == pytest.approx(factor, abs=FLOAT64_TOL)


def test_cosine_schedule_quarter_point():
    # p = 1/4: (1 + cos(pi / 4)) / 2
    expected = (1 + math.sqrt(2) / 2) / 2
    assert CosineSchedule(total_steps=8)(2) == pytest.approx(expected, abs=FLOAT64_TOL)


@pytest.mark.parametrize(
    ("step", "factor"), [(0, 1.0), (5, 0.55), (10, 0.1), (11, 0.1)]
)
def test_cosine_schedule_min_factor(step, factor):
    schedule = CosineSchedule(total_steps=10, min_factor=0.1)
    assert schedule(step) == pytest.approx(factor, abs=FLOAT64_TOL)


@pytest.mark.parametrize(
    ("step", "factor"), [(0, 0.25), (1, 0.5), (3, 1.0), (4, 1.0), (7, 0.5), (10, 0.0)]
)
def test_cosine_schedule_warmup(step, factor):
    # Warmup over steps 0-3, then the cosine runs from step 4 to step 10 (p = 3/6
    # at step 7).
    schedule = CosineSchedule(total_steps=10, warmup_steps=4)
    assert schedule(step) == pytest.approx(factor, abs=FLOAT64_TOL)


def test_lr_at_applies_schedule():
    opt = SGD(lr=0.2, schedule=StepSchedule(step_size=2, gamma=0.1))
    assert opt.lr_at(0) == pytest.approx(0.2, abs=FLOAT64_TOL)
    assert opt.lr_at(1) == pytest.approx(0.2, abs=FLOAT64_TOL)
    assert opt.lr_at(2) == pytest.approx(0.02, abs=FLOAT64_TOL)
    assert opt.lr_at(4) == pytest.approx(0.002, abs=FLOAT64_TOL)


def test_lr_at_without_schedule_is_lr():
    assert SGD(lr=0.3).lr_at(1000) == 0.3


def test_step_uses_scheduled_lr():
    w = np.array([0.0])
    opt = SGD(lr=0.1, schedule=StepSchedule(step_size=1, gamma=0.5))
    moves = []
    for _ in range(3):
        before = w.copy()
        opt.step([w], [np.array([1.0])])
        moves.append(float(before[0] - w[0]))
    np.testing.assert_allclose(moves, [0.1, 0.05, 0.025], rtol=0, atol=FLOAT64_TOL)
    assert opt.last_lr == pytest.approx(0.025, abs=FLOAT64_TOL)


def test_lambda_schedule_accepted():
    opt = SGD(lr=1.0, schedule=lambda step: 1.0 / (1 + step))
    assert opt.lr_at(3) == pytest.approx(0.25, abs=FLOAT64_TOL)


# -------------------------------------------------------------------------- clipping


def test_global_clip_scales_to_max_norm():
    grads = float_arrays([[3.0, 0.0], [[0.0], [4.0]]])
    clipped, norm = clip_by_global_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(5.0, abs=FLOAT64_TOL)
    np.testing.assert_allclose(clipped[0], [0.6, 0.0], rtol=0, atol=FLOAT64_TOL)
    np.testing.assert_allclose(clipped[1], [[0.0], [0.8]], rtol=0, atol=FLOAT64_TOL)


def test_global_clip_below_threshold_unchanged():
    grads = float_arrays([[0.3, 0.4]])
    clipped, norm = clip_by_global_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(0.5, abs=FLOAT64_TOL)
    np.testing.assert_array_equal(clipped[0], grads[0])
    assert clipped[0] is not grads[0]


def test_global_clip_does_not_modify_input():
    grads = float_arrays([[30.0, 40.0]])
    clip_by_global_norm(grads, max_norm=1.0)
    np.testing.assert_array_equal(grads[0], [30.0, 40.0])


def flatten(grads):
    return np.concatenate([g.ravel() for g in grads])


gradient_lists = st.lists(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=100, deadline=None)
@given(grads=gradient_lists, max_norm=st.floats(1e-3, 1e3))
def test_global_clip_preserves_direction(grads, max_norm):
    clipped, norm = clip_by_global_norm(grads, max_norm)
    before, after = flatten(grads), flatten(clipped)
    after_norm = np.linalg.norm(after)
    assert after_norm <= max_norm * (1 + 1e-12)
    if norm > 0:
        # One common factor: after = (after_norm / norm) * before.
        np.testing.assert_allclose(
            after, before * (after_norm / norm), rtol=1e-12, atol=1e-300
        )


@settings(max_examples=100, deadline=None)
@given(grads=gradient_lists, max_norm=st.floats(1e-3, 1e3))
def test_per_layer_clip_preserves_each_direction(grads, max_norm):
    clipped, norms = clip_per_layer(grads, max_norm)
    for before, after, norm in zip(grads, clipped, norms):
        after_norm = np.linalg.norm(after)
        assert after_norm <= max_norm * (1 + 1e-12)
        if norm > 0:
            np.testing.assert_allclose(
                after, before * (after_norm / norm), rtol=1e-12, atol=1e-300
            )


def test_per_layer_clip_treats_arrays_separately():
    grads = float_arrays([[3.0, 4.0], [0.1, 0.0]])
    clipped, norms = clip_per_layer(grads, max_norm=1.0)
    np.testing.assert_allclose(norms, [5.0, 0.1], rtol=0, atol=FLOAT64_TOL)
    np.testing.assert_allclose(clipped[0], [0.6, 0.8], rtol=0, atol=FLOAT64_TOL)
    np.testing.assert_array_equal(clipped[1], [0.1, 0.0])


def test_clipping_keeps_float32():
    grads = [np.array([300.0, 400.0], dtype=np.float32)]
    global_clipped, _ = clip_by_global_norm(grads, 1.0)
    layer_clipped, _ = clip_per_layer(grads, 1.0)
    assert global_clipped[0].dtype == np.float32
    assert layer_clipped[0].dtype == np.float32


def test_float32_norm_does_not_overflow():
    # 1e20 squared overflows float32 (max 3.4e38), but the norm is summed in float64.
    grads = [np.array([1e20, 1e20], dtype=np.float32)]
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(math.sqrt(2) * 1e20, rel=FLOAT32_TOL)
    assert np.all(np.isfinite(clipped[0]))


@pytest.mark.parametrize(
    ("clip", "function"),
    [(("global", 1.0), clip_by_global_norm), (["per_layer", 1.0], clip_per_layer)],
)
def test_optimizer_clip_configuration(clip, function):
    grads = float_arrays([[3.0, 4.0], [[12.0]]])
    clipped, _ = function(grads, 1.0)
    params = float_arrays([[0.0, 0.0], [[0.0]]])
    SGD(lr=1.0, clip=clip).step(params, grads)
    for got, want in zip(params, clipped):
        np.testing.assert_allclose(got, -want, rtol=0, atol=FLOAT64_TOL)


def test_optimizer_clip_callable():
    def halve(grads):
        return [g / 2 for g in grads]

    w = np.zeros(2)
    SGD(lr=1.0, clip=halve).step([w], [np.array([2.0, -4.0])])
    np.testing.assert_allclose(w, [-1.0, 2.0], rtol=0, atol=FLOAT64_TOL)


def test_optimizer_clip_partial_returning_pair():
    # Two parameters, so a returned (list, norm) pair must not be taken as the list.
    params = float_arrays([[0.0], [0.0]])
    clip = functools.partial(clip_by_global_norm, max_norm=1.0)
    SGD(lr=1.0, clip=clip).step(params, float_arrays([[3.0], [4.0]]))
    np.testing.assert_allclose(params[0], [-0.6], rtol=0, atol=FLOAT64_TOL)
    np.testing.assert_allclose(params[1], [-0.8], rtol=0, atol=FLOAT64_TOL)


def test_optimizer_clip_callable_bad_result():
    opt = SGD(clip=lambda grads: grads[:1])
    with pytest.raises(ValueError, match="returned 1 arrays for 2 gradients"):
        opt.step(float_arrays([[0.0], [0.0]]), float_arrays([[1.0], [1.0]]))


@pytest.mark.parametrize(
    "clip", ["global", ("global",), ("norm", 1.0), ("global", 1.0, 2.0), 5.0]
)
def test_bad_clip_configuration(clip):
    with pytest.raises(ValueError, match="clip"):
        SGD(clip=clip)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_max_norm(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm([np.ones(2)], max_norm)
    with pytest.raises(ValueError, match="max_norm"):
        clip_per_layer([np.ones(2)], max_norm)
    with pytest.raises(ValueError, match="max_norm"):
        SGD(clip=("global", max_norm))


def test_clip_rejects_nan_gradient():
    with pytest.raises(ValueError, match="inf or NaN"):
        clip_by_global_norm([np.array([np.nan])], 1.0)
    with pytest.raises(ValueError, match=r"grads\[0\]"):
        clip_per_layer([np.array([np.inf])], 1.0)


# ------------------------------------------------------------------ quadratic descent


@pytest.mark.parametrize(
    ("name", "kwargs", "steps"),
    [
        ("sgd", {"lr": 0.1}, 300),
        ("momentum", {"lr": 0.05, "beta": 0.9}, 300),
        ("adam", {"lr": 0.05}, 1000),
        ("sgd", {"lr": 0.1, "clip": ("global", 0.5)}, 400),
        ("adam", {"lr": 0.1, "schedule": CosineSchedule(1000, min_factor=0.01)}, 1000),
    ],
)
def test_quadratic_converges(name, kwargs, steps):
    # f(W, b) = 1/2 (x - c)^T A (x - c) over x = (W, b), with A symmetric positive
    # definite, eigenvalues in [1, 4], so SGD at lr 0.1 contracts every step.
    rng = np.random.default_rng(SEED)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    hessian = q @ np.diag(np.linspace(1.0, 4.0, 6)) @ q.T
    c = rng.standard_normal(6)
    W, b = rng.standard_normal((2, 2)), rng.standard_normal((2, 1))

    opt = make_optimizer(name, **kwargs)
    for _ in range(steps):
        x = np.concatenate([W.ravel(), b.ravel()])
        grad = hessian @ (x - c)
        opt.step([W, b], [grad[:4].reshape(2, 2), grad[4:].reshape(2, 1)])

    x = np.concatenate([W.ravel(), b.ravel()])
    assert np.linalg.norm(x - c) < QUADRATIC_TOL


# ------------------------------------------------------------------------------ dtype


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_stays_float32(name):
    rng = np.random.default_rng(SEED)
    params64, grad_sequence = random_problem(rng, 3)
    params32 = [p.astype(np.float32) for p in params64]
    live = list(params32)
    opt32 = make_optimizer(name, lr=0.01)
    opt64 = make_optimizer(name, lr=0.01)
    for grads in grad_sequence:
        # float64 gradients on float32 parameters must not upcast anything.
        opt32.step(params32, grads)
        opt64.step(params64, grads)

    for i, (p32, p64) in enumerate(zip(params32, params64)):
        assert p32 is live[i]
        assert p32.dtype == np.float32
        np.testing.assert_allclose(p32, p64, rtol=0, atol=FLOAT32_TOL)
    for index, state in opt32.state.items():
        for key, array in state.items():
            assert array.dtype == np.float32, f"state[{index}][{key!r}]"


# ------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_lr_value(lr):
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=lr)


@pytest.mark.parametrize("lr", ["0.1", None, True])
def test_bad_lr_type(lr):
    with pytest.raises(TypeError, match="lr"):
        SGD(lr=lr)


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (Momentum, {"beta": 1.0}, "beta"),
        (Momentum, {"beta": -0.1}, "beta"),
        (Adam, {"beta1": 1.0}, "beta1"),
        (Adam, {"beta2": 1.5}, "beta2"),
        (Adam, {"eps": 0.0}, "eps"),
    ],
)
def test_bad_hyperparameters(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


def test_bad_schedule_type():
    with pytest.raises(TypeError, match="schedule"):
        SGD(schedule=0.5)


def test_schedule_returning_negative_factor():
    opt = SGD(schedule=lambda step: -1.0)
    with pytest.raises(ValueError, match="factor -1.0 at step 0"):
        opt.lr_at(0)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: StepSchedule(0, 0.5), "step_size"),
        (lambda: StepSchedule(2, 0.0), "gamma"),
        (lambda: CosineSchedule(0), "total_steps"),
        (lambda: CosineSchedule(10, min_factor=1.5), "min_factor"),
        (lambda: CosineSchedule(10, warmup_steps=10), "warmup_steps"),
        (lambda: StepSchedule(2)(-1), "step"),
    ],
)
def test_bad_schedule_arguments(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_schedule_rejects_float_step():
    with pytest.raises(TypeError, match="step"):
        StepSchedule(2)(1.5)


def test_step_length_mismatch():
    with pytest.raises(ValueError, match="grads has 1 arrays but params has 2"):
        SGD().step([np.zeros(2), np.zeros(1)], [np.zeros(2)])


def test_step_shape_mismatch():
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(2, 1\)"):
        SGD().step([np.zeros((1, 2))], [np.zeros((2, 1))])


def test_step_rejects_nan_gradient():
    w = np.zeros(2)
    with pytest.raises(ValueError, match="inf or NaN"):
        SGD().step([w], [np.array([np.nan, 0.0])])
    np.testing.assert_array_equal(w, [0.0, 0.0])


def test_step_rejects_non_arrays():
    with pytest.raises(TypeError, match=r"params\[0\] must be a numpy array"):
        SGD().step([[1.0, 2.0]], [np.zeros(2)])
    with pytest.raises(TypeError, match="grads must be a list"):
        SGD().step([np.zeros(2)], np.zeros(2))


def test_step_rejects_integer_params():
    with pytest.raises(TypeError, match="floating-point dtype"):
        SGD().step([np.zeros(2, dtype=int)], [np.zeros(2)])


def test_step_rejects_read_only_params():
    w = np.zeros(2)
    w.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD().step([w], [np.zeros(2)])


def test_step_rejects_changed_layout():
    opt = Momentum()
    opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="Call reset"):
        opt.step([np.zeros(3)], [np.ones(3)])


# ----------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("name", "cls"),
    [("sgd", SGD), ("momentum", Momentum), ("adam", Adam), ("Adam", Adam)],
)
def test_make_optimizer_names(name, cls):
    assert type(make_optimizer(name)) is cls


def test_make_optimizer_passes_kwargs():
    opt = make_optimizer("adam", lr=0.5, beta1=0.5, clip=("global", 2.0))
    assert opt.lr == 0.5
    assert opt.beta1 == 0.5
    assert opt.clip == ("global", 2.0)


def test_make_optimizer_unknown_name():
    expected = r"Valid names are \['adam', 'momentum', 'sgd'\]"
    with pytest.raises(ValueError, match=expected):
        make_optimizer("rmsprop")


def test_make_optimizer_unknown_keyword():
    with pytest.raises(TypeError, match="SGD does not accept \\['beta'\\]"):
        make_optimizer("sgd", beta=0.9)


def test_make_optimizer_non_string():
    with pytest.raises(TypeError, match="name must be a string"):
        make_optimizer(SGD)


def test_repr_names_hyperparameters():
    text = repr(Momentum(lr=0.1, beta=0.5, schedule=StepSchedule(10, 0.5)))
    assert text == (
        "Momentum(lr=0.1, beta=0.5, schedule=StepSchedule(step_size=10, gamma=0.5))"
    )
