"""Memory a hostile submission holds, with per-process rlimits only (LEEDL_CGROUP=off) and with
its cgroup, at the 384 MiB cap of tests/test_limits.py. Without cgroups each `leedl grade` runs
alone inside a measuring cgroup of its own (cgroup v1, root) and the figure is its peak less that
of a batch of one submission that returns zeros; with them, the peak of the submission's own
cgroup (its result's ``usage``) less the zeros submission's. Prints MiB.

    python benchmarks/memory_caps.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_hostile import HOSTILE, _course  # noqa: E402
from test_limits import BOUNDED, LIMITS  # noqa: E402

from leedl_grader.sandbox import cgroup  # noqa: E402

CASES = [("mem_fork", BOUNDED), ("mem_memfd", BOUNDED), ("mem_scratch", BOUNDED), ("memory_hog", HOSTILE)]


def peak_mb(course: Path, sub: Path, out: Path, cgroups: bool) -> float:
    """The batch's peak (rlimits only), or the submission's own group's peak (cgroups)."""
    b, why = cgroup.backend()
    if not isinstance(b, cgroup.V1):
        raise SystemExit(f"needs cgroup v1 as root: {why}")
    meter = b.create("meter")
    env = dict(os.environ, LEEDL_COURSE=str(course), LEEDL_CGROUP="on" if cgroups else "off")
    procs = meter.procs_files
    cmd = [sys.executable, "-m", "leedl_grader.cli", "grade", "ch99", str(sub), "--out", str(out), "--seed", "1"]
    try:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, preexec_fn=lambda: cgroup.join(procs))
        if cgroups:
            (result,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
            return result["usage"]["memory_peak_mb"]
        return meter.memory_peak() / 2**20
    finally:
        meter.remove()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        course = _course(tmp / "course")
        toml = course / "assignments" / "ch99_demo" / "chapter.toml"
        text = toml.read_text().split("\n[limits]\n")[0]
        toml.write_text(text + "\n[limits]\n" + "".join(f"{k} = {v}\n" for k, v in LIMITS.items()))
        rows = []
        for cgroups in (False, True):
            base_dir = tmp / f"base{cgroups}" / "baseline"
            shutil.copytree(HOSTILE / "_baseline", base_dir)
            base = peak_mb(course, base_dir.parent, tmp / f"out-base{cgroups}", cgroups)
            for case, where in CASES:
                d = tmp / f"{case}{cgroups}" / case
                shutil.copytree(where / case, d)
                rows.append((case, cgroups, peak_mb(course, d.parent, tmp / f"out-{case}{cgroups}", cgroups) - base))
    print(f"memory held beyond a do-nothing submission (cap {LIMITS['memory_mb']} MiB), MiB:")
    print(f"{'case':14s} {'rlimits only':>13s} {'cgroup':>8s}")
    for case, _ in CASES:
        before = next(v for c, g, v in rows if c == case and not g)
        after = next(v for c, g, v in rows if c == case and g)
        print(f"{case:14s} {before:13.0f} {after:8.0f}")


if __name__ == "__main__":
    main()
