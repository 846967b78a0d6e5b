"""Tests of bpcourse.layers.models and tasks: whole-model gradients and the chapter's results."""

import numpy as np
import pytest

from bpcourse import data
from bpcourse.layers import graph_conv, models, tasks
from bpcourse.layers.checking import numerical_gradient, relative_error
from bpcourse.optim import Adam, CosineSchedule

#: Central differences of a whole model's loss agree with its backward pass to
#: about 1e-9; the ReLUs of these small random models stay away from their kinks.
GRADCHECK_TOL = 1e-6
FLOAT64_TOL = 1e-12


def _check_model(model, arguments):
    loss, grads = model.loss_and_gradients(*arguments)
    tensors = model.tensors()
    tensor_loss = model.tensor_loss(tensors, *arguments)
    tensor_loss.backward()
    assert tensor_loss.item() == pytest.approx(loss, rel=FLOAT64_TOL)
    for (name, p), grad in zip(model.params.items(), grads):
        numerical = numerical_gradient(lambda: model.loss_and_gradients(*arguments)[0], p)
        assert relative_error(grad, numerical) < GRADCHECK_TOL, name
        assert relative_error(grad, tensors[name].grad) < FLOAT64_TOL, name


def test_cnn_gradients():
    rng = np.random.default_rng(0)
    cnn = models.SmallCNN(channels=(2, 3), seed=0)
    _check_model(cnn, (rng.standard_normal((1, 8, 8, 3)), np.array([0, 3, 9])))


def test_transformer_gradients():
    task = tasks.reversal_task(3, length=3, symbols=4, seed=0)
    model = models.TinyTransformer(task.vocabulary, 6, d=8, heads=2, d_ff=8, seed=0)
    _check_model(model, (task.tokens, task.targets))


def test_gcn_gradients():
    graph = tasks.stochastic_block_model(block_size=5, features=4, seed=0)
    model = models.GCN(4, hidden=5, classes=3, seed=0)
    _check_model(model, (graph.X, graph_conv.normalized_adjacency(graph.A),
                         graph.y, graph.train))


def test_digits_as_images_layout():
    X = np.arange(128.0).reshape(64, 2)
    images = models.digits_as_images(X)
    assert images.shape == (1, 8, 8, 2)
    # Pixel 8 r + c of column n is [0, r, c, n].
    assert images[0, 2, 3, 1] == X[8 * 2 + 3, 1]


def test_digits_as_images_rejects_rows():
    with pytest.raises(ValueError, match=r"\(64, N\)"):
        models.digits_as_images(np.zeros((5, 64)))


def test_cnn_parameter_count():
    # 8·9 + 8, 16·72 + 16, 10·64 + 10
    assert models.SmallCNN(channels=(8, 16)).num_parameters == 1898


def test_reversal_task_targets():
    task = tasks.reversal_task(5, length=4, symbols=6, seed=0)
    assert task.tokens.shape == (5, 8)
    assert task.targets.shape == (5, 8)
    x = task.tokens[:, :4]
    assert np.all(task.tokens[:, 4] == 6)
    assert np.all(task.targets[:, :4] == -1)
    # The separator's target is the last symbol, then the others in reverse.
    assert np.array_equal(task.targets[:, 4:], x[:, ::-1])
    # Each target is the next token of the full sequence.
    assert np.array_equal(task.targets[:, 4:-1], task.tokens[:, 5:])


def test_block_model_graph():
    graph = tasks.stochastic_block_model(seed=0)
    assert graph.A.shape == (120, 120)
    assert np.array_equal(graph.A, graph.A.T)
    assert np.all(np.diag(graph.A) == 0)
    assert graph.train.size == 9
    assert np.intersect1d(graph.train, graph.test).size == 0
    same = graph.y[:, None] == graph.y[None, :]
    assert graph.A[same].sum() > 5 * graph.A[~same].sum()


def test_gaussian_ring_centres():
    points, centres = tasks.gaussian_ring(600, modes=6, radius=1.5, seed=0)
    assert points.shape == (2, 600)
    assert np.allclose(np.linalg.norm(centres, axis=0), 1.5)


def test_fit_records_losses_and_evaluations():
    graph = tasks.stochastic_block_model(block_size=5, features=4, seed=0)
    A_hat = graph_conv.normalized_adjacency(graph.A)
    model = models.GCN(4, hidden=5, seed=0)
    history = models.fit(model, lambda step: (graph.X, A_hat, graph.y, graph.train),
                         Adam(lr=0.01), 25, evaluate=lambda m: 1.0, every=10)
    assert history["loss"].shape == (25,)
    assert list(history["eval_step"]) == [10, 20, 25]


# --- The chapter's results, with margin ---------------------------------------------


def test_cnn_beats_mlp_accuracy():
    digits = data.load_digits()
    images = models.digits_as_images(digits.X_train)
    N, batch_size = images.shape[-1], 32
    steps_per_epoch = -(-N // batch_size)
    shuffle = np.random.default_rng(0)
    orders = {}

    def batch(step):
        epoch, position = divmod(step, steps_per_epoch)
        if epoch not in orders:
            orders[epoch] = shuffle.permutation(N)
        columns = orders[epoch][position * batch_size:(position + 1) * batch_size]
        return images[..., columns], digits.y_train[columns]

    cnn = models.SmallCNN(channels=(8, 16), seed=0)
    steps = 15 * steps_per_epoch
    models.fit(cnn, batch, Adam(lr=0.01, schedule=CosineSchedule(total_steps=steps)),
               steps)
    # The chapter reports 97.8%, against 97.3% for the MLP of chapter 5.
    assert cnn.accuracy(models.digits_as_images(digits.X_test), digits.y_test) > 0.96


def test_transformer_learns_reversal():
    train = tasks.reversal_task(2000, length=8, symbols=10, seed=0)
    test = tasks.reversal_task(500, length=8, symbols=10, seed=1)
    model = models.TinyTransformer(train.vocabulary, 16, d=32, heads=2, d_ff=64, seed=0)
    draw = np.random.default_rng(0)

    def batch(step):
        rows = draw.integers(0, 2000, size=64)
        return train.tokens[rows], train.targets[rows]

    models.fit(model, batch, Adam(lr=0.01, schedule=CosineSchedule(total_steps=150)),
               150)
    # The chapter reports 100%.
    assert model.accuracy(test.tokens, test.targets) > 0.98
    # Query 8 + k attends most to key 7 − k, the symbol it must output.
    _, cache = model.forward(test.tokens[:20])
    looked_at = np.argmax(cache["sa"]["A"][:, :, :, 8:], axis=2)
    assert np.mean(looked_at == 7 - np.arange(8)) > 0.9


def test_gcn_beats_features_alone():
    graph = tasks.stochastic_block_model(seed=0)
    A_hat = graph_conv.normalized_adjacency(graph.A)
    results = {}
    for name, mixing in [("gcn", A_hat), ("mlp", np.eye(graph.num_nodes))]:
        model = models.GCN(graph.X.shape[0], hidden=16, classes=3, seed=0)
        models.fit(model, lambda step: (graph.X, mixing, graph.y, graph.train),
                   Adam(lr=0.01), 200)
        results[name] = model.accuracy(graph.X, mixing, graph.y, graph.test)
    # The chapter reports 98.2% and 62.2%.
    assert results["gcn"] > 0.9
    assert results["mlp"] < 0.75
