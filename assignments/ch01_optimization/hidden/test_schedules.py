"""Hidden checks for schedules.py (notes 1.4 learning-rate scheduling)."""

import math

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close
from leedl_grader.authoring.helpers import randint, reference_module, uniform


def _lrs(ctx, name, steps, *args, **kwargs):
    out = [ctx.call(f"schedules.{name}", s, *args, **kwargs) for s in steps]
    bad = [type(x).__name__ for x in out if not isinstance(x, float)]
    expect(not bad, f"{name} must return a Python float, got {bad[0] if bad else ''}")
    return out


def _close(got, want, base_lr, what):
    # every value is a few float64 roundings of O(base_lr): 1e-12·base_lr absolute covers any valid
    # formula (including cos² vs (1+cos)/2 near the end, where relative errors grow), and bugs are O(base_lr)
    assert_close(got, want, rtol=1e-12, atol=1e-12 * base_lr, what=what)


def _steplr(steps, base_lr, step_size, gamma):
    """The learning rates torch.optim.lr_scheduler.StepLR actually produces, step by step."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma)
    out = []
    for _ in range(max(steps) + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return [out[s] for s in steps]


def _cosine_closed_form(step, base_lr, total, min_lr):
    """CosineAnnealingLR._get_closed_form_lr, for step ≤ T_max."""
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total)) / 2


# --- step_decay -------------------------------------------------------------------------------


@check("schedules.step_decay", points=2.5)
def step_decay_matches_steplr(ctx):
    """step_decay matches the learning rates StepLR produces, over several decays."""
    g = ctx.generator("steplr")
    base, size, gamma = uniform(g, 0.01, 1.0), randint(g, 2, 7), uniform(g, 0.1, 0.9)
    steps = list(range(size * 5 + 2))
    _close(_lrs(ctx, "step_decay", steps, base, size, gamma), _steplr(steps, base, size, gamma), base, "learning rates")


@check("schedules.step_decay", points=1.5)
def step_decay_at_boundaries(ctx):
    """the decay happens exactly at multiples of step_size (not one step early or late)."""
    g = ctx.generator("boundary")
    base, size, gamma = uniform(g, 0.01, 1.0), randint(g, 3, 9), uniform(g, 0.1, 0.9)
    k = randint(g, 1, 4)
    steps = [k * size - 1, k * size, k * size + 1]
    want = [base * gamma ** (k - 1), base * gamma**k, base * gamma**k]
    _close(_lrs(ctx, "step_decay", steps, base, size, gamma), want, base,
           f"learning rates at steps {steps} (step_size={size})")


@check("schedules.step_decay", points=1)
def step_decay_step_zero(ctx):
    """at step 0 the learning rate is base_lr (also with step_size = 1)."""
    g = ctx.generator("zero")
    base, gamma = uniform(g, 0.01, 1.0), uniform(g, 0.1, 0.9)
    for size in (1, randint(g, 2, 9)):
        _close(_lrs(ctx, "step_decay", [0, 1], base, size, gamma), [base, base * gamma ** (1 // size)], base,
               f"learning rates at steps 0, 1 (step_size={size})")


# --- cosine_decay -----------------------------------------------------------------------------


@check("schedules.cosine_decay", points=2)
def cosine_matches_closed_form(ctx):
    """cosine_decay matches CosineAnnealingLR's closed form for 0 ≤ step ≤ total_steps (min_lr > 0)."""
    g = ctx.generator("closed")
    base, total = uniform(g, 0.1, 1.0), randint(g, 5, 60)
    min_lr = base * uniform(g, 0.05, 0.5)
    steps = list(range(total + 1))
    want = [_cosine_closed_form(s, base, total, min_lr) for s in steps]
    _close(_lrs(ctx, "cosine_decay", steps, base, total, min_lr), want, base, f"learning rates (total_steps={total})")


@check("schedules.cosine_decay", points=1.5)
def cosine_after_total_steps(ctx):
    """after total_steps the learning rate stays at min_lr (it does not come back up)."""
    g = ctx.generator("after")
    base, total = uniform(g, 0.1, 1.0), randint(g, 5, 40)
    min_lr = base * uniform(g, 0.05, 0.5)
    steps = [total + k for k in range(1, 2 * total, max(1, total // 4))]
    _close(_lrs(ctx, "cosine_decay", steps, base, total, min_lr), [min_lr] * len(steps), base,
           f"learning rates after total_steps={total}")


@check("schedules.cosine_decay", points=1)
def cosine_default_min_lr(ctx):
    """without min_lr the schedule goes from base_lr down to 0 (and stays there)."""
    g = ctx.generator("default")
    base, total = uniform(g, 0.1, 1.0), randint(g, 5, 40)
    steps = list(range(0, total + 5))
    want = [_cosine_closed_form(min(s, total), base, total, 0.0) for s in steps]
    _close(_lrs(ctx, "cosine_decay", steps, base, total), want, base,
           f"learning rates (total_steps={total}, no min_lr)")


@check("schedules.cosine_decay", points=0.5)
def cosine_step_zero(ctx):
    """at step 0 the learning rate is base_lr."""
    g = ctx.generator("zero")
    base, total = uniform(g, 0.1, 1.0), randint(g, 1, 40)
    lrs = _lrs(ctx, "cosine_decay", [0], base, total, base * uniform(g, 0.0, 0.5))
    _close(lrs, [base], base, "learning rate at step 0")


# --- linear_warmup_cosine ---------------------------------------------------------------------


def _warmup_args(g):
    base = uniform(g, 0.1, 1.0)
    warm = randint(g, 2, 20)
    return base, warm, warm + randint(g, 5, 40), base * uniform(g, 0.05, 0.5)


@check("schedules.linear_warmup_cosine", points=1.5)
def warmup_linear_phase(ctx):
    """during warm-up the learning rate is base_lr·step/warmup_steps (from 0, not from min_lr)."""
    g = ctx.generator("linear")
    base, warm, total, min_lr = _warmup_args(g)
    steps = list(range(warm))
    _close(_lrs(ctx, "linear_warmup_cosine", steps, base, warm, total, min_lr), [base * s / warm for s in steps],
           base, f"learning rates during warm-up (warmup_steps={warm})")


@check("schedules.linear_warmup_cosine", points=0.5)
def warmup_step_zero(ctx):
    """at step 0 the learning rate is 0."""
    g = ctx.generator("zero")
    base, warm, total, min_lr = _warmup_args(g)
    _close(_lrs(ctx, "linear_warmup_cosine", [0], base, warm, total, min_lr), [0.0], base, "learning rate at step 0")


@check("schedules.linear_warmup_cosine", points=2)
def warmup_cosine_phase(ctx):
    """from warmup_steps to total_steps the learning rate follows the reference's cosine."""
    g = ctx.generator("cosine")
    base, warm, total, min_lr = _warmup_args(g)
    steps = list(range(warm, total + 1))
    want = [reference_module(ctx, "schedules").linear_warmup_cosine(s, base, warm, total, min_lr) for s in steps]
    _close(_lrs(ctx, "linear_warmup_cosine", steps, base, warm, total, min_lr), want, base,
           f"learning rates after warm-up (warmup_steps={warm}, total_steps={total})")


@check("schedules.linear_warmup_cosine", points=1)
def warmup_after_total_steps(ctx):
    """after total_steps the learning rate stays at min_lr."""
    g = ctx.generator("after")
    base, warm, total, min_lr = _warmup_args(g)
    steps = [total + k for k in range(1, 2 * total, max(1, total // 4))]
    _close(_lrs(ctx, "linear_warmup_cosine", steps, base, warm, total, min_lr), [min_lr] * len(steps), base,
           f"learning rates after total_steps={total}")


@check("schedules.linear_warmup_cosine", points=1)
def warmup_zero_warmup_steps(ctx):
    """warmup_steps = 0 is a plain cosine decay from base_lr at step 0."""
    g = ctx.generator("nowarm")
    base, _, total, min_lr = _warmup_args(g)
    steps = list(range(total + 1))
    want = [_cosine_closed_form(s, base, total, min_lr) for s in steps]
    _close(_lrs(ctx, "linear_warmup_cosine", steps, base, 0, total, min_lr), want, base,
           f"learning rates with warmup_steps=0, total_steps={total}")


# --- transformer_lr ---------------------------------------------------------------------------


@check("schedules.transformer_lr", points=2)
def transformer_lr_matches_reference(ctx):
    """transformer_lr matches d_model^−0.5·min(step^−0.5, step·warmup^−1.5) for steps ≥ 1."""
    g = ctx.generator("formula")
    d, warm = 2 ** randint(g, 5, 10), randint(g, 10, 400)
    steps = sorted({1, warm - 1, warm, warm + 1} | {randint(g, 1, 4 * warm) for _ in range(30)})
    want = [reference_module(ctx, "schedules").transformer_lr(s, d, warm) for s in steps]
    _close(_lrs(ctx, "transformer_lr", steps, d, warm), want, max(want), f"learning rates (d_model={d}, warmup={warm})")


@check("schedules.transformer_lr", points=1)
def transformer_lr_step_zero(ctx):
    """at step 0 the learning rate is 0.0 (no division by zero)."""
    g = ctx.generator("zero")
    d, warm = 2 ** randint(g, 5, 10), randint(g, 10, 400)
    got = _lrs(ctx, "transformer_lr", [0], d, warm)
    expect(got == [0.0], f"transformer_lr(0, {d}, {warm}) returned {got[0]!r}, expected 0.0")


@check("schedules.transformer_lr", points=1)
def transformer_lr_default_warmup(ctx):
    """without warmup_steps the warm-up lasts 4000 steps."""
    g = ctx.generator("default")
    d = 2 ** randint(g, 5, 10)
    steps = [randint(g, 1, 3999), 3999, 4000, 4001, randint(g, 4001, 20000)]
    want = [reference_module(ctx, "schedules").transformer_lr(s, d, 4000) for s in steps]
    _close(_lrs(ctx, "transformer_lr", steps, d), want, max(want), f"learning rates (d_model={d}, default warm-up)")


@check("schedules.transformer_lr", points=1)
def transformer_lr_peak_at_warmup(ctx):
    """the largest learning rate is at step = warmup_steps, where it equals (d_model·warmup)^−0.5."""
    g = ctx.generator("peak")
    d, warm = 2 ** randint(g, 5, 10), randint(g, 10, 400)
    steps = list(range(1, 3 * warm))
    got = _lrs(ctx, "transformer_lr", steps, d, warm)
    peak = (d * warm) ** -0.5
    _close([got[warm - 1]], [peak], peak, f"learning rate at step {warm} = warmup_steps")
    expect(max(got) <= peak * (1 + 1e-12), "a learning rate above the value at the end of the warm-up")
