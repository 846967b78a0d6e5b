"""The book's colours stay apart for readers with colour blindness.

Dichromacy is simulated with the matrices of Machado, Oliveira and Fernandes
(2009) at full severity, applied to linear RGB; two colours count as apart when
their CIELAB distance (ΔE*ab) stays at least ``MIN_DELTA_E`` under every
simulation. The test is checked against a palette known to fail: the first
four colours of matplotlib's default cycle, whose green and red merge for
deuteranopes.
"""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib import rc_params_from_file

from bpcourse import plots

ROOT = Path(__file__).resolve().parent.parent

SIMULATIONS = {
    "protanopia": [[0.152286, 1.052583, -0.204868],
                   [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968],
                     [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779],
                   [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
    "normal vision": np.eye(3).tolist(),
}
MIN_DELTA_E = 15.0


def to_linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def to_lab(linear_rgb):
    """CIELAB (D65) of a colour given in linear sRGB."""
    xyz = np.array([[0.4124, 0.3576, 0.1805],
                    [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear_rgb
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(colour, simulation):
    matrix = np.asarray(SIMULATIONS[simulation])
    return to_lab(np.clip(matrix @ to_linear(to_rgb(colour)), 0, 1))


def closest_pair(colours):
    """Return (ΔE, colour, colour, simulation) of the pair that comes closest."""
    return min(
        (float(np.linalg.norm(seen(a, s) - seen(b, s))), a, b, s)
        for a, b in itertools.combinations(colours, 2)
        for s in SIMULATIONS
    )


def test_simulations_keep_greys_grey():
    """Each row of a simulation matrix sums to 1, which checks their transcription."""
    for simulation, matrix in SIMULATIONS.items():
        np.testing.assert_allclose(np.sum(matrix, axis=1), 1.0, atol=1e-5, err_msg=simulation)


def test_lab_of_white_and_black():
    np.testing.assert_allclose(to_lab(to_linear([1, 1, 1])), [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(to_lab(to_linear([0, 0, 0])), [0, 0, 0], atol=1e-9)


def test_simulation_merges_red_and_green_for_deuteranopes():
    # Without the simulation the two are far apart. With it they nearly meet.
    assert closest_pair(["#d62728", "#2ca02c"])[0] < MIN_DELTA_E
    normal = np.linalg.norm(seen("#d62728", "normal vision") - seen("#2ca02c", "normal vision"))
    assert normal > 3 * MIN_DELTA_E


def test_matplotlib_default_cycle_fails_the_check():
    assert closest_pair(["C0", "C1", "C2", "C3"])[0] < MIN_DELTA_E


def test_course_colours_stay_apart():
    delta, a, b, simulation = closest_pair(plots.COLOURS)
    assert delta >= MIN_DELTA_E, f"{a} and {b} are {delta:.1f} apart under {simulation}"


def test_book_figures_take_the_course_colours():
    """book/matplotlibrc sets the cycle of every figure drawn in a chapter."""
    params = rc_params_from_file(str(ROOT / "book" / "matplotlibrc"),
                                 use_default_template=False)
    cycle = [c.upper() for c in params["axes.prop_cycle"].by_key()["color"]]
    assert cycle == [c.upper() for c in plots.COLOURS]


@pytest.mark.parametrize("name", [plots.SEQUENTIAL])
def test_sequential_map_has_monotone_lightness(name):
    """A reader who sees no hue still orders the values by lightness."""
    cmap = colormaps[name]
    for simulation in SIMULATIONS:
        lightness = [seen(cmap(x)[:3], simulation)[0] for x in np.linspace(0, 1, 33)]
        assert np.all(np.diff(lightness) > 0), simulation


def test_diverging_map_tells_signs_apart():
    """The negative and positive ends differ under every simulation, and 0 is lightest."""
    cmap = colormaps[plots.DIVERGING]
    for simulation in SIMULATIONS:
        low, mid, high = (seen(cmap(x)[:3], simulation) for x in (0.1, 0.5, 0.9))
        assert np.linalg.norm(low - high) >= MIN_DELTA_E, simulation
        assert mid[0] > max(low[0], high[0]), simulation


def test_package_figures_name_their_colours():
    """No figure of the package relies on matplotlib's default colour cycle."""
    default = re.compile(r"""["'](C[0-9]|tab:[a-z]+|red|green)["']""")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "bpcourse").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if default.search(line)
    ]
    assert not found, "use bpcourse.plots.COLOURS instead:\n" + "\n".join(found)
