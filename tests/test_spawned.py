"""`leedl check` where there is no fork and no rlimits (Windows; macOS spawns too): each worker is a
fresh interpreter (leedl_grader.spawned), reported as the `process` sandbox. Run on Linux in a
subprocess with `os.fork` and `resource` taken away."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import GOOD_OPS, write_submission

ROOT = Path(__file__).resolve().parent.parent
NO_FORK = """
import os, sys
sys.modules["resource"] = None  # as on Windows: no rlimits
del os.fork                     # as on Windows: no fork
from leedl_grader.cli import main
main(sys.argv[1:])
"""


def test_check_runs_with_spawned_workers_without_fork_or_rlimits(course, tmp_path):
    src = GOOD_OPS.replace("return x * 2", "print('[bold]x[/]')\n    return x * 3")
    src += "\n\ndef spin():\n    while True:\n        pass\n"
    work = write_submission(tmp_path, "mine", src)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEEDL_COURSE": str(course), "COLUMNS": "80"}
    env.pop("LEEDL_WORKER", None)
    r = subprocess.run([sys.executable, "-c", NO_FORK, "check", "ch99", str(work), "--hidden", "--json",
                        str(tmp_path / "r.json")], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "separate process only" in r.stdout and "Traceback" not in r.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["sandbox"] == "process"
    outcomes = {(t["exercise"], t["name"]): t for t in data["leedl"]["results"]}
    assert {t["outcome"] for (ex, _), t in outcomes.items() if ex == "ops.softplus"} == {"passed"}
    failed = [t for (ex, _), t in outcomes.items() if ex == "ops.double" and t["outcome"] == "failed"]
    assert failed and all(t["output"] == "[bold]x[/]\n" for t in failed)  # prints, per check
    assert "[bold]x[/]" in r.stdout
