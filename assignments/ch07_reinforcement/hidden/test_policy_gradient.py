"""Hidden checks for policy_gradient.py's losses: values and, above all, where the gradient goes.

The expected losses and gradients are computed here by autograd on the contract's formulas.
"""

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

from ._util import F32, F64, TOL32, TOL64, randint, randn, uniform


def _batch(g, device, dtype=F64, shape=None):
    shape = shape or (randint(g, 6, 10),)
    logp = (-randn(g, *shape).abs() - 0.05).to(dtype=dtype, device=device)  # log-probabilities < 0
    ret = randn(g, *shape, scale=3.0, dtype=dtype, device=device)
    base = randn(g, *shape, dtype=dtype, device=device)
    return logp, ret, base


def _reinforce(logp, ret, base=None):
    return -(logp * (ret - (0 if base is None else base.detach()))).mean()


def _grads(fn, args, wrt, go=None):
    args = [a.detach().clone().requires_grad_(i in wrt) if isinstance(a, torch.Tensor) else a
            for i, a in enumerate(args)]
    out = fn(*args)
    grads = torch.autograd.grad(out, [args[i] for i in wrt], allow_unused=True)
    return out.detach(), [torch.zeros_like(args[i]) if gr is None else gr for i, gr in zip(wrt, grads)]


def _no_grad_or_zero(got, what):
    expect(got is None or float(got.abs().max()) == 0.0, f"{what} gets a gradient from the loss; it must get none")


@check("policy_gradient.reinforce_loss", points=3)
def reinforce_values_float64(ctx):
    """−mean(log π·(G − b)) in float64, with a baseline and with baseline=None."""
    g = ctx.generator()
    logp, ret, base = _batch(g, ctx.device)
    assert_close(ctx.call("policy_gradient.reinforce_loss", logp, ret, base), _reinforce(logp, ret, base),
                 what="reinforce_loss with a baseline", **TOL64)
    assert_close(ctx.call("policy_gradient.reinforce_loss", logp, ret), _reinforce(logp, ret),
                 what="reinforce_loss without a baseline", **TOL64)


@check("policy_gradient.reinforce_loss", points=6)
def reinforce_gradient_skips_baseline(ctx):
    """The gradient reaches log_probs as −(G − b)/N; the baseline (a critic's output, which
    requires grad) gets none."""
    g = ctx.generator()
    logp, ret, base = _batch(g, ctx.device)
    got = ctx.run("grad", target="policy_gradient.reinforce_loss", args=[logp, ret, base], wrt=[0, 2])
    _, (want_logp, _) = _grads(_reinforce, [logp, ret, base], [0, 2])
    expect(got["grads"][0] is not None, "no gradient reaches log_probs")
    assert_close(got["grads"][0], want_logp, what="gradient with respect to log_probs", **TOL64)
    _no_grad_or_zero(got["grads"][1], "the baseline")


@check("policy_gradient.reinforce_loss", points=3)
def reinforce_float32_any_shape(ctx):
    """float32 and a (B, T) batch of episodes: the mean over every element, float32 out."""
    g = ctx.generator()
    logp, ret, base = _batch(g, ctx.device, F32, shape=(randint(g, 2, 4), randint(g, 5, 8)))
    got = ctx.call("policy_gradient.reinforce_loss", logp, ret, base)
    expect(isinstance(got, torch.Tensor) and got.numel() == 1, "reinforce_loss should return a scalar tensor")
    assert_equal(str(got.dtype), str(F32), what="dtype of the loss")
    assert_close(got.reshape(()), _reinforce(logp.double(), ret.double(), base.double()).float(),
                 what="reinforce_loss on a (B, T) float32 batch", **TOL32)


def _actor_critic(logp, values, ret, value_coef=0.5, entropy=None, entropy_coef=0.0):
    adv = (ret - values).detach()
    loss = -(logp * adv).mean() + value_coef * ((values - ret) ** 2).mean()
    return loss if entropy is None else loss - entropy_coef * entropy.mean()


def _ac_case(g, device, dtype=F64):
    logp, ret, values = _batch(g, device, dtype)
    entropy = randn(g, len(logp), dtype=dtype, device=device).abs()
    return logp, values, ret, entropy


@check("policy_gradient.actor_critic_loss", points=3)
def actor_critic_values_float64(ctx):
    """The loss with default coefficients and no entropy, then with random coefficients and an entropy bonus."""
    g = ctx.generator()
    logp, values, ret, ent = _ac_case(g, ctx.device)
    assert_close(ctx.call("policy_gradient.actor_critic_loss", logp, values, ret),
                 _actor_critic(logp, values, ret), what="actor_critic_loss with the defaults", **TOL64)
    vc, ec = uniform(g, 0.2, 1.5), uniform(g, 0.01, 0.5)
    got = ctx.call("policy_gradient.actor_critic_loss", logp, values, ret, value_coef=vc, entropy=ent, entropy_coef=ec)
    assert_close(got, _actor_critic(logp, values, ret, vc, ent, ec),
                 what=f"actor_critic_loss (value_coef={vc:.3f}, entropy_coef={ec:.3f})", **TOL64)


@check("policy_gradient.actor_critic_loss", points=6)
def actor_critic_gradients(ctx):
    """Gradients: the critic gets only the value term's (no policy-term gradient through the
    advantage), log_probs the policy term's, the entropy −entropy_coef/N."""
    g = ctx.generator()
    logp, values, ret, ent = _ac_case(g, ctx.device)
    vc, ec = uniform(g, 0.2, 1.5), uniform(g, 0.01, 0.5)
    kwargs = {"value_coef": vc, "entropy": ent, "entropy_coef": ec}
    got = ctx.run("grad", target="policy_gradient.actor_critic_loss", args=[logp, values, ret], kwargs=kwargs,
                  wrt=[0, 1])
    _, (want_logp, want_values) = _grads(lambda a, b, c: _actor_critic(a, b, c, vc, ent, ec), [logp, values, ret],
                                         [0, 1])
    expect(got["grads"][0] is not None and got["grads"][1] is not None,
           "no gradient reaches log_probs or values")
    assert_close(got["grads"][0], want_logp, what="gradient with respect to log_probs", **TOL64)
    assert_close(got["grads"][1], want_values, what="gradient with respect to values (the critic: only "
                 "value_coef·MSE may train it)", **TOL64)
    got = ctx.run("grad", target="policy_gradient.actor_critic_loss", args=[logp, values, ret, vc, ent, ec], wrt=[4])
    assert_close(got["grads"][0], torch.full_like(ent, -ec / len(ent)), what="gradient with respect to the entropy",
                 **TOL64)


@check("policy_gradient.actor_critic_loss", points=3)
def actor_critic_float32(ctx):
    """float32 in, float32 out, with an entropy bonus."""
    g = ctx.generator()
    logp, values, ret, ent = _ac_case(g, ctx.device, F32)
    ec = uniform(g, 0.01, 0.5)
    got = ctx.call("policy_gradient.actor_critic_loss", logp, values, ret, entropy=ent, entropy_coef=ec)
    expect(isinstance(got, torch.Tensor) and got.numel() == 1, "actor_critic_loss should return a scalar tensor")
    assert_equal(str(got.dtype), str(F32), what="dtype of the loss")
    want = _actor_critic(logp.double(), values.double(), ret.double(), 0.5, ent.double(), ec).float()
    assert_close(got.reshape(()), want, what="float32 actor_critic_loss", **TOL32)
