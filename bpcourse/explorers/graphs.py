r"""The backward pass through a small expression graph, one node at a time.

``bpcourse.autodiff`` visits the nodes of a graph in reverse topological order.
When it visits a node, every consumer of that node has already passed its
contribution on, so the node's gradient is complete. Its vector–Jacobian
product then adds one contribution to each of its inputs. After step k of the
pass, the first k nodes of that order have their final gradient, and some
others hold a sum that a later visit may still add to.

:func:`backward_step` returns that state for one of the scalar expressions of
``EXPRESSIONS``, :func:`draw_backward_step` draws it with ``draw_graph`` and
outlines the nodes whose gradient is final, and :func:`graph_widget` wires the
two to a menu and a slider.

>>> state = backward_step("(a + b) · a", 1)
>>> state["order"], state["done"], state["grads"]["a"]
(['e', 'c', 'b', 'a'], ['e'], -1.0)
"""

import numpy as np

from bpcourse.autodiff import Tensor, topological_order
from bpcourse.interactive import FRAME_DPI


def _product_of_sum():
    a, b = Tensor(2.0, name="a"), Tensor(-3.0, name="b")
    c = a + b
    c.name = "c"
    e = c * a
    e.name = "e"
    return e


def _neuron():
    # w x + b = 0, so σ = 1/2 and σ′ = 1/4: every gradient is a short decimal.
    w, b = Tensor(0.5, name="w"), Tensor(-1.0, name="b")
    x = Tensor(2.0, requires_grad=False, name="x")
    u = w * x
    u.name = "u"
    z = u + b
    z.name = "z"
    a = z.sigmoid()
    a.name = "a"
    r = a - 1.0
    r.name = "r"
    s = r**2
    s.name = "s"
    loss = 0.5 * s
    loss.name = "L"
    return loss


def _shared_input():
    x, y = Tensor(0.5, name="x"), Tensor(-2.0, name="y")
    p = x * y
    p.name = "p"
    t = x.tanh()
    t.name = "t"
    f = p + t
    f.name = "f"
    return f


#: The expressions of the explorer: a name and a function that builds the graph
#: anew, with every node named and no gradient yet.
EXPRESSIONS = {
    "(a + b) · a": _product_of_sum,
    "x · y + tanh(x)": _shared_input,
    "½ (σ(w x + b) − 1)²": _neuron,
}

#: The expression the explorer starts with.
DEFAULT_EXPRESSION = "(a + b) · a"


def build_expression(expression=DEFAULT_EXPRESSION):
    """Build the graph of one of ``EXPRESSIONS`` and return its root.

    Raises
    ------
    ValueError
        For a name that is not in ``EXPRESSIONS``.
    """
    if expression not in EXPRESSIONS:
        names = ", ".join(repr(name) for name in EXPRESSIONS)
        raise ValueError(f"unknown expression {expression!r}: choose one of {names}")
    return EXPRESSIONS[expression]()


def num_steps(expression=DEFAULT_EXPRESSION):
    """Return the number of steps of the backward pass: one per node with a gradient."""
    return len(topological_order(build_expression(expression)))


def backward_step(expression=DEFAULT_EXPRESSION, step=0):
    """Return the gradients after ``step`` nodes of the backward pass were visited.

    The pass is that of ``bpcourse.autodiff.backward``: the root starts with
    gradient 1, and visiting a node applies its VJP and adds each result to the
    gradient of that input. Constants (such as x of the neuron) get no
    gradient and are not visited.

    Parameters
    ----------
    expression : str
        A key of ``EXPRESSIONS``.
    step : int
        0 … ``num_steps(expression)``. Step 0 is before the pass, when only the
        root's gradient, 1, is known.

    Returns
    -------
    dict
        ``expression``: the name.
        ``order``: the names of the nodes with a gradient, in reverse
        topological order, the order of the visits.
        ``done``: the first ``step`` names of ``order``, whose gradient is final.
        ``pending``: names of the nodes that received a contribution but were
        not visited yet, in the order of ``order``. Their sum may still grow.
        ``current``: the node visited at this step, None at step 0.
        ``grads``: ``{name: float}`` for every node of ``done`` and
        ``pending``, the gradient so far.
        ``values``: ``{name: float}``, the forward value of every node.
        ``sent``: ``{input name: float}``, what the current node's VJP passed
        to each input at this step (summed over an input used twice).
        ``final``: ``{name: float}``, the gradient of every node once the pass
        is over, for comparison.

    Raises
    ------
    ValueError
        For an unknown expression or a step outside 0 … ``num_steps``.
    """
    root = build_expression(expression)
    order = list(reversed(topological_order(root)))
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step must be an integer in 0 … {len(order)}, got {step!r}")
    if not 0 <= step <= len(order):
        raise ValueError(
            f"step={step} is out of range: the backward pass of {expression!r} has "
            f"steps 0 … {len(order)}, one per node with a gradient"
        )

    pending = {root: 1.0}
    done, sent = [], {}
    grads = {}
    final = _final_gradients(expression)
    for node in order[:step]:
        g = pending.pop(node)
        grads[node.name] = g
        done.append(node.name)
        sent = {}
        if node.is_leaf:
            continue
        contributions = node._vjp(np.asarray(g, dtype=node.dtype))
        for parent, contribution in zip(node.parents, contributions):
            if contribution is None or not parent.requires_grad:
                continue
            value = float(np.asarray(contribution).reshape(-1)[0])
            pending[parent] = pending.get(parent, 0.0) + value
            sent[parent.name] = sent.get(parent.name, 0.0) + value
    waiting = [node.name for node in order if node in pending]
    grads.update({node.name: float(g) for node, g in pending.items()})
    values = {
        node.name: float(node.data)
        for node in topological_order(root, constants=True)
        if node.name is not None
    }
    return {
        "expression": expression,
        "order": [node.name for node in order],
        "done": done,
        "pending": waiting,
        "current": done[-1] if done else None,
        "grads": {name: float(g) for name, g in grads.items()},
        "values": values,
        "sent": sent,
        "final": final,
    }


def _final_gradients(expression):
    root = build_expression(expression)
    root.backward()
    return {
        node.name: float(node.grad)
        for node in topological_order(root)
        if node.grad is not None
    }


def describe_step(state):
    """Describe in one line of text what the step computed."""
    if state["current"] is None:
        return f"before the pass: ∂{state['order'][0]}/∂{state['order'][0]} = 1"
    current = state["current"]
    g = state["grads"][current]
    if not state["sent"]:
        return f"visit {current}: a leaf, its gradient {g:.4g} is final"
    sent = state["sent"].items()
    passed = ", ".join(f"{value:+.4g} to {name}" for name, value in sent)
    return f"visit {current} (gradient {g:.4g}): its VJP adds {passed}"


def draw_backward_step(state, ax=None):
    """Draw the graph of a :func:`backward_step` state.

    Every node shows its value and its gradient so far (``—`` before any
    contribution arrived), filled from the diverging colour map on the scale of
    the finished pass, so a colour means the same number at every step. Nodes
    whose gradient is final get a thick orange outline, the node just visited
    the thickest one, and nodes that received a contribution but were not
    visited yet a dashed orange outline.

    Returns
    -------
    matplotlib Axes
    """
    from bpcourse.autodiff import draw_graph

    root = build_expression(state["expression"])
    nodes = topological_order(root, constants=True)
    for node in nodes:
        g = state["grads"].get(node.name)
        node.grad = None if g is None else np.asarray(g, dtype=node.dtype)
    ax = draw_graph(root, ax=ax, title=describe_step(state))
    boxes, labels = _node_artists(ax, nodes)
    vmax = max(abs(g) for g in state["final"].values()) or 1.0
    done, pending = set(state["done"]), set(state["pending"])
    for node, box, label in zip(nodes, boxes, labels):
        g = state["grads"].get(node.name)
        if g is not None:
            face, text_colour = _fill(g, vmax)
            box.set_facecolor(face)
            label.set_color(text_colour)
        if node.name in done:
            box.set_edgecolor(HIGHLIGHT)
            box.set_linewidth(4.5 if node.name == state["current"] else 3.0)
        elif node.name in pending:
            box.set_edgecolor(HIGHLIGHT)
            box.set_linewidth(2.5)
            box.set_linestyle("--")
    return ax


#: The outline colour of nodes whose gradient is known.
HIGHLIGHT = "#e66100"


def _fill(g, vmax):
    """Return the fill and text colour of a gradient, as ``draw_graph`` picks them."""
    from matplotlib import colormaps

    from bpcourse.plots import DIVERGING

    level = 0.5 + 0.5 * max(-1.0, min(1.0, g / vmax))
    text_colour = "white" if abs(level - 0.5) > 0.3 else "black"
    return colormaps[DIVERGING](level), text_colour


def _node_artists(ax, nodes):
    """Return the box and the label that ``draw_graph`` drew for each node.

    ``draw_graph`` adds one box and then one label per node, in the order of
    ``topological_order(root, constants=True)``, after the arrows and their
    ``×2`` labels, so the last labels belong to the nodes.
    """
    from matplotlib.patches import FancyBboxPatch

    boxes = [patch for patch in ax.patches if isinstance(patch, FancyBboxPatch)]
    labels = ax.texts[-len(nodes):]
    if len(boxes) != len(nodes) or len(labels) != len(nodes):
        raise RuntimeError(
            f"draw_graph drew {len(boxes)} node boxes for {len(nodes)} nodes: it no "
            "longer draws one box and one label per node in topological order"
        )
    for node, label in zip(nodes, labels):
        if node.name is not None and not label.get_text().startswith(node.name):
            raise RuntimeError(
                f"the label {label.get_text()!r} is not that of node {node.name!r}: "
                "draw_graph no longer labels the nodes in topological order"
            )
    return boxes, labels


def graph_widget(expression=DEFAULT_EXPRESSION):
    """Return a widget that steps through the backward pass with a slider.

    A menu chooses the expression and the slider the step; the slider's range
    follows the expression's number of nodes.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    menu = widgets.Dropdown(
        options=list(EXPRESSIONS), value=expression, description="expression"
    )
    slider = widgets.IntSlider(
        value=0, min=0, max=num_steps(expression), step=1, description="step"
    )

    def follow_expression(change):
        slider.max = num_steps(change["new"])
        slider.value = min(slider.value, slider.max)

    menu.observe(follow_expression, names="value")

    def show(expression, step):
        state = backward_step(expression, min(step, num_steps(expression)))
        draw_backward_step(state)
        plt.show()

    return widgets.interactive(show, expression=menu, step=slider)


def describe_frame(state):
    """Return one sentence for a frame: the expression, the step and the gradients."""
    step = len(state["done"])
    total = len(state["order"])
    known = ", ".join(
        f"∂{state['order'][0]}/∂{name} = {state['grads'][name]:.4g}"
        for name in state["order"] if name in state["grads"]
    )
    return (
        f"Backward pass through {state['expression']}, step {step} of {total}: "
        f"{describe_step(state)}. Gradients so far: {known}."
    )


def graphs_frames(expressions=tuple(EXPRESSIONS), dpi=FRAME_DPI):
    """Return the graph widget as a ``FrameExplorer`` that needs no kernel.

    A slider chooses the expression and one the step. The step slider runs to
    the largest ``num_steps`` of the expressions and, as in the live widget,
    a step past an expression's last one shows the finished pass. Each frame is
    :func:`draw_backward_step` on :func:`backward_step`.
    """
    from bpcourse.interactive import FrameExplorer

    expressions = list(expressions)
    last_step = max(num_steps(expression) for expression in expressions)

    def state_for(expression, step):
        return backward_step(expression, min(step, num_steps(expression)))

    def draw(expression, step):
        ax = draw_backward_step(state_for(expression, step))
        return ax.figure

    def alt(expression, step):
        return describe_frame(state_for(expression, step))

    params = {"expression": expressions, "step": list(range(last_step + 1))}
    start = DEFAULT_EXPRESSION if DEFAULT_EXPRESSION in expressions else expressions[0]
    return FrameExplorer(
        draw,
        params,
        initial={"expression": start, "step": 0},
        alt=alt,
        labels={"expression": "expression", "step": "step of the backward pass"},
        dpi=dpi,
    )
