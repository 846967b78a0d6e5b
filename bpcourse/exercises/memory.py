r"""Exercises of the memory chapter: the cache's bytes, segments, recomputation.

The equation numbers in the pitfalls and messages are those the chapter prints.
(8.1) is the cache's size N · b · (d_0 + 2 Σ d_ℓ) and (8.4) the segment
boundaries. (8.5) is the recomputation of a segment from its stored input, and
(8.6) the gradient handed from one segment to the one before it.

NOTE: the book prints these chapter-qualified numbers only when _toc.yml
numbers its chapters (``options: numbered: true``). Without that, Sphinx
numbers the equations across the whole book.
"""

import numpy as np

from bpcourse.activations import get_activation
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_CACHE = "8.1"
EQ_BOUNDARIES = "8.4"
EQ_RECOMPUTE = "8.5"
EQ_SEGMENT_BACKWARD = "8.6"


# The bytes of the cache ------------------------------------------------------------

# The answer for widths [784, 256, 256, 10], N = 128 and float32 is
# 128 · 4 · (784 + 2 · 522) bytes.
register(
    ShortAnswer(
        id="memory.activation_bytes",
        chapter=8,
        title="The bytes of a forward pass's cache",
        prompt=(
            "A network with widths [784, 256, 256, 10] runs a forward pass on a batch "
            "of N = 128 examples in float32 and keeps its cache. How many bytes do "
            "the cached arrays hold, a^0 = X included?"
        ),
        answer=935_936,
        rtol=1e-9,
        mistakes={
            534_528: (
                "a^0 = X is missing: the cache keeps the input too, and the backward "
                f"pass needs it for ∂L/∂W¹ = δ¹ Xᵀ. See equation ({EQ_CACHE})."
            ),
            668_672: (
                "every layer is counted once: the cache keeps both z^ℓ and a^ℓ, two "
                f"arrays of shape (d_ℓ, N) per layer. See equation ({EQ_CACHE})."
            ),
            1_871_872: (
                "that is 8 bytes per number, float64. A float32 number takes 4 bytes."
            ),
            467_968: (
                "that is 2 bytes per number, float16. A float32 number takes 4 bytes."
            ),
            1_337_344: (
                "a^0 = X is counted twice: the cache holds it once, as a[0]."
            ),
        },
    )
)


# The boundaries of k segments ---------------------------------------------------------

register(
    ShortAnswer(
        id="memory.checkpoint_segments",
        chapter=8,
        title="The boundaries of three segments of ten layers",
        prompt=(
            "Split L = 10 layers into k = 3 segments of consecutive layers, as equal "
            "as possible, the longer ones first, as segment_boundaries does. Give the "
            "boundaries (b_0, …, b_k): segment j holds layers b_j + 1 … b_{j+1}."
        ),
        answer=(0, 4, 7, 10),
        tuple_name="boundaries",
        mistakes={
            (0, 3, 6, 10): (
                "the longer segment is the last one; segment_boundaries gives the "
                f"extra layer to the first segments. See equation ({EQ_BOUNDARIES})."
            ),
            (0, 3, 6, 9): (
                "layer 10 is left out: the last boundary is b_k = L, so the last "
                f"segment ends with layer L. See equation ({EQ_BOUNDARIES})."
            ),
            (4, 7, 10): (
                "b_0 = 0 is missing: the first segment's input is a^0 = X, and the "
                "list runs from b_0 = 0 to b_k = L, k + 1 numbers."
            ),
            (0, 4, 7): (
                "b_k = L is missing: the list runs from b_0 = 0 to b_k = L, k + 1 "
                "numbers."
            ),
        },
    )
)


# Recomputing a segment from its stored input --------------------------------------------


def _recompute_segment(weights, biases, a_start, activation):
    sigma = get_activation(activation)
    values = []
    a = a_start
    for W, b in zip(weights, biases):
        z = W @ a + b
        a = sigma(z)
        values += [z, a]
    return tuple(values)


def _segment_cases(rng):
    # Two layers per segment, so the function returns (z, a, z, a). Equal widths
    # keep every wrong order of layers or inputs a mistake of values, not a
    # crash; the widths still differ between cases.
    cases = []
    for d, N, activation in [
        (3, 1, "tanh"),
        (4, 5, "relu"),
        (3, 4, "sigmoid"),
        (5, 2, "tanh"),
        (2, 3, "sigmoid"),
    ]:
        cases.append(
            {
                "weights": [rng.normal(size=(d, d)) for _ in range(2)],
                "biases": [rng.normal(scale=0.5, size=(d, 1)) for _ in range(2)],
                "a_start": rng.normal(size=(d, N)),
                "activation": activation,
            }
        )
    return cases


def _recompute_stale_input(weights, biases, a_start, activation):
    sigma = get_activation(activation)
    values = []
    for W, b in zip(weights, biases):
        z = W @ a_start + b
        values += [z, sigma(z)]
    return tuple(values)


def _recompute_without_sigma(weights, biases, a_start, activation):
    values = []
    a = a_start
    for W, b in zip(weights, biases):
        z = W @ a + b
        a = z
        values += [z, a]
    return tuple(values)


def _recompute_without_bias(weights, biases, a_start, activation):
    sigma = get_activation(activation)
    values = []
    a = a_start
    for W in weights:
        z = W @ a
        a = sigma(z)
        values += [z, a]
    return tuple(values)


def _recompute_reversed(weights, biases, a_start, activation):
    return _recompute_segment(weights[::-1], biases[::-1], a_start, activation)


register(
    CodingExercise(
        id="memory.recompute_segment",
        chapter=8,
        title="Recomputing a segment from its stored input",
        signature="recompute_segment(weights, biases, a_start, activation)",
        reference=_recompute_segment,
        cases=_segment_cases,
        outputs=[
            Output("z1", "z^{s+1}", "(d_{s+1}, N)"),
            Output("a1", "a^{s+1}", "(d_{s+1}, N)"),
            Output("z2", "z^{s+2}", "(d_{s+2}, N)"),
            Output("a2", "a^{s+2}", "(d_{s+2}, N)"),
        ],
        pitfalls=[
            Pitfall(
                name="stale_input",
                message=(
                    "Every layer is fed the stored input a^s: only the first layer of "
                    "the segment reads a^s, each later layer reads the a^{ℓ−1} just "
                    "recomputed."
                ),
                equation=EQ_RECOMPUTE,
                wrong=_recompute_stale_input,
            ),
            Pitfall(
                name="sigma_missing",
                message=(
                    "σ is not applied: a^ℓ = σ(z^ℓ), and the backward pass needs both "
                    "z^ℓ and a^ℓ."
                ),
                equation=EQ_RECOMPUTE,
                wrong=_recompute_without_sigma,
            ),
            Pitfall(
                name="bias_missing",
                message="b^ℓ is missing: z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ.",
                equation=EQ_RECOMPUTE,
                wrong=_recompute_without_bias,
            ),
            Pitfall(
                name="layers_reversed",
                message=(
                    "The layers run in reverse order: recomputation is a forward pass, "
                    "from layer s + 1 up to the segment's end, even though it happens "
                    "during the backward pass."
                ),
                equation=EQ_RECOMPUTE,
                wrong=_recompute_reversed,
            ),
        ],
    )
)


# The gradient a segment hands to the one before it -------------------------------------


def _segment_backward(weights, biases, a_start, da_end, activation):
    sigma = get_activation(activation)
    values = _recompute_segment(weights, biases, a_start, activation)
    zs = values[0::2]
    da = da_end
    for W, z in zip(weights[::-1], zs[::-1]):
        delta = da * sigma.derivative(z)
        da = W.T @ delta
    return da


def _segment_backward_cases(rng):
    cases = []
    for case in _segment_cases(rng):
        d, N = case["a_start"].shape
        case["da_end"] = rng.normal(size=(d, N))
        cases.append(case)
    return cases


def _backward_with(step):
    """Build a segment's backward pass whose step is ``step(W, z, a, da, σ)``."""

    def segment_backward(weights, biases, a_start, da_end, activation):
        sigma = get_activation(activation)
        values = _recompute_segment(weights, biases, a_start, activation)
        zs, acts = values[0::2], values[1::2]
        da = da_end
        for i in range(len(weights) - 1, -1, -1):
            da = step(weights[i], zs[i], acts[i], da, sigma, last=i == len(weights) - 1)
        return da

    return segment_backward


def _stale_backward(weights, biases, a_start, da_end, activation):
    sigma = get_activation(activation)
    da = da_end
    for W, b in zip(weights[::-1], biases[::-1]):
        z = W @ a_start + b
        da = W.T @ (da * sigma.derivative(z))
    return da


register(
    CodingExercise(
        id="memory.segment_backward",
        chapter=8,
        title="The gradient a segment hands back",
        signature="segment_backward(weights, biases, a_start, da_end, activation)",
        reference=_segment_backward,
        cases=_segment_backward_cases,
        outputs=[Output("da_start", "∂L/∂a^s", "(d_s, N)")],
        pitfalls=[
            Pitfall(
                name="end_gradient_taken_as_delta",
                message=(
                    "The gradient handed in, ∂L/∂a^e, is used as δ^e: the segment's "
                    "last layer still multiplies it by σ′(z^e), and z^e is known only "
                    "after recomputing the segment."
                ),
                equation=EQ_SEGMENT_BACKWARD,
                wrong=_backward_with(
                    lambda W, z, a, da, sigma, last: W.T @ (
                        da if last else da * sigma.derivative(z)
                    )
                ),
            ),
            Pitfall(
                name="sigma_prime_at_a",
                message=(
                    "σ′ is evaluated at a^ℓ instead of z^ℓ: recompute z^ℓ and take "
                    "σ′(z^ℓ)."
                ),
                equation=EQ_SEGMENT_BACKWARD,
                wrong=_backward_with(
                    lambda W, z, a, da, sigma, last: W.T @ (da * sigma.derivative(a))
                ),
            ),
            Pitfall(
                name="W_not_transposed",
                message=(
                    "W^ℓ is used where its transpose belongs: ∂L/∂a^{ℓ−1} = (W^ℓ)ᵀ δ^ℓ."
                ),
                equation=EQ_SEGMENT_BACKWARD,
                wrong=_backward_with(
                    lambda W, z, a, da, sigma, last: W @ (da * sigma.derivative(z))
                ),
            ),
            Pitfall(
                name="stale_input",
                message=(
                    "Every layer's z^ℓ is computed from the stored input a^s: "
                    "recompute the segment forward first, each layer from the a^{ℓ−1} "
                    "before it."
                ),
                equation=EQ_RECOMPUTE,
                wrong=_stale_backward,
            ),
        ],
    )
)
