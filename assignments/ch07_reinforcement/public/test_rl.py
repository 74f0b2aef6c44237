"""Public checks for chapter 7: one quick check per exercise. The grader runs many more (episode
ends everywhere, float32 and float64, where each gradient goes, statistical tests of
epsilon_greedy, its own environment seeds, a probe of the trained weights)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import Partial, check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal
from leedl_grader.authoring.trained import rebuild_sequential

from ._episodes import CURVE_SNAPSHOTS, greedy_returns, training_curve

F64 = torch.float64
TOL = dict(rtol=1e-12, atol=1e-12)  # float64 recursions of a few terms: a few ulps


@check("returns.discounted_returns", points=0.5)
def public_discounted_returns(ctx):
    """Two episodes back to back: rewards [1, 1, 1, 1], the first episode ends at step 1, γ = 0.5."""
    r = torch.ones(4, dtype=F64)
    d = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=F64)
    got = ctx.call("returns.discounted_returns", r, 0.5, d)
    assert_close(got, torch.tensor([1.5, 1.0, 1.5, 1.0], dtype=F64), what="returns", **TOL)


@check("returns.gae", points=0.5)
def public_gae(ctx):
    """λ = 1 and γ = 1 over one unfinished episode: advantages = bootstrapped returns − values."""
    r = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    v = torch.tensor([0.5, 0.5, 0.5], dtype=F64)
    adv, ret = ctx.call("returns.gae", r, v, 10.0, torch.zeros(3, dtype=F64), gamma=1.0, lam=1.0)
    assert_close(ret, torch.tensor([16.0, 15.0, 13.0], dtype=F64), what="returns (bootstrapped from next_value=10)",
                 **TOL)
    assert_close(adv, ret - v, what="advantages", **TOL)


@check("policy_gradient.reinforce_loss", points=0.5)
def public_reinforce_loss(ctx):
    """−mean(log π·(G − b)) on three steps."""
    lp = torch.tensor([-0.5, -1.0, -2.0], dtype=F64)
    g = torch.tensor([3.0, 1.0, 2.0], dtype=F64)
    b = torch.tensor([1.0, 1.0, 1.0], dtype=F64)
    got = ctx.call("policy_gradient.reinforce_loss", lp, g, b)
    assert_close(got, torch.tensor(-(-0.5 * 2 + 0 + -2.0 * 1) / 3, dtype=F64), what="reinforce_loss", **TOL)


@check("policy_gradient.actor_critic_loss", points=0.5)
def public_actor_critic_loss(ctx):
    """Policy term + 0.5·MSE with the default coefficients."""
    lp = torch.tensor([-0.5, -1.0], dtype=F64)
    v = torch.tensor([1.0, 2.0], dtype=F64)
    g = torch.tensor([2.0, 0.0], dtype=F64)
    want = -(-0.5 * 1.0 + -1.0 * -2.0) / 2 + 0.5 * (1.0 + 4.0) / 2
    assert_close(ctx.call("policy_gradient.actor_critic_loss", lp, v, g), torch.tensor(want, dtype=F64),
                 what="actor_critic_loss", **TOL)


@check("dqn.epsilon_greedy", points=0.5)
def public_epsilon_greedy(ctx):
    """ε = 0 is the argmax of each row."""
    q = torch.tensor([[0.1, 0.9, 0.3], [2.0, -1.0, 0.0]])
    (got,) = ctx.run("seeded_call", target="dqn.epsilon_greedy", seeds=[0], args=[q, 0.0])
    assert_equal(got, torch.tensor([1, 0]), what="greedy actions")


@check("dqn.td_targets", points=0.5)
def public_td_targets(ctx):
    """r + γ·max Q′ for an unfinished transition, r for a finished one."""
    got = ctx.call("dqn.td_targets", torch.tensor([1.0, 1.0], dtype=F64), torch.tensor([[1.0, 3.0], [5.0, 2.0]],
                   dtype=F64), torch.tensor([0.0, 1.0], dtype=F64), 0.5)
    assert_close(got, torch.tensor([2.5, 1.0], dtype=F64), what="TD targets", **TOL)


@check("dqn.double_dqn_targets", points=0.5)
def public_double_dqn_targets(ctx):
    """The online network picks action 0, the target network values it at 4."""
    got = ctx.call("dqn.double_dqn_targets", torch.tensor([1.0], dtype=F64), torch.tensor([[9.0, 1.0]], dtype=F64),
                   torch.tensor([[4.0, 8.0]], dtype=F64), torch.tensor([0.0], dtype=F64), 0.5)
    assert_close(got, torch.tensor([3.0], dtype=F64), what="Double DQN target", **TOL)


@check("dqn.dqn_loss", points=0.5)
def public_dqn_loss(ctx):
    """Matches F.smooth_l1_loss on Q(s, a)."""
    q = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)
    a = torch.tensor([1, 0])
    t = torch.tensor([0.0, 3.5], dtype=F64)
    assert_close(ctx.call("dqn.dqn_loss", q, a, t), F.smooth_l1_loss(torch.tensor([2.0, 3.0], dtype=F64), t),
                 what="dqn_loss", **TOL)


@check("policy_gradient.train_cartpole", points=1, timeout=300, cpu_limit=60, kind="training")
def public_train_cartpole(ctx):
    """train_cartpole(seed=0): mean return of 20 greedy episodes (seeds 0–19); full points at ≥ 475.

    With ``leedl check ch07 --plots DIR`` this check also saves the return during training: the
    grader replays copies of the weights taken at evenly spaced optimizer steps."""
    model = ctx.train("policy_gradient.train_cartpole", seed=0, snapshots=CURVE_SNAPSHOTS if ctx.plotting else 0)
    policy = rebuild_sequential(model)  # the grader rebuilds torch's Linear/ReLU/Tanh layers itself
    returns = greedy_returns(policy, range(20))
    mean = sum(returns) / len(returns)
    if ctx.plotting:
        curve = training_curve(model, rebuild_sequential, ctx.generator("curve"), "train_cartpole(seed=0)")
        ctx.artifact({"curve": curve or {
            "x": list(range(1, 21)), "xlabel": "greedy episode", "series": {"return": returns},
            "title": f"mean return {mean:.1f} (no optimizer steps seen: no training curve)"}})
    expect(mean > 0, "no episode was run")
    frac = min(max((mean - 100.0) / (475.0 - 100.0), 0.0), 1.0)  # the grader's band: none at 100, full at 475
    return Partial(frac, f"mean return {mean:.1f} over 20 greedy episodes (full points at ≥ 475)")
