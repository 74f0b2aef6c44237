"""`leedl check`: a student's self-check, in the course and in a released bundle."""

import json

from click.testing import CliRunner
from conftest import GOOD_OPS, write_submission

from leedl_grader.cli import main


def run(*args, **kw):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False, **kw)


def test_public_checks_pass_and_exit_zero(course, tmp_path):
    work = write_submission(tmp_path, "mine", GOOD_OPS)
    r = run("check", "ch99", work, "--json", tmp_path / "r.json")
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert [t["visibility"] for t in data["tests"]] == ["visible"]  # public checks only
    assert "1/1" in r.output


def test_failures_exit_one_with_a_diff(course, tmp_path):
    work = write_submission(tmp_path, "mine", GOOD_OPS.replace("return x * 2", "return x * 3"))
    r = run("check", "ch99", work)
    assert r.exit_code == 1
    assert "failed" in r.output and "max abs error" in r.output


def test_stubs_are_missing_not_errors(course, tmp_path):
    r = run("check", "ch99", course / "assignments" / "ch99_demo")
    assert r.exit_code == 1 and "1 exercise not implemented yet: ops.double" in r.output


def test_hidden_flag_runs_hidden_checks_for_instructors(course, tmp_path):
    work = write_submission(tmp_path, "mine", GOOD_OPS)
    r = run("check", "ch99", work, "--hidden", "--json", tmp_path / "r.json")
    assert r.exit_code == 0
    assert len(json.loads((tmp_path / "r.json").read_text())["tests"]) == 4


def test_check_inside_a_released_bundle_without_the_course(course, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    assert run("release", "ch99", "--out", bundle).exit_code == 0
    (bundle / "ch99_demo" / "ops.py").write_text(GOOD_OPS)
    monkeypatch.delenv("LEEDL_COURSE")
    monkeypatch.chdir(bundle)
    r = run("check", "ch99")
    assert r.exit_code == 0, r.output
    r = run("check", "ch99", "--hidden")
    assert r.exit_code == 1 and "instructors only" in r.output
