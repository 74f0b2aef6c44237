"""Hidden checks for dqn.py: ε-greedy (exactly, and statistically), TD and Double DQN targets,
the loss and where its gradient goes."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

from ._util import F32, F64, TOL32, TOL64, hoeffding_tolerance, randint, randn, uniform

# ------------------------------------------------------------------------------ epsilon_greedy

STAT_ROWS = 40_000  # rows per statistical check: tolerances of about 0.02 at a false-failure rate of 1e-6
FALSE_FAILURE = 1e-6  # per check, split evenly between its comparisons (a union bound)


def _q(g, *shape, device="cpu", dtype=F64):
    """Q-values with distinct entries in every row (no ties: the argmax is unambiguous)."""
    return randn(g, *shape, dtype=dtype, device=device, scale=2.0)


def _seeded(ctx, q, eps, seeds, global_seeds=None):
    return ctx.run("seeded_call", target="dqn.epsilon_greedy", seeds=seeds, args=[q, eps], global_seeds=global_seeds)


@check("dqn.epsilon_greedy", points=3)
def epsilon_zero_is_greedy(ctx):
    """ε = 0 returns the argmax of every row as int64, for (N, A) and (B, N, A), float32 and float64."""
    g = ctx.generator()
    for shape, dtype in (((randint(g, 5, 9), randint(g, 2, 6)), F64), ((2, randint(g, 3, 5), 4), F32)):
        q = _q(g, *shape, device=ctx.device, dtype=dtype)
        (got,) = _seeded(ctx, q, 0.0, [randint(g, 0, 2**30)])
        expect(isinstance(got, torch.Tensor), f"epsilon_greedy returned {type(got).__name__}")
        assert_equal(str(got.dtype), str(torch.int64), what="dtype of the actions")
        assert_equal(got.cpu(), q.argmax(-1).cpu(), what=f"greedy actions for Q of shape {tuple(shape)}")


@check("dqn.epsilon_greedy", points=6)
def epsilon_greedy_frequencies(ctx):
    """Statistical: over 40 000 rows, every action's frequency and the argmax's match
    P(a) = ε/A + (1 − ε)·[a = argmax] within Hoeffding's bound (false failure ≤ 1e-6)."""
    g = ctx.generator()
    a = randint(g, 3, 6)
    eps = uniform(g, 0.2, 0.8)
    q = _q(g, STAT_ROWS, a, device=ctx.device)
    (got,) = _seeded(ctx, q, eps, [randint(g, 0, 2**30)])
    expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (STAT_ROWS,),
           f"epsilon_greedy should return ({STAT_ROWS},) actions")
    got, best = got.cpu(), q.argmax(-1).cpu()
    expect(bool(((got >= 0) & (got < a)).all()), f"an action outside [0, {a})")
    # a + 1 comparisons of means of STAT_ROWS independent indicators, each with delta/(a + 1)
    tol = hoeffding_tolerance(STAT_ROWS, FALSE_FAILURE / (a + 1))
    hit = float((got == best).double().mean())
    want_hit = 1 - eps + eps / a
    expect(abs(hit - want_hit) <= tol, f"ε={eps:.3f}, {a} actions: the greedy action was taken in {hit:.4f} of the "
                                       f"rows, expected {want_hit:.4f} ± {tol:.4f} (a random action may be the "
                                       "greedy one too)")
    for k in range(a):
        freq = float((got == k).double().mean())
        want = eps / a + (1 - eps) * float((best == k).double().mean())
        expect(abs(freq - want) <= tol, f"ε={eps:.3f}, {a} actions: action {k} was taken in {freq:.4f} of the rows, "
                                        f"expected {want:.4f} ± {tol:.4f}")


@check("dqn.epsilon_greedy", points=3)
def epsilon_greedy_uses_generator(ctx):
    """The same generator seed gives the same actions whatever the global RNG; another seed differs."""
    g = ctx.generator()
    q = _q(g, 200, 4, device=ctx.device)
    s = randint(g, 0, 2**30)
    a1, a2, a3 = _seeded(ctx, q, 0.5, [s, s, s + 1], global_seeds=[randint(g, 0, 2**30), randint(g, 0, 2**30) + 1, 7])
    expect(torch.equal(a1, a2), "two calls with generators seeded alike gave different actions: draw every random "
                                "number from `generator`")
    # 200 rows at ε = 0.5: two seeds agree everywhere with probability (5/8)^200 < 1e-40
    expect(not torch.equal(a1, a3), "two different generator seeds gave the same actions")


# -------------------------------------------------------------------------- td / double targets


def _targets_case(g, device, dtype=F64):
    n, a = randint(g, 6, 10), randint(g, 3, 5)
    r = randn(g, n, dtype=dtype, device=device)
    d = torch.zeros(n, dtype=dtype)
    d[torch.randperm(n, generator=g)[: n // 3]] = 1.0
    d[0], d[-1] = 1.0, 0.0  # both kinds of transition, always
    return r, _q(g, n, a, device=device, dtype=dtype), _q(g, n, a, device=device, dtype=dtype), d.to(device)


def _td(r, q_target, d, gamma):
    return r + gamma * (1 - d) * q_target.max(-1).values


def _double(r, q_online, q_target, d, gamma):
    return r + gamma * (1 - d) * q_target.gather(-1, q_online.argmax(-1, keepdim=True))[:, 0]


@check("dqn.td_targets", points=6)
def td_targets_float64(ctx):
    """r + γ·(1 − done)·max_a Q_target(s′, a) in float64, finished transitions included."""
    g = ctx.generator()
    r, _, qt, d = _targets_case(g, ctx.device)
    gamma = uniform(g, 0.8, 0.99)
    got = ctx.call("dqn.td_targets", r, qt, d, gamma)
    assert_close(got, _td(r, qt, d, gamma), what=f"TD targets (dones {d.int().tolist()})", **TOL64)


@check("dqn.td_targets", points=3)
def td_targets_float32_bool_dones_detached(ctx):
    """float32 with bool dones; the targets are not tracked by autograd even when Q_target is."""
    g = ctx.generator()
    r, _, qt, d = _targets_case(g, ctx.device, F32)
    gamma = uniform(g, 0.8, 0.99)
    got = ctx.run("grad_flow", target="dqn.td_targets", args=[r, qt, d.bool(), gamma], wrt=[1])
    out = got["out"]
    assert_equal(str(out.dtype), str(F32), what="dtype of the targets")
    assert_close(out, _td(r.double(), qt.double(), d.double(), gamma).float(), what="float32 TD targets", **TOL32)
    expect(not any(got["requires_grad"]), "the TD targets carry a gradient: detach them (the target is a constant)")


@check("dqn.double_dqn_targets", points=6)
def double_targets_online_chooses_target_values(ctx):
    """The online network picks the action, the target network values it (float64); rows where
    the two networks disagree about the best action are always present."""
    g = ctx.generator()
    r, qo, qt, d = _targets_case(g, ctx.device)
    qo[0] = qt[0].flip(-1)  # the networks disagree in row 0 and row 1 at least
    qo[1] = -qt[1]
    gamma = uniform(g, 0.8, 0.99)
    got = ctx.call("dqn.double_dqn_targets", r, qo, qt, d, gamma)
    assert_close(got, _double(r, qo, qt, d, gamma), what="Double DQN targets", **TOL64)


@check("dqn.double_dqn_targets", points=3)
def double_targets_float32_detached(ctx):
    """float32 with bool dones; no gradient flows from the targets into either network."""
    g = ctx.generator()
    r, qo, qt, d = _targets_case(g, ctx.device, F32)
    qo[-1] = -qt[-1]  # an unfinished transition where the networks disagree
    gamma = uniform(g, 0.8, 0.99)
    got = ctx.run("grad_flow", target="dqn.double_dqn_targets", args=[r, qo, qt, d.bool(), gamma], wrt=[1, 2])
    out = got["out"]
    assert_equal(str(out.dtype), str(F32), what="dtype of the targets")
    want = _double(r.double(), qo.double(), qt.double(), d.double(), gamma).float()
    assert_close(out, want, what="float32 Double DQN targets", **TOL32)
    expect(not any(got["requires_grad"]), "the Double DQN targets carry a gradient: detach them")


# ------------------------------------------------------------------------------------ dqn_loss


def _loss_case(g, device, dtype=F64):
    n, a = randint(g, 8, 12), randint(g, 3, 5)
    q = _q(g, n, a, device=device, dtype=dtype)
    actions = torch.randint(0, a, (n,), generator=g)
    actions[0], actions[1] = 0, a - 1  # the first and the last action are always taken
    # errors both below and above the Huber threshold of 1
    err = randn(g, n, dtype=dtype, scale=2.0)
    err[0], err[1] = 0.3, -3.0
    targets = q.cpu().gather(1, actions[:, None])[:, 0] + err
    return q, actions.to(device), targets.to(device)


def _loss(q, actions, targets, huber):
    taken = q.gather(1, actions[:, None])[:, 0]
    return F.smooth_l1_loss(taken, targets) if huber else F.mse_loss(taken, targets)


@check("dqn.dqn_loss", points=3)
def dqn_loss_huber_and_mse_float64(ctx):
    """Matches F.smooth_l1_loss (default) and F.mse_loss (huber=False) on Q(s, a), errors on both
    sides of the Huber threshold."""
    g = ctx.generator()
    q, actions, targets = _loss_case(g, ctx.device)
    assert_close(ctx.call("dqn.dqn_loss", q, actions, targets), _loss(q, actions, targets, True),
                 what="dqn_loss (Huber)", **TOL64)
    assert_close(ctx.call("dqn.dqn_loss", q, actions, targets, huber=False), _loss(q, actions, targets, False),
                 what="dqn_loss(huber=False)", **TOL64)


@check("dqn.dqn_loss", points=3)
def dqn_loss_gradient_only_into_q(ctx):
    """The gradient reaches only the Q-values of the actions taken; the targets get none even
    when they require one."""
    g = ctx.generator()
    q, actions, targets = _loss_case(g, ctx.device)
    for huber in (True, False):
        got = ctx.run("grad", target="dqn.dqn_loss", args=[q, actions, targets], kwargs={"huber": huber}, wrt=[0, 2])
        qs = q.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(_loss(qs, actions, targets, huber), [qs])
        expect(got["grads"][0] is not None, "no gradient reaches q_values")
        assert_close(got["grads"][0], want, what=f"gradient with respect to q_values (huber={huber})", **TOL64)
        tg = got["grads"][1]
        expect(tg is None or float(tg.abs().max()) == 0.0,
               "the targets get a gradient from dqn_loss: detach them (they are constants)")


@check("dqn.dqn_loss", points=3)
def dqn_loss_float32(ctx):
    """float32 in, float32 scalar out."""
    g = ctx.generator()
    q, actions, targets = _loss_case(g, ctx.device, F32)
    got = ctx.call("dqn.dqn_loss", q, actions, targets)
    expect(isinstance(got, torch.Tensor) and got.numel() == 1, "dqn_loss should return a scalar tensor")
    assert_equal(str(got.dtype), str(F32), what="dtype of the loss")
    assert_close(got.reshape(()), _loss(q.double(), actions, targets.double(), True).float(),
                 what="float32 dqn_loss", **TOL32)
