"""Time limits follow the reference; a hung exercise and a hung student stop costing time."""

from leedl_grader.judge import budget
from leedl_grader.model import Check, CheckResult, Outcome, SubmissionResult


def _check(name, exercise="ops.f", kind="correctness", timeout=20.0, cpu=None):
    return Check(name, exercise, 1.0, fn=lambda ctx: None, timeout=timeout, cpu_limit=cpu, kind=kind)


CHECKS = (_check("a"), _check("b", timeout=2.0), _check("s", kind="speed", timeout=60),
          _check("t", "ops.train", kind="training", timeout=300, cpu=120))


def _reference(durations):
    rs = tuple(CheckResult(c.name, c.exercise, Outcome.PASSED, 1, 1, "", c.visibility, duration=d, kind=c.kind)
               for c, d in zip(CHECKS, durations, strict=True))
    return SubmissionResult("reference", "ch99", 1, "strict", "0", rs)


def test_limits_follow_the_reference_within_the_declared_ceiling():
    tl = budget.derive(CHECKS, _reference([0.05, 0.5, 1.0, 50.0]))
    a, b, s, t = CHECKS
    assert tl.for_check(a) == (budget.FLOOR_S, budget.FLOOR_S)  # 10 x 0.05 + 1 is below the floor
    assert tl.for_check(b) == (2.0, 2.0)  # never above what the check declares
    assert tl.for_check(s) == (26.0, 26.0)  # speed: 25 x the reference, so a slow student gets a ratio
    assert tl.for_check(t) == (300, 120)  # training: as declared (and chapter.toml), outside the budgets
    assert tl.reference_s == 1.55 and tl.budget_s == budget.BUDGET_FLOOR_S
    assert budget.TimeLimits.from_json(tl.to_json()) == tl
    big = budget.derive(CHECKS, _reference([30.0, 0.5, 10.0, 50.0]))
    assert big.budget_s == 4 * 40.5  # four times what the reference needed, when that is more


def test_budgets_refuse_the_rest_of_a_hung_exercise_and_of_a_hung_student():
    tl = budget.TimeLimits(per_check={}, budget_s=40.0, exercise_hang_s=15.0)
    spent = budget.Spent(tl)
    a, other, train = _check("a"), _check("c", "ops.g"), _check("t", "ops.train", kind="training")
    for _ in range(5):
        assert spent.refusal(a) is None
        spent.add(a, 3.0, timed_out=True)
    assert "already lost 15 s" in spent.refusal(a)
    assert spent.refusal(other) is None  # another exercise still runs
    spent.add(other, 25.0, timed_out=False)
    assert "time budget" in spent.refusal(other) and spent.left() == 0.0
    assert spent.refusal(train) is None  # training has its own fixed limit
    assert budget.Spent(None).refusal(a) is None  # no derived limits (leedl check): as declared


def test_every_training_exercise_has_a_fixed_cpu_limit_stated_in_its_stub():
    from pathlib import Path

    from leedl_grader.course import chapters as course

    root = Path(__file__).resolve().parent.parent
    found = 0
    for ch in course.chapters(root):
        training = {c.exercise for k in ("public", "hidden") for c in course.load_suite(ch, k) if c.kind == "training"}
        if not ch.training_cpu_s:  # a chapter being written: its checks' declared limits apply
            continue
        assert training <= set(ch.training_cpu_s), (ch.name, training)
        for ex in training:
            stub = (ch.root / ch.exercise(ex).file).read_text(encoding="utf-8")
            assert f"{ch.training_cpu_s[ex]:g} s" in stub, (ex, ch.training_cpu_s[ex])
            found += 1
    assert found >= 4  # ch02, ch04, ch06, ch07
