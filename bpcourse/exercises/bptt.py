r"""Exercises of the chapter on backpropagation through time.

The equation numbers in the pitfalls are those the chapter prints: (9.4) is
∂L/∂h_t = W_hyᵀ e_t + W_hhᵀ δ_{t+1}, (9.5) is δ_t = ∂L/∂h_t ⊙ (1 − h_t²),
(9.6) the gradients of the shared weights summed over the steps, (9.8) the
bound ‖∂L/∂h_t‖ ≤ ρ^{T−t} ‖∂L/∂h_T‖ and (9.10) the windows of truncated
BPTT.

Every function the learner writes returns new arrays and leaves its
arguments unchanged. W_hh is never symmetric in the cases, so a missing
transpose shows, and h_t differs from h_{t−1}, so tanh′ at the wrong step
shows.
"""

import numpy as np

from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer, register

EQ_DH = "9.4"
EQ_DELTA = "9.5"
EQ_WEIGHTS = "9.6"
EQ_BOUND = "9.8"
EQ_WINDOW = "9.10"
# NOTE: these numbers match the page because _toc.yml numbers its chapters
# (options: numbered: true); tests/test_exercises_bptt.py checks them against
# the order of the chapter's equations.


# One step of the backward pass ------------------------------------------------------


def _step_backward(dy, delta_next, h, h_prev, x, W_hh, W_hy, *, variant=None):
    """Return δ_t and step t's terms of ∂L/∂W_hh, ∂L/∂W_xh and ∂L/∂b_h.

    ``variant`` names a pitfall to reproduce instead of the correct step.
    """
    if variant == "future_gradient_missing":
        dh = W_hy.T @ dy
    elif variant == "W_hh_not_transposed":
        dh = W_hy.T @ dy + W_hh @ delta_next
    else:
        dh = W_hy.T @ dy + W_hh.T @ delta_next
    if variant == "tanh_prime_at_h_prev":
        tanh_prime = 1 - h_prev**2
    elif variant == "tanh_prime_not_squared":
        tanh_prime = 1 - h
    elif variant == "tanh_applied_again":
        tanh_prime = 1 - np.tanh(h) ** 2
    else:
        tanh_prime = 1 - h**2
    delta = dh * tanh_prime
    state = h if variant == "dW_hh_uses_h_t" else h_prev
    dW_hh = delta @ state.T
    dW_xh = delta @ x.T
    db_h = np.sum(delta, axis=1, keepdims=True)
    return delta, dW_hh, dW_xh, db_h


def _step_backward_reference(dy, delta_next, h, h_prev, x, W_hh, W_hy):
    return _step_backward(dy, delta_next, h, h_prev, x, W_hh, W_hy)


def _step_backward_variant(name):
    def wrong(dy, delta_next, h, h_prev, x, W_hh, W_hy):
        return _step_backward(dy, delta_next, h, h_prev, x, W_hh, W_hy, variant=name)

    wrong.__name__ = f"rnn_step_backward_{name}"
    return wrong


def _step_backward_cases(rng):
    # (d_x, d_h, d_y, N): one example, d_y = d_h, and d_x = d_h, so that
    # shapes alone do not give away which matrix goes where.
    settings = [(2, 3, 1, 4), (1, 4, 2, 1), (3, 3, 3, 5), (2, 5, 1, 2)]
    cases = []
    for d_x, d_h, d_y, N in settings:
        cases.append({
            "dy": rng.normal(size=(d_y, N)),
            "delta_next": rng.normal(size=(d_h, N)),
            "h": np.tanh(rng.normal(size=(d_h, N))),
            "h_prev": np.tanh(rng.normal(size=(d_h, N))),
            "x": rng.normal(size=(d_x, N)),
            "W_hh": rng.normal(size=(d_h, d_h)) / np.sqrt(d_h),
            "W_hy": rng.normal(size=(d_y, d_h)) / np.sqrt(d_h),
        })
    return cases


register(
    CodingExercise(
        id="bptt.step_backward",
        chapter=9,
        title="One step of backpropagation through time",
        signature="rnn_step_backward(dy, delta_next, h, h_prev, x, W_hh, W_hy)",
        reference=_step_backward_reference,
        cases=_step_backward_cases,
        outputs=[
            Output("delta", "δ_t", "(d_h, N)"),
            Output("dW_hh", "step t's term of ∂L/∂W_hh", "(d_h, d_h)"),
            Output("dW_xh", "step t's term of ∂L/∂W_xh", "(d_h, d_x)"),
            Output("db_h", "step t's term of ∂L/∂b_h", "(d_h, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="future_gradient_missing",
                message=(
                    "The gradient from the future is missing: h_t feeds ŷ_t and "
                    "also z_{t+1}, so ∂L/∂h_t = W_hyᵀ e_t + W_hhᵀ δ_{t+1}."
                ),
                equation=EQ_DH,
                wrong=_step_backward_variant("future_gradient_missing"),
            ),
            Pitfall(
                name="W_hh_not_transposed",
                message=(
                    "δ_{t+1} goes back through W_hh untransposed: the forward "
                    "step multiplies h_t by W_hh, so the backward step multiplies "
                    "δ_{t+1} by W_hhᵀ. Both are (d_h, d_h), so the shapes cannot "
                    "tell you."
                ),
                equation=EQ_DH,
                wrong=_step_backward_variant("W_hh_not_transposed"),
            ),
            Pitfall(
                name="tanh_prime_at_h_prev",
                message=(
                    "tanh′ is taken at the previous state: δ_t = ∂L/∂h_t ⊙ "
                    "(1 − h_t²) uses h_t = tanh(z_t), the state this step "
                    "computed, not h_{t−1}."
                ),
                equation=EQ_DELTA,
                wrong=_step_backward_variant("tanh_prime_at_h_prev"),
            ),
            Pitfall(
                name="tanh_prime_not_squared",
                message=(
                    "tanh′(z_t) is 1 − h_t², with h_t squared: 1 − h_t is not "
                    "the derivative."
                ),
                equation=EQ_DELTA,
                wrong=_step_backward_variant("tanh_prime_not_squared"),
            ),
            Pitfall(
                name="tanh_applied_again",
                message=(
                    "tanh is applied twice: h_t is already tanh(z_t), so "
                    "tanh′(z_t) = 1 − h_t², while 1 − tanh(h_t)² is the "
                    "derivative at h_t."
                ),
                equation=EQ_DELTA,
                wrong=_step_backward_variant("tanh_applied_again"),
            ),
            Pitfall(
                name="dW_hh_uses_h_t",
                message=(
                    "∂L/∂W_hh pairs δ_t with h_t: W_hh multiplies h_{t−1} in "
                    "z_t, so step t adds δ_t h_{t−1}ᵀ."
                ),
                equation=EQ_WEIGHTS,
                wrong=_step_backward_variant("dW_hh_uses_h_t"),
            ),
        ],
    )
)


# The whole backward pass over time ---------------------------------------------------


def _bptt_backward(dY, H, X, W_hh, W_hy, *, variant=None):
    """Return ∂L/∂W_xh, ∂L/∂W_hh and ∂L/∂b_h by BPTT.

    ``variant`` names a pitfall to reproduce instead of the correct loop.
    """
    T, _, N = X.shape
    d_h = H.shape[1]
    dW_xh = np.zeros((d_h, X.shape[1]))
    dW_hh = np.zeros((d_h, d_h))
    db_h = np.zeros((d_h, 1))
    delta_next = np.zeros((d_h, N))
    steps = range(1, T + 1) if variant == "recursion_runs_forward" else range(T, 0, -1)
    for t in steps:
        dh = W_hy.T @ dY[t - 1]
        if variant != "future_gradient_missing":
            dh = dh + W_hh.T @ delta_next
        delta = dh * (1 - H[t] ** 2)
        state = H[t] if variant == "state_index_off_by_one" else H[t - 1]
        terms = (delta @ X[t - 1].T, delta @ state.T,
                 np.sum(delta, axis=1, keepdims=True))
        if variant == "weights_overwritten":
            dW_xh, dW_hh, db_h = terms
        else:
            dW_xh = dW_xh + terms[0]
            dW_hh = dW_hh + terms[1]
            db_h = db_h + terms[2]
        delta_next = delta
    return dW_xh, dW_hh, db_h


def _bptt_backward_reference(dY, H, X, W_hh, W_hy):
    return _bptt_backward(dY, H, X, W_hh, W_hy)


def _bptt_backward_variant(name):
    def wrong(dY, H, X, W_hh, W_hy):
        return _bptt_backward(dY, H, X, W_hh, W_hy, variant=name)

    wrong.__name__ = f"bptt_backward_{name}"
    return wrong


def _bptt_backward_cases(rng):
    # (T, d_x, d_h, d_y, N): a single step, one example, and square shapes.
    settings = [(3, 2, 3, 1, 4), (1, 1, 4, 2, 3), (5, 3, 3, 3, 1), (4, 2, 5, 2, 2)]
    cases = []
    for T, d_x, d_h, d_y, N in settings:
        W_hh = rng.normal(size=(d_h, d_h)) / np.sqrt(d_h)
        W_xh = rng.normal(size=(d_h, d_x)) / np.sqrt(d_x)
        X = rng.normal(size=(T, d_x, N))
        # The states of a real forward pass from h_0 = 0.
        H = np.zeros((T + 1, d_h, N))
        for t in range(1, T + 1):
            H[t] = np.tanh(W_hh @ H[t - 1] + W_xh @ X[t - 1])
        cases.append({
            "dY": rng.normal(size=(T, d_y, N)),
            "H": H,
            "X": X,
            "W_hh": W_hh,
            "W_hy": rng.normal(size=(d_y, d_h)) / np.sqrt(d_h),
        })
    return cases


register(
    CodingExercise(
        id="bptt.backward_through_time",
        chapter=9,
        title="Backpropagation through all the steps",
        signature="bptt_backward(dY, H, X, W_hh, W_hy)",
        reference=_bptt_backward_reference,
        cases=_bptt_backward_cases,
        outputs=[
            Output("dW_xh", "∂L/∂W_xh", "(d_h, d_x)"),
            Output("dW_hh", "∂L/∂W_hh", "(d_h, d_h)"),
            Output("db_h", "∂L/∂b_h", "(d_h, 1)"),
        ],
        pitfalls=[
            Pitfall(
                name="weights_overwritten",
                message=(
                    "The gradients of the shared weights are overwritten at every "
                    "step, so only the last step of the loop (t = 1) is left: W_hh, "
                    "W_xh and b_h serve every step, so their gradients add up the "
                    "terms of all T steps."
                ),
                equation=EQ_WEIGHTS,
                wrong=_bptt_backward_variant("weights_overwritten"),
            ),
            Pitfall(
                name="future_gradient_missing",
                message=(
                    "The gradient from the future is missing: ∂L/∂h_t = "
                    "W_hyᵀ e_t + W_hhᵀ δ_{t+1}, with δ_{T+1} = 0 only after "
                    "the last step."
                ),
                equation=EQ_DH,
                wrong=_bptt_backward_variant("future_gradient_missing"),
            ),
            Pitfall(
                name="recursion_runs_forward",
                message=(
                    "The loop runs forward in time, so δ_{t−1} is used where "
                    "δ_{t+1} belongs: start at t = T, where δ_{T+1} = 0, and go "
                    "back to t = 1."
                ),
                equation=EQ_DH,
                wrong=_bptt_backward_variant("recursion_runs_forward"),
            ),
            Pitfall(
                name="state_index_off_by_one",
                message=(
                    "∂L/∂W_hh pairs δ_t with H[t], which is h_t: z_t reads "
                    "h_{t−1}, which is H[t − 1] because H[0] is h_0."
                ),
                equation=EQ_WEIGHTS,
                wrong=_bptt_backward_variant("state_index_off_by_one"),
            ),
        ],
    )
)


# The windows of truncated BPTT --------------------------------------------------------


def _truncated_windows(k1, k2, T, *, variant=None):
    """Return the (U, T) mask of the steps each backward pass covers.

    ``variant`` names a pitfall to reproduce instead of the correct windows.
    """
    if variant == "k1_k2_swapped":
        k1, k2 = k2, k1
    ends = list(range(k1, T + 1, k1))
    if variant != "last_chunk_dropped" and (not ends or ends[-1] != T):
        ends.append(T)
    mask = np.zeros((len(ends), T))
    for u, end in enumerate(ends):
        if variant == "window_not_clipped":
            # Python slicing reads a negative start from the end of the row.
            mask[u, end - k2:end] = 1.0
            continue
        back = k1 if variant == "window_from_chunk_start" else k2
        if variant == "window_one_step_too_long":
            back = k2 + 1
        start = max(end - back + 1, 1)
        mask[u, start - 1:end] = 1.0
    return mask


def _truncated_windows_reference(k1, k2, T):
    return _truncated_windows(k1, k2, T)


def _truncated_windows_variant(name):
    def wrong(k1, k2, T):
        return _truncated_windows(k1, k2, T, variant=name)

    wrong.__name__ = f"truncated_windows_{name}"
    return wrong


def _truncated_windows_cases(rng):
    # (k1, k2, T): windows that reach before step 1, T not a multiple of k1,
    # k1 = k2, and k1 = 1.
    settings = [(2, 3, 7), (3, 5, 10), (1, 1, 4), (4, 4, 8), (2, 5, 9), (3, 4, 10)]
    return [{"k1": k1, "k2": k2, "T": T} for k1, k2, T in settings]


register(
    CodingExercise(
        id="bptt.truncated_windows",
        chapter=9,
        title="The windows of truncated BPTT",
        signature="truncated_windows(k1, k2, T)",
        reference=_truncated_windows_reference,
        cases=_truncated_windows_cases,
        outputs=[Output("mask", "the window mask", "(U, T)")],
        pitfalls=[
            Pitfall(
                name="k1_k2_swapped",
                message=(
                    "k1 and k2 are swapped: a backward pass runs every k1 steps "
                    "and each goes k2 steps back."
                ),
                equation=EQ_WINDOW,
                wrong=_truncated_windows_variant("k1_k2_swapped"),
            ),
            Pitfall(
                name="last_chunk_dropped",
                message=(
                    "The last pass is missing when T is not a multiple of k1: the "
                    "steps after the last multiple of k1 still need a backward "
                    "pass, which ends at step T."
                ),
                equation=EQ_WINDOW,
                wrong=_truncated_windows_variant("last_chunk_dropped"),
            ),
            Pitfall(
                name="window_one_step_too_long",
                message=(
                    "Each window covers k2 + 1 steps: a pass after step e covers "
                    "the k2 steps e − k2 + 1 … e."
                ),
                equation=EQ_WINDOW,
                wrong=_truncated_windows_variant("window_one_step_too_long"),
            ),
            Pitfall(
                name="window_not_clipped",
                message=(
                    "A window that would start before step 1 is empty or wraps "
                    "around: a negative slice start counts from the end of the "
                    "row. Start at max(e − k2 + 1, 1)."
                ),
                equation=EQ_WINDOW,
                wrong=_truncated_windows_variant("window_not_clipped"),
            ),
            Pitfall(
                name="window_from_chunk_start",
                message=(
                    "Each window covers only its own k1 steps: the pass goes k2 "
                    "steps back, into the steps of earlier chunks."
                ),
                equation=EQ_WINDOW,
                wrong=_truncated_windows_variant("window_from_chunk_start"),
            ),
        ],
    )
)


# When gradients vanish -----------------------------------------------------------------

register(
    ShortAnswer(
        id="bptt.vanishing_bound",
        chapter=9,
        title="How small can the gradient get?",
        prompt=(
            "A vanilla RNN has W_hh = 0.8·Q with Q orthogonal, and its loss reads "
            "only the last state h_T, with ‖∂L/∂h_T‖ = 1. What is the largest "
            "value ‖∂L/∂h_{T−10}‖ can take?"
        ),
        answer=0.8**10,
        rtol=1e-3,
        mistakes={
            0.8**9: (
                "that is nine factors of 0.8: from h_T back to h_{T−10} the "
                f"gradient passes W_hhᵀ ten times, see equation ({EQ_BOUND})."
            ),
            0.8**11: (
                "that is eleven factors of 0.8: from h_T back to h_{T−10} the "
                f"gradient passes W_hhᵀ ten times, see equation ({EQ_BOUND})."
            ),
            8.0: (
                "the factors multiply, they do not add: ten steps give 0.8 to "
                f"the power 10, see equation ({EQ_BOUND})."
            ),
            1.0: (
                "|tanh′| ≤ 1 cannot make the gradient grow, but W_hhᵀ shrinks "
                f"every vector to 0.8 of its length, see equation ({EQ_BOUND})."
            ),
        },
    )
)
