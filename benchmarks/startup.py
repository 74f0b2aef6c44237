"""What a student waits for: ``leedl --help``, ``leedl list`` and ``leedl check`` of a complete
chapter-1 submission, beside a bare ``python -c "import torch"`` (a benchmark, not a test).

Each command runs REPEATS times as a fresh process from the course root; the median wall time is
printed, with its ratio to the bare import. The load average is printed too: other work on the
machine moves every figure.

    python benchmarks/startup.py [--repeats 5] [--chapter ch01_optimization]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def median_wall(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chapter", default="ch01_optimization")
    args = ap.parse_args()
    leedl = [sys.executable, "-m", "leedl_grader.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "complete"
        work.mkdir()
        for f in (REPO / "solutions" / args.chapter).glob("*.py"):
            if f.name != "__init__.py":
                shutil.copy(f, work / f.name)
        rows = [
            ("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
            ("leedl --help", [*leedl, "--help"]),
            ("leedl list", [*leedl, "list"]),
            (f"leedl check {args.chapter[:4]} (complete)", [*leedl, "check", args.chapter[:4], str(work)]),
        ]
        print(f"load average {os.getloadavg()[0]:.1f}; median of {args.repeats} runs each")
        base = None
        for label, cmd in rows:
            t = median_wall(cmd, args.repeats)
            base = base or t
            print(f"{label:<40} {t:6.2f} s  {t / base:5.2f}x import torch")


if __name__ == "__main__":
    main()
