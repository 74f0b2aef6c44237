"""Speed on the CPU clock counts every process of the submission: work handed to a helper
process is timed as it happens (the cgroup's CPU), not only once that process is reaped."""

import json

from click.testing import CliRunner
from conftest import GOOD_OPS, write_submission

from leedl_grader.cli import main
from leedl_grader.sandbox import cgroup

SPEED_CHECK = '''
import torch

from leedl_grader.authoring.checks import Partial, check


def yardstick(x):  # 2·x exactly (x @ I is exact in float32), about a millisecond of work
    eye = torch.eye(x.shape[-1], dtype=x.dtype)
    y = x
    for _ in range(40):
        y = y @ eye
    return y * 2


@check("ops.double", points=1, kind="speed", timeout=120)
def double_speed(ctx):
    x = torch.randn(64, 64, generator=ctx.generator(), dtype=torch.float32)
    ratio = ctx.time_ratio("ops.double", (x,), yardstick, clock="cpu", repeats=3)
    return Partial(1.0 if ratio <= 1 else 0.0, f"{ratio:.2f}x")
'''

# The work (a correct double, plus 3 ms of spinning: far slower than the reference) is done by a
# helper process started at the first call; the graded process only moves bytes through pipes.
OFFLOAD = GOOD_OPS.replace("def double(", "def _double(") + '''

import os
import time

import numpy as np

_helper = []


def _serve(rd, wr):
    while True:
        n = int(os.read(rd, 16) or b"0")
        if not n:
            os._exit(0)
        raw = b""
        while len(raw) < n:
            raw += os.read(rd, n - len(raw))
        t = time.process_time()
        while time.process_time() - t < 0.003:
            pass
        out = (np.frombuffer(raw, dtype=np.float32) * 2).tobytes()
        view = memoryview(out)
        while view:
            view = view[os.write(wr, view):]


def double(x):
    if x.dtype != torch.float32:
        return _double(x)
    if not _helper:
        a, b = os.pipe()
        c, d = os.pipe()
        if os.fork() == 0:
            _serve(a, d)
        _helper.extend([b, c])
    wr, rd = _helper
    data = x.contiguous().numpy().tobytes()
    os.write(wr, f"{len(data):<16}".encode())
    view = memoryview(data)
    while view:
        view = view[os.write(wr, view):]
    raw = b""
    while len(raw) < len(data):
        raw += os.read(rd, len(data) - len(raw))
    return torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy()).reshape(x.shape)
'''


def test_work_handed_to_a_helper_process_is_timed(course, tmp_path):
    if cgroup.backend()[0] is None:
        import pytest

        pytest.skip("no cgroup here: only the graded process's own threads are timed")
    ch = course / "assignments" / "ch99_demo"
    (ch / "chapter.toml").write_text('exercises = ["ops.double", "ops.softplus"]\n')  # no must-not-call list
    (ch / "hidden" / "test_speed.py").write_text(SPEED_CHECK)
    subs = tmp_path / "subs"
    write_submission(subs, "honest", GOOD_OPS)
    write_submission(subs, "offload", OFFLOAD)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(out), "--seed", "5"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    speed = {}
    for name in ("honest", "offload"):
        tests = json.loads((out / f"{name}.json").read_text())["tests"]
        (t,) = [t for t in tests if t["name"].endswith("double_speed")]
        speed[name] = t
    assert speed["honest"]["score"] == 1, speed["honest"]["output"]
    assert speed["offload"]["score"] == 0, speed["offload"]["output"]
    # the helper's correct answers pass every other check: only the speed is at stake
    offload = json.loads((out / "offload.json").read_text())
    assert all(t["score"] == t["max_score"] for t in offload["tests"] if not t["name"].endswith("double_speed"))


# Honest and fast, but its first call on a new shape pays a second of set-up (as a library that
# prepares a kernel per shape, or a first import, does): the timed calls are its first of 64×64.
SLOW_FIRST_CALL = GOOD_OPS.replace("def double(", "def _double(") + '''

import time

_shapes = set()


def double(x):
    if tuple(x.shape) not in _shapes:
        t = time.process_time()
        while time.process_time() - t < 1.0:
            pass
        _shapes.add(tuple(x.shape))
    return _double(x)
'''


def test_a_slow_first_call_is_not_taken_for_slow_code(course, tmp_path):
    ch = course / "assignments" / "ch99_demo"
    (ch / "chapter.toml").write_text('exercises = ["ops.double", "ops.softplus"]\n')
    (ch / "hidden" / "test_speed.py").write_text(SPEED_CHECK)
    subs = tmp_path / "subs"
    write_submission(subs, "lazy", SLOW_FIRST_CALL)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(out), "--seed", "5"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    tests = json.loads((out / "lazy.json").read_text())["tests"]
    (t,) = [t for t in tests if t["name"].endswith("double_speed")]
    assert t["score"] == 1, t["output"]
