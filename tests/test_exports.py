"""Exports: Canvas, Moodle and plain gradebooks, JUnit XML and HTML feedback, from results.

Built from hand-made results (no grading needed), with hostile student text in every field an
export writes: formulas, markup, control characters.
"""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from leedl_grader.cli import main
from leedl_grader.exports import html, junit, lms
from leedl_grader.exports.text import FORMULA_START, csv_cell, xml_text
from leedl_grader.judge import results
from leedl_grader.model import CheckResult, Outcome, SubmissionResult

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)> =SUM(A1) \x1b[31m\x00 & "q"'


def _result(student, rows, notes=()):
    rs = tuple(CheckResult(name, ex, outcome, score, mx, msg, vis, duration=0.25, ratio=ratio)
               for name, ex, outcome, score, mx, msg, vis, ratio in rows)
    return SubmissionResult(student, "ch77_demo", 42, "strict", "0.1.0", rs, 3.5, notes=tuple(notes))


FULL = [
    ("values", "ops.add", Outcome.PASSED, 2.0, 2.0, "", "visible", None),
    ("speed", "ops.add", Outcome.PASSED, 1.0, 1.0, "", "hidden", 1.25),
    ("values", "ops.mul", Outcome.PASSED, 3.0, 3.0, "", "hidden", None),
]
BROKEN = [
    ("values", "ops.add", Outcome.FAILED, 0.0, 2.0,
     "sum (3, 4) float64: max abs err 0.5 at [1, 2] (got 1.5, want 1.0), tolerance 1e-12", "visible", None),
    ("speed", "ops.add", Outcome.PARTIAL, 0.5, 1.0, "slower than the band", "hidden", 3.5),
    ("values", "ops.mul", Outcome.ERROR, 0.0, 3.0, "ValueError: " + EVIL, "hidden", None),
]
CRASHED = [
    ("values", "ops.add", Outcome.MISSING, 0.0, 2.0, "ops.py is missing from the submission", "visible", None),
    ("speed", "ops.add", Outcome.TIMEOUT, 0.0, 1.0, "took longer than 20 s", "hidden", None),
    ("values", "ops.mul", Outcome.CRASHED, 0.0, 3.0, "the process exited (os._exit(3))", "hidden", None),
]


@pytest.fixture
def graded():
    return [_result("ann", FULL), _result("bob", BROKEN, notes=[EVIL]), _result("@cat", CRASHED)]


@pytest.fixture
def results_dir(tmp_path, graded):
    d = tmp_path / "grades"
    for r in graded:
        results.write_result(d, r)
    results.atomic_write(d / ".leedl" / "batch.json", '{"seed": 42}\n')  # the class record: not a result
    return d


def _rows(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _no_formula(rows):
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell


def test_csv_cell_neutralises_every_formula_start():
    for start in FORMULA_START:
        assert csv_cell(start + "1+1") == "'" + start + "1+1"
    assert csv_cell("alice") == "alice" and csv_cell(None) == ""
    assert xml_text("a\x00b\x1bc\td") == "a\ufffdb\ufffdc\td"


def test_canvas_gradebook_columns_roster_and_unmatched(tmp_path, graded):
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufefffolder,Student,ID,SIS User ID,SIS Login ID,Section\n"
                      'ann,"Ann, A.",101,s101,ann,S1\n'
                      "bob,=cmd|' /C calc'!A0,102,s102,+bob,S1\n"
                      "zoe,Zoe,103,s103,zoe,S2\n", encoding="utf-8")
    rep = lms.canvas(graded, lms.load_roster(roster), tmp_path / "canvas.csv", title="Chapter 77",
                     assignment_id="5531")
    rows = _rows(rep.path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 77 (5531)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "6"]
    assert rows[2] == ["Ann, A.", "101", "s101", "ann", "S1", "6"]
    assert rows[3] == ["'=cmd|' /C calc'!A0", "102", "s102", "'+bob", "S1", "0.5"]
    assert rows[4] == ["Zoe", "103", "s103", "zoe", "S2", ""]  # on the roster, no result: left empty
    assert rep.missing == ("zoe",) and rep.unknown == ("@cat",)
    assert rep.written == 2
    side = _rows(tmp_path / "canvas.unmatched.csv")
    assert side == [["folder", "total", "max"], ["'@cat", "0", "6"]]
    _no_formula(rows + side)


def test_moodle_gradebook_identifier_then_grade_items(tmp_path, graded):
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,Email address\nann,ann@uni.edu\nbob,bob@uni.edu\n@cat,-cat@uni.edu\n")
    rep = lms.moodle(graded, lms.load_roster(roster), tmp_path / "moodle.csv", title="ch77", per_exercise=True)
    rows = _rows(rep.path)
    assert rows[0] == ["Email address", "ch77", "ch77: ops.add", "ch77: ops.mul"]
    assert rows[1:] == [["ann@uni.edu", "6", "3", "3"], ["bob@uni.edu", "0.5", "0.5", "0"],
                        ["'-cat@uni.edu", "0", "0", "0"]]
    assert rep.unknown == () and rep.missing == ()
    assert not (tmp_path / "moodle.unmatched.csv").exists()


def test_roster_errors_are_one_clear_line(tmp_path, graded):
    bad = tmp_path / "r.csv"
    bad.write_text("name,ID\nann,1\n")
    with pytest.raises(Exception, match="folder"):
        lms.load_roster(bad)
    bad.write_text("folder,ID\nann,1\nann,2\n")
    with pytest.raises(Exception, match="already on line 2"):
        lms.load_roster(bad)
    bad.write_text("folder,Name\nann,Ann\n")
    with pytest.raises(Exception, match="Email address"):
        lms.moodle(graded, lms.load_roster(bad), tmp_path / "m.csv", title="t")
    with pytest.raises(Exception, match="Canvas identity"):
        lms.canvas(graded, lms.load_roster(bad), tmp_path / "c.csv", title="t")


def test_junit_one_testcase_per_check_outcomes_and_times(tmp_path, graded):
    path = junit.write(graded, tmp_path / "junit.xml", name="leedl ch77")
    root = ET.parse(path).getroot()  # parses: the control characters of student text are gone
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("9", "2", "3", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"ann", "bob", "@cat"}
    for s in suites.values():
        cases = s.findall("testcase")
        assert len(cases) == 3 == int(s.get("tests"))
        assert float(s.get("time")) == pytest.approx(0.75)
        for c in cases:
            assert c.get("name") and c.get("classname").startswith(f"ch77_demo.{s.get('name')}.")
            assert float(c.get("time")) == pytest.approx(0.25)
    kinds = {s: [[ch.tag for ch in c if ch.tag != "system-out"] for c in suites[s].findall("testcase")]
             for s in suites}
    assert kinds == {"ann": [[], [], []], "bob": [["failure"], ["failure"], ["error"]],
                     "@cat": [["skipped"], ["error"], ["error"]]}
    bob = suites["bob"].findall("testcase")
    assert bob[1].find("failure").get("type") == "partial" and "3.50x" in bob[1].find("failure").text
    assert "max abs err 0.5" in bob[0].find("failure").text
    assert "<script>" in bob[2].find("error").text  # escaped on the wire, text once parsed
    assert "<script>" not in path.read_text()
    assert suites["@cat"].findall("testcase")[2].find("error").get("type") == "crashed"


def test_html_page_escapes_and_holds_no_resource_or_script(graded):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    text = html.page(graded[1], plots=[("filters <b>", png)])
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    assert "http://" not in text and "https://" not in text and "<link" not in text
    assert "data:image/png;base64," in text and "filters &lt;b&gt;" in text
    assert "max abs err 0.5 at [1, 2]" in text and "3.50× the yardstick" in text


def test_export_cli_writes_every_format(tmp_path, results_dir):
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,Student,ID,Email address\nann,Ann,1,a@x\nbob,Bob,2,b@x\ndan,Dan,4,d@x\n")
    runner = CliRunner()
    for fmt, out in (("canvas", "c.csv"), ("moodle", "m.csv"), ("csv", "g.csv"), ("junit", "j.xml"),
                     ("html", "feedback")):
        args = ["export", fmt, str(results_dir), "--out", str(tmp_path / out)]
        if fmt != "junit" and fmt != "html":
            args += ["--roster", str(roster)]
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
        assert "wrote" in res.output
        if fmt != "junit" and fmt != "html":
            assert "unknown: @cat" in res.output
            assert "missing: dan" in res.output
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == ["@cat.html", "ann.html", "bob.html"]
    assert _rows(tmp_path / "g.csv")[0][:5] == ["folder", "Student", "ID", "Email address", "total"]
    res = runner.invoke(main, ["export", "canvas", str(results_dir), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "--roster" in res.output
    res = runner.invoke(main, ["export", "csv", str(tmp_path), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "no results" in res.output


def test_result_files_keep_duration_and_kind(tmp_path, graded):
    r = graded[1]
    back = results.read_result(results.write_result(tmp_path, r))
    assert [(c.duration, c.kind) for c in back.results] == [(c.duration, c.kind) for c in r.results]


def test_leedl_gradebook_neutralises_formula_names(graded):
    rows = list(csv.reader(io.StringIO(results.gradebook_csv(graded, ["ops.add", "ops.mul"]))))
    _no_formula(rows)
    assert rows[1][0] == "'@cat"


def test_grade_plots_land_per_student_and_inline_in_html(tmp_path, graded):
    """``leedl grade --plots DIR``: a check's pictures go to DIR/<student>/, and the HTML page embeds them."""
    pytest.importorskip("matplotlib")
    import types

    import torch

    from leedl_grader.judge.context import Context
    from leedl_grader.judge.runner import JudgeOptions
    from leedl_grader.model import Check

    judge = types.SimpleNamespace(options=JudgeOptions(mode="strict", plots_dir=str(tmp_path / "plots" / "{student}")),
                                  chapter=types.SimpleNamespace(name="ch77_demo"), student="bob")
    ctx = Context(judge, Check("c", "ops.add", 1.0, fn=lambda c: None), 0, None, {})
    ctx.artifact({"confusion": torch.eye(3) * 5, "accuracy": 0.9})
    saved = list((tmp_path / "plots" / "bob").glob("*.png"))
    assert saved and not (tmp_path / "plots" / "{student}").exists()
    pictures = html.student_plots(tmp_path / "plots", "bob")
    assert [p[1] for p in pictures] == [saved[0].read_bytes()]
    page = html.page(graded[1], pictures)
    assert page.count('<img alt="') == 1 and "data:image/png;base64," in page
