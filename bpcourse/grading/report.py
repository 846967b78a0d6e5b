"""The gradebook, the students' feedback and the class report.

``write_all`` makes, from the results of ``grader.Grader.run``:

* ``grades.csv``: one row per student with the points of every question,
  the total and the maximum. Its first five columns are those of a Canvas
  gradebook export (Student, ID, SIS User ID, SIS Login ID, Section), with
  the student id as the Student and the SIS Login ID;
* ``canvas.csv``: the assignment's total only, with the "Points Possible"
  row, ready for Canvas's gradebook import;
* ``feedback/<student>.md`` and ``.html``: per question the points, the
  message and the diagnosed mistake. They never contain the hidden inputs or
  the expected results, because the results contain neither;
* ``report.md``, ``report.html`` and ``histogram.png``: the score histogram
  and, per question, the mean, the pass rate, the discrimination and the most
  frequent diagnosed mistakes.
"""

import csv
import html
import io
from collections import Counter
from pathlib import Path

import numpy as np

from bpcourse.grading.grader import _write_text

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
TOP_MISTAKES = 5


def format_points(value):
    """Points as the gradebook shows them: at most three decimals, no trailing zeros."""
    text = f"{float(value):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _csv_text(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def gradebook_rows(spec, results):
    """Return the rows of grades.csv: a header, then one row per student id, sorted."""
    ids = [q.id for q in spec.questions]
    rows = [CANVAS_COLUMNS + ids + ["Total", "Maximum"]]
    for student in sorted(results):
        result = results[student]
        points = [format_points(result["questions"][qid]["points"]) for qid in ids]
        rows.append([student, "", "", student, ""] + points + [
            format_points(result["total"]), format_points(result["max_points"])])
    return rows


def canvas_rows(spec, results):
    """Return the rows of canvas.csv: the total as one assignment, with Points Possible."""
    rows = [CANVAS_COLUMNS + [spec.assignment]]
    rows.append(["Points Possible", "", "", "", "", format_points(spec.max_points)])
    for student in sorted(results):
        rows.append([student, "", "", student, "", format_points(results[student]["total"])])
    return rows


# --- feedback ----------------------------------------------------------------

def _status_mark(question):
    if question["passed"]:
        return "passed"
    if question["points"] > 0:
        return "partly correct"
    return "not passed"


def feedback_markdown(spec, result):
    """Return one student's feedback as Markdown."""
    lines = [
        f"# Feedback on {spec.assignment}",
        "",
        f"Student: {result['student']} · total: **{format_points(result['total'])} of "
        f"{format_points(result['max_points'])} points**",
        "",
        "| Question | Points | Result |",
        "| --- | --- | --- |",
    ]
    for qid, question in result["questions"].items():
        lines.append(
            f"| `{qid}` | {format_points(question['points'])} of "
            f"{format_points(question['max_points'])} | {_status_mark(question)} |"
        )
    for qid, question in result["questions"].items():
        lines += ["", f"## `{qid}`: {format_points(question['points'])} of "
                  f"{format_points(question['max_points'])} points", ""]
        lines.append(question["message"] or "")
        if question.get("diagnosis") and not question["passed"]:
            lines += ["", f"Diagnosed mistake: `{question['diagnosis']}`"]
        if question.get("traceback"):
            lines += ["", "Your code raised:", "", "```text",
                      question["traceback"].rstrip(), "```"]
        if question.get("warnings"):
            lines += ["", "Warnings your code raised (they do not cost points):", ""]
            lines += [f"- {warning}" for warning in question["warnings"]]
    if result.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in result["notes"]]
    lines += ["", "The hidden tests use inputs drawn at random for grading, so their "
              "values are not shown.", ""]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52em; margin: 2em auto;
       padding: 0 1em; color: #1f2328; line-height: 1.5; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.7em; text-align: left; }
th { background: #f6f8fa; }
.passed { color: #1a7f37; } .failed { color: #b42318; } .partial { color: #9a6700; }
pre { background: #f6f8fa; padding: 0.7em; overflow-x: auto; }
"""


def _page(title, body):
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def feedback_html(spec, result):
    """Return one student's feedback as a self-contained HTML page."""
    e = html.escape
    parts = [
        f"<h1>Feedback on {e(spec.assignment)}</h1>",
        f"<p>Student: {e(result['student'])} · total: <strong>"
        f"{format_points(result['total'])} of {format_points(result['max_points'])} "
        "points</strong></p>",
        "<table><tr><th>Question</th><th>Points</th><th>Result</th></tr>",
    ]
    for qid, question in result["questions"].items():
        css = "passed" if question["passed"] else (
            "partial" if question["points"] > 0 else "failed")
        parts.append(
            f"<tr><td><code>{e(qid)}</code></td><td>{format_points(question['points'])} "
            f"of {format_points(question['max_points'])}</td>"
            f"<td class=\"{css}\">{_status_mark(question)}</td></tr>"
        )
    parts.append("</table>")
    for qid, question in result["questions"].items():
        parts.append(
            f"<h2><code>{e(qid)}</code>: {format_points(question['points'])} of "
            f"{format_points(question['max_points'])} points</h2>"
        )
        parts.append(f"<p>{e(question['message'] or '')}</p>")
        if question.get("diagnosis") and not question["passed"]:
            parts.append(f"<p>Diagnosed mistake: <code>{e(question['diagnosis'])}</code></p>")
        if question.get("traceback"):
            parts.append(f"<p>Your code raised:</p><pre>{e(question['traceback'])}</pre>")
        if question.get("warnings"):
            parts.append("<p>Warnings your code raised (they do not cost points):</p><ul>")
            parts += [f"<li>{e(w)}</li>" for w in question["warnings"]]
            parts.append("</ul>")
    if result.get("notes"):
        parts.append("<h2>Notes</h2><ul>")
        parts += [f"<li>{e(note)}</li>" for note in result["notes"]]
        parts.append("</ul>")
    parts.append("<p>The hidden tests use inputs drawn at random for grading, so their "
                 "values are not shown.</p>")
    return _page(f"Feedback on {spec.assignment}: {result['student']}", "\n".join(parts))


# --- the class report ----------------------------------------------------------

def item_analysis(spec, results):
    """Per question: mean points, pass rate, discrimination and frequent mistakes.

    The discrimination is the correlation between a question's points and the
    total of the other questions (None when either does not vary).
    """
    students = sorted(results)
    totals = np.array([results[s]["total"] for s in students], dtype=float)
    items = []
    for question in spec.questions:
        entries = [results[s]["questions"][question.id] for s in students]
        points = np.array([q["points"] for q in entries], dtype=float)
        rest = totals - points
        discrimination = None
        if len(students) > 2 and points.std() > 0 and rest.std() > 0:
            discrimination = float(np.corrcoef(points, rest)[0, 1])
        # An unreadable file is a problem of the submission, counted apart.
        mistakes = Counter(
            q["diagnosis"] for q in entries
            if not q["passed"] and q.get("diagnosis")
            and q["status"] != "unreadable"
        )
        statuses = Counter(q["status"] for q in entries if q["status"] != "graded")
        items.append({
            "id": question.id,
            "max_points": question.points,
            "mean_points": float(points.mean()) if len(points) else 0.0,
            "pass_rate": float(np.mean([q["passed"] for q in entries])) if entries else 0.0,
            "discrimination": discrimination,
            "mistakes": mistakes.most_common(TOP_MISTAKES),
            "statuses": dict(sorted(statuses.items())),
        })
    return items


def write_histogram(spec, results, path):
    """Save the histogram of total scores as a PNG (matplotlib's Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    totals = [results[s]["total"] for s in sorted(results)]
    maximum = spec.max_points or 1.0
    figure = Figure(figsize=(6, 3.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bins = np.linspace(0, maximum, min(20, max(5, int(np.ceil(maximum)) * 2)) + 1)
    axes.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"total points (of {format_points(maximum)})")
    axes.set_ylabel("students")
    axes.set_title(f"{spec.assignment}: {len(totals)} submissions")
    axes.set_xlim(0, maximum)
    figure.tight_layout()
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    figure.savefig(temporary, format="png")
    temporary.replace(path)


def _summary(spec, results):
    totals = np.array([results[s]["total"] for s in results], dtype=float)
    unreadable = sorted(
        s for s, r in results.items()
        if any(q["status"] == "unreadable" for q in r["questions"].values())
    )
    return {
        "unreadable": unreadable,
        "students": len(totals),
        "mean": float(totals.mean()) if len(totals) else 0.0,
        "median": float(np.median(totals)) if len(totals) else 0.0,
        "min": float(totals.min()) if len(totals) else 0.0,
        "max": float(totals.max()) if len(totals) else 0.0,
        "maximum": spec.max_points,
    }


def _percent(value):
    return f"{100 * value:.0f} %"


def report_markdown(spec, results, items):
    summary = _summary(spec, results)
    lines = [
        f"# Class report: {spec.assignment}",
        "",
        f"{summary['students']} submissions · mean {format_points(summary['mean'])}, "
        f"median {format_points(summary['median'])}, lowest "
        f"{format_points(summary['min'])}, highest {format_points(summary['max'])} of "
        f"{format_points(summary['maximum'])} points",
        "",
        "![Histogram of the total scores](histogram.png)",
        "",
    ]
    if summary["unreadable"]:
        lines += [f"{_submissions(len(summary['unreadable']))} could not be read (0 "
                  f"points): {', '.join(summary['unreadable'])}.", ""]
    lines += [
        "## Questions",
        "",
        "| Question | Points | Mean | Pass rate | Discrimination | Not graded normally |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in items:
        statuses = ", ".join(f"{k}: {v}" for k, v in item["statuses"].items()) or "none"
        discrimination = ("n/a" if item["discrimination"] is None
                          else f"{item['discrimination']:.2f}")
        lines.append(
            f"| `{item['id']}` | {format_points(item['max_points'])} | "
            f"{format_points(item['mean_points'])} | {_percent(item['pass_rate'])} | "
            f"{discrimination} | {statuses} |"
        )
    lines += ["", "## Most frequent mistakes", ""]
    for item in items:
        lines.append(f"- `{item['id']}`: " + (
            ", ".join(f"`{name}` ({count})" for name, count in item["mistakes"])
            or "none diagnosed"))
    lines += [
        "",
        "Discrimination is the correlation between a question's points and the total "
        "of the other questions: near 0 or negative, the question does not separate "
        "stronger from weaker submissions.",
        "",
    ]
    return "\n".join(lines)


def report_html(spec, results, items):
    e = html.escape
    summary = _summary(spec, results)
    parts = [
        f"<h1>Class report: {e(spec.assignment)}</h1>",
        f"<p>{summary['students']} submissions · mean {format_points(summary['mean'])}, "
        f"median {format_points(summary['median'])}, lowest "
        f"{format_points(summary['min'])}, highest {format_points(summary['max'])} of "
        f"{format_points(summary['maximum'])} points</p>",
        '<img src="histogram.png" alt="Histogram of the total scores" width="600">',
    ]
    if summary["unreadable"]:
        parts.append(f"<p>{_submissions(len(summary['unreadable']))} could not be read "
                     f"(0 points): {e(', '.join(summary['unreadable']))}.</p>")
    parts += [
        "<h2>Questions</h2>",
        "<table><tr><th>Question</th><th>Points</th><th>Mean</th><th>Pass rate</th>"
        "<th>Discrimination</th><th>Not graded normally</th>"
        "<th>Most frequent mistakes</th></tr>",
    ]
    for item in items:
        statuses = ", ".join(f"{k}: {v}" for k, v in item["statuses"].items()) or "none"
        mistakes = ", ".join(f"<code>{e(n)}</code> ({c})" for n, c in item["mistakes"])
        discrimination = ("n/a" if item["discrimination"] is None
                          else f"{item['discrimination']:.2f}")
        parts.append(
            f"<tr><td><code>{e(item['id'])}</code></td>"
            f"<td>{format_points(item['max_points'])}</td>"
            f"<td>{format_points(item['mean_points'])}</td>"
            f"<td>{_percent(item['pass_rate'])}</td><td>{discrimination}</td>"
            f"<td>{e(statuses)}</td><td>{mistakes or 'none diagnosed'}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<p>Discrimination is the correlation between a question's points and the "
        "total of the other questions: near 0 or negative, the question does not "
        "separate stronger from weaker submissions.</p>"
    )
    return _page(f"Class report: {spec.assignment}", "\n".join(parts))


def write_all(spec, results, out):
    """Write the gradebook, the feedback files and the class report to ``out``."""
    out = Path(out)
    _write_text(out / "grades.csv", _csv_text(gradebook_rows(spec, results)))
    _write_text(out / "canvas.csv", _csv_text(canvas_rows(spec, results)))
    for student, result in results.items():
        _write_text(out / "feedback" / f"{student}.md", feedback_markdown(spec, result))
        _write_text(out / "feedback" / f"{student}.html", feedback_html(spec, result))
    items = item_analysis(spec, results)
    write_histogram(spec, results, out / "histogram.png")
    _write_text(out / "report.md", report_markdown(spec, results, items))
    _write_text(out / "report.html", report_html(spec, results, items))


def _submissions(count):
    return f"{count} submission" + ("" if count == 1 else "s")
