"""Serve the chapters with live widgets: Voila on 127.0.0.1.

The static book shows each ipywidget's last state only. ``bpcourse live`` starts
Voila, which runs a kernel per opened chapter, so every slider recomputes its
figure. It serves on the loopback address only and stops on Ctrl-C.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

#: Seconds to wait for Voila to accept connections before giving up.
START_TIMEOUT = 60.0


#: Data folder with the course's Voila page template (``voila/templates/bpcourse``).
SHARE = Path(__file__).resolve().parent / "share"


def voila_command(folder, port):
    """Return the command line that serves ``folder`` with Voila on ``port``.

    Run it with :func:`voila_environment`, which lets Voila find the
    course's template.
    """
    return [
        sys.executable, "-m", "voila", str(folder),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        # Widgets only: a reader sees outputs and controls, not code.
        "--strip_sources=True",
        # Voila's lab page without the stylesheets it would load from a CDN.
        "--template=bpcourse",
    ]


def voila_environment(environ=None):
    """Return ``environ`` (default: this process's) with the course's templates on JUPYTER_PATH."""
    environ = dict(os.environ if environ is None else environ)
    paths = [str(SHARE)] + [p for p in environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    return environ


def wait_for_port(port, process, timeout=START_TIMEOUT):
    """Return once something listens on 127.0.0.1:port; raise if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Voila exited with status {process.returncode} before serving"
            )
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(
        f"Voila did not respond on 127.0.0.1:{port} within {timeout:.0f} s"
    )


def serve(folder="book", port=8866):
    """Run Voila on ``folder`` until Ctrl-C; return its exit status."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {folder} not found: run from the course repository")
    if shutil.which("voila") is None and not _has_voila():
        raise ValueError("Voila is not installed: run 'make venv' first")
    process = subprocess.Popen(voila_command(folder, port), env=voila_environment())
    try:
        wait_for_port(port, process)
        print(f"Live chapters at http://127.0.0.1:{port}/ (Ctrl-C stops)", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print("stopped", flush=True)
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()


def _has_voila():
    try:
        import voila  # noqa: F401
    except ImportError:
        return False
    return True
