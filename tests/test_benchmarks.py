"""Smoke tests of the benchmark scripts: each runs with --quick and prints its ratios.

The timings of a --quick run are meaningless, so nothing here checks a number.
"""

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
