"""Public checks for schedules.py (notes 1.4)."""

import math

import torch

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close

# float64 formulas of O(lr) values: 1e-12 relative to the base rate covers any valid formula
TOL = dict(rtol=1e-12, atol=1e-13)


@check("schedules.step_decay", points=0.5)
def public_step_decay_matches_steplr(ctx):
    """step_decay matches the rates StepLR(step_size=3, gamma=0.5) produces."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    want = []
    for _ in range(10):
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = [ctx.call("schedules.step_decay", s, 0.1, 3, 0.5) for s in range(10)]
    assert_close(got, want, what="learning rates", **TOL)


@check("schedules.cosine_decay", points=0.5)
def public_cosine_closed_form(ctx):
    """cosine_decay matches CosineAnnealingLR's closed form, then stays at min_lr."""
    got = [ctx.call("schedules.cosine_decay", s, 0.1, 10, 0.01) for s in range(14)]
    want = [0.01 + 0.09 * (1 + math.cos(math.pi * min(s, 10) / 10)) / 2 for s in range(14)]
    assert_close(got, want, what="learning rates", **TOL)


@check("schedules.linear_warmup_cosine", points=0.5)
def public_linear_warmup_cosine(ctx):
    """linear_warmup_cosine matches the published values."""
    d = ctx.data["linear_warmup_cosine"]
    got = [ctx.call("schedules.linear_warmup_cosine", s, *d["args"]) for s in d["steps"]]
    assert_close(got, d["lrs"], what="learning rates", **TOL)


@check("schedules.transformer_lr", points=0.5)
def public_transformer_lr(ctx):
    """transformer_lr matches the published values (0 at step 0)."""
    d = ctx.data["transformer_lr"]
    got = [ctx.call("schedules.transformer_lr", s, *d["args"]) for s in d["steps"]]
    assert_close(got, d["lrs"], what="learning rates", **TOL)
