"""Rich rendering of results. Only presentation lives here; every number comes from the model."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import extras
from .exports.text import terminal_text
from .judge.printed import PRINTED
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


def plain(value) -> Text:
    """Student-controlled text (messages, prints, names): shown as text, never as markup or control."""
    return Text(terminal_text(value))


def outcome_text(o: Outcome) -> Text:
    return Text(o.value, style=STYLE[o])


def _missing_only(rs) -> bool:
    """An exercise none of whose checks got past "not implemented yet" (a stub, a missing name)."""
    return all(r.outcome is Outcome.MISSING for r in rs)


def _by_exercise(result: SubmissionResult) -> dict[str, list]:
    order: dict[str, list] = {}
    for r in result.results:
        order.setdefault(r.exercise, []).append(r)
    return order


def exercise_summary(result: SubmissionResult, *, failed_only: bool = False) -> Group:
    """One line per exercise (outcome, points), the exercises not started collapsed into one line."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)  # outcome
    grid.add_column(justify="right", no_wrap=True)  # points
    grid.add_column(overflow="fold")  # exercise
    stubs = []
    for e, rs in zip(result.exercises(), _by_exercise(result).values()):
        if _missing_only(rs) and e.score == 0:
            stubs.append(e.name)
            continue
        if failed_only and e.outcome is Outcome.PASSED:
            continue
        grid.add_row(outcome_text(e.outcome), f"{_pts(e.score)}/{_pts(e.max_score)}", Text(e.name))
    parts = [grid] if grid.row_count else []
    if stubs and not failed_only:
        n = len(stubs)
        parts.append(Text.assemble(
            (f"{n} exercise{'s' if n > 1 else ''} not implemented yet: ", "dim"), Text(", ".join(stubs))))
    return Group(*parts)


def _check_block(r, device: str = "cpu") -> Group:
    """A failed check: a heading, then its message and what the code printed on full-width lines."""
    where = "" if r.visibility == "visible" else " (hidden)"
    head = Text.assemble(outcome_text(r.outcome), " ", (r.exercise, "bold"), f" · {r.name}{where} · ",
                         f"{_pts(r.score)}/{_pts(r.max_score)}")
    msg = r.message or r.outcome.value
    if r.ratio is not None:
        msg += f"\n(speed: {r.ratio:.2f}× the yardstick's time, both on {device})"
    parts = [head, Padding(plain(msg), (0, 0, 0, 2), expand=False)]  # plain text: student-controlled, never markup
    if r.output:
        parts.append(Padding(Text(PRINTED, "dim"), (0, 0, 0, 2), expand=False))
        parts.append(Padding(plain(r.output.rstrip("\n")), (0, 0, 0, 4), expand=False))
    return Group(*parts)


def failed_checks(result: SubmissionResult) -> list[Group]:
    """One block per check that lost points, except those of exercises not started (summarised)."""
    by = _by_exercise(result)
    return [_check_block(r, result.device) for rs in by.values()
            if not (_missing_only(rs) and sum(x.score for x in rs) == 0) for r in rs if r.outcome is not Outcome.PASSED]


def render_submission(result: SubmissionResult, console: Console, *, failed_only: bool = False,
                      selected: str = "") -> None:
    """The self-check report: a summary per exercise, then one block per failed check (80 columns up)."""
    title = Text.assemble((f"{result.assignment}", "bold"), " — ", plain(result.student))
    if selected:
        title.append(f" ({selected})", "dim")
    console.print(title)
    console.print(exercise_summary(result, failed_only=failed_only))
    for block in failed_checks(result):
        console.print()
        console.print(block)
    console.print()
    for note in result.notes:
        console.print(Text.assemble(("note: ", "yellow"), plain(note)))
    setup = [r for r in result.faults if r.detail.get("missing_extra")]
    for need in dict.fromkeys(r.detail["missing_extra"] for r in setup):  # once per package
        console.print(Text.assemble(("not graded: ", "bold yellow"), plain(need)))
    others = tuple(r for r in result.results if r not in setup)
    for line in fault_lines(replace(result, results=others)) if len(setup) < len(result.faults) else ():
        console.print(Text.assemble(("grader fault: ", "bold red"), plain(line)))
    style = "green" if result.passed else "yellow"
    console.print(Text.assemble(
        ("total ", "bold"), (f"{_pts(result.score)}/{_pts(result.max_score)}", f"bold {style}"),
        f"   seed {result.seed}   {result.execution_time:.1f} s"))
    sandbox = SANDBOX_NOTE.get(result.sandbox, result.sandbox)
    console.print(Text(f"sandbox: {sandbox}", style="dim"))
    if result.enforced and any(r.outcome is Outcome.MEMORY for r in result.results):
        console.print(Text("limit: " + result.enforced[0], style="dim"))  # the memory limit, where it was hit


def fault_lines(result: SubmissionResult) -> list[str]:
    from .judge.results import fault_lines as lines  # (imports torch: only where a result is shown)

    return lines(result)


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


def _not_full(ex, shown: int = 4) -> str:
    """The exercises that lost points, a few named: a row of the gradebook stays a few lines high."""
    lost = [f"{e.name} ({_pts(e.score)}/{_pts(e.max_score)})" for e in ex if e.score < e.max_score]
    if not lost:
        return "—"
    if len(lost) == len(ex) and all(e.score == 0 for e in ex):
        return f"all {len(ex)} exercises: nothing earned"
    if len(lost) > shown:
        return ", ".join(lost[:shown - 1]) + f" and {len(lost) - shown + 1} more"
    return ", ".join(lost)


def batch_table(results: list[SubmissionResult], exercises: list[str]) -> Table:
    t = Table(title="gradebook", title_justify="left")
    t.add_column("student", no_wrap=True)
    t.add_column("total", justify="right", no_wrap=True)
    t.add_column("worst", no_wrap=True)
    t.add_column("exercises not full", overflow="fold")
    for r in sorted(results, key=lambda r: r.student):
        ex = r.exercises()
        worst = worst_outcome(e.outcome for e in ex)
        t.add_row(plain(r.student), f"{_pts(r.score)}/{_pts(r.max_score)}", outcome_text(worst),
                  Text(_not_full(ex)))
    return t


def render_batch(results: list[SubmissionResult], exercises: list[str], console: Console,
                 skipped: int = 0) -> None:
    if not results:
        console.print(Text("no submissions graded", "yellow"))
        return
    console.print(batch_table(results, exercises))
    faulty = [r for r in results if r.faults]
    if faulty:
        lines = [Text(f"the grader itself failed on {sum(len(r.faults) for r in faulty)} check(s) of "
                      f"{len(faulty)} submission(s); those checks scored 0 through no fault of the student: "
                      "fix the check and regrade them (--force)")]
        lines += [plain(f"{r.student}: {line}") for r in faulty for line in fault_lines(r)[:5]]
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


def render_plots(folder, console: Console) -> None:
    """Where ``--plots`` put its pictures, or why there are none."""
    from pathlib import Path

    saved = sorted(p.name for p in Path(folder).glob("*.png")) if Path(folder).is_dir() else []
    console.print(Text(f"plots in {terminal_text(folder)}/: {', '.join(saved)}") if saved else Text(
        "no plots: none of the checks that ran offers one, or matplotlib is missing "
        f"({extras.command('plots')})"))


def render_validation(rep, console: Console) -> None:
    """``leedl validate``: one line per subject (ok, warn or FAIL), its detail on full-width lines."""
    console.print(Text(f"validate {rep.chapter} (seed {rep.seed})", "bold"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for r in rep.rows:
        warn = r.ok and r.detail.startswith("warning: ")
        mark = Text("warn", "yellow") if warn else Text("ok", "green") if r.ok else Text("FAIL", "bold red")
        subject = r.subject + (f" [{r.exercise}]" if r.exercise and r.exercise not in r.subject else "")
        grid.add_row(mark, Text.assemble((subject, "bold"), " — ", plain(r.detail.removeprefix("warning: "))))
    console.print(grid)
    bad = sum(not r.ok for r in rep.rows)
    console.print(Text(f"{rep.chapter}: " + ("valid" if not bad else f"{bad} problem(s)"),
                       "green" if not bad else "red"))
