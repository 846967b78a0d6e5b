"""A notebook cell that never finishes fails its nbval test; later notebooks still run."""

import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET

import nbformat

from conftest import ROOT


def _write(path, sources, outputs=None):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for count, (cell, cell_outputs) in enumerate(zip(notebook.cells, outputs or []), 1):
        cell.outputs = cell_outputs
        cell.execution_count = count  # nbval compares only cells that were run
    nbformat.write(notebook, path)


def test_cell_timeout_is_configured():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    options = config["tool"]["pytest"]["ini_options"]["addopts"].split()
    timeouts = [int(o.split("=")[1]) for o in options if o.startswith("--nbval-cell-timeout=")]
    assert timeouts and 0 < timeouts[0] <= 600


def test_sleeping_and_looping_cells_time_out(tmp_path):
    _write(tmp_path / "a_sleeps.ipynb", ["import time\ntime.sleep(120)", "print('after')"])
    _write(tmp_path / "b_loops.ipynb", ["while True:\n    pass"])
    printed = nbformat.v4.new_output("stream", name="stdout", text="2\n")
    _write(tmp_path / "c_fine.ipynb", ["print(1 + 1)"], outputs=[[printed]])
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-cell-timeout=5",
         "-p", "no:cacheprovider", "-q", f"--junitxml={report}", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout
    # Read the per-test results from the XML report: the terminal summary is
    # shortened or not depending on the terminal and on CI variables.
    failures = {}
    for case in ET.parse(report).iter("testcase"):
        failure = case.find("failure")
        name = case.get("classname", "").split(".")[0] + "::" + case.get("name", "")
        failures[name] = None if failure is None else failure.get("message", "") + failure.text
    timed_out = sorted(name for name, text in failures.items()
                       if text and "Timeout of 5 seconds exceeded" in text)
    assert timed_out == ["a_sleeps::Cell 0", "b_loops::Cell 0"], failures
    # The kernel was interrupted, not left running, and the next notebook passed.
    assert "KeyboardInterrupt" in failures["b_loops::Cell 0"]
    assert failures["c_fine::Cell 0"] is None
    assert "2 failed, 1 passed" in done.stdout
