"""Run every benchmark and write every table of the book's Benchmarks page.

    .venv/bin/python benchmarks/run_all.py           # what 'make bench' runs
    .venv/bin/python benchmarks/run_all.py --list    # print the commands only

PyTorch is a peer in two scripts but not a requirement of the course. When it
is missing, this script tries ``pip install torch==2.13.0`` (its CPU build)
into the running environment and prints whether that worked. Without it the
scripts measure the other contenders, and their tables state that PyTorch is
missing. The scripts run one after another, so that none slows another down.
At the end the script prints every ratio and goal line again, and exits with 1
if a script failed.
"""

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
TORCH = "torch==2.13.0"

# The four timing scripts run with numpy's default BLAS threads and with one.
TIMING = ["training_step", "backward_forward", "memory", "autodiff"]


def commands():
    """Return the benchmark commands, as argument lists run from the repository's root."""
    python = sys.executable
    out = []
    for name in TIMING:
        out.append([python, f"benchmarks/{name}.py"])
        out.append([python, f"benchmarks/{name}.py", "--threads", "1",
                    "--output", f"benchmarks/results/{name}_threads1.md"])
    out.append([python, "benchmarks/grading_throughput.py", "--nbgrader",
                "--output", "benchmarks/results/grading.md"])
    out.append([python, "benchmarks/book_build.py"])
    return out


def ensure_torch():
    """Install PyTorch's CPU build if it is missing, and print what happened."""
    if importlib.util.find_spec("torch") is not None:
        return
    print(f"PyTorch is not installed; trying 'pip install {TORCH}'", flush=True)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", TORCH],
                          capture_output=True, text=True)
    if done.returncode == 0:
        print(f"installed {TORCH}")
    else:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"PyTorch could not be installed ({reason[0]}); the tables will say "
              "that it is missing")


def short_title(command):
    """Return the script's name and its thread count, e.g. 'memory.py --threads 1'."""
    title = Path(command[1]).name
    if "--threads" in command:
        title += f" --threads {command[command.index('--threads') + 1]}"
    return title


def summary_line(line):
    return line.startswith(("ratio", "goal", "bpcourse grade:", "nbgrader autograde:",
                            "full build:", "unchanged rebuild:", "nbval:",
                            "PyTorch is", "PyTorch could"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the commands and stop")
    args = parser.parse_args(argv)
    if args.list:
        for command in commands():
            print(" ".join(command))
        return 0

    ensure_torch()
    failed, summary = [], []
    started = time.perf_counter()
    for command in commands():
        title = " ".join(command[1:])
        print(f"\n=== {title}", flush=True)
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            print(line, end="", flush=True)
            if summary_line(line):
                summary.append(f"{short_title(command)}: {line.rstrip()}")
        if process.wait() != 0:
            failed.append(title)
    minutes = (time.perf_counter() - started) / 60
    print(f"\n=== Summary ({minutes:.0f} min)")
    print("\n".join(summary))
    if failed:
        print("failed: " + "; ".join(failed))
        return 1
    print(f"tables written to {RESULTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
