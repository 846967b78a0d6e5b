"""The step-size explorer: errors of finite differences in float32 and float64."""

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import gradients
from bpcourse.explorers.gradients import FUNCTIONS, H_GRID, difference_errors

matplotlib.use("Agg")


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_exact_derivative_matches_fine_difference(function):
    f, derivatives = FUNCTIONS[function]
    first, second, third = derivatives(1.0)
    h = 1e-4
    assert first == pytest.approx((f(1 + h) - f(1 - h)) / (2 * h), rel=1e-6)
    assert second == pytest.approx((f(1 + h) - 2 * f(1.0) + f(1 - h)) / h**2, rel=1e-4)
    first_plus = derivatives(1 + 1e-4)[1]
    first_minus = derivatives(1 - 1e-4)[1]
    assert third == pytest.approx((first_plus - first_minus) / 2e-4, rel=1e-5)


def test_sigmoid_hand_value():
    curve = difference_errors([1e-5], function="sigmoid", x=0.0)
    assert curve["exact"] == 0.25
    assert curve["rel_error"][0] < 1e-9


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_float64_best_step_near_1e_5(function):
    curve = difference_errors(H_GRID, "float64", function)
    best = H_GRID[np.argmin(curve["rel_error"])]
    assert 1e-7 <= best <= 1e-4
    assert 1e-6 <= curve["best_h"] <= 1e-4


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_float32_best_step_is_larger(function):
    curve = difference_errors(H_GRID, "float32", function)
    best = H_GRID[np.argmin(curve["rel_error"])]
    assert 1e-4 <= best <= 1e-1
    assert 1e-3 <= curve["best_h"] <= 5e-2


def test_float32_error_at_float64_step_is_large():
    error32 = difference_errors([1e-5], "float32")["rel_error"][0]
    error64 = difference_errors([1e-5], "float64")["rel_error"][0]
    assert error32 > 1e-4
    assert error64 < 1e-9


def test_tiny_step_in_float32_gives_zero_difference():
    curve = difference_errors([1e-12], "float32")
    assert curve["estimate"][0] == 0.0
    assert curve["rel_error"][0] == 1.0


def test_truncation_dominates_large_steps():
    curve = difference_errors([1e-1, 1e-2], "float64", "exp")
    assert curve["truncation"][0] > 100 * curve["roundoff"][0]
    # For large h the measured error follows the h² estimate.
    np.testing.assert_allclose(curve["rel_error"], curve["truncation"], rtol=0.1)
    assert curve["rel_error"][0] / curve["rel_error"][1] == pytest.approx(100, rel=0.05)


def test_roundoff_dominates_small_steps():
    curve = difference_errors(H_GRID[H_GRID < 1e-9], "float64")
    assert np.all(curve["roundoff"] > 100 * curve["truncation"])
    # Rounding errors are random in size: the estimate bounds them within a factor.
    assert np.all(curve["rel_error"] <= 10 * curve["roundoff"])
    assert np.median(curve["rel_error"] / curve["roundoff"]) > 0.01


def test_forward_difference_is_first_order():
    forward = difference_errors([1e-3, 1e-4], "float64", "exp", scheme="forward")
    central = difference_errors([1e-3, 1e-4], "float64", "exp", scheme="central")
    assert forward["rel_error"][0] / forward["rel_error"][1] == pytest.approx(10, rel=0.05)
    assert np.all(forward["rel_error"] > 100 * central["rel_error"])
    assert forward["best_h"] == pytest.approx(np.sqrt(np.finfo(float).eps) * np.sqrt(2),
                                               rel=1e-9)


def test_computed_in_requested_dtype():
    # 1 + 1e-9 is 1 in float32, so the central difference at x = 1 is exactly 0.
    assert difference_errors([1e-9], "float32")["estimate"][0] == 0.0
    assert difference_errors([1e-9], "float64")["estimate"][0] != 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dtype": "float16"}, "dtype"),
        ({"function": "cosh"}, "unknown function"),
        ({"scheme": "backward"}, "scheme"),
        ({"h": [0.0]}, "h must be"),
        ({"h": [-1e-3]}, "h must be"),
        ({"h": [np.nan]}, "h must be"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    arguments = {"h": [1e-5], **kwargs}
    with pytest.raises(ValueError, match=match):
        difference_errors(**arguments)


def test_draw_marks_the_step():
    import matplotlib.pyplot as plt

    curves = [difference_errors(H_GRID, dtype) for dtype in gradients.DTYPES]
    ax = gradients.draw_difference_errors(curves, h=1e-5)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("float64 at h = 1e-05") for label in labels)
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "log"
    plt.close(ax.figure)


def test_widget_builds():
    widget = gradients.step_size_widget()
    slider, menu = widget.children[:2]
    assert (slider.min, slider.max, slider.step, slider.value) == (-12.0, -1.0, 0.5, -5.0)
    assert menu.value == "sigmoid"


def test_gradients_frames_count_and_start():
    explorer = gradients.gradients_frames()
    assert explorer.num_frames == 48
    assert explorer.initial == {"log10_h": -5, "function": "sigmoid"}


def test_gradients_frames_differ_and_alt_matches_computation():
    explorer = gradients.gradients_frames(log10_h=(-8, -5), functions=("sigmoid", "sin"))
    frames = explorer.render()
    assert len(frames) == 4
    assert frames["0_0"][0] != frames["1_0"][0]
    assert frames["1_0"][0] != frames["1_1"][0]
    alt = frames["1_1"][1]
    assert alt.startswith("Relative error of the central difference for sin′(1) at h = 1e-05")
    for dtype in ("float32", "float64"):
        curve = difference_errors([1e-5], dtype, "sin", 1.0)
        assert f"{dtype} {curve['rel_error'][0]:.1e}" in alt
        assert f"{curve['best_h']:.0e} in {dtype}" in alt
