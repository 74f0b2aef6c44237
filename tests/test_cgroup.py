"""One cgroup per submission: the v2 implementation against a fake cgroupfs, the v1 one (what
these machines mount) for real, stale groups swept, none left after a signal."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import GOOD_OPS, write_submission
from sandbox_util import require_strict

from leedl_grader.sandbox import cgroup
from leedl_grader.sandbox.policy import Limits


class FakeV2(cgroup.V2):
    """The v2 backend on a plain folder: files stand in for the kernel's interface files."""

    def rmdir(self, d: Path) -> None:
        shutil.rmtree(d)


def _fake_home(tmp_path) -> Path:
    home = tmp_path / "cg" / "user.slice" / "me"
    home.mkdir(parents=True)
    (home / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (home / "cgroup.subtree_control").write_text("")
    (home / "cgroup.procs").write_text(f"{os.getpid()}\n")
    return home


def test_v2_is_found_in_a_delegated_subtree_and_configured(tmp_path):
    home = _fake_home(tmp_path)
    (tmp_path / "mounts").write_text(f"cgroup2 {tmp_path / 'cg'} cgroup2 rw,nosuid 0 0\n")
    (tmp_path / "cgroup").write_text("0::/user.slice/me/leedl/123-4-judge1\n")  # inside a judge group
    b, why = cgroup.detect(str(tmp_path / "mounts"), str(tmp_path / "cgroup"))
    assert isinstance(b, cgroup.V2) and b.home == home and why == ""
    b = FakeV2(home)
    b.prepare()
    # the processes moved to a leaf, so that the controllers can be handed down
    assert (home / "leedl-main" / "cgroup.procs").read_text() == str(os.getpid())
    assert (home / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (home / "leedl" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    g = b.create("sub", memory_mb=256, pids=16, cpus=1.5)
    d = g.dirs["unified"]
    assert d.parent == home / "leedl" and g.name.startswith(cgroup.owner_tag() + "-sub")
    assert (d / "memory.max").read_text() == str(256 << 20)
    assert (d / "memory.swap.max").read_text() == "0"
    assert (d / "pids.max").read_text() == "16"
    assert (d / "cpu.max").read_text() == "150000 100000"
    assert g.procs_files == [str(d / "cgroup.procs")]
    (d / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n")
    (d / "memory.peak").write_text(str(200 << 20))
    assert g.cpu_seconds() == 2.5 and g.oom_kills() == 1 and g.memory_peak() == 200 << 20
    (d / "cgroup.kill").write_text("0")
    assert g.remove(timeout=0.1)
    assert not d.exists()


def test_v2_without_memory_or_pids_is_named_missing(tmp_path):
    home = _fake_home(tmp_path)
    (home / "cgroup.controllers").write_text("cpu io\n")
    (tmp_path / "mounts").write_text(f"cgroup2 {tmp_path / 'cg'} cgroup2 rw 0 0\n")
    (tmp_path / "cgroup").write_text("0::/user.slice/me\n")
    b, why = cgroup.detect(str(tmp_path / "mounts"), str(tmp_path / "cgroup"))
    assert b is None and "Delegate=yes" in why


def test_v2_sweep_removes_only_groups_whose_owner_is_gone(tmp_path):
    home = _fake_home(tmp_path)
    b = FakeV2(home)
    b.prepare()
    mine = b.create("sub")
    dead = home / "leedl" / "999999999-1-sub7"
    dead.mkdir()
    recycled = home / "leedl" / f"{os.getpid()}-1-sub8"  # our pid, another start time: not ours
    recycled.mkdir()
    assert cgroup.sweep(b) == 2
    assert mine.dirs["unified"].exists() and not dead.exists() and not recycled.exists()
    assert mine.remove() and not mine.dirs["unified"].exists()


def _v1():
    b, why = cgroup.backend()
    if not isinstance(b, cgroup.V1):
        if os.environ.get("CI"):
            pytest.fail(f"CI must enforce a per-sandbox memory cap and this machine offers none: {why}")
        pytest.skip(f"no cgroup v1 here: {why}")
    return b


def test_v1_stale_group_with_a_live_process_is_killed_and_removed():
    b = _v1()
    name = "999999999-1-sub1"  # an owner that cannot be alive
    dirs = {}
    for c, parent in b.parents().items():
        parent.mkdir(exist_ok=True)
        (parent / name).mkdir()
        dirs[c] = parent / name
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for d in dirs.values():
            (d / "cgroup.procs").write_text(str(sleeper.pid))
        assert cgroup.sweep(b) >= 1
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
        assert not any(d.exists() for d in dirs.values())
    finally:
        sleeper.kill()
        sleeper.wait()


def _descendants(root: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                ppid = int(Path(f"/proc/{e}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(e))
    out, todo = set(), [root]
    while todo:
        p = todo.pop()
        out.add(p)
        todo += kids.get(p, [])
    return out


def _alive(pid: int, start: str) -> bool:
    """The same process (not a reused pid), and not a zombie (which holds nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and cgroup.start_time(pid) == start


def _groups_of(b, pids: set[int]) -> list[str]:
    return [g.name for g in b.groups() if int(g.name.split("-", 1)[0]) in pids]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_no_group_is_left_after_a_signal(course, tmp_path, sig):
    require_strict()
    b = _v1()
    subs = tmp_path / "subs"
    write_submission(subs, "hang", GOOD_OPS.replace("return x * 2", "while True:\n        pass"))
    write_submission(subs, "ok", GOOD_OPS)
    cmd = [sys.executable, "-m", "leedl_grader.cli", "grade", "ch99", str(subs), "--out", str(tmp_path / "out"),
           "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: set[int] = set()
    started: dict[int, str] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for p in _descendants(proc.pid) - seen:
            started[p] = cgroup.start_time(p)
        seen |= set(started)
        if any("-sub" in n for n in _groups_of(b, seen)):
            break
        time.sleep(0.1)
    assert _groups_of(b, seen), "no sandbox group appeared"
    (judge, *_) = [g for g in b.groups() if int(g.name.split("-", 1)[0]) in seen and "-judge" in g.name]
    limit = int((judge.dirs["memory"] / "memory.limit_in_bytes").read_text())
    assert limit == Limits().judge_memory_mb << 20  # the judge runs under its own memory limit
    proc.send_signal(sig)
    assert proc.wait(timeout=60) != 0
    assert _groups_of(b, seen) == []
    time.sleep(0.5)
    alive = [p for p in seen if started[p] and _alive(p, started[p])]
    assert alive == [], alive
