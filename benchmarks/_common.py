"""Helpers of the benchmark scripts: threads, alternating timing, the machine, Markdown.

Every script measures all its contenders in one run. A round runs each
contender for a few calls, in an order that rotates from round to round, so a
change of the machine's load during the run affects every contender alike. The
tables give the median time of a call over the rounds and the spread, the 25th
to the 75th percentile of the rounds, and the best (fastest) round, which a
loaded machine disturbs least.
"""

import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TORCH_HINT = (
    "PyTorch is not installed, so it is not measured; "
    "'pip install torch==2.13.0' installs its CPU build"
)


def add_common_arguments(parser):
    """Add --quick, --rounds, --threads and --output to an argparse parser."""
    parser.add_argument("--quick", action="store_true",
                        help="a few short rounds, to check that the script runs; "
                             "writes no table unless --output is given")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of alternating measurements (default 10, 2 with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: what numpy's BLAS uses)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the Markdown table")


def rounds_and_calls(args, rounds=10, calls=5):
    """Return (rounds, calls per round) for the parsed arguments."""
    if args.quick:
        return args.rounds or 2, 1
    return args.rounds or rounds, calls


def output_path(args, name):
    """Return the Markdown file to write, or None for --quick without --output."""
    if args.output is not None:
        return args.output
    return None if args.quick else RESULTS / f"{name}.md"


# Threads -----------------------------------------------------------------------


class Threads:
    """The threads of numpy's BLAS and of PyTorch, set to the same number."""

    def __init__(self, requested=None):
        self.blas = _blas_info()
        default = self.blas[0].get("num_threads") if self.blas else None
        self.count = requested or default or os.cpu_count() or 1
        self._limits = None
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            if requested is not None:
                print("threadpoolctl is not installed: --threads applies to PyTorch "
                      "only; set OPENBLAS_NUM_THREADS for numpy")
        else:
            self._limits = threadpool_limits(limits=self.count, user_api="blas")
        self.torch = None

    def apply_to_torch(self, torch):
        torch.set_num_threads(self.count)
        self.torch = torch.get_num_threads()

    def describe(self):
        env = os.environ.get("OPENBLAS_NUM_THREADS")
        env_text = f"OPENBLAS_NUM_THREADS={env}" if env else "OPENBLAS_NUM_THREADS unset"
        text = f"numpy BLAS threads: {self.count} ({env_text}, set with threadpoolctl)"
        if self.torch is not None:
            text += f"; torch.set_num_threads({self.count}), torch.get_num_threads() = {self.torch}"
        return text


def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [info for info in threadpool_info() if info.get("user_api") == "blas"]


def import_torch(threads):
    """Return the torch module with its threads set, or None after printing why it is unavailable."""
    try:
        import torch
    except ImportError:
        print(TORCH_HINT)
        return None
    except OSError as error:  # an installation that is incomplete or broken
        print(f"PyTorch is installed but does not load ({error}), so it is not "
              "measured; 'pip install torch==2.13.0' reinstalls its CPU build")
        return None
    threads.apply_to_torch(torch)
    return torch


# Timing ------------------------------------------------------------------------


def alternate(contenders, rounds, calls, warmup=1):
    """Time every contender in alternating rounds.

    Parameters
    ----------
    contenders : dict of str to callable
        Each callable does one step and takes no argument.
    rounds, calls : int
        Rounds, and calls of each contender in a round.

    Returns
    -------
    dict of str to ndarray
        Seconds per call in each round, one entry per round.
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    times = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            function = contenders[name]
            started = time.perf_counter()
            for _ in range(calls):
                function()
            times[name].append((time.perf_counter() - started) / calls)
    return {name: np.array(values) for name, values in times.items()}


def median_spread(values):
    """Return (median, 25th percentile, 75th percentile)."""
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return q50, q25, q75


def ratio_spread(numerator, denominator):
    """Return the median, 25th and 75th percentile of the ratios of the rounds.

    Both contenders of a round ran within a short time of each other, under
    about the same load, so a ratio of one round is steadier than one of medians.
    """
    return median_spread(np.asarray(numerator) / np.asarray(denominator))


def ms(seconds):
    return f"{seconds * 1e3:.3f}"


def time_cell(values):
    q50, q25, q75 = median_spread(values)
    return f"{ms(q50)} ({ms(q25)}–{ms(q75)}); best {ms(np.min(values))}"


def ratio_cell(ratio, q25, q75):
    return f"{ratio:.2f} ({q25:.2f}–{q75:.2f})"


# The machine and the table --------------------------------------------------


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_lines(threads, torch=False, extra=()):
    """Return Markdown list items describing the machine and the versions.

    ``torch`` is the module, None when it is missing, or False when not used.
    """
    import bpcourse

    lines = [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores seen by the process",
        f"load average (1, 5, 15 min) at the end of the run: {load_average()}",
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"bpcourse {bpcourse.__version__}"
        + (f", torch {torch.__version__}" if torch else "")
        + (", torch not installed" if torch is None else ""),
    ]
    lines.extend(extra)
    for info in threads.blas:
        lines.append(
            f"BLAS: {info.get('internal_api')} {info.get('version')} "
            f"({info.get('architecture')}, {info.get('threading_layer')} threads), "
            f"{Path(info.get('filepath', '')).name}"
        )
    if not threads.blas:
        lines.append("BLAS: unknown (threadpoolctl is not installed)")
    lines.append(threads.describe())
    return lines


def command_line():
    return " ".join([".venv/bin/python", shlex.join(sys.argv)])


def write_markdown(path, title, sections, threads, torch=False, extra=(), note=""):
    """Write the title, the tables of ``sections``, the machine and the command.

    ``sections`` is a list of (heading, header row, rows) with rows lists of cells.
    """
    if path is None:
        return
    out = [f"**{title}**", ""]
    if note:
        out += [note, ""]
    for heading, header, rows in sections:
        if heading:
            out += [f"*{heading}*", ""]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
        out.append("")
    out += ["Machine:", ""]
    out += [f"- {line}" for line in machine_lines(threads, torch, extra)]
    out += ["", "Command:", "", "```text", command_line(), "```", ""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {path}")
