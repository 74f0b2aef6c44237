"""Hidden check of ``train_cartpole``: 20 greedy episodes of CartPole-v1, stepped by the judge.

The student's function trains in a sandbox of its own (gymnasium steps there). Only the returned
``nn.Sequential``'s layer kinds and weights come back; the judge rebuilds it from torch's own
``Linear``/``ReLU``/``Tanh`` layers and runs every graded episode itself, with environment seeds
drawn from the run's seed, so no student code runs while the return is measured.
"""

import torch

from leedl_grader.authoring.checks import Partial, check, expect
from leedl_grader.authoring.trained import rebuild_sequential

from ..public import _episodes  # one episode runner for both suites
from ..public._episodes import greedy_returns, training_curve

FULL, ZERO = 475.0, 100.0  # mean return for full points / for none; linear in between
TIME_LIMIT = 60.0  # CPU seconds on one thread; the reference takes 1.5–3.5
WALL_LIMIT = 300.0  # wall seconds: only against hangs, generous for a busy machine
EPISODES = 20
# Redrawn weights (each tensor from a normal law with its own mean and spread) give a random
# policy; a random two-layer policy sometimes balances the pole (measured on 300 redraws of the
# reference: 8 % reach a mean return of 100, 0.7 % reach 475). So the probe redraws up to REDRAWS
# times: a policy whose every redraw keeps its mean return (within KEEP_MARGIN) is not computing
# with its weights. An honest policy is flagged only if all redraws do so by chance: below
# 0.09^6 ≈ 5e-7 even at the bottom of the band.
REDRAWS = 6
KEEP_MARGIN = 10.0


def checked_policy(model):
    policy = rebuild_sequential(model)  # torch's Linear/ReLU/Tanh only, or the check fails with a message
    with torch.no_grad():
        out = policy(torch.zeros(4))
    expect(tuple(out.shape) == (2,), f"the policy maps a state (4,) to {tuple(out.shape)}; expected 2 logits")
    return policy


@check("policy_gradient.train_cartpole", points=13, timeout=WALL_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
def cartpole_greedy_return(ctx):
    """Mean return of 20 greedy episodes with the grader's environment seeds: full points at
    ≥ 475, none at ≤ 100; the weights must carry it (redrawn weights lose it)."""
    g = ctx.generator()
    seed = int(torch.randint(0, 3, (), generator=g))  # the contract promises the threshold for seeds 0, 1 and 2
    env_seeds = torch.randint(0, 2**31 - 1, (EPISODES,), generator=g).tolist()
    model = ctx.train("policy_gradient.train_cartpole", seed=seed,
                      snapshots=_episodes.CURVE_SNAPSHOTS if ctx.plotting else 0)
    returns = greedy_returns(checked_policy(model), env_seeds)
    mean = sum(returns) / len(returns)
    if mean > ZERO:
        probe = ctx.generator("reinit")
        kept = 0
        for _ in range(REDRAWS):
            redrawn = greedy_returns(rebuild_sequential(model.reinitialised(probe)), env_seeds)
            if sum(redrawn) / EPISODES < mean - KEEP_MARGIN:
                break
            kept += 1
        expect(kept < REDRAWS, f"the returned policy keeps its mean return ({mean:.1f}) whatever weights the grader "
                               "loads into it: it does not act through its trained weights, so it scores 0")
    if ctx.plotting:
        curve = training_curve(model, rebuild_sequential, ctx.generator("curve"), f"train_cartpole(seed={seed})")
        ctx.artifact({"curve": curve or {
            "x": list(range(1, EPISODES + 1)), "xlabel": "greedy episode (grader's seeds)",
            "series": {"return": returns}, "title": f"train_cartpole(seed={seed}): mean return {mean:.1f} "
                                                    "(no optimizer steps seen: no training curve)"}})
    frac = min(max((mean - ZERO) / (FULL - ZERO), 0.0), 1.0)
    return Partial(frac, f"train_cartpole(seed={seed}): mean return {mean:.1f} over {EPISODES} greedy episodes "
                         f"(worst {min(returns):.0f}); full points at ≥ {FULL:.0f}, none at ≤ {ZERO:.0f}")
