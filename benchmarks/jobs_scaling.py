"""``leedl grade --jobs 1`` against ``--jobs 2`` on one class (a benchmark, not a test).

Grades N copies of a chapter's reference twice, with one judge and with a pool of two, after a
warm-up run that measured the time limits (each run starts from the same class record, so
neither pays for grading the reference). Prints wall seconds of each run and their ratio.

    python benchmarks/jobs_scaling.py [--copies 20] [--chapter ch01_optimization]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--chapter", default="ch01_optimization")
    ap.add_argument("--seed", default="0")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    leedl = [sys.executable, "-m", "leedl_grader.cli", "grade", args.chapter.split("_")[0]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.copies):
            shutil.copytree(REPO / "solutions" / args.chapter, tmp / "class" / f"s{i:02d}",
                            ignore=shutil.ignore_patterns("examples", "zoo.toml", "__pycache__"))
        shutil.copytree(tmp / "class" / "s00", tmp / "one" / "s00")
        subprocess.run(leedl + [str(tmp / "one"), "--out", str(tmp / "warm"), "--seed", args.seed], env=env,
                       check=True, capture_output=True)
        walls = {}
        for jobs in (1, 2):
            out = tmp / f"out{jobs}"
            shutil.copytree(tmp / "warm" / ".leedl", out / ".leedl")
            t0 = time.perf_counter()
            subprocess.run(leedl + [str(tmp / "class"), "--out", str(out), "--seed", args.seed, "--jobs", str(jobs)],
                           env=env, check=True, capture_output=True)
            walls[jobs] = time.perf_counter() - t0
            rows = (out / "grades.csv").read_text().splitlines()[1:]
            full = sum(1 for r in rows if r.split(",")[1] == r.split(",")[2])
            print(f"--jobs {jobs}: {walls[jobs]:7.1f} s wall for {args.copies} submissions "
                  f"({walls[jobs] / args.copies:.2f} s each; {full}/{len(rows)} at full marks)", flush=True)
    print(f"--jobs 2 / --jobs 1 wall: {walls[2] / walls[1]:.2f} ({os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
