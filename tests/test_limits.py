"""Every limit per sandbox, a judge no reply can hurt, cheap hangs: bounded hostile submissions
(tests/bounded/, see its README) graded for real in one strict batch beside honest bystanders."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sandbox_util import require_strict
from test_hostile import HOSTILE, _course

from leedl_grader.cli import main
from leedl_grader.sandbox import cgroup

BOUNDED = Path(__file__).resolve().parent / "bounded"
CASES = sorted(d.name for d in BOUNDED.iterdir() if d.is_dir() and not d.name.startswith("_"))
BYSTANDERS = ("honest_a", "honest_b", "honest_c")
LIMITS = {"memory_mb": 384, "nproc": 32}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_strict()
    base = tmp_path_factory.mktemp("bounded")
    course = _course(base / "course")
    toml = course / "assignments" / "ch99_demo" / "chapter.toml"
    text = toml.read_text().split("\n[limits]\n")[0]  # ours replace the hostile course's
    toml.write_text(text + "\n[limits]\n" + "".join(f"{k} = {v}\n" for k, v in LIMITS.items()))
    ref = course / "solutions" / "ch99_demo"
    subs = base / "subs"
    for case in CASES:
        shutil.copytree(BOUNDED / case, subs / case)
    shutil.copytree(HOSTILE / "_baseline", subs / "baseline")
    for honest in BYSTANDERS:
        (subs / honest).mkdir()
        for f in ("ops.py", "util.py"):
            shutil.copy(ref / f, subs / honest / f)
    out = base / "out"
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(out), "--jobs", "2",
                                  "--course", str(course), "--seed", "5"], catch_exceptions=False)
    elapsed = time.monotonic() - t0
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    return dict(r=r, out=out, results=results, elapsed=elapsed)


def outcomes(result, exercise):
    return {t["outcome"] for t in result["tests"] if t["exercise"] == exercise}


def messages(result, exercise):
    return " ".join(t["output"] for t in result["tests"] if t["exercise"] == exercise)


def test_bystanders_lose_nothing(graded):
    assert graded["r"].exit_code == 0, graded["r"].output
    res = graded["results"]
    assert set(res) == set(CASES) | set(BYSTANDERS) | {"baseline"}
    for honest in BYSTANDERS:
        assert res[honest]["score"] == res[honest]["max_score"] == 8, res[honest]
    assert not any(r["judge_faults"] for r in res.values())
    assert "grader faults" not in graded["r"].output


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("reply_")])
def test_a_malformed_reply_is_the_students_crash(graded, case):
    res = graded["results"][case]
    assert outcomes(res, "util.halve") == {"crashed"}, res["tests"]
    assert "reply that cannot be graded" in messages(res, "util.halve")
    assert outcomes(res, "ops.double") <= {"passed", "failed"}  # the other exercises ran as usual


def test_the_memory_cap_is_per_sandbox_or_ci_fails():
    b, why = cgroup.backend()
    if b is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must enforce a per-sandbox memory cap and this machine offers none: {why}")
        pytest.skip(f"no per-sandbox memory cap here: {why}")


@pytest.mark.parametrize("case", ["mem_fork", "mem_memfd", "mem_scratch"])
def test_memory_of_all_processes_shared_memory_and_scratch_is_capped(graded, case):
    test_the_memory_cap_is_per_sandbox_or_ci_fails()
    res = graded["results"][case]
    assert outcomes(res, "util.halve") == {"memory"}, messages(res, "util.halve")
    assert "384 MiB" in messages(res, "util.halve")
    assert res["usage"]["memory_peak_mb"] <= LIMITS["memory_mb"] + 1
    assert any("cgroup" in e and "384 MiB" in e for e in res["enforced"])
    assert outcomes(res, "ops.double") <= {"passed", "failed"}


def test_processes_are_capped_per_sandbox(graded):
    test_the_memory_cap_is_per_sandbox_or_ci_fails()
    res = graded["results"]["pids_bomb"]
    (msg,) = [t["output"] for t in res["tests"] if t["exercise"] == "util.halve"]
    made = int(msg.split("shape (", 1)[1].split(",")[0])  # it returns as many values as it forked
    assert 0 < made < LIMITS["nproc"], msg


def test_cpu_of_every_process_counts(graded):
    test_the_memory_cap_is_per_sandbox_or_ci_fails()
    res = graded["results"]["cpu_children"]
    assert outcomes(res, "util.halve") == {"timeout"}
    # The children's CPU counts, though the first process only slept (the margin is small: on a
    # busy machine four spinning children may get a fraction of one core for the 5 s the check lasts).
    base = graded["results"]["baseline"]["usage"]["cpu_s"]
    assert res["usage"]["cpu_s"] > base + 0.3, (res["usage"], base)


def test_a_hang_costs_little(graded):
    res = graded["results"]
    one, every, honest = res["hang_one"], res["hang_everywhere"], res["honest_a"]
    assert outcomes(one, "ops.double") == {"timeout"}
    assert one["score"] == one["max_score"] - sum(t["max_score"] for t in one["tests"] if t["exercise"] == "ops.double")
    assert all(outcomes(every, e) == {"timeout"} for e in ("ops.double", "ops.softplus", "util.halve"))
    # limits follow the reference (a fraction of a second here): the floor
    assert all(t["duration"] < 6 for t in one["tests"]), one["tests"]
    assert one["execution_time"] - honest["execution_time"] < 30
    assert every["execution_time"] < 180
    record = json.loads((graded["out"] / ".leedl" / "batch.json").read_text())
    assert record["seed"] == 5 and record["time_limits"]["budget_s"] >= 120
    assert set(record["time_limits"]["per_check"]) == {f"{t['visibility']}:{t['exercise']}:{t['name']}"
                                                       for t in honest["leedl"]["results"]}


def test_no_address_space_limit_under_a_memory_cap(graded):
    test_the_memory_cap_is_per_sandbox_or_ci_fails()
    res = graded["results"]["reserve_address_space"]
    assert outcomes(res, "util.halve") == {"passed"}, messages(res, "util.halve")
