"""Turn instructor notebooks into student notebooks.

An instructor notebook contains the solutions, marked in three ways:

* in a code cell, the lines between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``: the student notebook keeps the rest of the cell (the
  ``def`` line, the docstring, the ``check(...)`` call) and has, in place of
  the region, one line at the region's indentation that raises
  ``NotImplementedError("replace this line with your code")``, or, for a
  top-level region of assignments such as a short answer, ``name = None``;
* in a markdown cell, a MyST ``{solution}`` directive, fenced with three or
  more colons (``:::{solution}`` … ``:::``) or backticks: the whole directive,
  its options (``:label:``, ``:class: dropdown``) and its body are removed;
* a cell of any kind tagged ``solution`` is removed.

Cells that contained a solution region lose their outputs, because those show
the solution's results, and every code cell loses its execution count.

``solution_leftovers`` looks for solution text that survived, in a notebook or
in plain text such as a built HTML page.
"""

import ast
import copy
import json
import os
import re
import tempfile
import textwrap
from pathlib import Path

#: The line that replaces each solution region of a code cell.
STUB = 'raise NotImplementedError("replace this line with your code")'
#: Follows ``name = None`` where a region of assignments was.
ANSWER_COMMENT = "# replace None with your answer"
#: The tag that removes a whole cell from the student notebook.
SOLUTION_TAG = "solution"

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#+\s*BEGIN SOLUTION\b.*$")
END = re.compile(r"^[ \t]*#+\s*END SOLUTION\b.*$")
# A MyST directive fence: three or more colons or backticks, then {name}.
FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>:{3,}|`{3,})\s*\{(?P<name>[\w:-]+)\}")
# A bare fence (no directive name): closes a directive, or opens or closes a
# code block when it is made of backticks.
FENCE_BARE = re.compile(r"^[ \t]*(?P<fence>:{3,}|`{3,})\s*(?P<rest>\S*)\s*$")


class SolutionMarkerError(ValueError):
    """A solution region or directive is not closed, or is closed twice."""


def _source_text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _set_source(cell, text, like):
    # Keep the on-disk form of the cell: a list of lines or one string.
    cell["source"] = text.splitlines(keepends=True) if isinstance(like, list) else text


def _cell_name(index, cell):
    name = f"cell {index}"
    if cell.get("id"):
        name += f" (id {cell['id']})"
    return name


def _stub_for(region, indent, newline):
    """Return the student's line for one solution region.

    A top-level region of plain assignments, such as a short answer
    ``shape = (3, 5)``, becomes ``shape = None`` so the cell still runs and the
    check can say that no answer was given. Any other region becomes the
    raising ``STUB``.
    """
    if indent:
        return indent + STUB + newline
    try:
        tree = ast.parse(textwrap.dedent("".join(region)))
    except SyntaxError:
        tree = None
    names = []
    if tree is not None and tree.body:
        for statement in tree.body:
            if not (
                isinstance(statement, ast.Assign)
                and all(isinstance(t, ast.Name) for t in statement.targets)
            ):
                names = []
                break
            names.extend(t.id for t in statement.targets)
    if names:
        lines = [f"{name} = None  {ANSWER_COMMENT}" for name in dict.fromkeys(names)]
        return "\n".join(lines) + newline
    return indent + STUB + newline


def strip_code_solutions(text, where="the cell"):
    """Replace each solution region of a code cell's source with a stub.

    Returns ``(new_text, number_of_regions)``. Raises ``SolutionMarkerError``
    when a region has no END marker, an END marker has no BEGIN, or two
    regions are nested.
    """
    lines = text.splitlines(keepends=True)
    output = []
    regions = 0
    open_at = None
    for number, line in enumerate(lines, start=1):
        bare = line.rstrip("\r\n")
        begin = BEGIN.match(bare)
        if begin:
            if open_at is not None:
                raise SolutionMarkerError(
                    f"{where}: BEGIN SOLUTION on line {number} is inside the region "
                    f"opened on line {open_at}; close that one first"
                )
            open_at = number
            indent = begin.group("indent")
            newline = "\n" if line.endswith("\n") else ""
            region = []
            regions += 1
        elif END.match(bare):
            if open_at is None:
                raise SolutionMarkerError(
                    f"{where}: END SOLUTION on line {number} has no BEGIN SOLUTION "
                    "before it"
                )
            open_at = None
            # The stub keeps the BEGIN line's newline; the region's lines and
            # this END line are dropped.
            output.append(_stub_for(region, indent, newline))
        elif open_at is None:
            output.append(line)
        else:
            region.append(line)
    if open_at is not None:
        raise SolutionMarkerError(
            f"{where}: BEGIN SOLUTION on line {open_at} has no END SOLUTION"
        )
    new_text = "".join(output)
    if lines and not lines[-1].endswith("\n") and new_text.endswith("\n"):
        new_text = new_text[:-1]
    return new_text, regions


def strip_markdown_solutions(text, where="the cell"):
    """Remove every MyST ``{solution}`` directive from markdown text.

    Handles colon fences (``:::``, ``::::`` and longer) and backtick fences. A
    fence is closed by a bare fence of the same character that is at least as
    long, and fences nested inside the solution (a ``{note}``, a code block)
    are skipped over with it. The gated form, ``{solution-start}`` … ``{solution-end}``,
    is removed with everything between the two. Returns
    ``(new_text, number_of_solutions)``.
    """
    lines = text.splitlines(keepends=True)
    output = []
    removed = 0
    mode = None  # None, "directive", "gated" (between start and end) or "end"
    stack = []  # the fences open inside the solution, innermost last
    opened_at = None
    for number, line in enumerate(lines, start=1):
        bare = line.rstrip("\r\n")
        opening = FENCE_OPEN.match(bare)
        if mode is None:
            if opening and opening.group("name") in ("solution", "solution-start"):
                mode = "directive" if opening.group("name") == "solution" else "gated"
                stack = [opening.group("fence")]
                opened_at = number
                removed += 1
            else:
                output.append(line)
            continue
        if opening:
            if not stack and opening.group("name") == "solution-end":
                mode = "end"
            stack.append(opening.group("fence"))
            continue
        plain = FENCE_BARE.match(bare)
        if plain:
            fence, rest = plain.group("fence"), plain.group("rest")
            top = stack[-1] if stack else None
            closes = (
                top is not None
                and rest == ""
                and fence[0] == top[0]
                and len(fence) >= len(top)
            )
            if closes:
                stack.pop()
                if not stack and mode in ("directive", "end"):
                    mode = None
            elif fence[0] == "`":
                stack.append(fence)  # a code block inside the solution
    if mode is not None:
        raise SolutionMarkerError(
            f"{where}: the {{solution}} directive opened on line {opened_at} is not "
            "closed"
        )
    new_text = "".join(output)
    if removed:
        new_text = re.sub(r"\n{3,}", "\n\n", new_text).strip("\n")
    return new_text, removed


def _has_tag(cell, tag):
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and tag in tags


def strip_solutions(notebook):
    """Return a student copy of an instructor notebook.

    The argument (a notebook as a dict or an ``nbformat.NotebookNode``) is not
    changed. Raises ``SolutionMarkerError`` naming the cell of an unclosed or
    unmatched marker.
    """
    student = copy.deepcopy(notebook)
    cells = []
    for index, cell in enumerate(student.get("cells", [])):
        if _has_tag(cell, SOLUTION_TAG):
            continue
        original = cell.get("source", "")
        text = _source_text(cell)
        where = _cell_name(index, cell)
        if cell.get("cell_type") == "code":
            new_text, regions = strip_code_solutions(text, where)
            if regions:
                _set_source(cell, new_text, original)
                cell["outputs"] = []
            cell["execution_count"] = None
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None
        elif cell.get("cell_type") == "markdown":
            new_text, removed = strip_markdown_solutions(text, where)
            if removed:
                if not new_text.strip():
                    continue
                _set_source(cell, new_text, original)
        cells.append(cell)
    student["cells"] = cells
    return student


def read_notebook(path):
    """Read a notebook file as a dict, with a clear error for malformed JSON."""
    path = Path(path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a notebook: {error}") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{path} is not a notebook: it has no list of cells")
    return notebook


def write_notebook(notebook, path):
    """Write a notebook as nbformat does (indent 1, UTF-8), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def strip_solutions_file(src, dst):
    """Write the student copy of the notebook ``src`` to ``dst`` and return it."""
    student = strip_solutions(read_notebook(src))
    write_notebook(student, dst)
    return student


_LEFTOVER_PATTERNS = [
    (re.compile(r"BEGIN SOLUTION"), "a BEGIN SOLUTION marker"),
    (re.compile(r"END SOLUTION"), "an END SOLUTION marker"),
    (re.compile(r"(:{3,}|`{3,})\s*\{solution(-start|-end)?\}"), "a {solution} directive"),
]


def solution_lines(instructor):
    """Return the distinctive code lines inside the solution regions of a notebook."""
    found = set()
    for cell in instructor.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        inside = False
        for line in _source_text(cell).splitlines():
            if BEGIN.match(line):
                inside = True
            elif END.match(line):
                inside = False
            elif inside:
                stripped = line.strip()
                # Short lines such as "return z" or "pass" also occur in
                # student code; only longer ones point to a leaked solution.
                if len(stripped) >= 16 and not stripped.startswith("#"):
                    found.add(stripped)
    return found


def solution_leftovers(student, instructor=None):
    """List the solution text left in a student notebook or a text.

    Parameters
    ----------
    student : dict or str
        A notebook (dict or ``NotebookNode``), or text such as an HTML page.
    instructor : dict, optional
        The instructor notebook it was made from; when given, any line of its
        solution regions (16 characters or longer) found in ``student`` is
        listed too.

    Returns
    -------
    list of str
        One description per leftover, empty when there is none.
    """
    problems = []
    if isinstance(student, str):
        pieces = [("the text", student)]
    else:
        pieces = []
        for index, cell in enumerate(student.get("cells", [])):
            where = _cell_name(index, cell)
            if _has_tag(cell, SOLUTION_TAG):
                problems.append(f"{where} is tagged {SOLUTION_TAG!r}")
            pieces.append((where, _source_text(cell)))
            for output in cell.get("outputs", []) or []:
                text = output.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                for value in (output.get("data") or {}).values():
                    text += "".join(value) if isinstance(value, list) else str(value)
                pieces.append((f"{where} output", text))
    known_lines = solution_lines(instructor) if instructor is not None else set()
    for where, text in pieces:
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern, what in _LEFTOVER_PATTERNS:
                if pattern.search(line):
                    problems.append(f"{where}, line {number}: {what}")
            if line.strip() in known_lines:
                problems.append(f"{where}, line {number}: a line of a solution")
    return problems
