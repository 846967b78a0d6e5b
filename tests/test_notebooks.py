import json

import pytest

from bpcourse.notebooks import (
    STUB,
    SolutionMarkerError,
    solution_leftovers,
    strip_code_solutions,
    strip_markdown_solutions,
    strip_solutions,
    strip_solutions_file,
)


def code(source, outputs=None, count=3, tags=None):
    cell = {"cell_type": "code", "execution_count": count, "id": "x",
            "metadata": {}, "outputs": outputs or [], "source": source}
    if tags:
        cell["metadata"]["tags"] = tags
    return cell


def markdown(source, tags=None):
    cell = {"cell_type": "markdown", "id": "m", "metadata": {}, "source": source}
    if tags:
        cell["metadata"]["tags"] = tags
    return cell


def book(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


AFFINE = '''def affine(W, a_prev, b):
    """Return z = W a + b."""
    ### BEGIN SOLUTION
    z = W @ a_prev
    return z + b
    ### END SOLUTION

check("forward.affine", affine)
'''


def test_region_becomes_stub_at_its_indentation():
    text, regions = strip_code_solutions(AFFINE)
    assert regions == 1
    assert text == (
        'def affine(W, a_prev, b):\n'
        '    """Return z = W a + b."""\n'
        f"    {STUB}\n"
        "\n"
        'check("forward.affine", affine)\n'
    )
    compile(text, "cell", "exec")


def test_several_regions_and_nested_code():
    source = (
        "def outer(x):\n"
        "    def inner(y):\n"
        "        ### BEGIN SOLUTION\n"
        "        return y * 2\n"
        "        ### END SOLUTION\n"
        "    for i in range(3):\n"
        "        if i:\n"
        "            ### BEGIN SOLUTION\n"
        "            x = inner(x)\n"
        "            ### END SOLUTION\n"
        "    return x\n"
        "### BEGIN SOLUTION\n"
        "answer = (3, 5)\n"
        "### END SOLUTION\n"
    )
    text, regions = strip_code_solutions(source)
    assert regions == 3
    lines = text.splitlines()
    assert lines[2] == "        " + STUB
    assert lines[5] == "            " + STUB
    assert lines[7] == "answer = None  # replace None with your answer"
    assert "y * 2" not in text
    assert "inner(x)" not in text
    assert "(3, 5)" not in text
    compile(text, "cell", "exec")


def test_tabs_and_marker_variants():
    source = "def f():\n\t# BEGIN SOLUTION\n\treturn 1\n\t#### END SOLUTION  \n"
    text, regions = strip_code_solutions(source)
    assert regions == 1
    assert text == f"def f():\n\t{STUB}\n"


def test_region_without_end_names_the_cell():
    notebook = book(markdown("intro"), code(["def f():\n", "    ### BEGIN SOLUTION\n",
                                             "    return 1\n"]))
    with pytest.raises(SolutionMarkerError, match=r"cell 1 \(id x\).*line 2.*no END"):
        strip_solutions(notebook)


def test_end_without_begin_and_nested_begin():
    with pytest.raises(SolutionMarkerError, match="no BEGIN"):
        strip_code_solutions("x = 1\n### END SOLUTION\n")
    with pytest.raises(SolutionMarkerError, match="inside the region"):
        strip_code_solutions("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n")


@pytest.mark.parametrize("colons", [3, 4])
def test_markdown_solution_removed(colons):
    fence = ":" * colons
    inner = ":::{note}\nA nested note.\n:::\n" if colons == 4 else ""
    source = (
        "Compute the gradient.\n\n"
        f"{fence}{{solution}} ex-grad\n"
        ":class: dropdown\n"
        ":label: sol-grad\n\n"
        "The gradient is $W^T \\delta$.\n"
        f"{inner}"
        "```python\nW.T @ delta\n```\n"
        f"{fence}\n\n"
        "Next section.\n"
    )
    text, removed = strip_markdown_solutions(source)
    assert removed == 1
    assert text == "Compute the gradient.\n\nNext section."
    assert "W^T" not in text
    assert "dropdown" not in text


def test_markdown_backtick_and_gated_solutions():
    source = (
        "Before.\n"
        "````{solution} ex1\n```python\nx = 1\n```\n````\n"
        "Middle.\n"
        "```{solution-start} ex2\n```\n"
        "secret text\n"
        "```{solution-end}\n```\n"
        "After.\n"
    )
    text, removed = strip_markdown_solutions(source)
    assert removed == 2
    assert text == "Before.\nMiddle.\nAfter."


def test_unclosed_markdown_solution_is_an_error():
    with pytest.raises(SolutionMarkerError, match="not closed"):
        strip_markdown_solutions(":::{solution}\nsecret\n")


def test_notebook_strip_clears_outputs_and_counts():
    solved = code(AFFINE, outputs=[{"output_type": "execute_result", "execution_count": 3,
                                    "data": {"text/plain": "✓ passed"}, "metadata": {}}])
    plain = code("plot()\n", outputs=[{"output_type": "stream", "name": "stdout",
                                       "text": "picture"}], count=4)
    notebook = book(
        markdown(["# Chapter\n"]),
        solved,
        plain,
        markdown(":::{solution}\nonly a solution\n:::\n"),
        code("secret()\n", tags=["solution"]),
        markdown("Tagged.", tags=["solution"]),
    )
    student = strip_solutions(notebook)
    assert [c["cell_type"] for c in student["cells"]] == ["markdown", "code", "code"]
    assert student["cells"][1]["outputs"] == []
    assert student["cells"][1]["execution_count"] is None
    assert student["cells"][2]["outputs"][0]["text"] == "picture"
    assert student["cells"][2]["execution_count"] is None
    # The argument is not changed.
    assert notebook["cells"][1]["outputs"]
    assert solution_leftovers(student, instructor=notebook) == []


def test_list_sources_stay_lists():
    notebook = book(code(AFFINE.splitlines(keepends=True)))
    student = strip_solutions(notebook)
    assert isinstance(student["cells"][0]["source"], list)
    assert "".join(student["cells"][0]["source"]).count(STUB) == 1


def test_notebook_without_solutions_is_unchanged_but_counts():
    notebook = book(markdown("Text."), code("x = 1\n", count=None))
    assert strip_solutions(notebook) == notebook


def test_leftovers_found_in_notebooks_and_text():
    notebook = book(code("x = 1\n### END SOLUTION\n"), markdown(":::{solution}\n:::\n"),
                    code("y\n", tags=["solution"]))
    problems = solution_leftovers(notebook)
    assert any("END SOLUTION" in p for p in problems)
    assert any("{solution}" in p for p in problems)
    assert any("tagged" in p for p in problems)
    assert solution_leftovers("<p>BEGIN SOLUTION</p>") == [
        "the text, line 1: a BEGIN SOLUTION marker"]
    assert solution_leftovers("<p>nothing</p>") == []


def test_leftovers_find_solution_lines_in_outputs():
    instructor = book(code(AFFINE))
    leaked = book(code("z = 1\n", outputs=[{"output_type": "stream", "name": "stdout",
                                            "text": "    return z + b_with_more_text\n"}]))
    assert solution_leftovers(leaked, instructor) == []
    leaked["cells"][0]["source"] = "    z = W @ a_prev\n    return z + b\n"
    # Short lines are too common to count; "z = W @ a_prev" has 14 characters.
    assert solution_leftovers(leaked, instructor) == []
    leaked["cells"][0]["source"] = '    """Return z = W a + b."""\n'
    assert solution_leftovers(leaked, instructor) == []
    instructor = book(code("### BEGIN SOLUTION\nresult = np.linalg.solve(A, b)\n"
                           "### END SOLUTION\n"))
    leaked = book(code("result = np.linalg.solve(A, b)\n"))
    assert solution_leftovers(leaked, instructor) == [
        "cell 0 (id x), line 1: a line of a solution"]


def test_strip_solutions_file(tmp_path):
    source = tmp_path / "chapter.ipynb"
    source.write_text(json.dumps(book(code(AFFINE))), encoding="utf-8")
    target = tmp_path / "student" / "chapter.ipynb"
    strip_solutions_file(source, target)
    written = json.loads(target.read_text(encoding="utf-8"))
    assert STUB in "".join(written["cells"][0]["source"])
    assert "W @ a_prev" not in target.read_text(encoding="utf-8")


def test_short_answer_region_becomes_none():
    from bpcourse.notebooks import ANSWER_COMMENT, strip_code_solutions

    source = (
        "### BEGIN SOLUTION\n"
        "shape_of_z = (3, 5)\n"
        "### END SOLUTION\n"
        'check("forward.shape_of_z", shape_of_z)'
    )
    text, regions = strip_code_solutions(source)
    assert regions == 1
    assert text == (
        f"shape_of_z = None  {ANSWER_COMMENT}\n"
        'check("forward.shape_of_z", shape_of_z)'
    )
    namespace = {"check": lambda exercise_id, answer: answer}
    exec(text, namespace)
    assert namespace["shape_of_z"] is None


def test_top_level_code_region_still_raises():
    from bpcourse.notebooks import strip_code_solutions

    text, _ = strip_code_solutions(
        "### BEGIN SOLUTION\nprint(1)\n### END SOLUTION\n"
    )
    assert text == STUB + "\n"
