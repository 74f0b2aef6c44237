"""Each property of the strict sandbox, proved by a process inside it (leedl_grader.sandbox.modes)."""

import os
import tempfile
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import FIXTURE_COURSE, GOOD_OPS, write_submission
from sandbox_util import require_strict, sandbox_processes

from leedl_grader.cli import main
from leedl_grader.sandbox import modes as sandbox
from leedl_grader.sandbox import policy
from leedl_grader.sandbox.policy import Limits
from leedl_grader.sandbox.processes import Worker, WorkerLost
from leedl_grader.sandbox.zygote_handle import ZygoteProcess

PROBE = r'''
import errno, os, signal, socket, time

def net():
    out = []
    for family, addr in ((socket.AF_INET, ("127.0.0.1", 1)), (socket.AF_INET, ("1.1.1.1", 53)),
                         (socket.AF_INET6, ("::1", 1))):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(addr)
            out.append("connected")
        except OSError as e:
            out.append(errno.errorcode.get(e.errno, str(e)))
        finally:
            s.close()
    return out

def interfaces():
    return [name for _, name in socket.if_nameindex()]

def visible(paths):
    out = {}
    for p in paths:
        try:
            os.stat(p)
            out[p] = True
        except OSError:
            out[p] = False
    return out

def listdir(p):
    return sorted(os.listdir(p))

def read(p):
    with open(p, "rb") as f:
        return len(f.read())

def writable(paths):
    out = {}
    for p in paths:
        try:
            with open(p, "a") as f:
                f.write("x")
            out[p] = True
        except OSError:
            out[p] = False
    return out

def fill(path, mb):
    n = 0
    try:
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(b"x" * (1 << 20))
                f.flush()
                n += 1 << 20
    except OSError as e:
        return [n, errno.errorcode.get(e.errno, str(e))]
    return [n, "ok"]

def flood(mb):
    import sys
    try:
        for _ in range(mb * 16):
            sys.stdout.write("y" * 65536)
            sys.stdout.flush()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
    return "ok"

def fork_many(n):
    made = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
    return made

def detach(seconds):
    # double fork, new session: a daemon that outlives its parent
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(seconds)
            os._exit(0)
        os._exit(0)
    time.sleep(0.2)
    return "ok"

def procs():
    return sorted(e for e in os.listdir("/proc") if e.isdigit())

def ids():
    return [os.getuid(), os.geteuid(), os.getgid(), os.getpid()]

def hog(mb):
    return len(bytearray(mb << 20))

def spin():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
'''


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    require_strict()
    z = ZygoteProcess(tmp_path_factory.mktemp("judge"))
    z.start()
    yield z
    z.close()


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    (d / "ops.py").write_text(PROBE)
    return d


_n = [0]


def spawn(zygote, src, **limits) -> Worker:
    _n[0] += 1
    return Worker(zygote, src=str(src), package="ch99_demo", files=["ops.py"], mode=policy.STRICT,
                  limits=Limits(**limits), scratch=zygote.workdir / f"w{_n[0]}",
                  uid=policy.uid_for(os.getpid(), _n[0]))


def call(w: Worker, name: str, *args, timeout: float = 30, cpu: float | None = None):
    reply = w.request({"driver": "call", "target": f"ops.{name}", "spec": {"args": list(args)}},
                      deadline=time.monotonic() + timeout, cpu_deadline=None if cpu is None else w.cpu() + cpu)
    return reply["ok"]["out"] if "ok" in reply else reply


@pytest.fixture
def worker(zygote, src):
    w = spawn(zygote, src)
    yield w
    w.close()


def test_no_network(worker):
    results = call(worker, "net")  # 127.0.0.1, a public address, ::1
    assert len(results) == 3 and "connected" not in results
    assert call(worker, "interfaces") == ["lo"]  # no device but a loopback that is down


def test_proc_shows_only_the_sandbox(worker):
    assert call(worker, "procs") == ["1"]
    uid, euid, gid, pid = call(worker, "ids")
    assert pid == 1 and uid == euid == gid == worker.uid and uid >= policy.UID_BASE


def test_no_view_of_reference_tests_submissions_output_judge_or_home(worker, zygote, tmp_path):
    other = write_submission(tmp_path / "subs", "other", GOOD_OPS)
    out = tmp_path / "out"
    out.mkdir()
    (out / "alice.json").write_text("{}")
    home = Path(tempfile.mkdtemp(dir=Path.home()))
    try:
        secret = [str(FIXTURE_COURSE / "solutions" / "ch99_demo" / "ops.py"),
                  str(FIXTURE_COURSE / "assignments" / "ch99_demo" / "hidden"),
                  str(other / "ops.py"), str(out / "alice.json"), str(zygote.workdir), str(home),
                  str(Path(sandbox.__file__)), "/home", "/root/.bashrc", str(tmp_path)]
        assert all(p.exists() for p in map(Path, secret[:7]))  # they are there, outside
        assert call(worker, "visible", secret) == {p: False for p in secret}
    finally:
        home.rmdir()
    # what Python and torch need is there, read-only
    assert call(worker, "read", torch.__file__) > 0
    assert call(worker, "visible", [os.path.dirname(torch.__file__)]) == {os.path.dirname(torch.__file__): True}


def test_system_python_and_submission_are_read_only(worker):
    paths = ["/usr/leedl-probe", "/etc/leedl-probe", os.path.join(os.path.dirname(torch.__file__), "leedl-probe"),
             "/submission/ch99_demo/ops.py", "/leedl-probe", "/proc/sys/kernel/hostname"]
    assert call(worker, "writable", paths) == {p: False for p in paths}
    assert call(worker, "writable", ["/tmp/ok"]) == {"/tmp/ok": True}  # the scratch area
    assert not Path("/usr/leedl-probe").exists()


def test_scratch_is_size_capped(zygote, src):
    w = spawn(zygote, src, scratch_mb=8)
    try:
        written, err = call(w, "fill", "/tmp/big", 64)
        assert err == "ENOSPC" and written <= 8 << 20
    finally:
        w.close()


def test_file_size_and_output_are_capped(zygote, src):
    w = spawn(zygote, src, fsize_mb=1, scratch_mb=16)
    try:
        written, err = call(w, "fill", "/tmp/big", 8)
        assert err == "EFBIG" and written <= 1 << 20
        assert call(w, "flood", 8) == "EFBIG"  # SIGXFSZ is ignored: the writes fail, the process lives
        assert call(w, "ids")[3] == 1
        assert w.log.stat().st_size <= 1 << 20
    finally:
        w.close()


def test_process_limit_is_per_sandbox(zygote, src):
    a, b = spawn(zygote, src, nproc=12), spawn(zygote, src, nproc=12)
    try:
        assert a.uid != b.uid
        made_a = call(a, "fork_many", 100)
        made_b = call(b, "fork_many", 100)  # a's processes do not count against b
        assert 0 < made_a < 12 and made_b == made_a
    finally:
        a.close()
        b.close()
    assert policy.uid_for(1234, 1) != policy.uid_for(11234, 1) != policy.uid_for(1234, 2)


def test_memory_limit(zygote, src):
    w = spawn(zygote, src, memory_mb=256)
    try:
        reply = call(w, "hog", 1024)
        assert reply["error"]["outcome"] == "memory"
        assert call(w, "hog", 16) == 16 << 20  # the process survives it
    finally:
        w.close()


def test_wall_and_cpu_limits_stop_a_loop_that_ignores_signals(zygote, src):
    w = spawn(zygote, src)
    t0 = time.monotonic()
    with pytest.raises(WorkerLost) as lost:
        call(w, "spin", timeout=30, cpu=1.0)  # the judge's CPU accounting
    assert lost.value.outcome == "timeout" and time.monotonic() - t0 < 10
    w.close()
    w = spawn(zygote, src, cpu_total_s=1)
    with pytest.raises(WorkerLost) as lost:
        call(w, "spin", timeout=30)  # the kernel's backstop (RLIMIT_CPU)
    assert lost.value.outcome == "timeout" and time.monotonic() - t0 < 20
    w.close()


def test_every_process_is_gone_before_close_returns(zygote, src):
    w = spawn(zygote, src)
    assert call(w, "detach", 60) == "ok"
    assert call(w, "fork_many", 5) == 5
    assert len(sandbox_processes({w.uid})) >= 7  # the worker, a daemon in its own session, 5 children
    w.close()
    assert sandbox_processes({w.uid}) == []


def test_without_namespaces_root_grades_in_the_uid_sandbox(course, tmp_path, monkeypatch):
    """Root, but no namespaces (a Gradescope container): a dedicated uid per sandbox, no --insecure."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    monkeypatch.setattr(sandbox, "strict_available", lambda: (False, "simulated"))
    write_submission(tmp_path / "subs", "alice", GOOD_OPS)
    r = CliRunner().invoke(main, ["grade", "ch99", str(tmp_path / "subs"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    import json

    alice = json.loads((tmp_path / "out" / "alice.json").read_text())
    assert alice["sandbox"] == "uid" and alice["score"] == alice["max_score"]


def test_fallback_is_named_and_grade_refuses_it_without_insecure(course, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "strict_available", lambda: (False, "simulated"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # not root: no boundary at all
    write_submission(tmp_path / "subs", "alice", GOOD_OPS)
    r = CliRunner().invoke(main, ["grade", "ch99", str(tmp_path / "subs"), "--out", str(tmp_path / "out")])
    assert r.exit_code != 0 and "strict isolation is not available" in r.output and "--insecure" in r.output
    assert not (tmp_path / "out" / "alice.json").exists()
    r = CliRunner().invoke(main, ["grade", "ch99", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                                  "--insecure"])
    assert r.exit_code == 0, r.output
    import json

    alice = json.loads((tmp_path / "out" / "alice.json").read_text())
    assert alice["sandbox"] == "process" and alice["score"] == alice["max_score"]
    assert "sandbox process" in r.output
