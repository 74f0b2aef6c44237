"""The grader's own cost per submission, strict sandbox included, beside a bare ``import torch``.

    python benchmarks/overhead.py [N [KIND...]]

Grades N copies of each kind of submission (empty: every file missing, no sandbox at all; the
fixture chapter's stub and reference, one file so one sandbox; chapter 1's stubs, four files that
start no sandbox at all, since the judge recognises the released stubs by their bytes; the same
stubs with a comment added, four files so four sandboxes, one per file) with ``leedl grade --jobs 1``, and
reports wall and CPU seconds per submission as the difference between a batch of N and a batch
of 1 (so the one-off start of the judge and its zygote is not counted). CPU is that of the whole
process tree, taken from a cpuacct cgroup where one can be made (root, cgroup v1 or v2); elsewhere
from ``RUSAGE_CHILDREN``, which misses the sandboxes (they are reaped by their monitors).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSE = REPO / "tests" / "fixtures" / "course"


class Meter:
    """CPU seconds of a command and everything it starts."""

    def __init__(self):
        self.cg = None
        for base, usage in (("/sys/fs/cgroup/cpuacct", "cpuacct.usage"), ("/sys/fs/cgroup", "cpu.stat")):
            d = Path(base) / f"bench-{os.getpid()}"  # not "leedl-...": leedl takes that for its own group
            try:
                d.mkdir()
                self.cg, self.usage = d, usage
                break
            except OSError:
                continue

    def _cpu(self) -> float:
        text = (self.cg / self.usage).read_text()
        if self.usage == "cpuacct.usage":
            return int(text) / 1e9
        return int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6

    def run(self, cmd: list[str], **kw) -> tuple[float, float]:
        """(wall, cpu) of ``cmd``."""
        procs = str(self.cg / "cgroup.procs") if self.cg else None

        def enter():
            if procs:
                with open(procs, "w") as f:
                    f.write(str(os.getpid()))

        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0 = self._cpu() if self.cg else 0.0
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, preexec_fn=enter, stdout=subprocess.DEVNULL, **kw)
        wall = time.perf_counter() - t0
        if self.cg:
            return wall, self._cpu() - c0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime)

    def close(self):
        if self.cg:
            try:
                self.cg.rmdir()
            except OSError:
                pass


KINDS = {  # name: (course, chapter, files copied into each submission)
    "empty": (COURSE, "ch99", []),
    "stub": (COURSE, "ch99", [COURSE / "assignments" / "ch99_demo" / "ops.py"]),
    "reference": (COURSE, "ch99", [COURSE / "solutions" / "ch99_demo" / "ops.py"]),
    # four files, so four sandboxes (one per file) per submission
    "ch01 stub": (REPO, "ch01", sorted((REPO / "assignments" / "ch01_optimization").glob("[a-z]*.py"))),
    # the same with a comment added to each file: no longer the released stubs, so each file runs
    "ch01 edited stub": (REPO, "ch01", sorted((REPO / "assignments" / "ch01_optimization").glob("[a-z]*.py"))),
}
EDITED = {"ch01 edited stub"}


def batch(meter: Meter, tmp: Path, kind: str, n: int) -> tuple[float, float]:
    course, chapter, files = KINDS[kind]
    subs = tmp / f"subs-{kind.replace(' ', '_')}-{n}"
    for i in range(n):
        d = subs / f"s{i:03d}"
        d.mkdir(parents=True)
        for f in files:
            shutil.copy(f, d / f.name)
            if kind in EDITED:
                with open(d / f.name, "a", encoding="utf-8") as out:
                    out.write("# edited\n")
    out = tmp / f"out-{kind.replace(' ', '_')}-{n}"
    cmd = [sys.executable, "-m", "leedl_grader.cli", "grade", chapter, str(subs), "--out", str(out),
           "--course", str(course), "--seed", "1", "--jobs", "1"]
    return meter.run(cmd, env={**os.environ, "COLUMNS": "100"})


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    meter = Meter()
    print(f"cpu measured by {'a cgroup (whole tree)' if meter.cg else 'RUSAGE_CHILDREN (misses sandboxes)'}")
    try:
        with tempfile.TemporaryDirectory(prefix="leedl-bench-") as tmp:
            tmp = Path(tmp)
            bare = [meter.run([sys.executable, "-c", "import torch"]) for _ in range(3)]
            wall, cpu = min(b[0] for b in bare), min(b[1] for b in bare)
            label = 'python -c "import torch"'
            print(f"{label:34s} wall {wall:6.3f} s   cpu {cpu:6.3f} s")
            for kind in (sys.argv[2:] or KINDS):
                w1, c1 = batch(meter, tmp, kind, 1)
                wn, cn = batch(meter, tmp, kind, n + 1)
                print(f"{kind + ' submission (per submission)':34s} wall {(wn - w1) / n:6.3f} s   "
                      f"cpu {(cn - c1) / n:6.3f} s   (batch of 1: wall {w1:.2f} s, cpu {c1:.2f} s)")
    finally:
        meter.close()


if __name__ == "__main__":
    main()
