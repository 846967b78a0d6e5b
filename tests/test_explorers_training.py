"""Tests of bpcourse.explorers.training: learning rate and batch size against convergence."""

import math
import warnings

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import training
from bpcourse.explorers.training import (
    BATCH_SIZES,
    LEARNING_RATES,
    describe_run,
    digits_subset,
    plot_grid,
    plot_run,
    run_grid,
    train_run,
    training_explorer,
)
from bpcourse.network import Network

matplotlib.use("Agg")

#: float64 results of the same operations in a different order (a manual step
#: against the explorer's loop) agree to a few ulps at unit scale.
FLOAT64_TOL = 1e-12


@pytest.fixture(scope="module")
def grid():
    """Every slider combination, computed once for this file."""
    return run_grid()


# --- digits_subset -------------------------------------------------------------


def test_subset_shapes():
    X, y, X_test, y_test = digits_subset(50)
    assert X.shape == (64, 50)
    assert y.shape == (50,)
    assert X_test.shape == (64, 450)
    assert y_test.shape == (450,)


def test_subset_is_standardized_by_itself():
    X, _, _, _ = digits_subset(300)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-12)
    assert np.all(X.std(axis=1) < 1.0)


def test_subset_is_read_only():
    X, y, _, _ = digits_subset()
    with pytest.raises(ValueError):
        X[0, 0] = 1.0
    with pytest.raises(ValueError):
        y[0] = 1


def test_subset_holds_every_class():
    _, y, _, _ = digits_subset()
    assert set(y.tolist()) == set(range(10))


@pytest.mark.parametrize("num_train", [0, 5000])
def test_subset_rejects_out_of_range(num_train):
    with pytest.raises(ValueError, match="num_train"):
        digits_subset(num_train)


# --- train_run -------------------------------------------------------------------


def test_run_shapes():
    run = train_run(0.1, 16, epochs=3)
    assert run["steps_per_epoch"] == math.ceil(300 / 16)
    np.testing.assert_array_equal(run["epoch"], [0, 1, 2, 3])
    assert run["loss"].shape == (4,)
    assert run["step_loss"].shape == (3 * run["steps_per_epoch"],)
    assert run["step_epoch"].shape == run["step_loss"].shape
    assert run["step_epoch"][-1] == pytest.approx(3.0)
    assert run["diverged_epoch"] is None


def test_run_starts_at_untrained_loss():
    X, y, _, _ = digits_subset()
    net = Network([64, 32, 10], seed=0)
    run = train_run(0.1, 16, epochs=1)
    assert run["loss"][0] == net.loss(X, y)


def test_full_batch_epoch_is_one_step():
    lr = 0.5
    X, y, _, _ = digits_subset()
    net = Network([64, 32, 10], seed=0)
    grads = net.gradients(X, y)
    weights = [W - lr * dW for W, dW in zip(net.weights, grads.dW)]
    biases = [b - lr * db for b, db in zip(net.biases, grads.db)]
    net.weights, net.biases = weights, biases

    run = train_run(lr, 300, epochs=1)

    assert run["steps_per_epoch"] == 1
    assert run["step_loss"][0] == pytest.approx(grads.loss, abs=FLOAT64_TOL)
    assert run["loss"][1] == pytest.approx(net.loss(X, y), abs=FLOAT64_TOL)


def test_run_matches_fit_with_sgd():
    X, y, X_test, y_test = digits_subset()
    net = Network([64, 32, 10], seed=0)
    history = net.fit(X, y, epochs=3, batch_size=16, lr=0.1, optimizer="sgd",
                      seed=0, progress=False)

    run = train_run(0.1, 16, epochs=3)

    np.testing.assert_array_equal(run["step_loss"], history.step_loss)
    assert run["loss"][-1] == net.loss(X, y)
    assert run["train_accuracy"] == net.accuracy(X, y)
    assert run["test_accuracy"] == net.accuracy(X_test, y_test)


def test_run_is_deterministic():
    first = train_run(0.3, 4, epochs=2)
    second = train_run(0.3, 4, epochs=2)
    np.testing.assert_array_equal(first["loss"], second["loss"])
    np.testing.assert_array_equal(first["step_loss"], second["step_loss"])


def test_small_lr_lowers_loss():
    run = train_run(0.1, 16)
    assert np.all(np.diff(run["loss"]) < 0)
    assert run["test_accuracy"] > 0.8


def test_large_lr_reports_divergence_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = train_run(10.0, 1)
    assert run["diverged_epoch"] == 1
    assert math.isnan(run["train_accuracy"])
    assert math.isnan(run["test_accuracy"])
    assert np.all(np.isfinite(run["step_loss"]))
    assert run["loss"].shape == (1,)


def test_loss_above_bound_counts_as_divergence(monkeypatch):
    # The loss after one slow epoch is still about 2.3, far above half of it.
    monkeypatch.setattr(training, "DIVERGENCE_FACTOR", 0.5)
    run = train_run(0.001, 64, epochs=3)
    assert run["diverged_epoch"] == 1
    np.testing.assert_array_equal(run["epoch"], [0])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"lr": 0.0}, ValueError),
        ({"lr": -0.1}, ValueError),
        ({"lr": float("nan")}, ValueError),
        ({"lr": "0.1"}, TypeError),
        ({"batch_size": 0}, ValueError),
        ({"batch_size": 2.5}, TypeError),
        ({"batch_size": True}, TypeError),
        ({"epochs": 0}, ValueError),
    ],
)
def test_run_rejects_invalid_arguments(kwargs, error):
    arguments = {"lr": 0.1, "batch_size": 16, **kwargs}
    with pytest.raises(error):
        train_run(**arguments)


# --- The grid of slider values -----------------------------------------------------


def test_grid_covers_every_slider_pair(grid):
    assert set(grid) == {(lr, b) for lr in LEARNING_RATES for b in BATCH_SIZES}


def test_grid_smallest_lr_never_diverges(grid):
    for batch_size in BATCH_SIZES:
        assert grid[LEARNING_RATES[0], batch_size]["diverged_epoch"] is None


def test_grid_largest_lr_always_diverges(grid):
    for batch_size in BATCH_SIZES:
        assert grid[LEARNING_RATES[-1], batch_size]["diverged_epoch"] == 1


def test_grid_stable_lr_grows_with_batch_size(grid):
    largest_stable = [
        max(lr for lr in LEARNING_RATES if grid[lr, b]["diverged_epoch"] is None)
        for b in BATCH_SIZES
    ]
    assert largest_stable == sorted(largest_stable)
    assert largest_stable[0] < largest_stable[-1]


def test_default_slider_pair_converges(grid):
    run = grid[training.DEFAULT_LR, training.DEFAULT_BATCH_SIZE]
    assert run["diverged_epoch"] is None
    assert run["loss"][-1] < 0.1 * run["loss"][0]


# --- Text and figures ----------------------------------------------------------------


def test_describe_converged_run(grid):
    text = describe_run(grid[0.1, 16])
    assert text.startswith("η = 0.1, B = 16: loss 2.4 → ")
    assert "after 10 epochs, test accuracy" in text


def test_describe_diverged_run(grid):
    assert describe_run(grid[10.0, 16]) == "η = 10, B = 16: diverged at epoch 1"


def test_plot_run_marks_divergence(grid):
    import matplotlib.pyplot as plt

    ax = plot_run(grid[10.0, 16])
    texts = [t.get_text() for t in ax.texts]
    assert " diverged at epoch 1" in texts
    assert ax.get_yscale() == "log"
    assert ax.get_ylim() == pytest.approx(training.LOSS_YLIM)
    plt.close(ax.figure)


def test_plot_run_title_is_description(grid):
    import matplotlib.pyplot as plt

    run = grid[0.1, 16]
    ax = plot_run(run)
    assert ax.get_title() == describe_run(run).replace(": ", "\n", 1)
    assert len(ax.texts) == 0
    plt.close(ax.figure)


def test_plot_grid_draws_one_line_per_batch_size(grid):
    import matplotlib.pyplot as plt

    ax = plot_grid(grid)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [f"B = {b}" for b in BATCH_SIZES]
    plt.close(ax.figure)


def test_explorer_sliders_offer_grid_values():
    import matplotlib.pyplot as plt

    widget = training_explorer()
    lr_slider, batch_slider = widget.children[:2]
    assert [value for _, value in lr_slider.options] == list(LEARNING_RATES)
    assert [label for label, _ in lr_slider.options] == ["0.001", "0.003", "0.01",
                                                         "0.03", "0.1", "0.3", "1",
                                                         "3", "10"]
    assert lr_slider.value == training.DEFAULT_LR
    assert list(batch_slider.options) == list(BATCH_SIZES)
    assert batch_slider.value == training.DEFAULT_BATCH_SIZE
    plt.close("all")


def test_training_frames_count_and_start():
    explorer = training.training_frames()
    assert explorer.num_frames == 36
    assert explorer.initial == {"lr": 0.1, "batch_size": 16}


def test_training_frames_differ_and_alt_matches_computation():
    explorer = training.training_frames(
        learning_rates=(0.1, 10.0), batch_sizes=(16, 64), epochs=2
    )
    frames = explorer.render()
    assert len(frames) == 4
    assert frames["0_0"][0] != frames["1_0"][0]
    assert frames["0_0"][0] != frames["0_1"][0]
    run = training.train_run(0.1, 64, epochs=2)
    alt = frames["0_1"][1]
    assert alt.startswith("Loss curve of minibatch SGD with learning rate η = 0.1 and "
                          "batch size B = 64")
    assert f"falls from {run['loss'][0]:.3g} to {run['loss'][-1]:.3g} in 2 epochs" in alt
    assert f"test accuracy is {100 * run['test_accuracy']:.1f}%" in alt
    diverged = training.train_run(10.0, 16, epochs=2)
    assert diverged["diverged_epoch"] is not None
    assert frames["1_0"][1].endswith(
        f"diverged at epoch {diverged['diverged_epoch']}."
    )
