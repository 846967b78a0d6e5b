"""Tests of bpcourse.explorers.precision: the loss scale against lost gradients."""

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import precision as explorer
from bpcourse.explorers.precision import (
    EPOCHS,
    LOG2_SCALES,
    LOSS_WEIGHT,
    describe_outcome,
    digits_columns,
    draw_scale,
    plot_scale,
    precision_explorer,
    scale_outcomes,
    scale_sweep,
    trained_network,
)
from bpcourse.precision import half_gradients, underflow_fraction

matplotlib.use("Agg")


def test_loss_weight_is_a_power_of_two():
    assert LOSS_WEIGHT == 2.0**-20


def test_float16_region_limits():
    assert explorer.LOG2_ZERO == -25
    assert explorer.LOG2_NORMAL == -14
    assert explorer.LOG2_MAX == pytest.approx(15.9993, abs=1e-4)


def test_digits_are_read_only():
    X, y = digits_columns()
    assert X.dtype == np.float32
    with pytest.raises(ValueError):
        X[0, 0] = 1.0


def test_trained_network_returns_copies():
    first = trained_network(0)
    first.weights[0][...] = 0.0
    assert np.any(trained_network(0).weights[0] != 0.0)


def test_trained_network_rejects_negative_epochs():
    with pytest.raises(ValueError, match="epochs"):
        trained_network(-1)


def test_outcome_agrees_with_package():
    result = scale_outcomes(log2_scale=8, epochs=0)
    net = trained_network(0)
    X, y = digits_columns()
    X_batch, y_batch = X[:, :explorer.BATCH_SIZE], y[:explorer.BATCH_SIZE]
    half = half_gradients(net, X_batch, y_batch, 2.0**8, LOSS_WEIGHT)
    reference = [np.float32(LOSS_WEIGHT) * g for g in net.gradients(X_batch, y_batch).as_list()]
    assert result["underflow"] == underflow_fraction(half.as_list(), reference)


def test_no_scale_loses_every_gradient():
    result = scale_outcomes(log2_scale=0, epochs=1)
    assert result["underflow"] == 1.0
    assert result["overflow"] == 0.0


def test_middle_scale_loses_nothing():
    result = scale_outcomes(log2_scale=28, epochs=1)
    assert result["underflow"] == 0.0
    assert result["overflow"] == 0.0


def test_huge_scale_overflows():
    assert scale_outcomes(log2_scale=48, epochs=1)["overflow"] > 0.5


def test_magnitudes_shift_with_scale():
    low = scale_outcomes(log2_scale=0, epochs=1)["log2_magnitudes"]
    high = scale_outcomes(log2_scale=12, epochs=1)["log2_magnitudes"]
    np.testing.assert_allclose(high - low, 12.0)


def test_sweep_shapes_and_trends():
    sweep = scale_sweep(epochs=1)
    assert sweep["underflow"].shape == (len(LOG2_SCALES),)
    assert np.all(np.diff(sweep["underflow"]) <= 1e-12)
    assert np.all(np.diff(sweep["overflow"]) >= -1e-12)


def test_later_epochs_need_larger_scales():
    # Training shrinks the gradients, so more of them underflow at one scale.
    early = scale_outcomes(log2_scale=8, epochs=0)["underflow"]
    late = scale_outcomes(log2_scale=8, epochs=10)["underflow"]
    assert late > early


def test_describe_outcome():
    text = describe_outcome(scale_outcomes(log2_scale=4, epochs=0))
    assert text.startswith("S = 2^4 after 0 epochs")


def test_drawing_functions():
    import matplotlib.pyplot as plt

    axes = plot_scale(scale_outcomes(0, 0), scale_sweep(0, (0, 20)))
    assert len(axes) == 2
    figure = draw_scale(20, 0)
    assert len(figure.axes) == 2
    plt.close("all")


def test_explorer_has_two_sliders():
    widget = precision_explorer(log2_scales=(0, 20), epochs=(0,))
    names = [child.description for child in widget.children[:-1]]
    assert names == ["log2 of the loss scale S", "epochs trained"]


def test_slider_values_are_few():
    assert len(LOG2_SCALES) * len(EPOCHS) <= 150


def test_frames_cover_every_slider_value():
    frames = explorer.precision_frames()
    assert frames.num_frames == len(LOG2_SCALES) * len(EPOCHS)
    assert frames.initial == {"log2_scale": explorer.DEFAULT_LOG2_SCALE,
                              "epochs_trained": explorer.DEFAULT_EPOCHS}


def test_frames_render_with_alt_text():
    frames = explorer.precision_frames(log2_scales=(0, 24), epochs=(0,))
    rendered = frames.render()
    assert len(rendered) == 2
    for uri, alt in rendered.values():
        assert uri.startswith("data:image/png;base64,")
        assert "after 0 epochs" in alt


def test_frame_alt_text_names_the_fractions():
    text = explorer.describe_scale_frame(scale_outcomes(0, 1))
    assert "S = 2^0 after 1 epoch:" in text
    assert "100.0% of the parameter-gradient entries underflow" in text


def _frame_uri(figure, dpi):
    """Return ``figure`` as the PNG data URI that ``FrameExplorer`` embeds."""
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    from bpcourse.interactive import png_bytes

    buffer.write(png_bytes(figure, dpi))
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return "data:image/png;base64," + encoded


def test_frames_grid_and_labels():
    frames = explorer.precision_frames()
    assert frames.params == {"log2_scale": list(range(0, 49, 4)),
                             "epochs_trained": [0, 1, 10]}
    assert frames.num_frames == 39
    assert frames.labels["log2_scale"] == "log2 of the loss scale S"


def test_frames_differ_and_match_the_widget_drawing():
    frames = explorer.precision_frames(log2_scales=(0, 28), epochs=(0, 1), dpi=40)
    rendered = frames.render()
    assert len({uri for uri, _ in rendered.values()}) == 4
    # Key "1_1" is S = 2^28 after 1 epoch, drawn as the live widget draws it,
    # with the sweep over the same two scales.
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
    plot_scale(scale_outcomes(28, 1), scale_sweep(1, (0, 28)), axes)
    fig.tight_layout()
    assert rendered["1_1"][0] == _frame_uri(fig, 40)
    assert rendered["1_1"][1] == explorer.describe_scale_frame(scale_outcomes(28, 1))


def test_frame_alt_text_of_a_lossless_scale():
    # At S = 2^28 after one epoch nothing underflows or overflows, as
    # test_middle_scale_loses_nothing checks.
    text = explorer.describe_scale_frame(scale_outcomes(28, 1))
    assert "for S = 2^28 after 1 epoch:" in text
    assert "0.0% of the parameter-gradient entries underflow to 0" in text
    assert "0.0% overflow to inf" in text
