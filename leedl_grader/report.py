"""Rich rendering of results. Only presentation lives here; every number comes from the model."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import results as results_
from .model import Outcome, SubmissionResult, worst_outcome

STYLE = {
    Outcome.PASSED: "green",
    Outcome.PARTIAL: "yellow",
    Outcome.FAILED: "red",
    Outcome.ERROR: "red",
    Outcome.TIMEOUT: "magenta",
    Outcome.MEMORY: "magenta",
    Outcome.FORBIDDEN: "bold red",
    Outcome.MISSING: "dim",
    Outcome.CRASHED: "bold magenta",
    Outcome.FAULT: "bold white on red",
}
SANDBOX_NOTE = {
    "strict": "strict sandbox (namespaces, own uid, no network)",
    "uid": "uid sandbox (own uid, Landlock where the kernel has it; no namespaces here)",
    "process": "separate process only (no strict isolation here)",
}


def _pts(x: float) -> str:
    return f"{x:g}"


def outcome_text(o: Outcome) -> Text:
    return Text(o.value, style=STYLE[o])


def submission_table(result: SubmissionResult, *, show_passed: bool = True) -> Table:
    t = Table(title=f"{result.assignment} — {result.student}", title_justify="left", expand=False)
    t.add_column("exercise", no_wrap=True)
    t.add_column("check")
    t.add_column("outcome", no_wrap=True)
    t.add_column("points", justify="right", no_wrap=True)
    t.add_column("message", overflow="fold")
    last = None
    for r in result.results:
        if not show_passed and r.outcome is Outcome.PASSED:
            continue
        msg = r.message
        if r.ratio is not None:
            msg = (msg + " " if msg else "") + f"[speed {r.ratio:.2f}× the yardstick]"
        t.add_row(
            r.exercise if r.exercise != last else "",
            r.name + ("" if r.visibility == "visible" else " (hidden)"),
            outcome_text(r.outcome),
            f"{_pts(r.score)}/{_pts(r.max_score)}",
            Text(msg),  # plain text: messages quote values such as "[1, 2]", never markup
        )
        last = r.exercise
    return t


def exercise_table(result: SubmissionResult) -> Table:
    t = Table(title="by exercise", title_justify="left")
    t.add_column("exercise", no_wrap=True)
    t.add_column("outcome", no_wrap=True)
    t.add_column("points", justify="right")
    for e in result.exercises():
        t.add_row(e.name, outcome_text(e.outcome), f"{_pts(e.score)}/{_pts(e.max_score)}")
    return t


def render_submission(result: SubmissionResult, console: Console, *, verbose: bool = True) -> None:
    if verbose:
        console.print(submission_table(result))
    console.print(exercise_table(result))
    for note in result.notes:
        console.print(Text.assemble(("note: ", "yellow"), note))
    for line in results_.fault_lines(result):
        console.print(Text.assemble(("grader fault: ", "bold red"), line))
    if result.enforced:
        console.print(Text("limits: " + "; ".join(result.enforced), style="dim"))
    style = "green" if result.passed else "yellow"
    console.print(
        Panel(
            Text.assemble(
                ("total ", "bold"), (f"{_pts(result.score)}/{_pts(result.max_score)}", f"bold {style}"),
                f"   seed {result.seed}   {SANDBOX_NOTE.get(result.sandbox, result.sandbox)}   "
                f"{result.execution_time:.1f} s",
            ),
            expand=False,
        )
    )


def histogram(totals: list[float], maximum: float, bins: int = 10, width: int = 40) -> Text:
    """A text histogram of totals as a share of the maximum, one line per bin."""
    counts = [0] * bins
    for x in totals:
        frac = 0.0 if maximum <= 0 else min(max(x / maximum, 0.0), 1.0)
        counts[min(int(frac * bins), bins - 1)] += 1
    peak = max(counts) or 1
    out = Text()
    for i, c in enumerate(counts):
        lo, hi = 100 * i // bins, 100 * (i + 1) // bins
        bar = "█" * max(1 if c else 0, round(width * c / peak))
        out.append(f"{lo:3d}–{hi:<3d}% ", style="dim")
        out.append(bar, style="cyan")
        out.append(f" {c}\n")
    return out


def batch_table(results: list[SubmissionResult], exercises: list[str]) -> Table:
    t = Table(title="gradebook", title_justify="left")
    t.add_column("student", no_wrap=True)
    t.add_column("total", justify="right", no_wrap=True)
    t.add_column("worst", no_wrap=True)
    t.add_column("exercises not full", overflow="fold")
    for r in sorted(results, key=lambda r: r.student):
        ex = r.exercises()
        worst = worst_outcome(e.outcome for e in ex)
        lost = [f"{e.name} ({_pts(e.score)}/{_pts(e.max_score)})" for e in ex if e.score < e.max_score]
        t.add_row(r.student, f"{_pts(r.score)}/{_pts(r.max_score)}", outcome_text(worst), Text(", ".join(lost) or "—"))
    return t


def render_batch(results: list[SubmissionResult], exercises: list[str], console: Console,
                 skipped: int = 0) -> None:
    if not results:
        console.print("[yellow]no submissions graded[/]")
        return
    console.print(batch_table(results, exercises))
    faulty = [r for r in results if r.faults]
    if faulty:
        lines = [Text(f"the grader itself failed on {sum(len(r.faults) for r in faulty)} check(s) of "
                      f"{len(faulty)} submission(s); those checks scored 0 through no fault of the student: "
                      "fix the check and regrade them (--force)")]
        lines += [Text(f"{r.student}: {line}") for r in faulty for line in results_.fault_lines(r)[:5]]
        console.print(Panel(Group(*lines), title="grader faults", style="red", expand=False))
    maximum = max(r.max_score for r in results)
    totals = [r.score for r in results]
    mean = sum(totals) / len(totals)
    console.print(Panel(Group(Text(f"{len(results)} submissions, mean {mean:.1f}/{_pts(maximum)}"
                                   + (f", {skipped} unchanged (not regraded)" if skipped else "")),
                              histogram(totals, maximum)), title="totals", expand=False))


def render_chapters(rows: list[tuple[str, str, list[tuple[str, float, float]]]], console: Console) -> None:
    """rows: (chapter, title, [(exercise, public points, hidden points)])."""
    for name, title, exercises in rows:
        t = Table(title=f"{name} — {title}", title_justify="left")
        t.add_column("exercise", no_wrap=True)
        t.add_column("public", justify="right")
        t.add_column("hidden", justify="right")
        for ex, pub, hid in exercises:
            t.add_row(ex, _pts(pub), _pts(hid))
        t.add_row(Text("total", style="bold"), _pts(sum(e[1] for e in exercises)), _pts(sum(e[2] for e in exercises)))
        console.print(t)
