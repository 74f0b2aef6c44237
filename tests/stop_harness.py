"""Signal a real ``leedl grade`` run and count what it leaves behind; prints one JSON object.

    python stop_harness.py SIGNALS WAIT_FOR -- leedl-args...

SIGNALS: comma-separated signal names sent to the run (``INT``, ``INT,INT``, ``TERM``), 0.3 s
apart; WAIT_FOR: how many result files must exist (and a sandbox be running) before the first.
This process makes itself a child subreaper, so that every process the run starts, however
orphaned, stays its descendant: what is alive afterwards is exactly what the run left behind.
"""

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def descendants(root: int) -> dict[int, str]:
    """``{pid: start time}`` of the live (non-zombie) processes below ``root``."""
    kids: dict[int, list[int]] = {}
    info = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            fields = Path(f"/proc/{e}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        kids.setdefault(int(fields[1]), []).append(int(e))
        info[int(e)] = (fields[0], fields[19])
    out, todo = {}, list(kids.get(root, []))
    while todo:
        p = todo.pop()
        if info.get(p, ("Z",))[0] != "Z":
            out[p] = info[p][1]
        todo += kids.get(p, [])
    return out


def groups_of(pids) -> list[str]:
    """leedl's cgroups (v1 and v2) whose owner (the pid in the name) is one of ``pids``."""
    found = []
    bases = []
    for d, subs, _ in os.walk("/sys/fs/cgroup"):  # leedl/ sits at most three levels down
        bases += [Path(d) / "leedl"] if "leedl" in subs else []
        subs[:] = [n for n in subs if d.count("/") < 6 and not n.startswith("leedl")]
    for base in bases:
        for g in base.iterdir():
            if g.is_dir() and g.name.split("-", 1)[0].isdigit() and int(g.name.split("-", 1)[0]) in pids:
                found.append(str(g))
    return sorted(found)


def reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def main() -> None:
    sigs = [getattr(signal, f"SIG{s}") for s in sys.argv[1].split(",")]
    wait_for = int(sys.argv[2])
    args = sys.argv[sys.argv.index("--") + 1:]
    out = Path(args[args.index("--out") + 1])
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    proc = subprocess.Popen([sys.executable, "-m", "leedl_grader.cli", "grade", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "80"})
    seen: set[int] = {proc.pid}
    deadline = time.monotonic() + 240
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        seen |= set(descendants(os.getpid()))
        done = [p for p in out.glob("*.json")]
        if len(done) >= wait_for and any("-sub" in g for g in groups_of(seen)):
            ready = True
            break
        time.sleep(0.05)
    report = {"ready": ready, "results_before": sorted(p.name for p in out.glob("*.json"))}
    t0 = time.monotonic()
    for i, s in enumerate(sigs):
        if i:
            time.sleep(0.3)
        proc.send_signal(s)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    report["exit_s"] = round(time.monotonic() - t0, 2)
    report["rc"] = proc.returncode
    left = {}
    while time.monotonic() - t0 < 5.0:  # the run has 5 s from the first signal to be gone entirely
        reap()
        left = descendants(os.getpid())
        if not left and not groups_of(seen | set(left)):
            break
        time.sleep(0.05)
    report["gone_s"] = round(time.monotonic() - t0, 2)
    report["left"] = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
                      for p in left if Path(f"/proc/{p}").exists()]
    report["groups"] = groups_of(seen | set(left))
    report["results_after"] = sorted(p.name for p in out.glob("*.json"))
    report["stdout"], report["stderr"] = stdout, stderr
    for p in left:  # never leave them running for the next test
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    print(json.dumps(report))


if __name__ == "__main__":
    main()
