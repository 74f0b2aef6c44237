"""Rendering: fixed-width consoles, compared with what a reader sees."""

import io

import pytest
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
    assert lines[1].split() == ["passed", "2/2", "ops.double"]
    assert lines[2].split() == ["failed", "0/2", "ops.softplus"]
    assert "failed ops.softplus · check1 (hidden) · 0/2" in out
    assert "  output: 1 of 5 values out of tolerance" in out
    assert "total 2/4   seed 7   1.2 s" in out
    assert "sandbox: strict sandbox (namespaces, own uid, no network)" in out


def test_fallback_sandbox_is_named_in_the_report():
    r = result()
    r = SubmissionResult(**{**r.__dict__, "sandbox": "process"})
    assert "separate process only (no strict isolation here)" in render(report.render_submission, r)


LONG = ("parameters after step[0][0]: 3 of 3 values out of tolerance; max abs error 0.09, max rel error "
        "0.564; worst at index [0]: got 0.4628220405, expected 0.5528220324 (tolerance: atol=1e-12, "
        "rtol=1e-12; shape (3,), dtype float64)")


def chapter_result():
    """A chapter as a student sees it midway: stubs, passes, a long numeric diff, a print."""
    def cr(ex, name, outcome, score, message="", output="", visibility="visible"):
        return CheckResult(name=name, exercise=ex, outcome=outcome, score=score, max_score=0.5, message=message,
                           visibility=visibility, output=output)

    stub = "not implemented yet (critical_points.py:28)"
    rs = [cr(f"critical_points.{n}", f"public_{n}_matches_autograd", Outcome.MISSING, 0, stub)
          for n in ("hessian", "taylor_approximation", "classify_critical_point", "escape_direction")]
    rs += [cr("optimizers.SGD", "public_sgd_matches_torch", Outcome.PASSED, 0.5),
           cr("optimizers.Adam", "public_adam_matches_torch_two_param_groups", Outcome.FAILED, 0, LONG,
              output="[bold]step[/] 1 \x1b[31mred\n"),
           cr("schedules.step_decay", "public_step_decay_matches_steplr", Outcome.TIMEOUT, 0,
              "time limit exceeded: 2 s"),
           cr("schedules.cosine_decay", "hidden_cosine", Outcome.FAILED, 0, "wrong", output="secret 42\n",
              visibility="hidden")]
    return SubmissionResult(student="self-check", assignment="ch01_optimization", seed=7, sandbox="strict",
                            leedl_version="0.1.0", results=tuple(rs), execution_time=3.0)


@pytest.mark.parametrize("width", [80, 120])
def test_check_report_fits_the_terminal_and_keeps_every_word(width):
    out = render(report.render_submission, chapter_result(), width=width)
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines), out
    assert "…" not in out  # no name or message cut
    assert "public_adam_matches_torch_two_param_groups" in out and "public_step_decay_matches_steplr" in out
    joined = " ".join(" ".join(lines).split())
    assert LONG in joined  # the whole message, wrapped on full-width lines
    # The four stubs are one line (wrapped where needed), never a block each.
    assert "4 exercises not implemented yet: critical_points.hessian, critical_points.taylor_approximation" in joined
    assert out.count("critical_points.py:28") == 0
    # The print, as text: markup literal, the escape visible and inert.
    assert "[bold]step[/] 1 \\x1b[31mred" in out and "\x1b" not in out
    assert "secret 42" in out  # the TA's own view (leedl check --hidden) shows hidden prints too
    summary = lines[1:7]
    assert [ln.split()[0] for ln in summary[:4]] == ["passed", "failed", "timeout", "failed"]
    if width == 80:
        # One block per failed check: its heading, then its message on lines of the full width.
        i = lines.index("failed optimizers.Adam · public_adam_matches_torch_two_param_groups · 0/0.5")
        assert lines[i + 1].startswith("  parameters after step[0][0]") and len(lines[i + 1]) > 70


def test_failed_only_hides_passes_and_stubs():
    out = render(report.render_submission, chapter_result(), width=80, failed_only=True)
    assert "optimizers.SGD" not in out and "not implemented yet" not in out
    assert "optimizers.Adam" in out and "schedules.step_decay" in out


def test_batch_summary_and_histogram():
    rs = [result("ann"), result("bob", (Outcome.PASSED, Outcome.PASSED)),
          result("cy", (Outcome.TIMEOUT, Outcome.MISSING))]
    out = render(report.render_batch, rs, ["ops.double", "ops.softplus"])
    assert "│ bob     │   4/4 │ passed  │ —" in out
    assert "│ cy      │   0/4 │ timeout │ all 2 exercises: nothing earned" in out
    assert "3 submissions, mean 2.0/4" in out
    hist = report.histogram([0, 2, 4], 4, bins=4, width=4)
    assert hist.plain.splitlines() == ["  0–25 % ████ 1", " 25–50 %  0", " 50–75 % ████ 1", " 75–100% ████ 1"]


def test_a_gradebook_row_names_a_few_lost_exercises_at_80_columns():
    """Six exercises lost out of seven: three named, then how many more (a row stays short)."""
    rs = tuple(CheckResult(name="c", exercise=f"ops.ex{i}", outcome=Outcome.FAILED if i else Outcome.PASSED,
                           score=0.0 if i else 1.0, max_score=1.0, message="") for i in range(7))
    sub = SubmissionResult(student="dee", assignment="ch99_demo", seed=1, sandbox="strict",
                           leedl_version="0.1.0", results=rs)
    out = render(report.render_batch, [sub], [f"ops.ex{i}" for i in range(7)], width=80)
    assert "│ dee     │   1/7 │ failed │ ops.ex1 (0/1), ops.ex2 (0/1), ops.ex3 (0/1) and 3 │" in out
    assert "more" in out and "ops.ex4" not in out and "ops.ex6" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
