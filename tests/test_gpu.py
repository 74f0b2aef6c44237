"""CUDA in the strict sandbox (leedl_grader.sandbox.gpu): which paths a sandbox on a GPU gets, the lock per
GPU, a CUDA out-of-memory scored as the student's `memory`. The logic is tested with fakes (a fake
/dev, /proc/driver/nvidia and loader cache); what needs a real GPU skips cleanly without one."""

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch
from conftest import GOOD_OPS, REPO, write_submission
from sandbox_util import require_strict

from leedl_grader import api
from leedl_grader.judge.runner import Judge
from leedl_grader.sandbox import gpu, policy
from leedl_grader.sandbox.gpu import device_lock, gpu_lock_path
from leedl_grader.sandbox.policy import Limits
from leedl_grader.sandbox.processes import Worker
from leedl_grader.sandbox.zygote_handle import ZygoteProcess

H200 = "NVIDIA H200"


def fake_driver(root, gpus):
    """A fake /proc/driver/nvidia/gpus: ``gpus`` = [(bus, minor, uuid, model)]."""
    for bus, minor, uuid, model in gpus:
        d = root / bus
        d.mkdir(parents=True)
        (d / "information").write_text(f"Model: \t\t {model}\nIRQ:   \t\t 42\nGPU UUID: \t {uuid}\n"
                                       f"Video BIOS: \t ??.??.??.??.??\nBus Type: \t PCIe\nDevice Minor: \t {minor}\n")
    return root


def fake_dev(root, names):
    root.mkdir(parents=True, exist_ok=True)
    for n in names:
        if n.endswith("/"):
            (root / n).mkdir()
        else:
            (root / n).write_text("")
    return root


FOUR = [("0000:3b:00.0", 2, "GPU-aaaa1111", H200), ("0000:18:00.0", 0, "GPU-bbbb2222", H200),
        ("0000:86:00.0", 3, "GPU-cccc3333", H200), ("0000:af:00.0", 1, "GPU-dddd4444", H200)]


def test_gpus_are_read_from_the_driver_in_bus_order(tmp_path):
    gpus = gpu.read_gpus(str(fake_driver(tmp_path, FOUR)))
    assert [(g.bus, g.minor, g.uuid) for g in gpus] == [
        ("0000:18:00.0", 0, "GPU-bbbb2222"), ("0000:3b:00.0", 2, "GPU-aaaa1111"),
        ("0000:86:00.0", 3, "GPU-cccc3333"), ("0000:af:00.0", 1, "GPU-dddd4444")]
    assert gpu.read_gpus(str(tmp_path / "absent")) == []


def test_visible_devices_name_the_nodes_of_their_gpus(tmp_path):
    gpus = gpu.read_gpus(str(fake_driver(tmp_path, FOUR)))
    assert gpu.visible_minors(None, None, gpus) is None  # every GPU: every node
    assert gpu.visible_minors("1", None, gpus) == [2]  # same models: CUDA's order is the bus order
    assert gpu.visible_minors("3,0", "PCI_BUS_ID", gpus) == [1, 0]
    assert gpu.visible_minors("GPU-cccc", None, gpus) == [3]  # a unique UUID prefix
    assert gpu.visible_minors("GPU-cccc,GPU-zz,1", None, gpus) == [3]  # CUDA stops at the first unknown entry
    assert gpu.visible_minors("", None, gpus) == []  # no GPU at all
    assert gpu.visible_minors("7", None, gpus) == []
    assert gpu.visible_minors("MIG-1234", None, gpus) is None  # not understood: bind every GPU, never guess
    mixed = [gpus[0], gpu.Gpu("0000:99:00.0", 5, "GPU-eeee", "NVIDIA A100")]
    assert gpu.visible_minors("1", None, mixed) is None  # "fastest first" among different models: unknown
    assert gpu.visible_minors("1", "PCI_BUS_ID", mixed) == [5]
    assert gpu.visible_minors("0", None, []) is None  # no driver listing: every GPU


def test_nodes_bound_are_the_control_nodes_and_the_chosen_gpus(tmp_path):
    dev = fake_dev(tmp_path / "dev", ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1",
                                      "nvidia2", "nvidia-modeset", "nvidia-caps/", "null", "sda", "nvidia1x"])
    d = str(dev)
    control = [f"{d}/nvidiactl", f"{d}/nvidia-uvm", f"{d}/nvidia-uvm-tools"]
    assert gpu.device_nodes([1], d) == control + [f"{d}/nvidia1", f"{d}/nvidia-caps"]
    assert gpu.device_nodes(None, d) == control + [f"{d}/nvidia0", f"{d}/nvidia1", f"{d}/nvidia2", f"{d}/nvidia-caps"]
    assert gpu.device_nodes([], d) == control  # no GPU chosen: no GPU node, no MIG capabilities
    assert gpu.device_nodes([9], d) == control


def test_driver_libraries_outside_the_system_directories_are_found(tmp_path):
    extra = tmp_path / "run" / "nvidia" / "driver" / "lib64"
    extra.mkdir(parents=True)
    (extra / "libcuda.so.1").write_text("")
    other = tmp_path / "ld"
    other.mkdir()
    (other / "libnvidia-ml.so.1").write_text("")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "libfoo.so").write_text("")
    cache = ("4 libs found in cache `/etc/ld.so.cache'\n"
             "\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1\n"
             f"\tlibcuda.so.1 (libc6,x86-64) => {extra}/libcuda.so.1\n"
             "\tlibnvidia-ptxjitcompiler.so.1 (libc6,x86-64) => /usr/local/nvidia/lib64/libnvidia-ptxjitcompiler.so.1\n"
             "\tlibz.so.1 (libc6,x86-64) => /opt/z/libz.so.1\n")
    got = gpu.library_dirs(cache, f"{other}:{tmp_path / 'plain'}:/nonexistent", covered=["/usr", "/lib"])
    assert got == [str(extra), str(other)]  # /usr is bound already; libz and libfoo are not the driver's


def test_sandbox_access_is_decided_by_the_judge_and_none_on_cpu(tmp_path):
    assert gpu.sandbox_access("cpu") is None
    dev = fake_dev(tmp_path / "dev", ["nvidiactl", "nvidia-uvm", "nvidia0", "nvidia1", "nvidia2", "nvidia3"])
    env = {"CUDA_VISIBLE_DEVICES": "GPU-dddd4444", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "HOME": "/root",
           "LD_LIBRARY_PATH": ""}
    got = gpu.sandbox_access("cuda", env, dev=str(dev), gpus_root=str(fake_driver(tmp_path / "gpus", FOUR)),
                             ldconfig="", covered=["/usr"])
    assert got == {"nodes": [f"{dev}/nvidiactl", f"{dev}/nvidia-uvm", f"{dev}/nvidia1"], "libraries": [],
                   "env": {"CUDA_VISIBLE_DEVICES": "GPU-dddd4444", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}}
    assert "nvidia1" in gpu.describe(got) and gpu.describe(None) == ""
    # with the defaults: the directories every sandbox sees (system, Python) computed here, no visible-devices list
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "libcuda.so.1").write_text("")
    got = gpu.sandbox_access("cuda:0", {"LD_LIBRARY_PATH": f"{lib}:/usr/lib"}, dev=str(dev),
                             gpus_root=str(tmp_path / "none"), ldconfig="")
    assert got["libraries"] == [str(lib)] and got["env"] == {}
    assert got["nodes"] == [f"{dev}/nvidiactl", f"{dev}/nvidia-uvm"] + [f"{dev}/nvidia{i}" for i in range(4)]


def test_the_judge_asks_for_gpu_access_only_for_a_strict_sandbox_on_cuda(monkeypatch):
    asked = []
    monkeypatch.setattr(gpu, "sandbox_access", lambda device: asked.append(device) or {"nodes": [], "libraries": [],
                                                                                     "env": {}})
    for mode, device, want in ((policy.STRICT, "cuda:1", True), (policy.STRICT, "cpu", False),
                               (policy.PROCESS, "cuda", False)):
        fake = SimpleNamespace(options=SimpleNamespace(mode=mode, device=device), _gpu=None)
        assert (Judge._gpu_access(fake) is not None) == want
    assert asked == ["cuda:1"]


# --- the strict sandbox binds exactly what it is given -----------------------------------------

PROBE = '''
import os

def look(paths):
    out = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                out[p] = f.read().decode()
        except OSError as e:
            out[p] = type(e).__name__
    return out

def write(p):
    try:
        with open(p, "a") as f:
            f.write("x")
        return "written"
    except OSError as e:
        return type(e).__name__

def env(name):
    return os.environ.get(name, "")
'''


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    require_strict()
    z = ZygoteProcess(tmp_path_factory.mktemp("judge"))
    z.start()
    yield z
    z.close()


def test_strict_sandbox_binds_the_nodes_and_libraries_it_is_given_and_nothing_else(zygote, tmp_path):
    (tmp_path / "dev").mkdir()
    node, other = tmp_path / "dev" / "nvidia0", tmp_path / "dev" / "nvidia1"
    node.write_text("node")
    other.write_text("other")
    node.chmod(0o666)  # as the driver makes its nodes: crw-rw-rw-
    libs = tmp_path / "driver"
    libs.mkdir()
    (libs / "libcuda.so.1").write_text("lib")
    (libs / "libcuda.so.1").chmod(0o666)  # writable by anyone: only the read-only bind can refuse
    src = tmp_path / "src"
    src.mkdir()
    (src / "ops.py").write_text(PROBE)
    access = {"nodes": [str(node)], "libraries": [str(libs)], "env": {"CUDA_VISIBLE_DEVICES": "GPU-dddd4444"}}
    paths = [str(node), str(other), str(libs / "libcuda.so.1")]

    def run(n, gpu_access):
        w = Worker(zygote, src=str(src), package="ch99_demo", files=["ops.py"], mode=policy.STRICT, limits=Limits(),
                   scratch=zygote.workdir / f"g{n}", uid=policy.uid_for(os.getpid(), 100 + n), gpu=gpu_access)
        try:
            def call(name, *args):
                return w.request({"driver": "call", "target": f"ops.{name}", "spec": {"args": list(args)}},
                                 deadline=time.monotonic() + 30, cpu_deadline=None)["ok"]["out"]
            return (call("look", paths), call("write", str(node)), call("write", str(libs / "libcuda.so.1")),
                    call("env", "CUDA_VISIBLE_DEVICES"))
        finally:
            w.close()

    seen, node_w, lib_w, visible = run(1, access)
    assert seen == {str(node): "node", str(other): "FileNotFoundError", str(libs / "libcuda.so.1"): "lib"}
    assert node_w == "written"  # a device node is opened read-write (CUDA's ioctl)
    assert lib_w == "OSError"  # EROFS: the driver's libraries are read-only
    assert visible == "GPU-dddd4444"
    seen, *_ = run(2, None)  # a CPU sandbox: none of it
    assert set(seen.values()) == {"FileNotFoundError"}


# --- one lock per GPU ----------------------------------------------------------------------------

def test_one_lock_per_physical_gpu(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert gpu_lock_path("cuda", "") == gpu_lock_path("cuda:0", "") != gpu_lock_path("cuda:1", "")
    assert gpu_lock_path("cuda:0", "2,3") == gpu_lock_path("cuda", "2") == str(tmp_path / "leedl-gpu-2.lock")
    assert gpu_lock_path("cuda:1", "2,3") != gpu_lock_path("cuda:0", "2,3")
    assert gpu_lock_path("cuda", "GPU-ab/../x") == str(tmp_path / "leedl-gpu-GPU-ab____x.lock")  # a file name only


def test_checks_on_one_gpu_wait_for_each_other(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    lock = gpu_lock_path("cuda")
    probe = ("import fcntl, sys\nf = open(sys.argv[1], 'w')\n"
             "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError:\n    print('held')\n")

    def other_judge():
        return subprocess.run([sys.executable, "-c", probe, lock], capture_output=True, text=True).stdout.strip()

    with device_lock("cuda"):
        assert other_judge() == "held"
    assert other_judge() == "free"
    with device_lock("cpu"):
        assert other_judge() == "free"  # CPU checks take no GPU lock


# --- a CUDA out-of-memory is the student's `memory` -----------------------------------------------

def test_cuda_out_of_memory_is_the_students_memory_outcome():
    oom = "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 139.81 GiB total capacity)"
    assert gpu.student_outcome("error", "OutOfMemoryError", oom) == "memory"
    assert gpu.student_outcome("error", "RuntimeError", "CUDA error: out of memory") == "memory"
    assert gpu.student_outcome("missing", "NotImplementedError", "") == "missing"
    assert gpu.student_outcome("forbidden", "ForbiddenOp", "aten::softplus") == "forbidden"
    for claim in ("passed", "fault", "partial", "bogus"):  # what the student's process claims is never more
        assert gpu.student_outcome(claim, "ValueError", "x") == "error"


def test_a_cuda_out_of_memory_in_a_check_scores_memory(course, tmp_path):
    """A submission whose function raises torch's OutOfMemoryError (what CUDA raises) gets
    `memory` on those checks, through the whole judge; the other exercise is unaffected."""
    sub = write_submission(tmp_path / "subs", "oom", GOOD_OPS.replace(
        "    return x * 2\n",
        "    raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0)')\n"))
    result = api.check("ch99", sub, hidden=True, seed=1, course=course)
    by = {}
    for r in result.results:
        by.setdefault(r.exercise, set()).add(r.outcome.value)
    assert by["ops.double"] == {"memory"} and "memory" not in by["ops.softplus"]


# --- on a GPU --------------------------------------------------------------------------------------

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (benchmarks/gpu_check.py runs the chapters)")
def test_a_check_runs_on_the_gpu_in_the_strict_sandbox(course, tmp_path):
    sub = write_submission(tmp_path / "subs", "good", GOOD_OPS)
    result = api.check("ch99", sub, hidden=True, seed=1, course=course, device="cuda")
    assert result.device == "cuda" and result.score == result.max_score, [r.message for r in result.results]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run the chapters")
def test_the_gpu_script_says_there_is_no_gpu_and_exits_0():
    script = REPO / "benchmarks" / "gpu_check.py"
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "no CUDA device here" in r.stdout, r.stdout + r.stderr
