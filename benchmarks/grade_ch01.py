"""Cost of grading chapter 1: wall and CPU seconds per submission (a benchmark, not a test).

Grades N copies of the ch01 reference with ``--jobs 2``, then N empty submissions (every file
missing: no check runs, so this is the grader's own overhead), and times a bare
``python -c "import torch"`` beside them. CPU is user+system of the whole process tree
(``RUSAGE_CHILDREN`` after each command has exited).

    python benchmarks/grade_ch01.py [--copies 20] [--jobs 2]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--chapter", default="ch01_optimization")
    args = ap.parse_args()
    n = args.copies
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(n):
            shutil.copytree(REPO / "solutions" / args.chapter, tmp / "full" / f"s{i:02d}")
            (tmp / "empty" / f"e{i:02d}").mkdir(parents=True)
        leedl = [sys.executable, "-m", "leedl_grader.cli", "grade", args.chapter.split("_")[0]]
        rows = [
            ("reference, all checks", *timed(leedl + [str(tmp / "full"), "--out", str(tmp / "o1"),
                                                      "--jobs", str(args.jobs), "--seed", "0"])),
            ("empty (grader overhead)", *timed(leedl + [str(tmp / "empty"), "--out", str(tmp / "o2"),
                                                        "--jobs", str(args.jobs), "--seed", "0"])),
        ]
        torch_wall, torch_cpu = timed([sys.executable, "-c", "import torch"])
    print(f"{'':28s} {'wall s/sub':>10s} {'CPU s/sub':>10s}   ({n} submissions, --jobs {args.jobs})")
    for name, wall, cpu in rows:
        print(f"{name:28s} {wall / n:10.3f} {cpu / n:10.3f}")
    label = 'python -c "import torch"'
    print(f"{label:28s} {torch_wall:10.3f} {torch_cpu:10.3f}   (once)")


if __name__ == "__main__":
    main()
