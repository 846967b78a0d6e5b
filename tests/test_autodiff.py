"""The autodiff engine: backward, accumulation, no_grad, in-place checks, errors."""

import sys

import numpy as np
import pytest

from bpcourse.autodiff import (
    InPlaceModificationError,
    Tensor,
    matmul,
    no_grad,
    record_op,
    softmax_cross_entropy,
    topological_order,
    verify_saved_values,
    zero_grad,
)


def _spy(x, label, log):
    """An identity operation whose VJP appends (label, upstream gradient) to log."""

    def vjp(g):
        log.append((label, np.array(g)))
        return (g,)

    return record_op(x.data.copy(), label, (x,), vjp)


# Hand-worked graphs ---------------------------------------------------------------


def test_product_of_sum_by_hand():
    a, b, d = Tensor(2.0, name="a"), Tensor(-3.0, name="b"), Tensor(4.0, name="d")
    e = (a + b) * d
    e.backward()
    assert e.item() == -4.0
    assert a.grad == 4.0
    assert b.grad == 4.0
    assert d.grad == -1.0


def test_backward_twice_accumulates():
    # Documented behaviour: a second backward adds the same gradients again.
    a, b, d = Tensor(2.0), Tensor(-3.0), Tensor(4.0)
    e = (a + b) * d
    e.backward()
    first = [a.grad.copy(), b.grad.copy(), d.grad.copy()]
    e.backward()
    assert a.grad == 2 * first[0]
    assert b.grad == 2 * first[1]
    assert d.grad == 2 * first[2]
    assert "accumulate" in Tensor.backward.__doc__


def test_zero_grad_between_backward_calls():
    a, b, d = Tensor(2.0), Tensor(-3.0), Tensor(4.0)
    e = (a + b) * d
    e.backward()
    zero_grad([a, b, d])
    assert a.grad is None
    e.backward()
    assert a.grad == 4.0
    assert d.grad == -1.0
    d.zero_grad()
    assert d.grad is None
    assert a.grad == 4.0


def test_same_input_twice_sums():
    a = Tensor(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_square_by_multiplication():
    x = Tensor(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_tanh_and_sigmoid_at_zero():
    x = Tensor(0.0)
    x.sigmoid().backward()
    assert x.grad == 0.25
    y = Tensor(0.0)
    y.tanh().backward()
    assert y.grad == 1.0


def test_softmax_cross_entropy_by_hand():
    z = Tensor([[0.0], [0.0]])
    loss = softmax_cross_entropy(z, [0])
    loss.backward()
    assert loss.item() == pytest.approx(np.log(2), abs=1e-15)
    np.testing.assert_allclose(z.grad, [[-0.5], [0.5]], rtol=0, atol=1e-15)


def test_layer_by_hand():
    W = Tensor([[1.0, 2.0], [0.0, -1.0]], name="W")
    b = Tensor([[0.5], [1.0]], name="b")
    x = Tensor([[1.0], [3.0]], requires_grad=False)
    z = W @ x + b
    np.testing.assert_array_equal(z.data, [[7.5], [-2.0]])
    z.sum().backward()
    np.testing.assert_array_equal(W.grad, [[1.0, 3.0], [1.0, 3.0]])
    np.testing.assert_array_equal(b.grad, [[1.0], [1.0]])
    assert x.grad is None


# The graph walk -------------------------------------------------------------------


def test_long_chain_without_recursion():
    assert sys.getrecursionlimit() < 10_000
    x = Tensor(1.0)
    y = x
    for _ in range(10_000):
        y = y + 1
    y.backward()
    assert y.item() == 10_001.0
    assert x.grad == 1.0
    assert len(topological_order(y)) == 10_001


def test_consumers_summed_before_propagating():
    log = []
    x = Tensor(np.array([0.5, -1.0]))
    y = _spy(x, "y", log)
    first = _spy(y * 2.0, "first", log)
    second = _spy(y * 3.0, "second", log)
    third = _spy(_spy(y.exp(), "third", log) + 1.0, "third+1", log)
    loss = (first + second + third).sum()
    loss.backward()
    labels = [label for label, _ in log]
    assert labels.count("y") == 1
    assert labels.index("y") > max(
        labels.index(l) for l in ("first", "second", "third")
    )
    upstream = dict(log)["y"]
    np.testing.assert_allclose(upstream, 2.0 + 3.0 + np.exp(x.data), rtol=1e-15)
    np.testing.assert_allclose(x.grad, upstream, rtol=1e-15)


def test_topological_order_parents_first():
    a, b = Tensor(1.0), Tensor(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    position = {id(t): i for i, t in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    assert order[-1] is e


def test_explicit_upstream_gradient():
    x = Tensor([1.0, 2.0, 3.0])
    y = x * 2
    y.backward(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0, 200.0])


def test_intermediate_gradients_kept():
    x = Tensor(2.0)
    y = x * 3
    z = y * y
    z.backward()
    assert y.grad == 2 * 6.0
    assert x.grad == 36.0


def test_leaf_gradient_is_own_array():
    a, b = Tensor(np.ones(3)), Tensor(np.ones(3))
    (a + b).backward(np.ones(3))
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_constants_get_no_gradient():
    x = Tensor([1.0, 2.0])
    c = Tensor([3.0, 4.0], requires_grad=False)
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    assert c.grad is None


# Broadcasting ---------------------------------------------------------------------


def test_bias_broadcast_over_batch():
    b = Tensor(np.zeros((3, 1)), name="b")
    z = Tensor(np.ones((3, 5)), requires_grad=False) + b
    assert z.shape == (3, 5)
    z.backward(np.arange(15.0).reshape(3, 5))
    assert b.grad.shape == (3, 1)
    np.testing.assert_array_equal(b.grad, [[10.0], [35.0], [60.0]])


def test_broadcast_leading_axes_summed():
    x = Tensor(np.array([1.0, 2.0]))
    y = x * np.ones((4, 3, 2))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [12.0, 12.0])


def test_repeated_index_sums():
    x = Tensor([1.0, 2.0, 3.0])
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


# Numbers, arrays and dtypes ---------------------------------------------------------


@pytest.mark.parametrize(
    "expression, value, gradient",
    [
        (lambda x: 2 * x, 6.0, 2.0),
        (lambda x: x * 2, 6.0, 2.0),
        (lambda x: x - 1, 2.0, 1.0),
        (lambda x: 1 - x, -2.0, -1.0),
        (lambda x: x / 2, 1.5, 0.5),
        (lambda x: 6 / x, 2.0, -6 / 9),
        (lambda x: 2**x, 8.0, 8 * np.log(2)),
        (lambda x: x**2, 9.0, 6.0),
        (lambda x: x**x, 27.0, 27 * (np.log(3) + 1)),
        (lambda x: -x, -3.0, -1.0),
        (lambda x: np.float64(2.0) * x, 6.0, 2.0),
        (lambda x: 1 + x, 4.0, 1.0),
    ],
)
def test_numbers_mix_on_both_sides(expression, value, gradient):
    x = Tensor(3.0)
    y = expression(x)
    assert isinstance(y, Tensor)
    y.backward()
    assert y.item() == pytest.approx(value, rel=1e-14)
    assert x.grad == pytest.approx(gradient, rel=1e-14)


def test_numpy_array_on_left():
    x = Tensor([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor)
    z = np.array([[1.0, 0.0], [0.0, 2.0]]) @ x
    assert isinstance(z, Tensor)
    (y.sum() + z.sum()).backward()
    np.testing.assert_array_equal(x.grad, [4.0, 6.0])


def test_float32_stays_float32():
    x = Tensor(np.ones((3, 2), dtype=np.float32))
    W = Tensor(np.ones((4, 3), dtype=np.float32))
    y = (W @ x * 2 - 1) / 3 + 0.5
    loss = (y.tanh().sigmoid().exp().log() ** 2).mean()
    assert y.dtype == np.float32
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32
    assert W.grad.dtype == np.float32


def test_default_dtype_float64():
    assert Tensor(1).dtype == np.float64
    assert Tensor([True, False]).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.float64


def test_wraps_float_arrays_without_copy():
    array = np.zeros((2, 2))
    assert Tensor(array).data is array


def test_unsupported_dtype():
    with pytest.raises(ValueError, match="float64"):
        Tensor(np.array([1 + 2j]))


# no_grad ---------------------------------------------------------------------------


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0])
    with no_grad():
        y = x * x + 1
    assert not y.requires_grad
    assert y.parents == ()
    assert y.op is None
    np.testing.assert_array_equal(y.data, [2.0, 5.0])
    z = x * x
    assert z.requires_grad


def test_no_grad_restored_after_error():
    x = Tensor(1.0)
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("inside")
    assert (x * x).requires_grad


def test_no_grad_as_decorator():
    @no_grad()
    def evaluate(t):
        return t * 2

    assert not evaluate(Tensor(1.0)).requires_grad


def test_backward_under_no_grad_result():
    x = Tensor(1.0)
    with no_grad():
        y = x * 3
    with pytest.raises(ValueError, match="does not require gradients"):
        y.backward()


# In-place modification -----------------------------------------------------------


def test_inplace_after_save_raises():
    x = Tensor([1.0, 2.0, 3.0], name="x")
    y = x * x
    x.data *= 2
    with pytest.raises(InPlaceModificationError) as info:
        y.sum().backward()
    message = str(info.value)
    assert "'x'" in message
    assert "(3,)" in message
    assert "modified in place" in message
    assert "mul" in message
    assert "after backward()" in message


def test_inplace_on_view_raises():
    x = Tensor(np.ones((2, 3)), name="x")
    y = x.T
    z = y * y
    x.data += 1
    with pytest.raises(InPlaceModificationError, match="transpose"):
        z.sum().backward()


def test_inplace_on_saved_output_raises():
    x = Tensor([0.0, 1.0])
    y = x.exp()
    y.data += 1
    with pytest.raises(InPlaceModificationError, match="the output of exp"):
        y.sum().backward()


def test_inplace_entry_caught_by_checksum():
    x = Tensor([1.0, 2.0], name="x")
    with verify_saved_values():
        y = x * x
    x.data[0] = 5.0
    with pytest.raises(InPlaceModificationError, match="checksum"):
        y.sum().backward()


def test_update_after_backward_is_fine():
    W = Tensor([[1.0, 2.0]], name="W")
    x = np.array([[3.0], [4.0]])
    for _ in range(3):
        W.zero_grad()
        loss = (W @ x).sum()
        loss.backward()
        W.data -= 0.1 * W.grad
    np.testing.assert_allclose(W.data, [[1.0 - 0.9, 2.0 - 1.2]])


def test_backward_on_stale_graph_raises():
    W = Tensor([[1.0, 2.0]], name="W")
    x = Tensor([[3.0], [4.0]], requires_grad=False)
    loss = (W @ x).tanh().sum()
    loss.backward()
    W.data -= 0.1 * W.grad
    with pytest.raises(InPlaceModificationError, match="'W'.*matmul"):
        loss.backward()


def test_write_into_source_array_caught_by_checksum():
    array = np.array([1.0, 2.0])
    x = Tensor(array, name="x")
    with verify_saved_values():
        y = x.log()
    array[1] = 7.0
    with pytest.raises(InPlaceModificationError, match="'x'.*log"):
        y.sum().backward()


def test_inplace_not_read_by_addition():
    # Addition saves no value, so changing an input before backward is harmless.
    x = Tensor([1.0, 2.0])
    y = x + 1
    x.data *= 2
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


# Bad input --------------------------------------------------------------------------


def test_backward_non_scalar_needs_gradient():
    x = Tensor(np.ones((2, 3)), name="h")
    with pytest.raises(ValueError) as info:
        (x * 2).backward()
    message = str(info.value)
    assert "(2, 3)" in message
    assert ".sum()" in message
    assert "gradient=" in message


def test_backward_gradient_wrong_shape():
    x = Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        (x * 2).backward(np.ones(2))


def test_matmul_shape_mismatch():
    W = Tensor(np.ones((3, 4)), name="W")
    a = Tensor(np.ones((5, 2)), name="a")
    with pytest.raises(ValueError) as info:
        matmul(W, a)
    message = str(info.value)
    assert "(3, 4)" in message
    assert "(5, 2)" in message
    assert "'W'" in message
    assert ".T" in message


def test_matmul_scalar_operand():
    with pytest.raises(ValueError, match="use \\*"):
        Tensor(2.0) @ Tensor([1.0])


def test_unknown_label():
    z = Tensor(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"label 3 .*0 … 2"):
        softmax_cross_entropy(z, [0, 3])


def test_labels_wrong_count():
    z = Tensor(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(3,\) for N = 2"):
        softmax_cross_entropy(z, [0, 1, 2])


def test_targets_transposed():
    z = Tensor(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="transpose"):
        softmax_cross_entropy(z, np.zeros((2, 3)))


def test_item_of_array():
    with pytest.raises(ValueError, match="one entry"):
        Tensor([1.0, 2.0]).item()


def test_reshape_wrong_size():
    with pytest.raises(ValueError, match="6 entries"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


def test_sum_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        Tensor(np.ones((2, 3))).sum(axis=2)


def test_vjp_of_wrong_shape():
    x = Tensor(np.ones(3))
    y = record_op(x.data * 1, "broken", (x,), lambda g: (g[:2],))
    with pytest.raises(RuntimeError, match="VJP of broken"):
        y.sum().backward()


def test_zero_grad_rejects_arrays():
    with pytest.raises(TypeError, match="parameters\\[1\\]"):
        zero_grad([Tensor(1.0), np.ones(2)])


def test_repr_names_tensor():
    text = repr(Tensor([1.0, 2.0], name="w") * 2)
    assert "op='mul'" in text
    assert "name" not in text
    assert "name='w'" in repr(Tensor(1.0, name="w"))
