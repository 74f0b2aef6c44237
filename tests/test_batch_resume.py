"""A batch killed midway resumes without losing a finished result."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import GOOD_OPS, write_submission


def test_killed_batch_keeps_finished_results_and_resumes(course, tmp_path):
    subs = tmp_path / "subs"
    write_submission(subs, "a-first", GOOD_OPS)
    # Each check of this one hangs until its time limit: the batch is still busy when killed.
    write_submission(subs, "b-slow", GOOD_OPS.replace("return x * 2", "while True:\n        pass"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "leedl_grader.cli", "grade", "ch99", str(subs), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out / "a-first.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / "a-first.json").exists() and not (out / "b-slow.json").exists()
    first = json.loads((out / "a-first.json").read_text())
    assert first["score"] == first["max_score"]
    # no half-written file left behind (atomic writes go through ".<name>.*" temporaries)
    assert not [p for p in out.rglob(".*") if p.name != ".leedl"]

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 unchanged (not regraded)" in done.stdout
    assert json.loads((out / "a-first.json").read_text()) == first
    assert json.loads((out / "b-slow.json").read_text())["seed"] == first["seed"]
