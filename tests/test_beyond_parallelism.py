"""Tests of bpcourse.beyond.parallelism: costs of a step and the layers' schedule."""

import matplotlib
import pytest

from bpcourse.beyond import parallelism as pa

matplotlib.use("Agg")


def test_backprop_costs_about_three_forward_passes():
    cost = pa.step_cost("backprop", [10, 10, 10, 10], batch_size=4)
    # Forward 3 passes, ∂L/∂W 3 passes, δ propagation 2 passes.
    assert cost["train_in_forward_passes"] == pytest.approx(8 / 3)
    assert cost["predict"] == 3 * 2 * 10 * 10 * 4


def test_forward_gradient_cost_grows_with_directions():
    single = pa.step_cost("forward_gradient", [10, 10, 10], 4, num_directions=1)
    several = pa.step_cost("forward_gradient", [10, 10, 10], 4, num_directions=4)
    assert single["train_in_forward_passes"] == pytest.approx(2.5)
    assert several["train_in_forward_passes"] == pytest.approx(1 + 4 * 1.5)


def test_forward_forward_prediction_needs_one_pass_per_class():
    cost = pa.step_cost("forward_forward", [20, 10, 10], 4, num_classes=10)
    assert cost["train_in_forward_passes"] == 4
    assert cost["predict"] == 10 * (2 * 20 * 10 * 4 + 2 * 10 * 10 * 4)


def test_layer_pass_flops():
    assert pa.layer_pass_flops([3, 4, 2], 5) == [2 * 4 * 3 * 5, 2 * 2 * 4 * 5]


@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_backprop_step_is_sequential(L):
    tasks = pa.dependency_schedule("backprop", L, num_minibatches=2)
    step = L + 2 * (L - 1) + 1
    assert pa.first_update_of_layer_one(tasks) == step
    assert pa.makespan(tasks) == 2 * step


def test_backprop_workers_never_overlap():
    tasks = pa.dependency_schedule("backprop", 3, num_minibatches=3)
    intervals = sorted((t.start, t.end) for t in tasks)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(intervals, intervals[1:]))


def test_forward_gradient_updates_after_last_layer():
    tasks = pa.dependency_schedule("forward_gradient", 3, num_minibatches=1)
    updates = [t for t in tasks if t.kind == "update"]
    assert {t.start for t in updates} == {2 + 3 + 3}


def test_forward_forward_pipelines_minibatches():
    tasks = pa.dependency_schedule("forward_forward", 3, num_minibatches=3)
    assert pa.first_update_of_layer_one(tasks) == 4
    # Layer 1 takes 4 passes per minibatch, so three minibatches end 4 apart.
    assert pa.makespan(tasks) == 2 * 3 + 2 + 4 * 2
    second_batch_layer_1 = [t for t in tasks if t.minibatch == 2 and t.layer == 1][0]
    first_batch_layer_2 = [t for t in tasks if t.minibatch == 1 and t.layer == 2][-1]
    assert second_batch_layer_1.start < first_batch_layer_2.end


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown method"):
        pa.step_cost("feedback_alignment", [2, 2], 1)


def test_plot_schedule_draws_every_layer():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    pa.plot_schedule(pa.dependency_schedule("forward_forward", 3), ax, title="x")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["layer 1", "layer 2",
                                                            "layer 3"]
    plt.close(fig)
