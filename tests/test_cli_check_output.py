"""`leedl check` as a student reads it: what the code printed, where it failed or hung, which
chapter was meant, and only the exercises asked for. Through the CLI, at 80 columns."""

import json
import sys

from click.testing import CliRunner
from conftest import GOOD_OPS, write_submission

from leedl_grader.cli import main
from leedl_grader.judge import results
from leedl_grader.model import CheckResult, Outcome


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False, env={"COLUMNS": "80"})


PRINTS = GOOD_OPS.replace("return x * 2", "print('[bold]x[/] \\x1b[31mred', x.shape)\n    return x * 3")


def test_what_a_failing_check_printed_is_shown_as_text_and_kept(course, tmp_path):
    work = write_submission(tmp_path, "mine", "print('at import')\n" + PRINTS)
    r = run("check", "ch99", work, "--json", tmp_path / "r.json")
    assert r.exit_code == 1
    assert all(len(line) <= 80 for line in r.output.splitlines()), r.output
    assert "printed by your code during this check:" in r.output
    assert "at import" in r.output  # a print at import goes with the file's first check
    assert "[bold]x[/] \\x1b[31mred torch.Size([4])" in r.output  # markup literal, the escape inert
    assert "\x1b" not in r.output
    data = json.loads((tmp_path / "r.json").read_text())
    (test,) = data["tests"]
    assert test["outcome"] == "failed" and "[bold]x[/] \x1b[31mred" in test["output"]
    (rec,) = data["leedl"]["results"]
    assert rec["output"] == "at import\n[bold]x[/] \x1b[31mred torch.Size([4])\n"  # the record keeps it as printed


def test_a_passing_check_keeps_no_output(course, tmp_path):
    work = write_submission(tmp_path, "mine", GOOD_OPS.replace("return x * 2", "print('hi')\n    return x * 2"))
    r = run("check", "ch99", work, "--json", tmp_path / "r.json")
    assert r.exit_code == 0 and "hi" not in r.output
    assert json.loads((tmp_path / "r.json").read_text())["leedl"]["results"][0]["output"] == ""


def test_hidden_prints_are_for_tas_only():
    def cr(visibility):
        return CheckResult(name="c", exercise="ops.double", outcome=Outcome.FAILED, score=0, max_score=1,
                           message="wrong", visibility=visibility, output="hidden input 42\n")

    assert "hidden input 42" not in results.test_json(cr("hidden"))["output"]  # what Gradescope shows the student
    assert "hidden input 42" in results.test_json(cr("visible"))["output"]
    r = cr("hidden")
    assert results.from_record(json.loads(json.dumps(to_record_of(r)))).results[0] == r  # lossless, output included


def to_record_of(check):
    from leedl_grader.model import SubmissionResult

    return results.to_record(SubmissionResult(student="s", assignment="ch99_demo", seed=1, sandbox="strict",
                                      leedl_version="0", results=(check,)))


def test_an_exception_shows_the_students_frames_and_the_inputs(course, tmp_path):
    src = GOOD_OPS.replace("return x * 2", "return _helper(x)") + "\n\ndef _helper(x):\n    return x[10]\n"
    work = write_submission(tmp_path, "mine", src)
    r = run("check", "ch99", work)
    assert r.exit_code == 1
    text = " ".join(r.output.split())
    assert "IndexError" in text
    assert "traceback (your code, innermost last):" in text
    assert "ops.py:7 in double: return _helper(x)" in text and "in _helper: return x[10]" in text
    assert "called with: Tensor(4,) float32" in text
    assert "leedl_grader" not in text  # no frame of the grader's


def test_an_infinite_loop_says_the_limit_and_the_line(course, tmp_path):
    src = GOOD_OPS.replace("return x * 2", "while True:\n        x = x + 0")
    work = write_submission(tmp_path, "mine", src)
    r = run("check", "ch99", work)
    assert r.exit_code == 1
    text = " ".join(r.output.split())
    assert "time limit exceeded: 5 s of wall time" in text
    assert any(f"the code was at ops.py:{n} in double when stopped (as its process reported)" in text for n in (7, 8))


def test_an_unknown_chapter_names_the_known_ones(course, tmp_path):
    r = CliRunner().invoke(main, ["check", "ch9"])
    assert r.exit_code == 1
    assert "no chapter 'ch9'" in r.output and "did you mean ch99?" in r.output and "known: ch99" in r.output


def test_k_selects_exercises_and_refuses_what_matches_nothing(course, tmp_path):
    work = write_submission(tmp_path, "mine", GOOD_OPS)
    r = run("check", "ch99", work, "--hidden", "-k", "softplus", "--json", tmp_path / "r.json")
    assert r.exit_code == 0, r.output
    assert {t["exercise"] for t in json.loads((tmp_path / "r.json").read_text())["tests"]} == {"ops.softplus"}
    r = run("check", "ch99", work, "-k", "dobule")
    assert r.exit_code == 1 and "did you mean ops.double?" in r.output


def test_a_missing_optional_package_names_the_install_command(course, tmp_path, monkeypatch):
    (course / "assignments" / "ch99_demo" / "public" / "test_data.py").write_text(
        "from leedl_grader.authoring.checks import check\n\n\n"
        "@check('ops.double', points=1)\ndef needs_a_data_set(ctx):\n"
        "    from sklearn.datasets import load_digits  # noqa: F401\n")
    for name in [m for m in list(sys.modules) if m.startswith("sklearn.")] + ["sklearn"]:
        # as on a machine without scikit-learn (its submodules too: an earlier test may have imported them)
        monkeypatch.setitem(sys.modules, name, None)
    work = write_submission(tmp_path, "mine", GOOD_OPS)
    r = run("check", "ch99", work, "--json", tmp_path / "r.json")
    assert r.exit_code == 1
    need = 'scikit-learn is not installed here, and this check needs it: pip install "leedl[course]"'
    assert need in " ".join(r.output.split())
    assert "grader fault" not in r.output and "the grader failed" not in r.output
    t = [t for t in json.loads((tmp_path / "r.json").read_text())["tests"] if t["outcome"] != "passed"]
    assert need in t[0]["output"]


def test_the_plots_hint_keeps_its_brackets(tmp_path):
    import io

    from rich.console import Console

    from leedl_grader import report

    buf = io.StringIO()
    report.render_plots(tmp_path / "none", Console(file=buf, width=80))
    assert 'pip install "leedl[plots]"' in " ".join(buf.getvalue().split())


def test_html_feedback_shows_public_prints_only(tmp_path):
    from leedl_grader.exports import html
    from leedl_grader.model import SubmissionResult

    def cr(name, visibility):
        return CheckResult(name=name, exercise="ops.double", outcome=Outcome.FAILED, score=0, max_score=1,
                           message="wrong", visibility=visibility, output=f"<b>{visibility} print</b>\n")

    r = SubmissionResult(student="ann", assignment="ch99_demo", seed=1, sandbox="strict", leedl_version="0",
                         results=(cr("a", "visible"), cr("b", "hidden")))
    html.write([r], tmp_path / "html")
    page = " ".join(p.read_text() for p in (tmp_path / "html").rglob("*.html"))
    assert "&lt;b&gt;visible print&lt;/b&gt;" in page and "hidden print" not in page
