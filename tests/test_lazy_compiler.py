"""torch's compiler stack is imported when something needs it: an ``Optimizer`` subclass and the
op tracer work without it, torch's own mark takes over once it is imported, an import under way
on another thread is waited for, and a self-check's workers start without it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import GOOD_OPS, write_submission

ROOT = Path(__file__).resolve().parent.parent


def _run(script: str, *args: str, env: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    r = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


OPTIMIZER = """
import json, sys, torch
from leedl_grader import lazy_compiler
from leedl_grader.drivers import OpTracer
lazy_compiler.install()

class Halve(torch.optim.Optimizer):
    def __init__(self, params):
        super().__init__(params, {})
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.mul_(0.5)

p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
opt = Halve([p])
with OpTracer(("aten::neg",)) as tracer:
    (-p).sum().backward()
opt.step(); opt.zero_grad()
sd = opt.state_dict(); opt.load_state_dict(sd)
before = "torch._dynamo" in sys.modules
import torch._dynamo
opt.zero_grad()
mark = getattr(torch.optim.Optimizer.zero_grad.__wrapped__, "__dynamo_disable")
print(json.dumps({"before": before, "p": p.tolist(), "hits": [h[0] for h in tracer.hits],
                  "mark": mark.__qualname__}))
"""


def test_an_optimizer_and_the_op_tracer_need_no_compiler_stack_until_it_is_imported():
    out = _run(OPTIMIZER)
    assert out["before"] is False  # a second of imports saved
    assert out["p"] == [0.5, 0.5, 0.5] and out["hits"] == ["aten::neg"]  # both still do their work
    assert "_deferred" not in out["mark"]  # from then on, torch's own mark


BESIDE_AN_IMPORT = """
import json, threading, torch
from leedl_grader import lazy_compiler
lazy_compiler.install()
t = threading.Thread(target=__import__, args=("torch._dynamo",))
t.start()
errors, built = [], 0
while t.is_alive() or built < 3:
    try:
        torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1).zero_grad()
        built += 1
    except Exception as exc:
        errors.append(repr(exc))
t.join()
print(json.dumps({"errors": errors[:3], "built": built}))
"""


def test_an_import_under_way_on_another_thread_is_waited_for():
    # The judge imports the compiler stack on a thread while its checks build torch.optim's
    # optimizers: a half-imported module must never be used.
    out = _run(BESIDE_AN_IMPORT)
    assert out["errors"] == [] and out["built"] >= 3


# Doubles right only where torch's compiler stack was not imported before the call (its import
# then takes about a second; an import of what is already imported, microseconds).
ASKS = GOOD_OPS.replace("def double(", "def _double(") + '''

import time


def double(x):
    t = time.perf_counter()
    import torch._dynamo  # noqa: F401
    return _double(x) if time.perf_counter() - t > 0.1 else x
'''

CHECK = """
import json, sys
from pathlib import Path
from leedl_grader import api
r = api.check("ch99", Path(sys.argv[1]), seed=3)
print(json.dumps({c.name: c.score == c.max_score for c in r.results if c.exercise == "ops.double"}))
"""


def test_a_self_check_starts_its_workers_without_the_compiler_stack(course, tmp_path):
    ch = course / "assignments" / "ch99_demo"
    (ch / "chapter.toml").write_text('exercises = ["ops.double", "ops.softplus"]\n')  # may import torch._dynamo
    work = write_submission(tmp_path, "mine", ASKS)
    out = _run(CHECK, str(work), env={"LEEDL_COURSE": str(course)})
    assert out and all(out.values()), out
