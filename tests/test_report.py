"""Rendering: fixed-width consoles, compared with what a reader sees."""

import io

from rich.console import Console

from leedl_grader import report
from leedl_grader.model import CheckResult, Outcome, SubmissionResult


def result(student="ann", outcomes=(Outcome.PASSED, Outcome.FAILED), ratio=None):
    rs = tuple(
        CheckResult(name=f"check{i}", exercise="ops.double" if i == 0 else "ops.softplus", outcome=o,
                    score=2.0 if o is Outcome.PASSED else 0.0, max_score=2.0,
                    message="" if o is Outcome.PASSED else "output: 1 of 5 values out of tolerance",
                    visibility="hidden", ratio=ratio if i == 0 else None)
        for i, o in enumerate(outcomes)
    )
    return SubmissionResult(student=student, assignment="ch99_demo", seed=7, sandbox="strict",
                            leedl_version="0.1.0", results=rs, execution_time=1.25)


def render(fn, *args, width=100, **kw) -> str:
    buf = io.StringIO()
    fn(*args, Console(file=buf, width=width, color_system=None, highlight=False), **kw)
    return buf.getvalue()


def test_submission_report_layout():
    out = render(report.render_submission, result(ratio=1.5))
    lines = out.splitlines()
    assert lines[0].rstrip() == "ch99_demo — ann"
    assert "│ ops.double   │ check0 (hidden) │ passed  │    2/2 │ [speed 1.50× the yardstick]" in out
    assert "│ ops.softplus │ check1 (hidden) │ failed  │    0/2 │ output: 1 of 5 values out of tolerance" in out
    assert "total 2/4   seed 7   strict sandbox (namespaces, own uid, no network)   1.2 s" in out
    assert "by exercise" in out


def test_fallback_sandbox_is_named_in_the_report():
    r = result()
    r = SubmissionResult(**{**r.__dict__, "sandbox": "process"})
    assert "separate process only (no strict isolation here)" in render(report.render_submission, r)


def test_batch_summary_and_histogram():
    rs = [result("ann"), result("bob", (Outcome.PASSED, Outcome.PASSED)),
          result("cy", (Outcome.TIMEOUT, Outcome.MISSING))]
    out = render(report.render_batch, rs, ["ops.double", "ops.softplus"])
    assert "│ bob     │   4/4 │ passed  │ —" in out
    assert "│ cy      │   0/4 │ timeout │ ops.double (0/2), ops.softplus (0/2)" in out
    assert "3 submissions, mean 2.0/4" in out
    hist = report.histogram([0, 2, 4], 4, bins=4, width=4)
    assert hist.plain.splitlines() == ["  0–25 % ████ 1", " 25–50 %  0", " 50–75 % ████ 1", " 75–100% ████ 1"]


def test_failed_only_table_hides_passed_rows():
    t = report.submission_table(result(), show_passed=False)
    buf = io.StringIO()
    Console(file=buf, width=100, color_system=None).print(t)
    assert "check0" not in buf.getvalue() and "check1" in buf.getvalue()
