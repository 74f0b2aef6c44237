"""A training exercise trains once per submission and request, however many checks read the
model: the public and the hidden check that ask for the same training share it; another seed,
another submission trains again."""

from dataclasses import replace

import torch
from conftest import GOOD_OPS, write_submission

from leedl_grader.api import sandbox_mode
from leedl_grader.authoring.checks import check
from leedl_grader.course.chapters import load_chapter
from leedl_grader.judge.context import Context
from leedl_grader.judge.runner import Judge, JudgeOptions
from leedl_grader.model import Exercise

FIT = GOOD_OPS + '''

def fit(x, y, seed=0):
    torch.manual_seed(seed)
    m = torch.nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.copy_(torch.linalg.lstsq(x, y).solution.T)
    return m
'''


def _checks():
    x, y = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)), torch.ones(8, 1)

    def read(ctx, seed):
        model = ctx.train("ops.fit", x, y, seed=seed)
        assert model.state_dict["weight"].shape == (1, 2)

    @check("ops.fit", points=1, kind="training", timeout=60)
    def public_fit(ctx):
        read(ctx, 0)

    @check("ops.fit", points=1, kind="training", timeout=60)
    def hidden_fit(ctx):
        read(ctx, 0)

    @check("ops.fit", points=1, kind="training", timeout=60)
    def hidden_fit_seed_1(ctx):
        read(ctx, 1)

    return (public_fit, replace(hidden_fit, visibility="hidden"), replace(hidden_fit_seed_1, visibility="hidden"))


def test_one_training_per_submission_and_request(course, tmp_path, monkeypatch):
    ch = load_chapter(course / "assignments" / "ch99_demo")
    ch = replace(ch, exercises=(*ch.exercises, Exercise(name="ops.fit")))
    trainings = []
    fresh = Context._fresh
    monkeypatch.setattr(Context, "_fresh", lambda self, stem: trainings.append(stem) or fresh(self, stem))
    judge = Judge(ch, _checks(), JudgeOptions(mode=sandbox_mode()))
    judge.start()
    try:
        for student in ("ann", "ben"):
            r = judge.grade(write_submission(tmp_path / "subs", student, FIT), student, seed=3)
            assert [c.outcome.value for c in r.results] == ["passed"] * 3, r.results
    finally:
        judge.close()
    assert trainings == ["ops"] * 4  # per student: seed 0 once (public and hidden), seed 1 once
