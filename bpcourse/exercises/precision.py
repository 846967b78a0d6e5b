r"""Exercises of the chapter on precision and quantization.

The equation numbers in the pitfalls are those the chapter prints: (10.3) is
loss scaling with its unscaling, (10.4) the rules of dynamic loss scaling,
(10.5) fake quantization ŵ = s · clip(round(w/s), −Q_N, Q_P) and (10.6) the
straight-through estimator.

Every function the learner writes returns new arrays and leaves its
arguments unchanged. The weights of the cases reach beyond the quantization
range on both sides, and some lie less than half a step outside it, so that
a range test on the rounded value shows.
"""

import numpy as np

from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_SCALING = "10.3"
EQ_DYNAMIC = "10.4"
EQ_QUANTIZE = "10.5"
EQ_STE = "10.6"
# NOTE: these numbers match the page because _toc.yml numbers its chapters
# (options: numbered: true); tests/test_exercises_precision.py checks them
# against the order of the chapter's equations.


def _range(bits):
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _weights(rng, shape, step, bits):
    """Draw weights that fill the range, go beyond it, and sit near its ends."""
    q_min, q_max = _range(bits)
    w = rng.uniform(1.6 * q_min, 1.6 * q_max + 1, size=shape) * step
    flat = w.reshape(-1)
    # Less than half a step outside the range: round(w/s) is inside, w/s is not.
    flat[0] = (q_max + 0.3) * step
    flat[1] = (q_min - 0.3) * step
    # Inside the range, below −Q_P: only a range of −2^{b−1} … keeps it.
    flat[2] = (q_min + 0.4) * step
    return w


# Fake quantization ----------------------------------------------------------------------


def _fake_quantize(w, step, bits, *, variant=None):
    """Return w on the grid of b-bit integers; ``variant`` names a pitfall to reproduce."""
    q_min, q_max = _range(bits)
    if variant == "range_symmetric":
        q_min = -q_max
    elif variant == "range_unsigned":
        q_min, q_max = 0, 2**bits - 1
    v = w / step
    if variant == "clipped_before_scaling":
        return np.round(np.clip(w, q_min, q_max) / step) * step
    rounded = np.trunc(v) if variant == "truncated_not_rounded" else np.round(v)
    if variant == "not_clipped":
        q = rounded
    else:
        q = np.clip(rounded, q_min, q_max)
    if variant == "step_not_multiplied":
        return q.astype(float)
    return q * step


def _fake_quantize_reference(w, step, bits):
    return _fake_quantize(w, step, bits)


def _fake_quantize_variant(name):
    def wrong(w, step, bits):
        return _fake_quantize(w, step, bits, variant=name)

    wrong.__name__ = f"fake_quantize_{name}"
    return wrong


def _fake_quantize_cases(rng):
    # (shape, step, bits): steps that are not 1, so a missing multiplication
    # shows, a step above 1, so clipping w instead of w/s shows, and 2, 3, 4
    # and 8 bits.
    settings = [((3, 4), 0.25, 3), ((5, 2), 0.1, 4), ((1, 6), 0.5, 2), ((4, 4), 0.01, 8),
                ((2, 3), 0.3, 3), ((3, 3), 1.5, 3)]
    return [{"w": _weights(rng, shape, step, bits), "step": step, "bits": bits}
            for shape, step, bits in settings]


register(
    CodingExercise(
        id="precision.fake_quantize",
        chapter=10,
        title="Fake quantization to b bits",
        signature="fake_quantize(w, step, bits)",
        reference=_fake_quantize_reference,
        cases=_fake_quantize_cases,
        outputs=[Output("w_hat", "ŵ", "the shape of w")],
        pitfalls=[
            Pitfall(
                name="not_clipped",
                message=(
                    "The integers are not clipped to the range: b bits hold only "
                    "−2^{b−1} … 2^{b−1} − 1, so clip round(w/s) to that range "
                    "before multiplying by s."
                ),
                equation=EQ_QUANTIZE,
                wrong=_fake_quantize_variant("not_clipped"),
            ),
            Pitfall(
                name="range_symmetric",
                message=(
                    "The range is clipped to ±(2^{b−1} − 1): two's complement has "
                    "one more negative integer, so the lowest is −2^{b−1}."
                ),
                equation=EQ_QUANTIZE,
                wrong=_fake_quantize_variant("range_symmetric"),
            ),
            Pitfall(
                name="range_unsigned",
                message=(
                    "The range is that of unsigned integers, 0 … 2^b − 1: weights "
                    "have both signs, so they use the signed range "
                    "−2^{b−1} … 2^{b−1} − 1."
                ),
                equation=EQ_QUANTIZE,
                wrong=_fake_quantize_variant("range_unsigned"),
            ),
            Pitfall(
                name="truncated_not_rounded",
                message=(
                    "w/s is truncated towards 0 instead of rounded: 2.7 becomes 2 "
                    "where the nearest integer is 3, so most weights move by more "
                    "than half a step."
                ),
                equation=EQ_QUANTIZE,
                wrong=_fake_quantize_variant("truncated_not_rounded"),
            ),
            Pitfall(
                name="step_not_multiplied",
                message=(
                    "The result is the integer q, not ŵ = s·q: fake quantization "
                    "returns a weight on the grid, in the units of w."
                ),
                equation=EQ_QUANTIZE,
                wrong=_fake_quantize_variant("step_not_multiplied"),
            ),
            Pitfall(
                name="clipped_before_scaling",
                message=(
                    "w itself is clipped to −Q_N … Q_P, before dividing by s: the "
                    "range is a range of integers, so clip round(w/s), in units "
                    "of the step."
                ),
                equation=EQ_QUANTIZE,
                wrong=_fake_quantize_variant("clipped_before_scaling"),
            ),
        ],
    )
)


# The straight-through estimator --------------------------------------------------------


def _ste_backward(w, step, bits, upstream, *, variant=None):
    """Return ∂L/∂w from ∂L/∂ŵ; ``variant`` names a pitfall to reproduce."""
    q_min, q_max = _range(bits)
    v = w / step
    if variant == "gradient_outside_range_passed":
        return upstream.copy()
    if variant == "derivative_of_round":
        return np.zeros_like(upstream)
    if variant == "range_tested_after_rounding":
        v = np.round(v)
    if variant == "range_symmetric":
        q_min = -q_max
    inside = (v >= q_min) & (v <= q_max)
    gradient = upstream * inside
    if variant == "divided_by_step":
        gradient = gradient / step
    return gradient


def _ste_backward_reference(w, step, bits, upstream):
    return _ste_backward(w, step, bits, upstream)


def _ste_backward_variant(name):
    def wrong(w, step, bits, upstream):
        return _ste_backward(w, step, bits, upstream, variant=name)

    wrong.__name__ = f"ste_backward_{name}"
    return wrong


def _ste_backward_cases(rng):
    settings = [((3, 4), 0.25, 3), ((5, 2), 0.1, 4), ((1, 6), 0.5, 2), ((4, 4), 0.02, 8),
                ((2, 3), 0.3, 3)]
    return [
        {
            "w": _weights(rng, shape, step, bits),
            "step": step,
            "bits": bits,
            "upstream": rng.normal(size=shape),
        }
        for shape, step, bits in settings
    ]


register(
    CodingExercise(
        id="precision.ste_backward",
        chapter=10,
        title="The straight-through gradient",
        signature="ste_backward(w, step, bits, upstream)",
        reference=_ste_backward_reference,
        cases=_ste_backward_cases,
        outputs=[Output("dw", "∂L/∂w", "the shape of w")],
        pitfalls=[
            Pitfall(
                name="gradient_outside_range_passed",
                message=(
                    "The gradient passes everywhere, also where ŵ is clipped: "
                    "there ŵ stays at −Q_N·s or Q_P·s whatever w does, so ∂L/∂w "
                    "is 0 outside −Q_N ≤ w/s ≤ Q_P."
                ),
                equation=EQ_STE,
                wrong=_ste_backward_variant("gradient_outside_range_passed"),
            ),
            Pitfall(
                name="derivative_of_round",
                message=(
                    "The gradient is 0 everywhere, the exact derivative of round: "
                    "that would stop all learning, which is why the "
                    "straight-through estimator treats round as the identity "
                    "inside the range."
                ),
                equation=EQ_STE,
                wrong=_ste_backward_variant("derivative_of_round"),
            ),
            Pitfall(
                name="range_tested_after_rounding",
                message=(
                    "The range test uses round(w/s): a weight less than half a "
                    "step beyond Q_P rounds to Q_P but is already clipped. Test "
                    "w/s itself."
                ),
                equation=EQ_STE,
                wrong=_ste_backward_variant("range_tested_after_rounding"),
            ),
            Pitfall(
                name="range_symmetric",
                message=(
                    "The lower end of the range is −(2^{b−1} − 1): it is −2^{b−1}, "
                    "the lowest b-bit integer."
                ),
                equation=EQ_STE,
                wrong=_ste_backward_variant("range_symmetric"),
            ),
            Pitfall(
                name="divided_by_step",
                message=(
                    "The gradient is divided by s: ŵ = s·round(w/s) is treated as "
                    "s·(w/s) = w, so ∂ŵ/∂w = 1 inside the range, and the s and "
                    "1/s cancel."
                ),
                equation=EQ_STE,
                wrong=_ste_backward_variant("divided_by_step"),
            ),
        ],
    )
)


# Dynamic loss scaling ----------------------------------------------------------------


def _dynamic_scaling(overflow, initial_scale, growth_interval, *, variant=None):
    """Return the scale each step uses and 1.0 for each skipped step.

    ``variant`` names a pitfall to reproduce instead of the correct rules.
    """
    scale = float(initial_scale)
    good = 0
    scales = np.zeros(len(overflow))
    skipped = np.zeros(len(overflow))
    for i, found_inf in enumerate(overflow):
        scales[i] = scale
        if found_inf:
            skipped[i] = 0.0 if variant == "step_not_skipped" else 1.0
            scale = scale * 2 if variant == "scale_raised_on_overflow" else scale / 2
            if variant != "count_not_reset_on_overflow":
                good = 0
            continue
        good += 1
        if variant == "count_not_reset_after_growth":
            if good >= growth_interval:
                scale *= 2
        elif good == growth_interval:
            scale *= 2
            good = 0
    return scales, skipped


def _dynamic_scaling_reference(overflow, initial_scale, growth_interval):
    return _dynamic_scaling(overflow, initial_scale, growth_interval)


def _dynamic_scaling_variant(name):
    def wrong(overflow, initial_scale, growth_interval):
        return _dynamic_scaling(overflow, initial_scale, growth_interval, variant=name)

    wrong.__name__ = f"dynamic_scaling_{name}"
    return wrong


def _dynamic_scaling_cases(rng):
    # Overflows at the start (a scale that starts too high), in the middle of
    # a run of good steps, and runs longer than the growth interval.
    patterns = [
        ("11100000000000", 2.0**16, 3),
        ("00001000000100", 2.0**10, 4),
        ("0000000000", 1024.0, 2),
        ("1010000001", 2.0**20, 3),
    ]
    cases = [
        {"overflow": np.array([c == "1" for c in bits]), "initial_scale": scale,
         "growth_interval": interval}
        for bits, scale, interval in patterns
    ]
    # One random pattern with overflows about one step in five.
    cases.append({"overflow": rng.random(16) < 0.2, "initial_scale": 2.0**15,
                  "growth_interval": 3})
    return cases


register(
    CodingExercise(
        id="precision.dynamic_scaling",
        chapter=10,
        title="Dynamic loss scaling, step by step",
        signature="dynamic_scaling(overflow, initial_scale, growth_interval)",
        reference=_dynamic_scaling_reference,
        cases=_dynamic_scaling_cases,
        outputs=[
            Output("scales", "the loss scale of each step", "(steps,)"),
            Output("skipped", "1 for each skipped step", "(steps,)"),
        ],
        pitfalls=[
            Pitfall(
                name="count_not_reset_on_overflow",
                message=(
                    "The count of good steps carries on across an overflow, so "
                    "the scale grows again too soon after one: an overflow "
                    "restarts the count at 0, and S doubles only after "
                    "growth_interval good steps in a row."
                ),
                equation=EQ_DYNAMIC,
                wrong=_dynamic_scaling_variant("count_not_reset_on_overflow"),
            ),
            Pitfall(
                name="step_not_skipped",
                message=(
                    "A step whose gradients overflowed is applied: its gradients "
                    "hold inf or nan, which would spoil the weights, so the step "
                    "is skipped."
                ),
                equation=EQ_DYNAMIC,
                wrong=_dynamic_scaling_variant("step_not_skipped"),
            ),
            Pitfall(
                name="scale_raised_on_overflow",
                message=(
                    "The scale grows after an overflow: an overflow means S·g is "
                    "too large for float16, so S is halved."
                ),
                equation=EQ_DYNAMIC,
                wrong=_dynamic_scaling_variant("scale_raised_on_overflow"),
            ),
            Pitfall(
                name="count_not_reset_after_growth",
                message=(
                    "After the scale grows, it keeps doubling at every good step: "
                    "the count restarts at 0 when S doubles, so the next doubling "
                    "waits another growth_interval steps."
                ),
                equation=EQ_DYNAMIC,
                wrong=_dynamic_scaling_variant("count_not_reset_after_growth"),
            ),
        ],
    )
)


# The smallest normal float16 -------------------------------------------------------------

register(
    ShortAnswer(
        id="precision.smallest_normal",
        chapter=10,
        title="The smallest positive normal float16",
        prompt=(
            "What is the smallest positive normal float16 number? Below it, "
            "float16 numbers are subnormal and lose significant bits."
        ),
        answer=2.0**-14,
        rtol=1e-3,
        mistakes={
            2.0**-24: (
                "2⁻²⁴ ≈ 5.96e-8 is the smallest subnormal number: with the "
                "exponent field at 0, float16 still holds multiples of 2⁻²⁴, but "
                "with fewer significant bits."
            ),
            2.0**-10: (
                "2⁻¹⁰ ≈ 9.77e-4 is the spacing of float16 numbers just above 1, "
                "the machine epsilon, not a limit of the range."
            ),
            65504.0: "65504 is the largest finite float16 number.",
            2.0**-126: "2⁻¹²⁶ ≈ 1.18e-38 is the smallest normal float32 number.",
        },
    )
)
