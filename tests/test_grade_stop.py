"""`leedl grade` stopped by SIGINT/SIGTERM, once or twice, with one judge, a pool of two or a local
Dask cluster of two: within
5 s nothing of the run is left (judges, zygotes, monitors, sandboxes, cgroups), what finished is
kept, one line says how far it got, no traceback, exit 130/143. ``stop_harness.py`` runs the
batch as a child subreaper's descendant, so that every process it started is counted."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURE_COURSE, GOOD_OPS, REPO, write_submission
from sandbox_util import require_strict

HANG = GOOD_OPS.replace("return x * 2", "while True:\n        pass")
SEED = "7"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A course, a class (two quick students, then four that hang) and the class record with
    the time limits already measured (each run would otherwise grade the reference first)."""
    require_strict()
    root = tmp_path_factory.mktemp("stop")
    course = root / "course"
    shutil.copytree(FIXTURE_COURSE, course, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "LEEDL_COURSE": str(course), "PYTHONPATH": str(REPO)}
    warm = root / "warm"
    write_submission(warm, "w", GOOD_OPS)
    subprocess.run([sys.executable, "-m", "leedl_grader.cli", "grade", "ch99", str(warm), "--out",
                    str(root / "template"), "--seed", SEED], env=env, check=True, capture_output=True)
    subs = root / "subs"
    for name in ("a_ok", "b_ok"):
        write_submission(subs, name, GOOD_OPS)
    for name in ("c_hang", "d_hang", "e_hang", "f_hang"):
        write_submission(subs, name, HANG)
    return root, subs, env


def _brief(rep: dict) -> str:
    """What a failure needs to be understood, short enough for pytest not to cut it."""
    keys = ("ready", "exit_s", "gone_s", "rc", "left", "results_before", "results_after")
    return (json.dumps({k: rep.get(k) for k in keys}) + f"\ngroups left: {len(rep['groups'])} {rep['groups'][:2]}"
            f"\nstdout: {rep['stdout'][-1500:]}\nstderr: {rep['stderr'][-1500:]}")


@pytest.mark.parametrize("jobs,signals,scheduler", [(1, "INT", None), (1, "TERM,TERM", None), (2, "TERM", None),
                                                    (2, "INT,INT", None), (2, "INT", "local"),
                                                    (2, "TERM,TERM", "local")])
def test_a_stopped_run_leaves_nothing_and_keeps_what_finished(batch, jobs, signals, scheduler):
    if scheduler:
        pytest.importorskip("distributed")
    root, subs, env = batch
    out = root / f"out-{jobs}-{signals.replace(',', '-')}-{scheduler}"
    shutil.copytree(root / "template" / ".leedl", out / ".leedl")
    cmd = [sys.executable, str(Path(__file__).parent / "stop_harness.py"), signals, "1", "--", "ch99", str(subs),
           "--out", str(out), "--seed", SEED, "--jobs", str(jobs), *(["--scheduler", scheduler] if scheduler else [])]
    rep = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
    brief = _brief(rep)
    assert rep["ready"], brief
    assert rep["left"] == [] and rep["groups"] == [], brief  # nothing alive, no cgroup, 5 s after the signal
    assert rep["gone_s"] < 5.0, brief
    assert rep["rc"] == (130 if signals.startswith("INT") else 143), brief
    text = rep["stdout"] + rep["stderr"]
    assert "Traceback" not in text and "Error" not in text, text
    done = [n for n in rep["results_after"] if n != "grades.csv"]
    lines = [ln for ln in text.splitlines() if "rerun to resume" in ln]
    assert lines == [f"{len(done)} of 6 graded — rerun to resume"], text
    assert set(rep["results_before"]) <= set(rep["results_after"])  # finished results are kept
    for name in done:  # each whole: a rerun resumes from them
        assert json.loads((out / name).read_text())["leedl"]["student"] == name[:-5]


def test_helper_threads_leave_signals_to_the_main_thread():
    # A signal the kernel hands to a helper thread only sets a flag: a main thread blocked in a
    # wait would not notice it. Threads the grader starts block SIGINT and SIGTERM; the main
    # thread's own mask is as it was.
    import signal
    import threading

    from leedl_grader.judge import stopping

    seen = {}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with stopping.threads_without_signals():
        t = threading.Thread(target=lambda: seen.update(mask=signal.pthread_sigmask(signal.SIG_BLOCK, [])))
        t.start()
    t.join()
    assert {signal.SIGINT, signal.SIGTERM} <= seen["mask"]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
