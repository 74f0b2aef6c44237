"""`leedl grade`: result files, gradebook, reruns, seeds, zips, broken submissions."""

import csv
import json
import zipfile

from click.testing import CliRunner
from conftest import GOOD_OPS, write_submission

from leedl_grader.cli import main

BAD_OPS = GOOD_OPS.replace("return x * 2", "return x * 2 + 1e-3")


def grade(*args):
    r = CliRunner().invoke(main, ["grade", "ch99", *map(str, args)], catch_exceptions=False)
    return r


def test_result_files_are_gradescope_results_and_gradebook(course, tmp_path):
    subs = tmp_path / "subs"
    write_submission(subs, "alice", GOOD_OPS)
    write_submission(subs, "bob", BAD_OPS)
    write_submission(subs, "carol", "def double(x):\n    return x *\n")  # syntax error
    r = grade(subs, "--out", tmp_path / "out", "--seed", "5")
    assert r.exit_code == 0, r.output  # exit 0 whatever the students scored
    alice = json.loads((tmp_path / "out" / "alice.json").read_text())
    for key in ("student", "assignment", "score", "max_score", "execution_time", "leedl_version", "seed",
                "sandbox", "tests"):
        assert key in alice
    assert alice["score"] == alice["max_score"] == 7 and alice["seed"] == 5
    for t in alice["tests"]:
        assert set(t) >= {"name", "exercise", "score", "max_score", "status", "outcome", "output", "visibility"}
        assert t["status"] == "passed" and t["visibility"] in ("visible", "after_published")
    bob = json.loads((tmp_path / "out" / "bob.json").read_text())
    failed = [t for t in bob["tests"] if t["outcome"] == "failed"]
    assert failed and all(t["status"] == "failed" for t in failed)
    assert "max abs error" in failed[0]["output"]
    hidden = [t for t in bob["tests"] if t["visibility"] == "after_published"]
    assert hidden and all("def " not in t["output"] and "assert_close" not in t["output"] for t in hidden)
    carol = json.loads((tmp_path / "out" / "carol.json").read_text())
    assert {t["outcome"] for t in carol["tests"]} == {"error"}
    assert "SyntaxError" in carol["tests"][0]["output"]
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol"]
    assert rows[0]["total"] == "7" and rows[0]["max"] == "7"
    assert set(rows[0]) == {"student", "total", "max", "ops.double", "ops.softplus"}
    assert rows[1]["ops.softplus"] == "3" and float(rows[1]["ops.double"]) < 4
    assert "gradebook" in r.output and "totals" in r.output


def test_rerun_skips_unchanged_and_regrades_changed(course, tmp_path):
    subs = tmp_path / "subs"
    write_submission(subs, "alice", GOOD_OPS)
    bob = write_submission(subs, "bob", GOOD_OPS)
    out = tmp_path / "out"
    assert grade(subs, "--out", out).exit_code == 0
    seed = json.loads((out / "alice.json").read_text())["seed"]
    r = grade(subs, "--out", out)
    assert "2 unchanged" in r.output
    assert json.loads((out / "alice.json").read_text())["seed"] == seed  # the folder's seed is reused
    (bob / "ops.py").write_text(BAD_OPS)
    r = grade(subs, "--out", out)
    assert "1 unchanged" in r.output
    assert json.loads((out / "bob.json").read_text())["score"] < 7
    hidden = course / "assignments" / "ch99_demo" / "hidden" / "test_inputs.py"
    hidden.write_text(hidden.read_text() + "\n# changed\n")
    assert "(not regraded)" not in grade(subs, "--out", out).output  # new hidden tests: regrade all
    assert "(not regraded)" not in grade(subs, "--out", out, "--force").output


def test_seed_reproduces_and_another_seed_changes_inputs(course, tmp_path):
    subs = tmp_path / "subs"
    write_submission(subs, "bob", GOOD_OPS.replace("return x * 2", "return x * 2.001"))

    def messages(seed, out):
        assert grade(subs, "--out", tmp_path / out, "--seed", seed).exit_code == 0
        d = json.loads((tmp_path / out / "bob.json").read_text())
        return [(t["name"], t["score"], t["output"]) for t in d["tests"]]

    a, b, c = messages(1, "a"), messages(1, "b"), messages(2, "c")
    assert a == b
    assert a != c  # the failure messages quote values drawn from the seed


def test_zips_and_broken_entries_cost_only_their_student(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "dan.zip", "w") as z:
        z.writestr("dan-work/ops.py", GOOD_OPS)
    (subs / "eve.zip").write_bytes(b"not a zip at all")
    with zipfile.ZipFile(subs / "mallory.zip", "w") as z:
        z.writestr("../../escaped.py", "x = 1")
    write_submission(subs, "zed", GOOD_OPS)
    r = grade(subs, "--out", tmp_path / "out")
    assert r.exit_code == 0
    score = {p.stem: json.loads(p.read_text())["score"] for p in (tmp_path / "out").glob("*.json")}
    assert score == {"dan": 7, "eve": 0, "mallory": 0, "zed": 7}
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path / "subs" / "escaped.py").exists()
    eve = json.loads((tmp_path / "out" / "eve.json").read_text())
    assert "not a readable zip" in eve["output"]


def test_hanging_and_exiting_students_do_not_stop_the_batch(course, tmp_path):
    subs = tmp_path / "subs"
    write_submission(subs, "hang", GOOD_OPS.replace("return x * 2", "while True:\n        pass"))
    write_submission(subs, "quit", "import os\n" + GOOD_OPS.replace("return x * 2", "os._exit(0)"))
    write_submission(subs, "ok", GOOD_OPS)
    r = grade(subs, "--out", tmp_path / "out", "--jobs", "2")
    assert r.exit_code == 0
    hang = json.loads((tmp_path / "out" / "hang.json").read_text())
    by = {t["name"]: t for t in hang["tests"]}
    assert by["ops.double: double_float64"]["outcome"] == "timeout"
    assert by["ops.softplus: softplus_grad"]["outcome"] == "passed"  # a fresh worker for the next check
    quit_ = json.loads((tmp_path / "out" / "quit.json").read_text())
    assert {t["outcome"] for t in quit_["tests"] if t["exercise"] == "ops.double"} == {"crashed"}
    assert json.loads((tmp_path / "out" / "ok.json").read_text())["score"] == 7


def test_unknown_chapter_is_a_clear_error(course, tmp_path):
    r = CliRunner().invoke(main, ["grade", "ch42", str(tmp_path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "no chapter 'ch42'" in r.output and "Traceback" not in r.output
