"""Find, in a student's notebook or script, the code each question runs.

Cells may have been deleted, duplicated or moved, and any cell may fail to
parse, so the grader never runs the notebook top to bottom. It parses each
code cell with ``ast`` on its own, skips IPython magics and shell lines, and
keeps only the top-level statements that define something: imports, ``def``
and ``class`` statements, and assignments to names. For each question it then
takes the last definition (in notebook order) of the graded function and,
following the names that code uses, the helpers, constants and imports it
needs. Calls of ``check(...)``, plots, prints and loops are never run.

Graded code that uses the ``bpcourse`` package (which contains the reference
answers) is rejected for that question.
"""

import ast
import builtins
import json
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path

BUILTIN_NAMES = frozenset(dir(builtins))
# Cell magics whose body is ordinary Python code.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_LINE_MAGIC = re.compile(r"^(\s*)(?:[%!]|\w+\s*=\s*[%!])")
_HELP_LINE = re.compile(r"^\s*[\w.]+\?{1,2}\s*$")
_PERCENT_CELL = re.compile(r"^# ?%%")


class SubmissionError(ValueError):
    """The submission cannot be read at all (not UTF-8, not JSON, empty)."""


@dataclass
class Statement:
    """A top-level statement that defines names.

    Attributes
    ----------
    cell : str
        Where it is, such as ``"cell 4"``: the file name of its tracebacks.
    line : int
        Its first line in the cell.
    source : str
        Its text.
    order : int
        Its position in the whole submission.
    binds : set of str
        The names it defines.
    eager : set of str
        Global names read when the statement runs (decorators, default values,
        the right-hand side of an assignment, a class body).
    deferred : set of str
        Global names read only when a function it defines is called.
    course_import : bool
        An import from the ``bpcourse`` package.
    star : bool
        A ``from … import *``.
    uses_course : bool
        Its code imports ``bpcourse`` itself, for example inside a function
        or with ``importlib.import_module("bpcourse…")``.
    """

    cell: str
    line: int
    source: str
    order: int
    binds: set
    eager: set
    deferred: set
    node: ast.AST = field(repr=False)
    course_import: bool = False
    star: bool = False
    uses_course: bool = False


@dataclass
class CheckCall:
    """A ``check("<id>", answer)`` call found in the submission."""

    exercise_id: str
    answer: ast.AST | None
    answer_source: str | None
    cell: str
    line: int
    order: int


@dataclass
class Submission:
    """The parsed code of one submission."""

    statements: list
    checks: list
    cells: dict  # cell name → the cell's code, as parsed
    notes: list  # problems worth telling the student, such as a syntax error


@dataclass
class QuestionCode:
    """The code one question runs, or why it cannot run."""

    statements: list = field(default_factory=list)
    problem: str | None = None  # "missing", "course_import", "wrong_signature"
    message: str | None = None
    function: str | None = None  # the graded function's name
    expression: str | None = None  # a short answer's expression
    literal: object = None  # a short answer given as a literal
    has_literal: bool = False


#: Modules of the package that graded code may import and that hidden inputs
#: may contain objects of: the chapters' own solutions import the activations,
#: and exercises pass test functions. A function of theirs that has the
#: exercise's own name (softmax, for the softmax exercise) is that exercise's
#: answer, and an answer that uses it is rejected (see ``_borrowed_answer``).
SHAREABLE_MODULES = ("bpcourse.activations", "bpcourse.functions")


def _is_course_module(name):
    """True for a module of the bpcourse package that graded code may not import."""
    name = (name or "").strip()
    if name in SHAREABLE_MODULES:
        return False
    return name == "bpcourse" or name.startswith("bpcourse.")


def _clean_cell(text):
    """Blank out magics and shell lines; return None for a non-Python cell magic."""
    lines = text.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split()
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return None
        lines[0] = ""
    cleaned = []
    for line in lines:
        match = _LINE_MAGIC.match(line)
        if match or _HELP_LINE.match(line):
            # "pass" keeps an indented block that held only a magic valid.
            cleaned.append(match.group(1) + "pass" if match and match.group(1) else "")
        else:
            cleaned.append(line)
    return "\n".join(cleaned) + "\n"


def _names_in_table(table, eager, deferred, lazy):
    for child in table.get_children():
        kind = str(child.get_type()).lower()
        child_lazy = lazy or kind.endswith("function")
        target = deferred if child_lazy else eager
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                target.add(symbol.get_name())
        _names_in_table(child, eager, deferred, child_lazy)


def _references(source, name):
    """Return the global names a statement reads when it runs, and when it is called."""
    table = symtable.symtable(source, name, "exec")
    eager, deferred = set(), set()
    for symbol in table.get_symbols():
        if symbol.is_referenced():
            eager.add(symbol.get_name())
    _names_in_table(table, eager, deferred, lazy=False)
    return eager, deferred - eager


def _is_check_call(node):
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "check")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "check")
    )


def _imports_course(node):
    """True when the code under ``node`` imports bpcourse in any way."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import) and any(
            _is_course_module(alias.name) for alias in sub.names
        ):
            return True
        if isinstance(sub, ast.ImportFrom) and sub.level == 0 and _is_course_module(
            sub.module
        ):
            return True
        if isinstance(sub, ast.Call):
            for argument in sub.args:
                if (
                    isinstance(argument, ast.Constant)
                    and isinstance(argument.value, str)
                    and _is_course_module(argument.value.strip())
                ):
                    return True
    return False


def _bound_names(node):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = set()
        for alias in node.names:
            if alias.name == "*":
                continue
            names.add(alias.asname or alias.name.split(".")[0])
        return names
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = set()
        for target in targets:
            elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            for element in elements:
                if not isinstance(element, ast.Name):
                    return set()  # x[0] = … or obj.attr = …: not a definition
                names.add(element.id)
        if isinstance(node, ast.AnnAssign) and node.value is None:
            return set()
        return names
    return set()


def parse_cells(cells):
    """Parse ``[(cell name, code), …]`` into a ``Submission``."""
    statements, checks, notes, parsed = [], [], [], {}
    order = 0
    for name, text in cells:
        code = _clean_cell(text)
        if code is None or not code.strip():
            continue
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None)
            where = f" on line {line}" if line else ""
            notes.append(f"{name} has a syntax error{where} ({error.msg if isinstance(error, SyntaxError) else error}), so it was skipped")
            continue
        parsed[name] = code
        for node in tree.body:
            order += 1
            for sub in ast.walk(node):
                if _is_check_call(sub) and sub.args:
                    first = sub.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        answer = sub.args[1] if len(sub.args) > 1 else None
                        checks.append(CheckCall(
                            first.value,
                            answer,
                            ast.get_source_segment(code, answer) if answer else None,
                            name,
                            node.lineno,
                            order,
                        ))
            binds = _bound_names(node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                star = any(alias.name == "*" for alias in node.names)
                if not binds and not star:
                    continue
            else:
                star = False
                if not binds:
                    continue
                if any(_is_check_call(sub) for sub in ast.walk(node)):
                    continue  # result = check(...) is not a definition
            source = ast.get_source_segment(code, node, padded=False)
            if source is None:
                continue
            # Decorators come before the node's own first line.
            first_line = min(
                [node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]
            )
            source = "\n".join(code.splitlines()[first_line - 1 : node.end_lineno])
            try:
                eager, deferred = _references(source, name)
            except SyntaxError:
                continue
            course_import = False
            if isinstance(node, ast.Import):
                course_import = any(_is_course_module(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                course_import = node.level == 0 and _is_course_module(node.module)
            statements.append(Statement(
                cell=name,
                line=first_line,
                source=source,
                order=order,
                binds=binds,
                eager=eager - binds if isinstance(node, ast.FunctionDef) else eager,
                deferred=deferred,
                node=node,
                course_import=course_import,
                star=star,
                uses_course=(not course_import) and _imports_course(node),
            ))
    return Submission(statements, checks, parsed, notes)


def read_submission(path):
    """Read a ``.ipynb`` or ``.py`` submission into a ``Submission``.

    Raises ``SubmissionError`` for a file that is empty, not UTF-8, or not a
    notebook.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise SubmissionError("the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionError(
            f"the file is not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from error
    text = text.lstrip("\ufeff")
    if path.suffix == ".ipynb":
        return parse_cells(_notebook_cells(text))
    return parse_cells(_script_cells(text, path.name))


def _notebook_cells(text):
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"the notebook is not valid JSON (line {error.lineno}, column "
            f"{error.colno}: {error.msg})"
        ) from error
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        # nbformat 3 kept cells in worksheets.
        worksheets = notebook.get("worksheets") if isinstance(notebook, dict) else None
        if isinstance(worksheets, list) and worksheets and isinstance(worksheets[0], dict):
            cells = worksheets[0].get("cells")
    if not isinstance(cells, list):
        raise SubmissionError("the file is JSON but not a notebook: it has no cells")
    found = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", cell.get("input", ""))
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            continue
        found.append((f"cell {index + 1}", source))
    return found


def _script_cells(text, name):
    """Split a script at ``# %%`` markers; the whole file is one cell without any."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _PERCENT_CELL.match(line)]
    if not starts:
        return [(name, text)]
    bounds = ([0] if starts[0] != 0 else []) + starts + [len(lines)]
    cells = []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:]), start=1):
        # Keep line numbers of the file: pad the cell with empty lines.
        cells.append((f"{name} (cell {number})", "\n" * start + "".join(lines[start:end])))
    return cells


def _latest(bindings, name, before=None):
    for statement in reversed(bindings.get(name, [])):
        if before is None or statement.order < before:
            return statement
    return None


def _closure(submission, roots, extra_names=()):
    """Return the statements the ``roots`` need, in an order that runs them."""
    bindings = {}
    stars = []
    for statement in submission.statements:
        for name in statement.binds:
            bindings.setdefault(name, []).append(statement)
        if statement.star:
            stars.append(statement)
    chosen, unresolved = {}, set()
    pending = list(roots)

    def need(name, before):
        found = _latest(bindings, name, before) or _latest(bindings, name)
        if found is not None:
            pending.append(found)
        elif name not in BUILTIN_NAMES:
            unresolved.add(name)

    for name in extra_names:
        need(name, None)
    while pending:
        statement = pending.pop()
        if id(statement) in chosen:
            continue
        chosen[id(statement)] = statement
        for name in statement.eager:
            need(name, statement.order)
        for name in statement.deferred:
            need(name, None)
    if unresolved and stars:
        for statement in stars:
            chosen[id(statement)] = statement
    ordered = sorted(chosen.values(), key=lambda s: s.order)
    return _run_order(ordered, bindings), unresolved


def _run_order(statements, bindings):
    """Put each statement after the ones whose names it reads when it runs."""
    placed, result = set(), []
    by_id = {id(s): s for s in statements}

    def place(statement, trail):
        if id(statement) in placed or id(statement) in trail:
            return
        trail = trail | {id(statement)}
        for name in sorted(statement.eager):
            dependency = _latest(bindings, name, statement.order) or _latest(bindings, name)
            if dependency is not None and id(dependency) in by_id and dependency is not statement:
                place(dependency, trail)
        placed.add(id(statement))
        result.append(statement)

    for statement in statements:
        place(statement, frozenset())
    return result


def _course_problem(statements, unresolved, submission):
    for statement in statements:
        if statement.course_import or statement.uses_course:
            first = statement.source.strip().splitlines()[0][:120]
            return (
                f"this answer uses the bpcourse package ({statement.cell}: `{first}`), "
                "which contains the reference answers: write the code yourself"
            )
    if unresolved and any(s.star and s.course_import for s in submission.statements):
        names = ", ".join(sorted(unresolved)[:5])
        return (
            f"this answer uses names ({names}) that only a `from bpcourse… import *` "
            "provides; the bpcourse package contains the reference answers, so write "
            "the code yourself"
        )
    return None


def _borrowed_answer(statements, root, function_name):
    """Explain why an answer that calls the package's function of the same name fails.

    ``from bpcourse.activations import softmax as s`` followed by a ``def
    softmax`` that returns ``s(z)`` would pass the softmax exercise with the
    package's code, and so would ``activations.softmax(z)`` after ``import
    bpcourse.activations as activations``.
    """
    module_names = set()
    for statement in statements:
        node = statement.node
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (
            node.module in SHAREABLE_MODULES
        ):
            for alias in node.names:
                if alias.name == function_name:
                    return _borrowed_message(statement, f"{node.module}.{function_name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "bpcourse":
            module_names |= {alias.asname or alias.name for alias in node.names
                             if f"bpcourse.{alias.name}" in SHAREABLE_MODULES}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in SHAREABLE_MODULES:
                    module_names.add(alias.asname or alias.name.split(".")[0])
    for sub in ast.walk(root.node):
        if isinstance(sub, ast.Attribute) and sub.attr == function_name:
            base = sub.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in module_names:
                return _borrowed_message(root, f"{ast.unparse(sub.value)}.{function_name}")
    return None


def _borrowed_message(statement, qualified):
    first = statement.source.strip().splitlines()[0][:120]
    return (
        f"this answer uses {qualified} from the bpcourse package ({statement.cell}: "
        f"`{first}`), which is this exercise's answer: write the code yourself"
    )


def _parameters(signature):
    """Return the parameter names of a signature such as ``affine(W, a_prev, b)``."""
    try:
        tree = ast.parse(f"def {signature.strip()}: pass")
    except SyntaxError:
        return None
    arguments = tree.body[0].args
    return [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]


def _signature_problem(node, function_name, signature):
    """Explain why ``node`` cannot be called with the exercise's keywords."""
    expected = _parameters(signature)
    if expected is None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    arguments = node.args
    keywords = [a.arg for a in arguments.args + arguments.kwonlyargs]
    positional_only = [a.arg for a in arguments.posonlyargs]
    accepts_any = arguments.kwarg is not None
    missing = [name for name in expected if name not in keywords and not accepts_any]
    positional = arguments.posonlyargs + arguments.args
    defaults_from = len(positional) - len(arguments.defaults)
    required = [a.arg for i, a in enumerate(positional) if i < defaults_from] + [
        a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is None
    ]
    extra = [name for name in required if name not in expected or name in positional_only]
    if not missing and not extra:
        return None
    given = ast.unparse(arguments)
    return (
        f"your function is defined as {function_name}({given}), but the exercise calls "
        f"it as {signature}: use these parameter names"
    )


def question_code(submission, exercise):
    """Return the ``QuestionCode`` of one exercise in a submission."""
    checks = [c for c in submission.checks if c.exercise_id == exercise.id]
    if exercise.kind == "coding":
        return _coding_code(submission, exercise, checks)
    return _short_code(submission, exercise, checks)


def _coding_code(submission, exercise, checks):
    name = exercise.function_name
    # A student may pass a function of another name: check(id, my_affine).
    for call in reversed(checks):
        if isinstance(call.answer, ast.Name) and any(
            call.answer.id in s.binds for s in submission.statements
        ):
            name = call.answer.id
            break
    definitions = [s for s in submission.statements if name in s.binds]
    if not definitions:
        skipped = [note for note in submission.notes if "syntax error" in note]
        message = f"no function named `{name}` was found in your submission"
        if skipped:
            message += "; " + "; ".join(skipped)
        return QuestionCode(problem="missing", message=message, function=name)
    root = definitions[-1]
    if isinstance(root.node, (ast.Import, ast.ImportFrom)):
        # The name means an imported function, such as a library's softmax:
        # grading it would give the library's marks to the student.
        message = (
            f"`{name}` in your submission is imported ({root.cell}: "
            f"`{root.source.strip()}`), not a function you wrote: define "
            f"{exercise.signature} yourself with `def`"
        )
        skipped = [note for note in submission.notes if "syntax error" in note]
        if skipped:
            message += "; " + "; ".join(skipped)
        return QuestionCode(problem="missing", message=message, function=name)
    statements, unresolved = _closure(submission, [root])
    code = QuestionCode(statements=statements, function=name)
    problem = _course_problem(statements, unresolved, submission) or _borrowed_answer(
        statements, root, exercise.function_name
    )
    if problem:
        code.problem, code.message = "course_import", problem
        return code
    mismatch = _signature_problem(root.node, name, exercise.signature)
    if mismatch:
        code.problem, code.message = "wrong_signature", mismatch
    return code


def _short_code(submission, exercise, checks):
    if not checks or checks[-1].answer is None:
        return QuestionCode(
            problem="missing",
            message=f'no `check("{exercise.id}", answer)` call was found in your '
            "submission",
        )
    call = checks[-1]
    try:
        value = ast.literal_eval(call.answer)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    else:
        return QuestionCode(literal=value, has_literal=True)
    # A name or an expression: run the definitions it needs, then evaluate it.
    names = {n.id for n in ast.walk(call.answer) if isinstance(n, ast.Name)}
    single = [s for s in submission.statements if names & s.binds]
    if isinstance(call.answer, ast.Name):
        # A literal assignment (shape_of_z = (3, 5)) is read without running code.
        latest = _latest(
            {call.answer.id: [s for s in single if call.answer.id in s.binds]},
            call.answer.id,
            call.order,
        ) or (single[-1] if single else None)
        if latest is not None and isinstance(latest.node, ast.Assign) and len(
            latest.binds
        ) == 1:
            try:
                value = ast.literal_eval(latest.node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
            else:
                return QuestionCode(literal=value, has_literal=True)
    statements, unresolved = _closure(submission, [], extra_names=sorted(names))
    code = QuestionCode(statements=statements, expression=call.answer_source)
    problem = _course_problem(statements, unresolved, submission)
    if problem is None and _imports_course(call.answer):
        problem = "this answer uses the bpcourse package, which contains the reference answers"
    if problem:
        code.problem, code.message = "course_import", problem
    return code
