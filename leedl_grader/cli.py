"""The ``leedl`` command: a thin layer over :mod:`leedl_grader.api`."""

from __future__ import annotations

import atexit
import functools
import gc
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from . import __version__
from .exports import EXPORT_FORMATS

# Nothing here imports torch: `leedl --help` and `leedl list` answer at once. Each command imports
# the library (api) when it runs.


def _console() -> Console:
    return Console(highlight=False)


def user_errors(fn):
    """Turn the library's user errors into ClickException: one line, exit code 1."""

    @functools.wraps(fn)
    def wrap(*args, **kwargs):
        from .api import CourseError, LeedlError, Stopped

        try:
            return fn(*args, **kwargs)
        except Stopped as exc:  # SIGINT/SIGTERM: one line, the shell's exit code (130, 143)
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except (LeedlError, CourseError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrap


course_option = click.option("--course", type=click.Path(file_okay=False, path_type=Path), default=None,
                             help="Course root (default: $LEEDL_COURSE or the nearest folder with assignments/).")
device_option = click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
                             help="Where the checks put their tensors.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leedl")
def main():
    """leedl — autograded exercises for 李宏毅深度學習教程."""
    _freeze_at_exit()


@functools.cache
def _freeze_at_exit() -> None:
    """At exit the interpreter's last collections walk every object torch made: half a second, a
    third of ``import torch``, to free memory the process is about to give back anyway. Frozen,
    they are left alone; the atexit handlers registered later, which clean up, still run first."""
    atexit.register(gc.freeze)


@main.command("list")
@course_option
@user_errors
def list_(course):
    """Chapters and exercises with their points."""
    from . import api, report

    report.render_chapters(api.list_chapters(course), _console())


@main.command()
@click.argument("chapter")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--hidden", is_flag=True, help="Also run the hidden checks (needs the course's reference).")
@click.option("--seed", type=int, default=None, help="Seed for the checks' inputs (default: random).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the result file here.")
@click.option("--failed-only", is_flag=True, help="Show only what lost points (no passed exercises, no stubs).")
@click.option("-k", "select", multiple=True, metavar="PATTERN",
              help="Only these files or exercises: schedules, optimizers.Adam, adam, 'schedules.*' (repeatable).")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save the pictures checks offer (learned filters, confusion matrix) as PNGs here.")
@device_option
@course_option
@user_errors
def check(chapter, path, hidden, seed, json_out, failed_only, select, plots, device, course):
    """Self-check your working copy of CHAPTER (default: ./<chapter>/)."""
    from . import api, report

    console = _console()
    # A line on stderr, not a spinner: a spinner's thread would keep the judge from forking its
    # zygote (torch imported once for both).
    Console(stderr=True, highlight=False).print(Text(f"checking {chapter}…", "dim"))
    result = api.check(chapter, path, hidden=hidden, seed=seed, device=device, course=course, json_out=json_out,
                       plots=plots, select=tuple(select))
    report.render_submission(result, console, failed_only=failed_only,
                             selected=f"-k {' '.join(select)}" if select else "")
    if plots is not None:
        report.render_plots(plots, console)
    sys.exit(0 if result.passed else 1)


@main.command()
@click.argument("chapter")
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Results folder.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=1, show_default=True, help="Parallel judges.")
@click.option("--seed", type=int, default=None,
              help="Seed for the checks' inputs (default: the folder's, else random).")
@click.option("--force", is_flag=True, help="Regrade even unchanged submissions.")
@click.option("--only", multiple=True, metavar="STUDENT",
              help="Regrade only this student (repeatable); the others keep their results.")
@click.option("-k", "select", multiple=True, metavar="PATTERN",
              help="Regrade only the exercises PATTERN selects (a file, an exercise, a part of a name; "
                   "repeatable); the other exercises keep their results.")
@click.option("--group", default=None, metavar="GROUP",
              help="A group that may read the results (under sudo they belong to you anyway).")
@click.option("--insecure", is_flag=True, help="Allow grading without strict isolation.")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save the pictures checks offer as PLOTS/<student>/*.png (for leedl export html --plots).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Grade on a Dask cluster: tls://host:8786, or 'local' for --jobs local workers "
                   "(needs leedl[dask]; see the README).")
@click.option("--task-timeout", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="With --scheduler: a worker that holds one student longer is dropped and the student "
                   "regraded elsewhere (default: the longest the checks can take, plus a minute).")
@device_option
@course_option
@user_errors
def grade(chapter, submissions, out, jobs, seed, force, only, select, group, insecure, plots, scheduler, task_timeout,
          device, course):
    """Grade every entry of SUBMISSIONS (folders or zips) into OUT."""
    from . import api, report

    console = _console()
    progress = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}"), console=console, transient=True)
    task = {}

    def started(n):
        from .judge import stopping

        with stopping.threads_without_signals():  # its refresh thread: Ctrl-C is the main thread's
            progress.start()
        task["id"] = progress.add_task("", total=n)

    def finished(r, skipped):
        progress.update(task["id"], advance=1, description=f"{r.student} {r.score:g}/{r.max_score:g}"
                        + (" (unchanged)" if skipped else ""))

    def note(text):
        console.print(Text(text, "yellow"))

    try:
        outcome = api.grade(chapter, submissions, out, jobs=jobs, device=device, seed=seed, force=force,
                            insecure=insecure, course=course, plots=plots, scheduler=scheduler,
                            task_timeout=task_timeout, only=only, select=select, group=group,
                            on_start=started, on_result=finished, on_note=note)
    finally:
        if task:  # a bar that never started prints nothing (an early refusal is one line)
            progress.stop()
    report.render_batch(list(outcome.results), [e.name for e in outcome.chapter.exercises], console,
                        skipped=outcome.skipped)
    console.print(f"seed {outcome.seed} · sandbox {outcome.mode} · results in {out}/ · gradebook {outcome.gradebook}")
    console.print(Text("limits: " + "; ".join(outcome.enforced[:3]),
                       style="dim" if outcome.per_sandbox_cap else "yellow"))


@main.command()
@click.argument("chapter", required=False)
@course_option
@user_errors
def build(chapter, course):
    """Regenerate the stubs and public data of CHAPTER (default: all) from the reference."""
    from . import api

    written = api.build(chapter, course)
    for p in written:
        click.echo(f"wrote {p}")
    click.echo(f"{len(written)} file(s) changed")


@main.command()
@click.argument("chapter")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@course_option
@user_errors
def release(chapter, out, course):
    """Write CHAPTER's student bundle (stubs, public checks, README) to OUT."""
    from . import api

    dest = api.release(chapter, out, course)
    click.echo(f"released {dest}")


@main.command()
@click.argument("chapter", required=False)
@click.option("--seed", type=int, default=None)
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=1, show_default=True)
@device_option
@course_option
@user_errors
def validate(chapter, seed, jobs, device, course):
    """Reference full marks, stubs zero, every bug-zoo variant caught, every alternative full, and
    every authoring rule of docs/authoring.md (each stated, with its fix where it is broken)."""
    from . import api, report

    console = _console()
    with console.status("validating…"):
        reports = api.validate(chapter, seed=seed, jobs=jobs, device=device, course=course)
    for rep in reports:
        report.render_validation(rep, console)
    sys.exit(0 if all(rep.ok for rep in reports) else 1)


@main.command()
@click.argument("chapter")
@click.option("--course-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The nbgrader course directory (holds source/, nbgrader_config.py).")
@click.option("--assignment", default=None, help="nbgrader assignment name (default: the chapter, e.g. ch01).")
@course_option
@user_errors
def nbgrader(chapter, course_dir, assignment, course):
    """Write CHAPTER as an nbgrader source notebook that leedl grades (see README: nbgrader)."""
    from . import api
    from .exports.nbgrader import CONFIG_LINE

    nb, config = api.nbgrader_source(chapter, course_dir, assignment, course)
    click.echo(f"wrote {nb} and its bundle {nb.with_suffix('')}/")
    if config is not None:
        click.echo(f"wrote {config}")
    else:
        click.echo(f"{course_dir}/nbgrader_config.py exists: it needs these lines\n{CONFIG_LINE}\n"
                   f"c.LeedlGrade.course = {str(api.course_root(course))!r}")


@main.command()
@click.argument("chapter")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The zip to write.")
@click.option("--insecure", is_flag=True,
              help="Grade even where the container has no strict isolation (student code can forge results).")
@course_option
@user_errors
def gradescope(chapter, out, insecure, course):
    """Write CHAPTER's Gradescope autograder zip (holds the hidden checks: upload it, never share it)."""
    from . import api

    path = api.gradescope(chapter, out, course, insecure=insecure)
    click.echo(f"wrote {path}: upload it as the assignment's autograder on Gradescope")


@main.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(EXPORT_FORMATS))
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="The file to write (a folder for html).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV with a 'folder' column and the LMS's identity columns (canvas, moodle; optional for csv).")
@click.option("--title", default=None, help="Grade item title (default: the chapter).")
@click.option("--assignment-id", default="", help="Canvas assignment id, to update an existing column.")
@click.option("--per-exercise", is_flag=True, help="Also one column per exercise (canvas, moodle).")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="html: embed the PNGs of PLOTS/<student>/ in each page.")
@user_errors
def export(fmt, results, out, roster, title, assignment_id, per_exercise, plots):
    """Write the RESULTS folder of `leedl grade` as FORMAT: canvas, moodle, csv, junit or html."""
    from . import api

    rep = api.export(fmt, results, out, roster=roster, title=title, assignment_id=assignment_id,
                     per_exercise=per_exercise, plots=plots)
    click.echo(f"wrote {rep.path} ({rep.written} student(s) graded)")
    for s in rep.unknown:
        click.echo(f"unknown: {s} has a result but no roster row (listed in "
                   f"{rep.path.with_name(rep.path.stem + '.unmatched.csv')})")
    for s in rep.missing:
        click.echo(f"missing: {s} is on the roster but has no result (grade left empty)")


if __name__ == "__main__":
    main()
