"""Chapter 1 content: the reference against torch, the checks' coverage of CURRICULUM.md, and the
checks themselves run in this process by the judge's own in-process transport (the same context
and seeds as ``leedl grade``): the reference at another seed than the chapter test's, and every
zoo variant (slow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from leedl_grader.course import chapters as courses
from leedl_grader.course.validate import apply_variant, load_zoo, scope
from leedl_grader.drivers import run_local
from leedl_grader.judge.inprocess import grade_in_process

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CHAPTER = REPO / "assignments" / "ch01_optimization"
SOLUTION = REPO / "solutions" / "ch01_optimization"
CURRICULUM = REPO.parent / "shared" / "CURRICULUM.md"
ch01 = courses.resolve_chapter(REPO, "ch01")


def _manifest() -> dict:
    return tomllib.loads((CHAPTER / "chapter.toml").read_text(encoding="utf-8"))


def _checks(kind: str):
    return courses.load_suite(ch01, kind)


def _reference():
    return courses.load_reference(REPO, ch01)


def _drivers():
    return courses.load_drivers(ch01)


# --- the reference against torch, in-process -------------------------------------------------


def test_reference_hessian_matches_torch():
    ref = _reference()
    make_loss, mlp_size = _drivers().make_loss, _drivers().mlp_size

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
    _drivers()
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
        assert all((c.fn.__doc__ or "").strip() for c in checks), f"{kind}: every check needs a docstring"


def test_hidden_points_total_about_100():
    assert sum(c.points for c in _checks("hidden")) == pytest.approx(100)


def test_forbidden_lists():
    files = _manifest()["files"]
    assert {"torch.autograd.functional", "torch.func"} <= set(files["critical_points.py"]["forbidden"])
    assert {"torch.optim.SGD", "torch.optim.Adam", "torch.optim.Adagrad", "torch.optim.RMSprop",
            "torch.optim._functional"} <= set(files["optimizers.py"]["forbidden"])


# --- the checks, in this process (the judge's context and seeds) ---------------------------------


def _lost(result) -> dict:
    return {f"{c.exercise}:{c.name}": c.message for c in result.results if c.score < c.max_score}


def test_reference_scores_full_marks_at_another_seed():
    """test_chapters.py grades at seed 0; seeds vary values, never which cases are covered."""
    r = grade_in_process(REPO, ch01, SOLUTION, seed=7)
    assert r.max_score > 100 and not _lost(r)


@pytest.mark.slow
def test_every_zoo_variant_in_process(tmp_path):
    """Bugs lose points on their own exercise only; alternatives keep full marks (seed 3), each
    graded on the exercises it reaches, as ``leedl validate`` does."""
    wrong = {}
    for v in load_zoo(REPO, ch01):
        apply_variant(SOLUTION, tmp_path / v.name, v)
        r = grade_in_process(REPO, ch01, tmp_path / v.name, seed=3, only=scope(SOLUTION, ch01, v))
        lost = {e.name for e in r.exercises() if e.score < e.max_score}
        if lost != ({v.exercise} if v.kind == "bug" else set()):
            wrong[v.name] = sorted(lost)
    assert not wrong
