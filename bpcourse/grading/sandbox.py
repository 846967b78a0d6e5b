"""Run one submission's questions in a separate, limited process.

Each submission gets a fresh ``python -I -S`` interpreter (``_child.py``) in a
fresh folder that holds only that student's code and the hidden inputs. The
grader watches it: every question has its own wall-clock limit, so when one
loops forever or crashes the process is killed and a new one runs the
questions after it. Printed output is read with a cap, and the results come
back on a pipe of their own as JSON and ``.npy`` bytes.
"""

import json
import logging
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHILD = Path(__file__).with_name("_child.py")
#: First uid of the sandbox: the process of worker slot k runs as BASE_UID + k.
BASE_UID = 1_900_000_000
MAX_ARRAY_BYTES = 16 * 2**20
MAX_MESSAGE_BYTES = 64 * 2**20

log = logging.getLogger("bpcourse.grading")


def numpy_site():
    """Return the folder numpy is imported from, for the child's ``sys.path``."""
    return str(Path(np.__file__).resolve().parent.parent)


WORKROOT_PREFIX = "bpcourse-grading-"


def _remove_stale_workroots():
    """Delete the work folders of grader processes that no longer exist.

    A grader that was killed leaves its folder (named after its pid) behind,
    with the code of the submissions it was grading.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKROOT_PREFIX}*-*"):
        try:
            pid = int(folder.name[len(WORKROOT_PREFIX):].split("-")[0])
        except ValueError:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # another user's grader, still running


def blocked_folders(paths):
    """Group the paths other users cannot reach by the first folder that stops them.

    Returns ``[[folder, [path, …]], …]``, as ``_child.py`` expects for its
    bind mounts. A path whose own permissions stop other users is reported
    with itself as the folder, which no bind mount can fix.
    """
    groups = {}
    for path in paths:
        path = Path(path).resolve()
        chain = list(reversed(path.parents)) + [path]
        for folder in chain[1:]:
            mode = folder.stat().st_mode
            needed = stat.S_IXOTH | (stat.S_IROTH if folder == path else 0)
            if mode & needed != needed:
                groups.setdefault(str(folder), set()).add(str(path))
                break
    return [[folder, sorted(found)] for folder, found in sorted(groups.items())]


@dataclass
class Outcome:
    """The outcome of one question in the child process.

    ``status`` is ``"ok"``, ``"setup_error"``, ``"missing"``, ``"memory"``
    (reported by the child), or ``"timeout"``, ``"submission_timeout"``,
    ``"crashed"``, ``"protocol"``, ``"error"`` (decided by the grader).
    """

    status: str
    data: dict = field(default_factory=dict)
    detail: str = ""


@dataclass
class RunReport:
    """Everything one submission's processes did."""

    outcomes: dict
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    isolation: dict = field(default_factory=dict)
    processes: int = 0


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(returncode, limits):
    """Explain how the child process ended."""
    if returncode is None:
        return "it was stopped"
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        name = _signal_name(number)
        if number == signal.SIGSEGV:
            return "it crashed with a segmentation fault (SIGSEGV)"
        if number == signal.SIGXCPU:
            return f"it used more than the CPU time limit ({limits.cpu_seconds_value} s)"
        if number == signal.SIGXFSZ:
            return f"it wrote a file larger than the limit ({limits.file_mb} MB)"
        if number == signal.SIGKILL:
            return "it was killed (SIGKILL), for example by the kernel when memory ran out"
        if number == signal.SIGABRT:
            return "it aborted (SIGABRT), for example in a library that could not allocate memory"
        return f"it was ended by {name}"
    return f"the process exited with status {returncode} (os._exit or exit in C code?)"


class LimitsView:
    """The limits in the units the child uses."""

    def __init__(self, limits):
        self.limits = limits
        self.cpu_seconds_value = int(
            limits.cpu_seconds or (limits.submission_seconds + 5)
        )
        self.file_mb = limits.file_mb

    def for_child(self):
        limits = self.limits
        return {
            "memory_bytes": int(limits.memory_mb) * 2**20,
            "cpu_seconds": self.cpu_seconds_value,
            "file_bytes": int(limits.file_mb) * 2**20,
            "processes": int(limits.processes),
            "open_files": 256,
            "max_array_bytes": MAX_ARRAY_BYTES,
        }


class Sandbox:
    """Starts and watches the processes that run student code.

    Parameters
    ----------
    limits : Limits
    hide : list of str
        Folders the child must not see (submissions, results, specs). When
        the grader runs as root, empty file systems are mounted over them in
        the child's mount namespace.
    user : int or None
        A fixed uid for every child (for example that of ``nobody``); by
        default each worker slot has its own uid, ``BASE_UID + slot``.
    namespaces : bool
        Use mount, network and PID namespaces when the kernel allows.
    """

    def __init__(self, limits, hide=(), user=None, namespaces=True):
        self.limits = limits
        self.view = LimitsView(limits)
        self.root = os.geteuid() == 0
        self.user = user
        self.namespaces = namespaces
        site = numpy_site()
        self.site = [site]
        # The interpreter's standard library and numpy, which the child reads
        # after it has dropped to the sandbox uid.
        self.expose = blocked_folders(
            {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(site)}
        ) if self.root else []
        self.hide = [str(Path(p).resolve()) for p in hide if self._may_hide(p, site)]
        _remove_stale_workroots()
        # A folder only its owner can list; each child's folder inside it
        # belongs to the child's uid.
        self.workroot = tempfile.mkdtemp(prefix=f"{WORKROOT_PREFIX}{os.getpid()}-")
        os.chmod(self.workroot, 0o711)
        self._lock = threading.Lock()
        self._live = set()
        self.stopped = False
        self.isolation = None

    @staticmethod
    def _may_hide(path, site):
        # Hiding a folder that contains the interpreter or numpy would stop
        # the child from starting.
        path = Path(path).resolve()
        for needed in (Path(sys.prefix).resolve(), Path(site), CHILD.parent):
            if needed == path or path in needed.parents:
                log.warning("%s contains %s, so it is not hidden from student code",
                            path, needed)
                return False
        return True

    def close(self):
        self.kill_all()
        shutil.rmtree(self.workroot, ignore_errors=True)

    def kill_all(self):
        """Kill every child still running and start no new one (on Ctrl-C)."""
        with self._lock:
            self.stopped = True
            live = list(self._live)
        for process in live:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def uid_for(self, slot):
        if not self.root:
            return None, None
        if self.user is not None:
            return self.user, self.user
        return BASE_UID + slot, BASE_UID + slot

    def probe(self):
        """Start one child with no question and return its isolation report.

        Raises ``RuntimeError`` with the child's error output when it does not
        start, for example because the sandbox uid cannot read the
        interpreter's files and the kernel does not allow mount namespaces.
        """
        uid, gid = self.uid_for(0)
        workdir = tempfile.mkdtemp(dir=self.workroot, prefix="probe")
        report = RunReport(outcomes={})
        try:
            if uid is not None:
                os.chown(workdir, uid, gid)
            self._write_job(workdir, [], uid, gid)
            deadline = time.monotonic() + self.limits.startup_seconds
            watcher = self._run_child(workdir, [], uid, gid, deadline, report, "probe")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not watcher.done:
            error = report.stderr.decode("utf-8", "replace").strip()[-2000:]
            raise RuntimeError(
                "the process that runs student code did not start"
                + (f":\n{error}" if error else "")
            )
        return watcher.isolation

    # --- one submission

    def run(self, questions, slot, label, shared_modules=None):
        """Run the questions (payloads for the child) and return a RunReport.

        ``questions`` is a list of dicts as ``_child.py`` reads them; their
        ``"id"`` keys name the outcomes.
        """
        uid, gid = self.uid_for(slot)
        workdir = tempfile.mkdtemp(dir=self.workroot, prefix="s")
        report = RunReport(outcomes={})
        try:
            if uid is not None:
                os.chown(workdir, uid, gid)
            os.chmod(workdir, 0o700)
            deadline = time.monotonic() + self.limits.submission_seconds
            pending = list(questions)
            stalls = 0
            while pending and not self.stopped:
                if time.monotonic() >= deadline:
                    for question in pending:
                        report.outcomes[question["id"]] = Outcome(
                            "submission_timeout",
                            detail=f"{self.limits.submission_seconds:g} s",
                        )
                    break
                self._write_job(workdir, pending, uid, gid, shared_modules)
                before = len(report.outcomes)
                self._run_child(workdir, pending, uid, gid, deadline, report, label)
                report.processes += 1
                pending = [q for q in pending if q["id"] not in report.outcomes]
                if len(report.outcomes) == before:
                    stalls += 1
                    if stalls >= 2:
                        for question in pending:
                            report.outcomes[question["id"]] = Outcome(
                                "error", detail="the grading process did not start")
                        break
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return report

    def _write_job(self, workdir, questions, uid, gid, shared_modules=None):
        path = Path(workdir) / "job.json"
        job = {"questions": questions, "shared_modules": shared_modules or {}}
        path.write_text(json.dumps(job), encoding="utf-8")
        if uid is not None:
            os.chown(path, uid, gid)
        os.chmod(path, 0o600)

    def _settings(self, workdir, uid, gid, channel_fd):
        return {
            "workdir": workdir,
            "uid": uid,
            "gid": gid,
            "parent_pid": os.getpid(),
            "limits": self.view.for_child(),
            "site": self.site,
            "hide": self.hide,
            "expose": self.expose,
            "namespaces": self.namespaces,
            "channel_fd": channel_fd,
        }

    def _environment(self, workdir):
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": workdir,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }

    def _run_child(self, workdir, pending, uid, gid, deadline, report, label):
        read_fd, write_fd = os.pipe()
        settings = self._settings(workdir, uid, gid, write_fd)
        command = [sys.executable, "-I", "-S", "-B", str(CHILD), json.dumps(settings)]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                cwd=workdir,
                env=self._environment(workdir),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        with self._lock:
            self._live.add(process)
        watcher = _Watcher(process, read_fd, self.limits, deadline, report)
        try:
            watcher.watch()
        finally:
            self._stop(process, uid, watcher)
            os.close(read_fd)
            with self._lock:
                self._live.discard(process)
        if watcher.isolation and self.isolation is None:
            self.isolation = watcher.isolation
        report.isolation = watcher.isolation or report.isolation
        current = watcher.current
        if current is not None and current not in report.outcomes:
            if watcher.timed_out == "question":
                report.outcomes[current] = Outcome(
                    "timeout", detail=f"{self.limits.question_seconds:g} s")
            elif watcher.timed_out == "submission":
                report.outcomes[current] = Outcome(
                    "submission_timeout", detail=f"{self.limits.submission_seconds:g} s")
            elif watcher.protocol_error:
                report.outcomes[current] = Outcome("protocol", detail=watcher.protocol_error)
            else:
                report.outcomes[current] = Outcome(
                    "crashed", detail=describe_exit(process.returncode, self.view))
        elif watcher.timed_out == "startup":
            log.error("%s: the grading process did not start within %g s", label,
                      self.limits.startup_seconds)
        return watcher

    def _stop(self, process, uid, watcher):
        """Kill the child and everything it started."""
        if not watcher.timed_out and not watcher.protocol_error:
            # The pipes closed or the child finished. Let it end by itself, so
            # that its exit status shows how it ended.
            try:
                process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()
        isolation = watcher.isolation or {}
        if uid is not None and not isolation.get("namespaces"):
            # Without a PID namespace, processes that left the process group
            # are found by their uid: kill(-1) as that uid reaches all of them.
            subprocess.run(
                ["/bin/sh", "-c", "kill -9 -1"],
                user=uid, group=uid, extra_groups=[], env={},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                check=False,
            )
        watcher.drain()


class _Watcher:
    """Reads one child's three pipes and enforces the time limits."""

    def __init__(self, process, channel_fd, limits, deadline, report):
        self.process = process
        self.channel_fd = channel_fd
        self.limits = limits
        self.submission_deadline = deadline
        self.report = report
        self.cap = int(limits.output_kb) * 1024
        self.buffer = bytearray()
        self.current = None
        self.isolation = None
        self.done = False
        self.timed_out = None
        self.protocol_error = None
        self.selector = selectors.DefaultSelector()
        for name, fd in (("stdout", process.stdout.fileno()),
                         ("stderr", process.stderr.fileno()),
                         ("channel", channel_fd)):
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ, name)
        self.deadline = min(time.monotonic() + limits.startup_seconds, deadline)

    def _question_deadline(self):
        self.deadline = min(time.monotonic() + self.limits.question_seconds,
                            self.submission_deadline)

    def _keep(self, name, data):
        if name == "stdout":
            self.report.stdout_bytes += len(data)
            room = self.cap - len(self.report.stdout)
            if room > 0:
                self.report.stdout += data[:room]
        else:
            self.report.stderr_bytes += len(data)
            room = self.cap - len(self.report.stderr)
            if room > 0:
                self.report.stderr += data[:room]

    def _message(self, line):
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            self.protocol_error = "the grading process sent a malformed message"
            return False
        if not isinstance(message, dict):
            self.protocol_error = "the grading process sent a malformed message"
            return False
        event = message.get("event")
        if event == "ready":
            isolation = message.get("isolation")
            self.isolation = isolation if isinstance(isolation, dict) else {}
            self._question_deadline()
        elif event == "start" and isinstance(message.get("question"), str):
            self.current = message["question"]
            self._question_deadline()
        elif event == "result" and message.get("question") == self.current:
            status = message.get("status")
            if not isinstance(status, str):
                self.protocol_error = "a result has no status"
                return False
            self.report.outcomes[self.current] = Outcome(status, data=message)
            self.current = None
            self._question_deadline()
        elif event == "done":
            self.done = True
        else:
            self.protocol_error = "the grading process sent an unexpected message"
            return False
        return True

    def _read(self, fd, name):
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(fd)
            return True
        if name != "channel":
            self._keep(name, data)
            return True
        self.buffer += data
        while True:
            end = self.buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            if not self._message(line):
                return False
        if len(self.buffer) > MAX_MESSAGE_BYTES:
            self.protocol_error = "the results were larger than the grader accepts"
            return False
        return True

    def watch(self):
        while self.selector.get_map():
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                if self.isolation is None:
                    self.timed_out = "startup"
                elif self.deadline >= self.submission_deadline:
                    self.timed_out = "submission"
                else:
                    self.timed_out = "question"
                return
            events = self.selector.select(min(remaining, 0.25))
            for key, _ in events:
                if not self._read(key.fd, key.data):
                    return
            if self.done:
                return
            if not events and self.process.poll() is not None:
                # The child is gone but a process it started may still hold
                # the pipes open: what it sent has been read already.
                return

    def drain(self):
        """Read what is left once the child is gone, without waiting for more."""
        end = time.monotonic() + 1.0
        while self.selector.get_map() and time.monotonic() < end:
            events = self.selector.select(0.05)
            if not events:
                break
            for key, _ in events:
                if key.data == "channel":
                    self.selector.unregister(key.fd)
                else:
                    self._read(key.fd, key.data)
        self.selector.close()
        self.process.stdout.close()
        self.process.stderr.close()
