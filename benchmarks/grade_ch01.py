"""Cost of grading chapter 1: wall and CPU seconds per submission (a benchmark, not a test).

Grades N copies of the ch01 reference with ``--jobs 2``, then N empty submissions (every file
missing: no check runs, so this is the grader's own overhead), and times a bare
``python -c "import torch"`` beside them. CPU is user+system of the whole process tree,
sandboxed students included (a cgroup where one can be made; see ``overhead.Meter``).

    python benchmarks/grade_ch01.py [--copies 20] [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import Meter  # noqa: E402  (CPU of the whole process tree, sandboxes included)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--chapter", default="ch01_optimization")
    args = ap.parse_args()
    n = args.copies
    meter = Meter()

    def timed(cmd):
        return meter.run(cmd, cwd=REPO)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(n):
            shutil.copytree(REPO / "solutions" / args.chapter, tmp / "full" / f"s{i:02d}",
                            ignore=shutil.ignore_patterns("examples", "zoo.toml"))
            (tmp / "empty" / f"e{i:02d}").mkdir(parents=True)
        leedl = [sys.executable, "-m", "leedl_grader.cli", "grade", args.chapter.split("_")[0]]
        rows = [
            ("reference, all checks", *timed(leedl + [str(tmp / "full"), "--out", str(tmp / "o1"),
                                                      "--jobs", str(args.jobs), "--seed", "0"])),
            ("empty (grader overhead)", *timed(leedl + [str(tmp / "empty"), "--out", str(tmp / "o2"),
                                                        "--jobs", str(args.jobs), "--seed", "0"])),
        ]
        torch_wall, torch_cpu = timed([sys.executable, "-c", "import torch"])
        totals = [line.split(",")[1:3] for line in (tmp / "o1" / "grades.csv").read_text().splitlines()[1:]]
        full = sum(1 for got, best in totals if got == best)
    meter.close()
    print(f"{'':28s} {'wall s/sub':>10s} {'CPU s/sub':>10s}   ({n} submissions, --jobs {args.jobs})")
    for name, wall, cpu in rows:
        print(f"{name:28s} {wall / n:10.3f} {cpu / n:10.3f}")
    print(f"reference copies at full marks: {full}/{len(totals)}")
    label = 'python -c "import torch"'
    print(f"{label:28s} {torch_wall:10.3f} {torch_cpu:10.3f}   (once)")


if __name__ == "__main__":
    main()
