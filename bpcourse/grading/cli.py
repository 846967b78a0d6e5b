"""The ``bpcourse assign`` and ``bpcourse grade`` commands."""

import logging
import os
import pwd
import sys
import time
from pathlib import Path

log = logging.getLogger("bpcourse.grading")


def _limits(args, base):
    from dataclasses import replace

    changes = {
        name: getattr(args, name)
        for name in ("question_seconds", "submission_seconds", "memory_mb")
        if getattr(args, name, None) is not None
    }
    return replace(base, **changes)


def assign(args):
    """Write student notebooks and grading specs; print where they are."""
    from bpcourse.grading.assign import parse_points, release
    from bpcourse.grading.spec import Limits

    missing = [source for source in args.sources if not Path(source).is_file()]
    if missing:
        raise ValueError(f"notebook not found: {', '.join(missing)}; "
                         "give the path of an instructor notebook (.ipynb)")
    written = release(
        args.sources,
        args.out,
        points=parse_points(args.points),
        seed=args.seed,
        limits=_limits(args, Limits()),
    )
    for student_path, spec_path, spec in written:
        print(f"{spec.assignment}: {len(spec.questions)} exercises, "
              f"{spec.max_points:g} points")
        print(f"  students get   {student_path}")
        print(f"  grading spec   {spec_path} (keep it private: it holds the seed)")
    return 0


class _ProgressBarHandler(logging.Handler):
    """Log lines printed above the progress bar instead of through it."""

    def emit(self, record):
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never stop the grading
            self.handleError(record)


def _configure_logging(out, verbose):
    logger = logging.getLogger("bpcourse.grading")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                  "%Y-%m-%d %H:%M:%S")
    console = _ProgressBarHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(formatter)
    logger.addHandler(console)
    Path(out).mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(Path(out) / "grading.log", encoding="utf-8")
    file_handler.setFormatter(formatter)
    logger.addHandler(file_handler)
    return logger


def _user(name):
    if name is None:
        return None
    try:
        return int(name)
    except ValueError:
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            raise ValueError(f"--sandbox-user: there is no user {name!r}") from None


def grade(args):
    """Grade a folder of submissions and write the results."""
    from bpcourse.grading.grader import grade as run_grade
    from bpcourse.grading.spec import find_spec

    spec, spec_path = find_spec(args.assignment, release=args.release)
    spec.limits = _limits(args, spec.limits)
    logger = _configure_logging(args.out, verbose=not args.quiet)
    started = time.monotonic()
    try:
        results = run_grade(
            spec,
            args.submissions,
            args.out,
            workers=args.workers,
            resume=args.resume,
            progress=not args.no_progress,
            user=_user(args.sandbox_user),
            extra_hidden=[Path(spec_path).resolve().parent],
        )
    except KeyboardInterrupt:
        print(f"bpcourse grade: interrupted; the results so far are in {args.out}: "
              "run the same command with --resume to continue", file=sys.stderr)
        return 130
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    seconds = time.monotonic() - started
    totals = [r["total"] for r in results.values()]
    print(f"{spec.assignment}: graded {len(results)} submissions in {seconds:.1f} s; "
          f"mean {sum(totals) / len(totals):.2f} of {spec.max_points:g} points")
    out = Path(args.out)
    for name in ("grades.csv", "canvas.csv", "report.html", "feedback"):
        print(f"  {out / name}")
    return 0


def default_workers():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
