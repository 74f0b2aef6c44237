"""Shared by the hidden checks: input makers, the judge's own formulas, tolerances."""

import math

import torch

from leedl_grader.authoring.helpers import F32, F64, randint, randn, uniform  # noqa: F401 - every chapter's

# float64: returns and advantages are recursions of at most ~12 multiply-adds of O(1) numbers;
# the rounding error stays below 12 · 10 · 1.1e-16 ≈ 1e-14, so 1e-12 admits every correct order
# (loops, cumulative products) and no bug (those are off by O(0.1) or more).
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 (eps 1.2e-7): the same bound, ~2e-5 on values of magnitude up to ~10.
TOL32 = dict(rtol=1e-5, atol=2e-5)


def episode_dones(g, length, *, end_done, device="cpu"):
    """0/1 float64 dones of length ``length`` with several episode ends inside: one of length 1
    (two dones in a row), one right at the start, and the last step done or not as asked."""
    d = torch.zeros(length, dtype=F64)
    a = randint(g, 2, length // 2 - 1)
    d[0] = 1.0  # an episode that ends with the very first step
    d[a] = d[a + 1] = 1.0  # two in a row: an episode of a single step
    d[randint(g, a + 3, length - 2)] = 1.0
    d[-1] = 1.0 if end_done else 0.0
    return d.to(device)


def returns_reference(rewards, gamma, dones=None):
    """G_t = r_t + γ·G_{t+1}·(1 − done_t), in float64 Python arithmetic."""
    r = rewards.double().tolist()
    d = [0.0] * len(r) if dones is None else [float(v) for v in dones.double().tolist()]
    out, g = [0.0] * len(r), 0.0
    for t in reversed(range(len(r))):
        g = r[t] + gamma * g * (1.0 - d[t])
        out[t] = g
    return torch.tensor(out, dtype=F64)


def gae_reference(rewards, values, next_value, dones, gamma, lam):
    """(advantages, returns) by the GAE recursion, in float64 Python arithmetic."""
    r, v, d = rewards.double().tolist(), values.double().tolist(), [float(x) for x in dones.double().tolist()]
    v_next = v[1:] + [float(next_value)]
    adv, a = [0.0] * len(r), 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * v_next[t] * (1.0 - d[t]) - v[t]
        a = delta + gamma * lam * (1.0 - d[t]) * a
        adv[t] = a
    adv = torch.tensor(adv, dtype=F64)
    return adv, adv + torch.tensor(v, dtype=F64)


def hoeffding_tolerance(n, delta):
    """t with P(|mean of n independent [0, 1] variables − its expectation| ≥ t) ≤ delta
    (Hoeffding: 2·exp(−2nt²) ≤ delta)."""
    return math.sqrt(math.log(2.0 / delta) / (2.0 * n))
