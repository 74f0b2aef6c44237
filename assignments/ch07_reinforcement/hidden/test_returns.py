"""Hidden checks for returns.py: discounted returns and GAE, against the judge's own recursion.

Every case has episode ends inside the batch (an episode of one step among them), so a ``dones``
read one step late or early is wrong somewhere; every GAE case has an unfinished last episode,
so a missing bootstrap from ``next_value`` shows.
"""

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

from ._util import F32, F64, TOL32, TOL64, episode_dones, gae_reference, randint, randn, returns_reference, uniform


def _rewards(g, device, dtype=F64):
    return randn(g, randint(g, 9, 12), dtype=dtype, device=device)


@check("returns.discounted_returns", points=3)
def returns_single_episode_float64(ctx):
    """dones=None (one episode): G_t = r_t + γ·G_{t+1}, G_{T−1} = r_{T−1}, for two values of γ."""
    g = ctx.generator()
    r = _rewards(g, ctx.device)
    for gamma in (uniform(g, 0.5, 0.99), 1.0):
        got = ctx.call("returns.discounted_returns", r, gamma)
        assert_close(got, returns_reference(r, gamma).to(ctx.device), what=f"returns with gamma={gamma:.4f}", **TOL64)


@check("returns.discounted_returns", points=6)
def returns_with_episode_ends_float64(ctx):
    """Several episodes back to back (one of a single step): nothing after done_t enters G_t."""
    g = ctx.generator()
    for end_done in (False, True):
        r = _rewards(g, ctx.device)
        d = episode_dones(g, len(r), end_done=end_done, device=ctx.device)
        gamma = uniform(g, 0.8, 0.99)
        got = ctx.call("returns.discounted_returns", r, gamma, d)
        assert_close(got, returns_reference(r, gamma, d).to(ctx.device),
                     what=f"returns with dones {d.int().tolist()}", **TOL64)


@check("returns.discounted_returns", points=3)
def returns_float32_bool_dones_inputs_kept(ctx):
    """float32 rewards with bool dones keep float32; the inputs are not modified."""
    g = ctx.generator()
    r = _rewards(g, ctx.device, F32)
    d = episode_dones(g, len(r), end_done=False, device=ctx.device).bool()
    gamma = uniform(g, 0.8, 0.99)
    res = ctx.run("call", target="returns.discounted_returns", args=[r, gamma, d], return_args=True)
    got = res["out"]
    expect(isinstance(got, torch.Tensor), f"discounted_returns returned {type(got).__name__}")
    assert_equal(str(got.dtype), str(F32), what="dtype of the returns for float32 rewards")
    assert_close(got, returns_reference(r, gamma, d).float().to(ctx.device), what="float32 returns with bool dones",
                 **TOL32)
    assert_close(res["args"][0], r, rtol=0, atol=0, what="rewards after the call (must not change)")
    assert_close(res["args"][2], d, rtol=0, atol=0, what="dones after the call (must not change)")


def _gae_case(g, device, end_done, dtype=F64):
    r = _rewards(g, device, dtype)
    v = randn(g, len(r), dtype=dtype, device=device)
    d = episode_dones(g, len(r), end_done=end_done, device=device).to(dtype)
    return r, v, uniform(g, -2.0, 2.0), d


@check("returns.gae", points=6)
def gae_bootstraps_unfinished_episode(ctx):
    """The last episode is unfinished: its advantages bootstrap from next_value (float64)."""
    g = ctx.generator()
    r, v, nv, d = _gae_case(g, ctx.device, end_done=False)
    gamma, lam = uniform(g, 0.9, 0.99), uniform(g, 0.8, 0.97)
    adv, ret = ctx.call("returns.gae", r, v, nv, d, gamma=gamma, lam=lam)
    want_adv, want_ret = gae_reference(r, v, nv, d, gamma, lam)
    assert_close(adv, want_adv.to(ctx.device), what=f"advantages (next_value={nv:.3f}, dones {d.int().tolist()})",
                 **TOL64)
    assert_close(ret, want_ret.to(ctx.device), what="returns = advantages + values", **TOL64)


@check("returns.gae", points=3)
def gae_episode_ends_and_extreme_lambdas(ctx):
    """A finished last episode ignores next_value; λ = 0 gives the TD errors, λ = 1 the
    bootstrapped returns minus the values; default γ and λ are 0.99 and 0.95."""
    g = ctx.generator()
    r, v, nv, d = _gae_case(g, ctx.device, end_done=True)
    for kwargs in ({"gamma": uniform(g, 0.9, 0.99), "lam": 0.0}, {"gamma": uniform(g, 0.9, 0.99), "lam": 1.0}, {}):
        adv, _ = ctx.call("returns.gae", r, v, nv, d, **kwargs)
        want, _ = gae_reference(r, v, nv, d, kwargs.get("gamma", 0.99), kwargs.get("lam", 0.95))
        assert_close(adv, want.to(ctx.device), what=f"advantages with {kwargs or 'the defaults'}", **TOL64)


@check("returns.gae", points=3)
def gae_float32_targets_carry_no_gradient(ctx):
    """float32 with values that require grad: right values, float32, and neither output is
    tracked by autograd (they are targets)."""
    g = ctx.generator()
    r, v, nv, d = _gae_case(g, ctx.device, end_done=False, dtype=F32)
    got = ctx.run("grad_flow", target="returns.gae", args=[r, v, nv, d], wrt=[1])
    adv, ret = got["out"]
    want_adv, want_ret = gae_reference(r, v, nv, d, 0.99, 0.95)
    assert_close(adv, want_adv.float().to(ctx.device), what="float32 advantages", **TOL32)
    assert_close(ret, want_ret.float().to(ctx.device), what="float32 returns", **TOL32)
    assert_equal(str(adv.dtype), str(F32), what="dtype of the advantages")
    expect(not any(got["requires_grad"]), "gae's outputs carry a gradient back into `values`: they are targets, "
                                          "detach them")
