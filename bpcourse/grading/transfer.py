"""Values sent to and received from the process that runs student code.

Arrays travel as ``.npy`` bytes written and read with ``allow_pickle=False``,
everything else as typed JSON, so reading what the student's process sent
never runs code. ``decode_result`` checks every field before it builds the
``Attempt`` objects that ``bpcourse.check.evaluate`` compares.
"""

import base64
import binascii
import dataclasses
import io
import re

import numpy as np

from bpcourse.check import Attempt

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")
# Decimal numbers with three or more decimals, and numbers in e-notation:
# the way array values print. Hidden inputs never reach the student's
# feedback through text their own code wrote (an exception message, say).
_LONG_NUMBER = re.compile(
    r"[-+]?(?:\d+\.\d{3,}|\d*\.\d+[eE][-+]?\d+|\d+[eE][-+]?\d+)"
)


class TransferError(ValueError):
    """A message from the student's process that does not have the expected form."""


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def encode_input(value, where="a hidden input"):
    """Encode one hidden-test argument for the student's process."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)) and not isinstance(value, np.ndarray):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"{where} is an array of Python objects")
        return {"t": "ndarray", "npy": _npy(value)}
    if isinstance(value, np.generic):
        return {"t": "npscalar", "npy": _npy(np.asarray(value))}
    if type(value) is int:
        return {"t": "int", "v": value}
    if type(value) is float:
        return {"t": "float", "v": repr(value)}
    if type(value) is str:
        return {"t": "str", "v": value}
    if isinstance(value, (list, tuple)):
        return {
            "t": type(value).__name__ if type(value) in (list, tuple) else "list",
            "items": [encode_input(item, where) for item in value],
        }
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{where} is a dict with keys that are not strings")
        return {"t": "dict", "items": [[k, encode_input(v, where)] for k, v in value.items()]}
    shared = _course_object(value)
    if shared is not None:
        return shared
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Rebuilt in the child as a plain object with the same attributes,
        # so the code of the class (which may hold an answer) is not sent.
        return {"t": "record", "type": type(value).__name__, "fields": {
            f.name: encode_input(getattr(value, f.name), where)
            for f in dataclasses.fields(value)}}
    if callable(value):
        name = getattr(value, "__name__", None)
        module = getattr(value, "__module__", None) or ""
        if name and (module == "numpy" or module.startswith("numpy.")) and getattr(
            np, name, None
        ) is value:
            return {"t": "numpy_function", "name": name}
        if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is value:
            return {"t": "numpy_function", "name": value.__name__}
        raise TypeError(
            f"{where} is the function {name or value!r}: only numpy functions can be "
            "sent to the process that runs student code"
        )
    raise TypeError(f"{where} has type {type(value).__name__}, which cannot be sent")




def _course_object(value):
    """Encode a function or object of a shareable module by its module and name.

    An instance of a class of such a module (a test function with random
    parameters) is encoded by its class name and its attributes.
    """
    import importlib
    import inspect

    from bpcourse.grading.extract import SHAREABLE_MODULES

    module_name = getattr(value, "__module__", None) or getattr(
        type(value), "__module__", None)
    if module_name not in SHAREABLE_MODULES:
        return None
    module = importlib.import_module(module_name)
    path = None
    for name, item in vars(module).items():
        if item is value:
            path = [name]
            break
        if isinstance(item, dict) and not name.startswith("__"):
            for key, entry in item.items():
                if entry is value and isinstance(key, str):
                    path = [name, key]
                    break
        if path:
            break
    if path is None:
        cls = type(value)
        if getattr(module, cls.__name__, None) is not cls or not hasattr(value, "__dict__"):
            return None
        state = {
            name: encode_input(item, f"attribute {name!r} of a {cls.__name__}")
            for name, item in vars(value).items()
        }
        return {"t": "course_instance", "module": module_name,
                "source": inspect.getsource(module), "class": cls.__name__,
                "state": state}
    return {"t": "course_object", "module": module_name,
            "source": inspect.getsource(module), "path": path}


def encode_case(case, exercise_id):
    """Encode a hidden test's keyword arguments."""
    return {
        name: encode_input(value, f"argument {name!r} of a hidden case of {exercise_id}")
        for name, value in case.items()
    }


def _placeholder(type_name):
    """Return an object whose type has the name the student's value had.

    ``bpcourse.check`` names the type in its messages ("a dict"); the object
    itself carries nothing from the student's process.
    """
    name = type_name if isinstance(type_name, str) else "object"
    if not _IDENTIFIER.fullmatch(name):
        name = "object"
    return type(name, (), {"__repr__": lambda self: f"<{name}>"})()


def _load_npy(text, max_bytes):
    if not isinstance(text, str) or len(text) > max_bytes * 4 // 3 + 1024:
        raise TransferError("an array is missing or too large")
    try:
        data = base64.b64decode(text, validate=True)
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (binascii.Error, ValueError, OSError, EOFError) as error:
        raise TransferError(f"an array could not be read: {error}") from error
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        raise TransferError("an array has an unsupported type")
    return array


def decode_value(value, max_bytes, depth=0):
    """Rebuild a value that student code returned, checking its form."""
    if not isinstance(value, dict) or not isinstance(value.get("t"), str):
        raise TransferError("a value has no type")
    if depth > 8:
        raise TransferError("a value is nested too deeply")
    kind = value["t"]
    if kind == "none":
        return None
    if kind == "bool" and isinstance(value.get("v"), bool):
        return value["v"]
    if kind == "int" and type(value.get("v")) is int:
        return value["v"]
    if kind == "float" and isinstance(value.get("v"), str):
        try:
            return float(value["v"])
        except ValueError as error:
            raise TransferError("a float could not be read") from error
    if kind == "str" and isinstance(value.get("v"), str):
        return value["v"][:200]
    if kind == "ndarray":
        return _load_npy(value.get("npy"), max_bytes)
    if kind == "npscalar":
        array = _load_npy(value.get("npy"), max_bytes)
        if array.ndim != 0:
            raise TransferError("a numpy scalar has dimensions")
        return array[()]
    if kind in ("list", "tuple") and isinstance(value.get("items"), list):
        items = [decode_value(item, max_bytes, depth + 1) for item in value["items"][:64]]
        return items if kind == "list" else tuple(items)
    if kind == "other":
        return _placeholder(value.get("type"))
    if kind == "large":
        raise ResultTooLarge(value)
    raise TransferError(f"a value has the unknown type {kind[:40]!r}")


class ResultTooLarge(TransferError):
    """Student code returned an array larger than the grader accepts."""

    def __init__(self, value):
        shape = value.get("shape")
        if isinstance(shape, list) and all(type(n) is int for n in shape[:8]):
            shape_text = str(tuple(shape[:8]))
        else:
            shape_text = "?"
        size = value.get("bytes") if type(value.get("bytes")) is int else 0
        super().__init__(
            f"it returned an array of shape {shape_text} ({size / 2**20:.1f} MB), "
            "larger than the grader accepts"
        )


def mask_numbers(text, limit=1500):
    """Shorten text written by student code and mask the long numbers in it."""
    if not isinstance(text, str):
        return None
    text = _LONG_NUMBER.sub("…", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_attempts(result, cases, max_bytes):
    """Build the ``Attempt`` list and ``repeat_differs`` from a coding result."""
    records = result.get("attempts")
    if not isinstance(records, list) or len(records) != len(cases):
        raise TransferError("the number of attempts does not match the cases")
    attempts = []
    for record, case in zip(records, cases):
        if not isinstance(record, dict):
            raise TransferError("an attempt is not an object")
        mutated = record.get("mutated", [])
        if not isinstance(mutated, list) or not all(
            isinstance(name, str) and name in case for name in mutated
        ):
            raise TransferError("an attempt names arguments the case does not have")
        attempt = Attempt(mutated=list(mutated))
        if "error" in record:
            error = record["error"]
            if not isinstance(error, str) or not _IDENTIFIER.fullmatch(error):
                raise TransferError("an error name is not an identifier")
            attempt.error = error
            attempt.error_message = mask_numbers(record.get("error_message")) or ""
            attempt.traceback = mask_numbers(record.get("traceback"))
        else:
            try:
                attempt.value = decode_value(record.get("value"), max_bytes)
            except ResultTooLarge as error:
                attempt.error = "ResultTooLarge"
                attempt.error_message = str(error)
        attempts.append(attempt)
    repeat_differs = result.get("repeat_differs", False)
    if not isinstance(repeat_differs, bool):
        raise TransferError("repeat_differs is not a boolean")
    return attempts, repeat_differs


def decode_short_answer(result, max_bytes):
    """Rebuild a short answer: a number, a string, or a tuple or list of numbers."""
    try:
        return decode_value(result.get("value"), max_bytes)
    except ResultTooLarge:
        return _placeholder("ndarray")


def decode_warnings(result):
    """Return the warnings the student's code raised, shortened and masked."""
    texts = result.get("warnings", [])
    if not isinstance(texts, list):
        return []
    return [mask_numbers(text, 300) for text in texts[:5] if isinstance(text, str)]
