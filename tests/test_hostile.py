"""Hostile submissions (tests/hostile/, see its README), graded for real in one strict batch:
none gains a mark, none changes anything outside its own result, none leaves a process."""

import json
import os
import shutil
import site
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURE_COURSE
from sandbox_util import descends_from, require_strict, sandbox_processes, subreaper

from leedl_grader.cli import main
from leedl_grader.judge.submissions import tree_hash
from leedl_grader.sandbox import modes as sandbox

HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = sorted(d.name for d in HOSTILE.iterdir() if d.is_dir() and not d.name.startswith("_"))
EVASIONS = [c for c in CASES if c.startswith("evade_")]
ATTACKS = [c for c in CASES if not c.startswith("evade_")] + ["symlink_reference", "zip_escape"]
FLAGS = [Path("/tmp") / f"leedl-hostile-{n}.flag" for n in ("detached", "writes", "pytest", "init", "root")]
BYSTANDERS = {"undecodable": ("util.halve",), "unlisted_helper": ("ops.double",)}  # honest code beside an attack
HOME_FLAG = Path.home() / "leedl-hostile.flag"
PTH = [Path(p) / "leedl_hostile.pth" for p in site.getsitepackages() + [sys.prefix]]


def _course(dest: Path) -> Path:
    """The fixture course plus a second file (util.py: util.halve, no "must not call" list)."""
    shutil.copytree(FIXTURE_COURSE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    ch, extra = dest / "assignments" / "ch99_demo", HOSTILE / "_course_extra"
    toml = (ch / "chapter.toml").read_text().replace('"ops.softplus"]', '"ops.softplus", "util.halve"]')
    # A small memory cap per sandbox: the memory hog stops at it, holding little of the machine.
    (ch / "chapter.toml").write_text(toml + "\n[limits]\nmemory_mb = 512\n")
    shutil.copy(extra / "util_stub.py", ch / "util.py")
    shutil.copy(extra / "test_util.py", ch / "hidden" / "test_util.py")
    shutil.copy(extra / "util.py", dest / "solutions" / "ch99_demo" / "util.py")
    return dest


@pytest.fixture(scope="module", params=["strict", "uid"])
def graded(tmp_path_factory, request):
    """The batch in the strict sandbox, and again with namespaces forced off as root: the uid
    boundary (leedl_grader.sandbox.uid_mode) must hold against every attack too."""
    mode = request.param
    if mode == "strict":
        require_strict()
    elif os.geteuid() != 0:
        pytest.skip("the uid boundary needs root")
    patch = pytest.MonkeyPatch()
    if mode == "uid":
        patch.setattr(sandbox, "strict_available", lambda: (False, "namespaces forced off for this test"))
    try:
        return _graded(tmp_path_factory, mode)
    finally:
        patch.undo()


def _graded(tmp_path_factory, mode):
    base = tmp_path_factory.mktemp(f"hostile_{mode}")
    course = _course(base / "course")
    ref = course / "solutions" / "ch99_demo"
    subs = base / "subs"
    for case in CASES:
        shutil.copytree(HOSTILE / case, subs / case)
    shutil.copytree(HOSTILE / "_baseline", subs / "baseline")  # returns zeros: what earns nothing
    shutil.copytree(HOSTILE / "_honest_settings", subs / "honest_settings")  # BOM and plain settings
    for honest in ("honest", "neighbour"):
        (subs / honest).mkdir()
        for f in ("ops.py", "util.py"):
            shutil.copy(ref / f, subs / honest / f)
    (subs / "symlink_reference").mkdir()
    for f in ("ops.py", "util.py"):
        (subs / "symlink_reference" / f).symlink_to(ref / f)
    with zipfile.ZipFile(subs / "zip_escape.zip", "w") as z:
        z.writestr("../../escaped.py", "x = 1\n")
        z.writestr("../neighbour/ops.py", "def double(x):\n    return x * 0\n")
        z.writestr("zip_escape/ops.py", "def double(x):\n    return x * 0\n")
    for p in FLAGS + PTH + [HOME_FLAG]:
        p.unlink(missing_ok=True)
    before = {"course": tree_hash([course]), "subs": tree_hash([subs])}
    out = base / "out"
    t0 = time.monotonic()
    subreaper(True)
    try:
        r = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(out), "--jobs", "2",
                                      "--course", str(course), "--seed", "3"], catch_exceptions=False)
        elapsed = time.monotonic() - t0
        survivors = ours()
    finally:
        subreaper(False)
    snapshot = {str(p): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    time.sleep(1.5)  # longer than the detached rewriter waits
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    return dict(r=r, base=base, course=course, subs=subs, out=out, before=before, snapshot=snapshot,
                survivors=survivors, results=results, elapsed=elapsed, mode=mode)


def ours() -> list[tuple[int, int]]:
    """Sandbox processes that descend from this test (graders of other sessions may be running)."""
    return [(pid, uid) for pid, uid in sandbox_processes() if descends_from(pid, os.getpid())]


def checks_of(result, exercise=None):
    return [t for t in result["tests"] if exercise is None or t["exercise"] == exercise]


def test_batch_ran_strict_and_the_honest_reference_scores_full(graded):
    assert graded["r"].exit_code == 0, graded["r"].output
    res = graded["results"]
    assert set(res) == set(CASES) | {"baseline", "honest", "neighbour", "symlink_reference", "zip_escape",
                                     "honest_settings"}
    assert {r["sandbox"] for r in res.values()} == {graded["mode"]}
    for honest in ("honest", "neighbour", "honest_settings"):
        assert res[honest]["score"] == res[honest]["max_score"] == 8, res[honest]
    assert graded["elapsed"] < 150  # about 45 s on two idle cores; no attack may cost its full limits


@pytest.mark.parametrize("case", ATTACKS)
def test_no_attack_gains_a_mark(graded, case):
    """No check scores more than for a submission that returns zeros (some checks, such as
    "leaves its input alone", give zeros their points)."""
    base = {t["name"]: t["score"] for t in graded["results"]["baseline"]["tests"]}
    assert graded["results"]["baseline"]["score"] < 3
    tests = graded["results"][case]["tests"]
    honest = BYSTANDERS.get(case, ())  # honest exercises beside the attack keep their points
    gained = [(t["name"], t["outcome"], t["output"]) for t in tests
              if t["score"] > base[t["name"]] and t["exercise"] not in honest]
    assert gained == []


@pytest.mark.parametrize("case", EVASIONS)
def test_every_evasion_of_must_not_call_is_forbidden(graded, case):
    (t,) = checks_of(graded["results"][case], "ops.softplus")
    if case == "evade_runtime_patch":  # ops.py is graded in a process that never imported util.py
        assert t["outcome"] == "error" and t["score"] == 0 and "smooth_relu" in t["output"], t
        return
    assert t["outcome"] == "forbidden" and t["score"] == 0, t
    assert "softplus" in t["output"] or "dynamic access" in t["output"]
    assert "line " in t["output"] or ".py:" in t["output"]  # where


def test_each_attack_gets_the_outcome_of_what_it_did(graded):
    res = graded["results"]

    zeros_pass = {t["name"] for t in res["baseline"]["tests"] if t["outcome"] == "passed"}

    def outcome(case, ex):  # of the checks that test values (not those zeros pass)
        return {t["outcome"] for t in checks_of(res[case], ex) if t["name"] not in zeros_pass}

    assert outcome("infinite_loop", "util.halve") == {"timeout"}
    assert outcome("memory_hog", "util.halve") == {"memory"}
    assert outcome("exit_at_import_os", None) == {"crashed"}
    assert outcome("exit_at_import_sys", None) == {"error"}
    assert "sys.exit" in checks_of(res["exit_at_import_sys"])[0]["output"]
    assert outcome("exit_in_call", "ops.double") == {"error"}
    assert outcome("exit_in_call", "ops.softplus") == outcome("exit_in_call", "util.halve") == {"crashed"}
    assert outcome("snooping", "util.halve") == {"forbidden"}  # frames and gc reach the grader: refused
    assert outcome("read_reference", "ops.double") == {"failed"}
    assert outcome("symlink_reference", None) == {"missing"}
    assert outcome("zip_escape", None) == {"missing"}
    assert outcome("output_flood", "util.halve") == {"failed"}
    assert outcome("pytest_files", "ops.double") == {"failed"}
    # The scan reads what Python compiles; a file Python cannot decode costs its own exercises only.
    assert outcome("undecodable", "ops.double") == outcome("undecodable", "ops.softplus") == {"error"}
    assert all("cannot be decoded" in t["output"] for t in checks_of(res["undecodable"], "ops.double"))
    assert {t["outcome"] for t in checks_of(res["undecodable"], "util.halve")} == {"passed"}
    # A file may not reach the grader, the imported modules or the builtins, nor patch torch.
    for case in ("sibling_replaces_function", "patch_grader", "patch_torch"):
        assert outcome(case, "util.halve") == {"forbidden"}, case
        assert outcome(case, "ops.double") | outcome(case, "ops.softplus") == {"missing"}, case
    assert "sys.modules" in checks_of(res["patch_grader"], "util.halve")[0]["output"]
    assert outcome("unlisted_helper", "ops.softplus") == {"forbidden"}
    assert "helper.py" in checks_of(res["unlisted_helper"], "ops.softplus")[0]["output"]
    assert outcome("unlisted_helper", "ops.double") == {"passed"}


def test_nothing_outside_its_own_result_changed(graded):
    assert tree_hash([graded["course"]]) == graded["before"]["course"]
    assert tree_hash([graded["subs"]]) == graded["before"]["subs"]  # other students' files included
    after = {str(p): p.read_bytes() for p in graded["out"].rglob("*") if p.is_file()}
    assert after == graded["snapshot"]  # nothing rewrote a result after the batch
    assert all(b'"score": 999' not in v for v in after.values())  # what the detached rewriter writes
    leaked = [p for p in FLAGS + PTH + [HOME_FLAG] if p.exists()]
    for p in leaked:
        p.unlink()
    assert leaked == []
    assert not (graded["base"] / "escaped.py").exists() and not (graded["subs"].parent / "escaped.py").exists()


def test_no_process_of_any_submission_survives(graded):
    assert graded["survivors"] == []
    assert ours() == []
