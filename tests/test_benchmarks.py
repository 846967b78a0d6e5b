"""Smoke tests of the benchmark scripts: each runs with --quick and prints its ratios.

The timings of a --quick run are meaningless, so nothing here checks a number.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# Each script, and the start of a line its output must contain.
CASES = [
    ("training_step.py", ["ratio bpcourse / PyTorch time per step:",
                          "ratio bpcourse / naive numpy time per step:",
                          "ratio bpcourse / matrix products alone:"]),
    ("backward_forward.py", ["ratio backward / forward time,",
                             "goal backward / forward <= 2.2"]),
    ("memory.py", ["ratio peak / (sum d_l N b),", "checkpointing k = 1:"]),
    ("autodiff.py", ["ratio bpcourse.autodiff / PyTorch autograd time:",
                     "ratio bpcourse.autodiff / Network.gradients time:"]),
]


@pytest.mark.parametrize("script, expected", CASES, ids=[c[0] for c in CASES])
def test_benchmark_quick_run(script, expected, tmp_path):
    table = tmp_path / "table.md"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--output", str(table)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, done.stdout)
    text = table.read_text(encoding="utf-8")
    assert "| " in text
    assert "CPU:" in text
    assert "--quick" in text


def test_quick_run_writes_no_table_by_default(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "backward_forward.py"), "--quick"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" not in done.stdout


def test_grading_benchmark_writes_its_table(tmp_path):
    table = tmp_path / "grading.md"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "grading_throughput.py"), "--count", "6",
         "--repeat", "1", "--output", str(table)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "bpcourse grade:" in done.stdout
    # The sixth submission of six (number 3) loops forever and must time out.
    assert "timed out: student003" in done.stdout
    text = table.read_text(encoding="utf-8")
    assert "| `bpcourse grade` |" in text
    assert "6 submissions of a 3-question assignment" in text


def test_book_benchmark_quick_run(tmp_path):
    table = tmp_path / "book.md"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "book_build.py"), "--quick", "--rebuilds", "1",
         "--output", str(table)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    for start in ["full build:", "unchanged rebuild:", "nbval:",
                  "ratio full build / unchanged rebuild:"]:
        assert any(line.startswith(start) for line in done.stdout.splitlines()), start
    # The quick book contains the introduction and the first chapter.
    assert "(2 pages)" in done.stdout
    text = table.read_text(encoding="utf-8")
    assert "| nbval, every cell compared |" in text
    assert "Quick run" in text


def test_one_command_runs_every_script():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "run_all.py"), "--list"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = {Path(line.split()[1]).name for line in done.stdout.splitlines()}
    scripts = {path.name for path in BENCHMARKS.glob("*.py")
               if not path.name.startswith("_") and path.name != "run_all.py"}
    assert scripts <= listed, scripts - listed
    # Every table the book's Benchmarks page includes is written by a listed command.
    page = (BENCHMARKS.parent / "book" / "benchmarks.md").read_text(encoding="utf-8")
    included = set(re.findall(r"results/(\w+)\.md", page))
    written = {Path(s).stem for s in re.findall(r"benchmarks/results/\S+", done.stdout)}
    written |= {Path(line.split()[1]).stem for line in done.stdout.splitlines()
                if "--output" not in line}
    assert included and included <= written, included - written
