"""A feedback page per student: one self-contained HTML file, nothing fetched, nothing run.

The page shows the total, a table of exercises, and every check with its outcome, points and
message (a failed check's message carries its numerical diff: shapes, dtypes, worst error and
tolerance), each speed check's ratio to the yardstick, and the run's plots inline as PNG data.
It is built from the result alone (:class:`~leedl_grader.model.SubmissionResult`), so it cannot
contain a hidden check's code or the reference. Every piece of text is escaped, and a
Content-Security-Policy allows neither scripts nor any load but inline images.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from ..judge.printed import PRINTED
from ..judge.results import atomic_write
from ..model import Outcome, SubmissionResult
from .text import file_stem

COLOR = {
    Outcome.PASSED: "#1a7f37", Outcome.PARTIAL: "#9a6700", Outcome.FAILED: "#cf222e", Outcome.ERROR: "#cf222e",
    Outcome.TIMEOUT: "#8250df", Outcome.MEMORY: "#8250df", Outcome.FORBIDDEN: "#a40e26",
    Outcome.MISSING: "#6e7781", Outcome.CRASHED: "#8250df",
}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.meta{color:#57606a} .total{font-size:1.6rem;font-weight:600}
table{border-collapse:collapse;width:100%} td,th{padding:.3rem .5rem;border-bottom:1px solid #eaeef2;
text-align:left;vertical-align:top} td.pts{text-align:right;white-space:nowrap}
.outcome{font-weight:600;white-space:nowrap}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.4rem .6rem;margin:.2rem 0;
border-radius:4px;font-size:13px} .speed{color:#0969da} img{max-width:100%;border:1px solid #d0d7de}
"""


def _pts(x: float) -> str:
    return f"{x:g}"


def _outcome(o: Outcome) -> str:
    return f'<span class="outcome" style="color:{COLOR[o]}">{escape(o.value)}</span>'


def page(result: SubmissionResult, plots: list[tuple[str, bytes]] = ()) -> str:
    """The feedback page of one result; ``plots``: (caption, PNG bytes) pairs shown inline."""
    e = escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(result.assignment)} — {e(result.student)}</title><style>{STYLE}</style></head><body>",
        f'<h1 id="title">{e(result.assignment)} — <span id="student">{e(result.student)}</span></h1>',
        f'<p class="total" id="total">{_pts(result.score)} / {_pts(result.max_score)}</p>',
        f'<p class="meta">seed {result.seed} · sandbox {e(result.sandbox)} · device {e(result.device)} · '
        f"leedl {e(result.leedl_version)} · {result.execution_time:.1f} s</p>",
    ]
    for note in result.notes:
        parts.append(f'<p class="note"><b>note:</b> {e(note)}</p>')
    parts += ['<h2>Exercises</h2><table id="exercises"><tr><th>exercise</th><th>outcome</th>'
              '<th class="pts">points</th></tr>']
    for ex in result.exercises():
        parts.append(f'<tr data-exercise="{e(ex.name)}"><td><a href="#ex-{e(ex.name)}">{e(ex.name)}</a></td>'
                     f'<td>{_outcome(ex.outcome)}</td><td class="pts">{_pts(ex.score)}/{_pts(ex.max_score)}</td></tr>')
    parts.append("</table>")
    for ex in result.exercises():
        parts.append(f'<h2 id="ex-{e(ex.name)}">{e(ex.name)} — {_pts(ex.score)}/{_pts(ex.max_score)}</h2>')
        parts.append('<table class="checks"><tr><th>check</th><th>outcome</th><th class="pts">points</th>'
                     "<th>what differs</th></tr>")
        for r in (r for r in result.results if r.exercise == ex.name):
            hidden = "" if r.visibility == "visible" else " <small>(hidden)</small>"
            detail = f"<pre>{e(r.message)}</pre>" if r.message else ""
            if r.output and r.visibility == "visible":  # a hidden check's prints may echo hidden inputs
                detail += f'<div class="printed">{e(PRINTED)}</div><pre>{e(r.output)}</pre>'
            if r.ratio is not None:
                detail += f'<div class="speed">speed: {r.ratio:.2f}× the yardstick\'s time</div>'
            parts.append(f'<tr class="check" data-outcome="{r.outcome.value}"><td>{e(r.name)}{hidden}</td>'
                         f"<td>{_outcome(r.outcome)}</td><td class=\"pts\">{_pts(r.score)}/{_pts(r.max_score)}</td>"
                         f"<td>{detail}</td></tr>")
        parts.append("</table>")
    if plots:
        parts.append('<h2>Plots</h2><div id="plots">')
        for caption, png in plots:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{e(caption)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def student_plots(plots_dir: Path | None, student: str) -> list[tuple[str, bytes]]:
    """PNGs of ``plots_dir/<student>/`` (as ``leedl grade --plots`` writes them)."""
    if plots_dir is None:
        return []
    folder = Path(plots_dir) / file_stem(student)
    return [(p.stem, p.read_bytes()) for p in sorted(folder.glob("*.png"))] if folder.is_dir() else []


def write(graded: list[SubmissionResult], out: Path, plots_dir: Path | None = None) -> list[Path]:
    """``out/<student>.html`` for every result."""
    written = []
    for r in graded:
        path = Path(out) / f"{file_stem(r.student)}.html"
        atomic_write(path, page(r, student_plots(plots_dir, r.student)))
        written.append(path)
    return written
