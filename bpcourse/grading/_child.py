"""The program that runs one student's code, started by the grader.

The grader starts it as ``python -I -S _child.py SETTINGS_JSON`` in a fresh
folder that contains ``job.json``: the student's code for each question and
the hidden inputs, never the expected results. It runs as a script, without
the ``bpcourse`` package on its path, and imports only the standard library
and numpy (from the folders listed in the settings).

Before it runs any student code it sets resource limits, and when it runs as
root it moves into new mount, network and PID namespaces (when the kernel
allows), hides the grader's folders and the shared temporary folders behind
empty file systems, and drops to the unprivileged uid of the settings.

It reports on the file descriptor of the settings, one JSON object a line:

* ``{"event": "ready", "isolation": {...}}`` once numpy is imported;
* ``{"event": "start", "question": ID}`` before a question's code runs;
* ``{"event": "result", "question": ID, ...}`` with what the code returned:
  arrays as ``.npy`` bytes (``np.save(..., allow_pickle=False)``) in base64,
  other values as typed JSON;
* ``{"event": "done"}`` at the end.

The grader reads nothing else from this process except its printed output,
which it keeps for the instructor's log.
"""

import base64
import builtins
import copy
import io
import json
import linecache
import os
import resource
import signal
import sys
import traceback
import warnings

MAX_TEXT = 2000  # characters kept of an error message or a traceback
MAX_ITEMS = 64  # items kept of a returned list or tuple
MAX_DEPTH = 4  # nesting kept of returned lists and tuples
MAX_WARNINGS = 5

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1

_libc = None


def _c_library():
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _parent_death_signal(expected_parent=None):
    """Be killed when the process that started this one ends.

    The kernel clears this setting when the process changes its uid, so it is
    set again after privileges are dropped. ``expected_parent`` is checked
    afterwards, in case the parent ended before the setting took effect.
    """
    try:
        _c_library().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(70)


def _set_limits(limits):
    def limit(name, value):
        if value is None:
            return
        try:
            resource.setrlimit(name, (value, value))
        except (ValueError, OSError):
            pass

    limit(resource.RLIMIT_CORE, 0)
    limit(resource.RLIMIT_AS, limits.get("memory_bytes"))
    limit(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    limit(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    limit(resource.RLIMIT_NOFILE, limits.get("open_files"))
    limit(resource.RLIMIT_NPROC, limits.get("processes"))


def _mount(source, target, kind, flags, options):
    libc = _c_library()
    result = libc.mount(
        source.encode(), target.encode(), kind.encode(), flags,
        options.encode() if options else None,
    )
    if result != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), f"mount {target}")


def _enter_namespaces(isolation):
    """Unshare mount, network, IPC and PID namespaces; fork into the new PID one.

    Returns in the child, which is PID 1 of the new namespace: when it ends,
    the kernel kills every process the student's code started. The original
    process waits for it and ends the same way.
    """
    libc = _c_library()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID
    if libc.unshare(flags) != 0:
        isolation["namespaces"] = False
        return
    isolation["namespaces"] = True
    isolation["network"] = "cut (new network namespace)"
    pid = os.fork()
    if pid == 0:
        # The parent is outside this PID namespace, so getppid() returns 0 here.
        _parent_death_signal()
        return
    # The waiting process keeps no pipe open, so the grader sees end of file
    # as soon as the namespace's processes are gone.
    for fd in range(0, 256):
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status))


def _expose(blocked):
    """Make folders the sandbox uid cannot reach visible, and nothing else there.

    ``blocked`` lists ``[folder, [paths inside it]]``: the folder (such as
    ``/root``, when the interpreter is installed under it) is covered with an
    empty file system, and each path inside is bind-mounted back at its own
    place, so the interpreter and numpy still load while the rest of the
    folder is hidden.
    """
    for folder, paths in blocked:
        handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in paths}
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for path, handle in handles.items():
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{handle}", path, "", MS_BIND | MS_REC, None)
            os.close(handle)


def _hide_paths(settings, isolation):
    """Put empty file systems over the shared and the grader's folders."""
    try:
        _mount("none", "/", "", MS_REC | MS_PRIVATE, None)
    except OSError:
        isolation["filesystem"] = "shared"
        return
    hidden = []
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    except OSError:
        pass
    _expose(settings.get("expose", []))
    for path in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        if os.path.isdir(path):
            # numpy's folder (a virtual environment made under /tmp, say) is
            # bind-mounted back into the empty /tmp, and nothing else is.
            keep = [site for site in settings.get("site", [])
                    if site.startswith(path.rstrip("/") + "/") and os.path.isdir(site)]
            handles = {site: os.open(site, os.O_PATH | os.O_DIRECTORY) for site in keep}
            try:
                _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV,
                       "size=16m,mode=1777")
                hidden.append(path)
                for site, handle in handles.items():
                    os.makedirs(site, mode=0o755, exist_ok=True)
                    _mount(f"/proc/self/fd/{handle}", site, "", MS_BIND | MS_REC, None)
            except OSError:
                pass
            finally:
                for handle in handles.values():
                    os.close(handle)
    for path in settings.get("hide", []):
        if os.path.isdir(path):
            try:
                _mount("tmpfs", path, "tmpfs",
                       MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=4k,mode=000")
                hidden.append(path)
            except OSError:
                pass
    isolation["hidden"] = hidden


def _drop_privileges(settings, isolation):
    uid, gid = settings.get("uid"), settings.get("gid")
    if uid is None or os.geteuid() != 0:
        isolation["uid"] = os.geteuid()
        return
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    isolation["uid"] = uid


class _BlockCourse:
    """An import hook that keeps the ``bpcourse`` package out of student code."""

    def find_spec(self, name, path=None, target=None):
        if name == "bpcourse" or name.startswith("bpcourse."):
            raise ImportError("the bpcourse package is not available to graded code")
        return None


def _text(value, limit=MAX_TEXT):
    try:
        text = str(value)
    except Exception:  # a student's __str__ may raise
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Encoder:
    """Turn what student code returned into JSON, arrays as .npy bytes."""

    def __init__(self, numpy, max_array_bytes):
        self.np = numpy
        self.save = numpy.save
        self.ndarray = numpy.ndarray
        self.generic = numpy.generic
        self.max_array_bytes = max_array_bytes

    def _npy(self, array):
        buffer = io.BytesIO()
        self.save(buffer, array, allow_pickle=False)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def encode(self, value, depth=0):
        kind = type(value)
        if value is None:
            return {"t": "none"}
        if kind is bool:
            return {"t": "bool", "v": value}
        if kind is int:
            if abs(value) < 2**63:
                return {"t": "int", "v": value}
            return {"t": "other", "type": "int"}
        if kind is float:
            return {"t": "float", "v": repr(value)}
        if kind is str:
            return {"t": "str", "v": value[:200]}
        if isinstance(value, self.ndarray):
            if value.dtype.hasobject:
                return {"t": "other", "type": "object_array"}
            if value.nbytes > self.max_array_bytes:
                return {"t": "large", "shape": [int(n) for n in value.shape],
                        "bytes": int(value.nbytes)}
            return {"t": "ndarray", "npy": self._npy(self.np.asarray(value))}
        if isinstance(value, self.generic):
            if value.dtype.hasobject:
                return {"t": "other", "type": "object"}
            return {"t": "npscalar", "npy": self._npy(self.np.asarray(value))}
        if kind in (list, tuple):
            if depth >= MAX_DEPTH or len(value) > MAX_ITEMS:
                return {"t": "other", "type": kind.__name__}
            return {"t": kind.__name__,
                    "items": [self.encode(item, depth + 1) for item in value]}
        return {"t": "other", "type": _text(kind.__name__, 60)}


_SHARED_MODULES = {}


def _shared_namespace(value):
    """Run a shareable module's source once and return its namespace."""
    name = value["module"]
    if name not in _SHARED_MODULES:
        namespace = {"__name__": "shared_" + name.replace(".", "_")}
        exec(compile(value["source"], f"<{name}>", "exec"), namespace)
        _SHARED_MODULES[name] = namespace
    return _SHARED_MODULES[name]


def _shared_instance(value, numpy):
    """Rebuild an instance of a shareable module's class from its attributes."""
    cls = _shared_namespace(value)[value["class"]]
    instance = cls.__new__(cls)
    for name, item in value["state"].items():
        setattr(instance, name, _decode(item, numpy))
    return instance


def _shared_object(value):
    """Return the object of a shareable module that ``value`` names."""
    item = _shared_namespace(value)[value["path"][0]]
    for key in value["path"][1:]:
        item = item[key]
    return item


def _install_shared_modules(sources):
    """Make the package's shareable modules importable, from their source only."""
    import types

    for name, source in sources.items():
        parent_name, _, child = name.rpartition(".")
        module = types.ModuleType(name)
        module.__file__ = f"<{name}>"
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
        parent = sys.modules.get(parent_name)
        if parent is None:
            parent = types.ModuleType(parent_name)
            parent.__path__ = []
            sys.modules[parent_name] = parent
        setattr(parent, child, module)
        sys.modules[name] = module


def _decode(value, numpy):
    """Rebuild a hidden input sent by the grader."""
    kind = value["t"]
    if kind == "course_object":
        return _shared_object(value)
    if kind == "course_instance":
        return _shared_instance(value, numpy)
    if kind == "record":
        record = type(value["type"], (), {})()
        for name, item in value["fields"].items():
            setattr(record, name, _decode(item, numpy))
        return record
    if kind == "ndarray":
        data = base64.b64decode(value["npy"])
        return numpy.load(io.BytesIO(data), allow_pickle=False)
    if kind == "npscalar":
        data = base64.b64decode(value["npy"])
        return numpy.load(io.BytesIO(data), allow_pickle=False)[()]
    if kind in ("list", "tuple"):
        items = [_decode(item, numpy) for item in value["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {key: _decode(item, numpy) for key, item in value["items"]}
    if kind == "none":
        return None
    if kind == "float":
        return float(value["v"])
    if kind == "numpy_function":
        function = numpy
        for part in value["name"].split("."):
            function = getattr(function, part)
        return function
    return value["v"]


class Harness:
    """Run each question of the job and report on the channel."""

    def __init__(self, channel, numpy, settings):
        self.channel = channel
        self.np = numpy
        self.pid = os.getpid()
        self.encoder = Encoder(numpy, settings["limits"]["max_array_bytes"])
        self.memory_mb = settings["limits"].get("memory_bytes", 0) // 2**20
        # References taken before student code runs: it may replace any of them.
        self.deepcopy = copy.deepcopy
        self.array_equal = numpy.array_equal
        self.asarray = numpy.asarray
        self.dumps = json.dumps
        self.write = os.write
        self.getpid = os.getpid
        self.exit = os._exit
        self.builtins = dict(vars(builtins))
        self.numpy_attributes = dict(vars(numpy))

    def send(self, message):
        if self.getpid() != self.pid:
            self.exit(0)  # a process the student's code forked
        data = (self.dumps(message) + "\n").encode()
        view = memoryview(data)
        while view:
            written = self.write(self.channel, view)
            view = view[written:]

    def restore_builtins(self):
        """Undo what student code did to the builtins, which this code uses too."""
        space = vars(builtins)
        space.clear()
        space.update(self.builtins)

    def restore(self):
        """Undo what student code did to builtins and to the numpy module."""
        self.restore_builtins()
        attributes = vars(self.np)
        for name in list(attributes):
            if name not in self.numpy_attributes:
                del attributes[name]
        attributes.update(self.numpy_attributes)

    # --- comparisons made here because they are about this process's objects

    def _same(self, a, b):
        ndarray = self.np.ndarray
        if isinstance(a, ndarray) or isinstance(b, ndarray):
            if not (isinstance(a, ndarray) and isinstance(b, ndarray)):
                return False
            return (a.shape == b.shape and a.dtype == b.dtype
                    and bool(self.array_equal(a, b, equal_nan=True)))
        if isinstance(a, (list, tuple)):
            return (type(a) is type(b) and len(a) == len(b)
                    and all(self._same(x, y) for x, y in zip(a, b)))
        if isinstance(a, dict):
            return (isinstance(b, dict) and a.keys() == b.keys()
                    and all(self._same(a[k], b[k]) for k in a))
        if hasattr(a, "__dict__") and not callable(a):
            return type(a) is type(b) and self._same(vars(a), vars(b))
        try:
            return bool(a == b)
        except Exception:
            return a is b

    def _plain(self, value):
        if isinstance(value, tuple):
            return tuple(self._plain(v) for v in value)
        if isinstance(value, (self.np.ndarray, self.np.generic)):
            return self.asarray(value)
        return value

    def _call(self, function, kwargs, caught):
        pristine = self.deepcopy(kwargs)
        arguments = self.deepcopy(kwargs)
        record = {}
        value = None
        try:
            value = function(**arguments)
        except BaseException as error:  # student code may raise anything
            self.restore_builtins()
            if self.getpid() != self.pid:
                self.exit(0)
            record["error"] = type(error).__name__
            if isinstance(error, SystemExit):
                record["error_message"] = (
                    f"your code called sys.exit({_text(error.code, 80)})")
            else:
                record["error_message"] = _text(error)
            if isinstance(error, MemoryError):
                caught["memory"] = True
            record["traceback"] = _text("".join(traceback.format_exception(
                type(error), error, error.__traceback__.tb_next)))
        self.restore_builtins()
        if self.getpid() != self.pid:
            self.exit(0)
        record["mutated"] = [
            name for name in kwargs if not self._same(arguments[name], pristine[name])
        ]
        return record, value

    # --- running a question

    def _setup(self, question):
        """Run the question's definitions in a fresh namespace."""
        for name, text in question.get("cells", {}).items():
            linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        namespace = {"__name__": "__submission__", "__builtins__": builtins}
        for statement in question["statements"]:
            source = "\n" * (statement["line"] - 1) + statement["source"]
            code = compile(source, statement["filename"], "exec")
            exec(code, namespace)
        return namespace

    def run_coding(self, question):
        result = {"event": "result", "question": question["id"]}
        caught = {}
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("default")
            try:
                namespace = self._setup(question)
            except BaseException as error:
                if self.getpid() != self.pid:
                    self.exit(0)
                self.restore()
                result.update(status="setup_error", error=type(error).__name__,
                              error_message=_text(error),
                              traceback=_text("".join(traceback.format_exception(
                                  type(error), error, error.__traceback__.tb_next))))
                if isinstance(error, MemoryError):
                    result["status"] = "memory"
                return result
            function = namespace.get(question["function"])
            if not callable(function):
                self.restore()
                result["status"] = "missing"
                return result
            cases = [{k: _decode(v, self.np) for k, v in case.items()}
                     for case in question["cases"]]
            records, values = [], []
            for case in cases:
                record, value = self._call(function, case, caught)
                records.append(record)
                values.append(value)
            repeat_differs = False
            if cases and "error" not in records[0]:
                again, value = self._call(function, cases[0], caught)
                repeat_differs = "error" in again or not self._same(
                    self._plain(value), self._plain(values[0]))
            self.restore()
        for record, value in zip(records, values):
            if "error" not in record:
                record["value"] = self.encoder.encode(value)
        result.update(status="ok", attempts=records, repeat_differs=repeat_differs,
                      warnings=self._warnings(seen))
        if caught.get("memory"):
            result["memory_error"] = True
        return result

    def run_short(self, question):
        result = {"event": "result", "question": question["id"]}
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("default")
            try:
                namespace = self._setup(question)
                value = eval(compile(question["expression"], "<answer>", "eval"),
                             namespace)
            except BaseException as error:
                if self.getpid() != self.pid:
                    self.exit(0)
                self.restore()
                result.update(status="setup_error", error=type(error).__name__,
                              error_message=_text(error))
                return result
            self.restore()
        result.update(status="ok", value=self.encoder.encode(value),
                      warnings=self._warnings(seen))
        return result

    def _warnings(self, seen):
        texts = []
        for item in seen:
            text = _text(f"{item.category.__name__}: {item.message}", 300)
            if text not in texts:
                texts.append(text)
        return texts[:MAX_WARNINGS]

    def run(self, job):
        for question in job["questions"]:
            self.send({"event": "start", "question": question["id"]})
            try:
                if question["kind"] == "coding":
                    result = self.run_coding(question)
                else:
                    result = self.run_short(question)
            except BaseException as error:
                # Student code broke something this harness relies on.
                self.restore()
                if self.getpid() != self.pid:
                    self.exit(0)
                result = {"event": "result", "question": question["id"],
                          "status": "harness_error", "error": type(error).__name__,
                          "error_message": _text(error)}
            self.send(result)
        self.send({"event": "done"})


def main():
    settings = json.loads(sys.argv[1])
    isolation = {"namespaces": False, "network": "shared", "filesystem": "shared"}
    os.chdir(settings["workdir"])
    _parent_death_signal(settings["parent_pid"])
    _set_limits(settings["limits"])
    if settings.get("namespaces") and os.geteuid() == 0:
        try:
            _enter_namespaces(isolation)
        except OSError:
            isolation["namespaces"] = False
        if isolation["namespaces"]:
            _hide_paths(settings, isolation)
            if isolation.get("hidden"):
                isolation["filesystem"] = "grader folders and /tmp hidden"
    _drop_privileges(settings, isolation)
    _parent_death_signal()
    os.umask(0o077)
    sys.path.extend(settings["site"])
    sys.meta_path.insert(0, _BlockCourse())
    sys.dont_write_bytecode = True
    import numpy

    channel = settings["channel_fd"]
    harness = Harness(channel, numpy, settings)
    harness.send({"event": "ready", "isolation": isolation})
    with open("job.json", encoding="utf-8") as file:
        job = json.load(file)
    _install_shared_modules(job.get("shared_modules", {}))
    harness.run(job)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    # Skip interpreter shutdown: atexit handlers of student code do not run.
    harness.exit(0)


if __name__ == "__main__":
    main()
