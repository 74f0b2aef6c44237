"""Chapter 1 content, tested without the engine's worker: the reference against torch, the zoo's
text, the checks' coverage of CURRICULUM.md, and the checks themselves run in-process through a
small fake context (reference: full marks; stubs: nothing)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import shutil
import sys
import traceback
from pathlib import Path

import pytest
import torch

from leedl_grader import wire
from leedl_grader.checks import CheckFailed, Partial, StudentError
from leedl_grader.drivers import DRIVERS, load_all, run_local
from leedl_grader.model import Check

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CHAPTER = REPO / "assignments" / "ch01_optimization"
SOLUTION = REPO / "solutions" / "ch01_optimization"
ZOO = REPO / "tests" / "zoo" / "ch01_optimization.toml"
CURRICULUM = REPO.parent / "shared" / "CURRICULUM.md"

load_all()


def _import_package(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py", submodule_search_locations=[str(path)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _manifest() -> dict:
    return tomllib.loads((CHAPTER / "chapter.toml").read_text(encoding="utf-8"))


def _checks(kind: str) -> list[Check]:
    pkg = f"_ch01_test_{kind}"
    _import_package(pkg, CHAPTER / kind)
    found = []
    for f in sorted((CHAPTER / kind).glob("test_*.py")):
        mod = importlib.import_module(f"{pkg}.{f.stem}")
        found += [v for v in vars(mod).values() if isinstance(v, Check)]
    return found


def _reference():
    pkg = _import_package("_ch01_test_reference", SOLUTION)
    for f in ("critical_points", "batching", "optimizers", "schedules"):
        importlib.import_module(f"{pkg.__name__}.{f}")
    return pkg


def _zoo() -> list[dict]:
    return tomllib.loads(ZOO.read_text(encoding="utf-8"))["variant"]


# --- a fake context: the student's package in this process, plain data through the wire ------


class FakeContext:
    def __init__(self, package, check: Check, seed: int, reference=None, data=None):
        self.package, self.check, self.seed = package, check, seed
        self.reference, self.data = reference, data or {}
        self.device = torch.device("cpu")

    def generator(self, stream: str = "") -> torch.Generator:
        h = hashlib.sha256(f"{self.seed}/{self.check.exercise}/{self.check.name}/{stream}".encode()).digest()
        return torch.Generator().manual_seed(int.from_bytes(h[:8], "little"))

    def run(self, driver: str, target: str | None = None, **spec):
        file, _, name = target.partition(".")
        obj = getattr(importlib.import_module(f"{self.package.__name__}.{file}"), name)
        spec = wire.decode(wire.encode(spec))
        try:
            out = DRIVERS[driver](obj, **spec)
        except NotImplementedError as exc:
            raise StudentError("NotImplementedError", str(exc), outcome="missing") from None
        except Exception as exc:
            raise StudentError(type(exc).__name__, "".join(traceback.format_exception_only(exc))) from None
        return wire.decode(wire.encode(out))

    def call(self, target: str, *args, **kwargs):
        return self.run("call", target=target, args=list(args), kwargs=kwargs)["out"]


def _grade(package, checks, seed, reference=None, data=None) -> dict[str, tuple[str, float, float, str]]:
    """check name -> (exercise, score, max, message)."""
    out = {}
    for c in checks:
        ctx = FakeContext(package, c, seed, reference=reference, data=data)
        try:
            r = c.fn(ctx)
            frac = r.fraction if isinstance(r, Partial) else 1.0
            out[c.name] = (c.exercise, c.points * frac, c.points, "")
        except (CheckFailed, StudentError) as exc:
            out[c.name] = (c.exercise, 0.0, c.points, str(exc))
    return out


def _public_data():
    path = CHAPTER / "public" / "expected.json"
    import json

    return wire.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


# --- the reference against torch, in-process -------------------------------------------------


def test_reference_hessian_matches_torch():
    ref = _reference()
    from leedl_grader.drivers.optim import make_loss, mlp_size

    g = torch.Generator().manual_seed(0)
    spec = {"kind": "mlp", "X": torch.randn(5, 2, generator=g, dtype=torch.float64),
            "y": torch.randn(5, generator=g, dtype=torch.float64), "hidden": 3}
    theta = torch.randn(mlp_size(2, 3), generator=g, dtype=torch.float64)
    want = torch.autograd.functional.hessian(make_loss(spec), theta)
    torch.testing.assert_close(ref.critical_points.hessian(make_loss(spec), theta), want, rtol=1e-10, atol=1e-12)
    lin = make_loss({"kind": "linear", "b": torch.ones(3, dtype=torch.float32)})
    assert torch.equal(ref.critical_points.hessian(lin, torch.zeros(3)), torch.zeros(3, 3))


@pytest.mark.parametrize("name,cls,extra", [
    ("Adam", torch.optim.Adam, {"betas": (0.8, 0.99), "eps": 1e-3}),
    ("Momentum", torch.optim.SGD, {"momentum": 0.7}),
    ("RMSProp", torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-2}),
])
def test_reference_optimizer_matches_torch_with_reload(name, cls, extra):
    ref = _reference()
    g = torch.Generator().manual_seed(1)
    params = [torch.randn(3, generator=g, dtype=torch.float64), torch.randn(2, 2, generator=g, dtype=torch.float64)]
    grads = [[torch.randn(p.shape, generator=g, dtype=torch.float64) if (k + i) % 3 else None
              for i, p in enumerate(params)] for k in range(6)]
    spec = {"groups": [{"params": params[:1], "lr": 0.05}, {"params": params[1:], "lr": 0.2}],
            "grads": grads, "defaults": {"lr": 0.5, **extra}, "reload_at": 3}
    got = run_local("optimizer_trajectory", getattr(ref.optimizers, name), **spec)
    want = run_local("optimizer_trajectory", cls, **spec)
    torch.testing.assert_close(got["params"], want["params"], rtol=1e-12, atol=1e-12)


def test_reference_schedules_match_torch():
    ref = _reference()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    for s in range(20):
        assert ref.schedules.step_decay(s, 0.3, 4, 0.5) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()
    assert ref.schedules.cosine_decay(0, 0.1, 10) == 0.1
    assert ref.schedules.cosine_decay(10, 0.1, 10, 0.01) == pytest.approx(0.01, abs=1e-15)
    assert ref.schedules.cosine_decay(25, 0.1, 10, 0.01) == 0.01
    assert ref.schedules.transformer_lr(0, 512) == 0.0
    assert ref.schedules.transformer_lr(4000, 512) == pytest.approx((512 * 4000) ** -0.5, rel=1e-12)


# --- manifest, CURRICULUM and check coverage ---------------------------------------------------


def _curriculum_exercises() -> list[str]:
    text = CURRICULUM.read_text(encoding="utf-8")
    section = text.split("## ch01_optimization", 1)[1].split("\n## ", 1)[0]
    out, file = [], None
    for line in section.splitlines():
        m = re.match(r"^`(\w+)\.py`", line)
        if m:
            file = m.group(1)
            continue
        m = re.match(r"^- `(\w+)\(", line)
        if m and file:
            out.append(f"{file}.{m.group(1)}")
    return out


@pytest.mark.skipif(not CURRICULUM.is_file(), reason="CURRICULUM.md is not beside the repository")
def test_chapter_lists_curriculum_exercises_in_order():
    assert _manifest()["exercises"] == _curriculum_exercises()


def test_every_exercise_has_hidden_and_public_checks():
    exercises = set(_manifest()["exercises"])
    for kind in ("hidden", "public"):
        covered = {c.exercise for c in _checks(kind)}
        assert exercises - covered == set(), f"{kind}: exercises without a check"


def test_every_check_names_a_known_exercise_and_is_unique():
    exercises = set(_manifest()["exercises"])
    for kind in ("hidden", "public"):
        checks = _checks(kind)
        assert {c.exercise for c in checks} <= exercises
        names = [c.name for c in checks]
        assert len(names) == len(set(names)), f"{kind}: duplicate check names"
        assert all(c.description for c in checks), f"{kind}: every check needs a docstring"


def test_hidden_points_total_about_100():
    assert sum(c.points for c in _checks("hidden")) == pytest.approx(100)


def test_forbidden_lists():
    files = _manifest()["files"]
    assert {"torch.autograd.functional", "torch.func"} <= set(files["critical_points.py"]["forbidden"])
    assert {"torch.optim.SGD", "torch.optim.Adam", "torch.optim.Adagrad", "torch.optim.RMSprop",
            "torch.optim._functional"} <= set(files["optimizers.py"]["forbidden"])


# --- the zoo's text ---------------------------------------------------------------------------


def test_zoo_replacements_occur_exactly_once():
    exercises = set(_manifest()["exercises"])
    names = set()
    for v in _zoo():
        assert v["name"] not in names, f"duplicate zoo variant {v['name']}"
        names.add(v["name"])
        assert v["kind"] in ("bug", "alternative")
        assert v["exercise"] in exercises, v["name"]
        assert v["file"] == v["exercise"].split(".")[0] + ".py", v["name"]
        text = (SOLUTION / v["file"]).read_text(encoding="utf-8")
        for r in v["replace"]:
            assert text.count(r["old"]) == 1, f"{v['name']}: {r['old']!r} occurs {text.count(r['old'])} times"
            text = text.replace(r["old"], r["new"])


def test_zoo_covers_every_exercise():
    for ex in _manifest()["exercises"]:
        kinds = [v["kind"] for v in _zoo() if v["exercise"] == ex]
        assert kinds.count("bug") >= 2 and kinds.count("alternative") >= 1, ex


# --- the checks, in-process -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7])
def test_reference_scores_full_marks(seed):
    ref = _reference()
    hidden = _grade(ref, _checks("hidden"), seed, reference=ref)
    public = _grade(ref, _checks("public"), seed, reference=None, data=_public_data())  # public: no reference
    lost = {k: v[3] for k, v in {**hidden, **public}.items() if v[1] < v[2]}
    assert not lost


def test_stubs_score_zero():
    stubs = _import_package("_ch01_test_stubs", CHAPTER)
    got = _grade(stubs, _checks("hidden") + _checks("public"), 0, reference=_reference(), data=_public_data())
    scoring = [k for k, v in got.items() if v[1] > 0]
    assert not scoring


def _variant_package(tmp_path: Path, v: dict):
    dest = tmp_path / v["name"]
    shutil.copytree(SOLUTION, dest, ignore=shutil.ignore_patterns("__pycache__"))
    path = dest / v["file"]
    text = path.read_text(encoding="utf-8")
    for r in v["replace"]:
        text = text.replace(r["old"], r["new"])
    path.write_text(text, encoding="utf-8")
    return _import_package(f"_ch01_zoo_{v['name']}", dest)


@pytest.mark.slow
@pytest.mark.parametrize("variant", _zoo(), ids=lambda v: v["name"])
def test_zoo_variant_in_process(tmp_path, variant):
    """Bugs lose points on their own exercise only; alternatives keep full marks (seed 3)."""
    pkg = _variant_package(tmp_path, variant)
    got = _grade(pkg, _checks("hidden"), 3, reference=_reference())
    lost = {v[0] for v in got.values() if v[1] < v[2]}
    if variant["kind"] == "bug":
        assert lost == {variant["exercise"]}
    else:
        assert lost == set(), {k: v[3] for k, v in got.items() if v[1] < v[2]}
