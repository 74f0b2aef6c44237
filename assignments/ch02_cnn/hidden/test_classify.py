"""Hidden checks for classify.py (chapter 2's introduction and 2.6: softmax, cross-entropy,
one-hot). Expected values come from torch's own routines in the judge."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

from ._util import F32, randint, randn

# float64 exp/log/sum of O(1) values: a few ulps; 1e-12 admits any summation order.
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 at logits of 1e4: one ulp there is ~1e-3, so a correct implementation that forms
# logits − logsumexp(logits) (both ~1e4) may be off by ~1e-3 in the exponent, i.e. a relative
# error of ~1e-3 in a probability and an absolute one of ~1e-3 in a log-probability near 0.
# Bugs give NaN, ±inf or errors of order 1, far outside either band.
TOL32_PROB = dict(rtol=2e-3, atol=1e-6)
TOL32_LOG = dict(rtol=1e-6, atol=4e-3)

TORCH = {"softmax": F.softmax, "log_softmax": F.log_softmax}


def _huge_rows(g, device):
    """float32 logits of magnitude up to ~1e4, with rows that sit far apart: one row near +1e4,
    one near −1e4, one mixed. A shift by the maximum of the whole tensor, or no shift, fails."""
    k = randint(g, 4, 7)
    rows = [1e4 + 50 * randn(g, k), -1e4 + 50 * randn(g, k), 1e4 * randn(g, k)]
    return torch.stack(rows).to(dtype=F32, device=device)


def _compare(ctx, name, x, dim, tol, what):
    got = ctx.call(f"classify.{name}", x, dim=dim)
    assert_close(got, TORCH[name](x, dim=dim), what=what, **tol)


@check("classify.softmax", points=2)
def softmax_float64_last_dim(ctx):
    """Matches F.softmax over the last dim of a (5, 6) float64 tensor (default dim)."""
    x = randn(ctx.generator(), 5, 6, device=ctx.device, scale=3.0)
    got = ctx.call("classify.softmax", x)
    assert_close(got, F.softmax(x, dim=-1), what="softmax(x)", **TOL64)


@check("classify.softmax", points=2)
def softmax_other_dims(ctx):
    """dim=0 and dim=1 of a (3, 4, 5) tensor."""
    x = randn(ctx.generator(), 3, 4, 5, device=ctx.device, scale=3.0)
    for dim in (0, 1):
        _compare(ctx, "softmax", x, dim, TOL64, f"softmax(x, dim={dim}) for x of shape (3, 4, 5)")


@check("classify.softmax", points=2)
def softmax_float32_logits_1e4(ctx):
    """Finite and right for float32 logits of magnitude 1e4 (rows far apart)."""
    x = _huge_rows(ctx.generator(), ctx.device)
    _compare(ctx, "softmax", x, -1, TOL32_PROB, "softmax of float32 logits of magnitude 1e4")


@check("classify.softmax", points=2)
def softmax_gradient(ctx):
    """The gradient through softmax matches F.softmax's, for a random upstream gradient."""
    g = ctx.generator()
    x = randn(g, 4, 5, device=ctx.device, scale=3.0)
    go = randn(g, 4, 5, device=ctx.device)
    got = ctx.run("grad", target="classify.softmax", args=[x], grad_output=go)
    xs = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(F.softmax(xs, dim=-1), [xs], go)
    expect(got["grads"][0] is not None, "softmax: no gradient reaches the logits")
    assert_close(got["grads"][0], want, what="gradient of softmax with respect to the logits", **TOL64)


@check("classify.log_softmax", points=2)
def log_softmax_float64_dims(ctx):
    """Matches F.log_softmax on float64, over the last dim (default) and over dim=0."""
    x = randn(ctx.generator(), 4, 6, device=ctx.device, scale=3.0)
    assert_close(ctx.call("classify.log_softmax", x), F.log_softmax(x, dim=-1), what="log_softmax(x)", **TOL64)
    _compare(ctx, "log_softmax", x, 0, TOL64, "log_softmax(x, dim=0) for x of shape (4, 6)")


@check("classify.log_softmax", points=2)
def log_softmax_float32_logits_1e4(ctx):
    """Finite and right (no −inf) for float32 logits of magnitude 1e4."""
    x = _huge_rows(ctx.generator(), ctx.device)
    _compare(ctx, "log_softmax", x, -1, TOL32_LOG, "log_softmax of float32 logits of magnitude 1e4")


@check("classify.log_softmax", points=2)
def log_softmax_gradient(ctx):
    """The gradient through log_softmax matches F.log_softmax's."""
    g = ctx.generator()
    x = randn(g, 4, 5, device=ctx.device, scale=3.0)
    go = randn(g, 4, 5, device=ctx.device)
    got = ctx.run("grad", target="classify.log_softmax", args=[x], grad_output=go)
    xs = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(F.log_softmax(xs, dim=-1), [xs], go)
    expect(got["grads"][0] is not None, "log_softmax: no gradient reaches the logits")
    assert_close(got["grads"][0], want, what="gradient of log_softmax with respect to the logits", **TOL64)


def _ce_case(g, device, n=None):
    n = n or randint(g, 4, 8)
    k = randint(g, 3, 6)
    return randn(g, n, k, device=device, scale=3.0), torch.randint(0, k, (n,), generator=g).to(device)


@check("classify.cross_entropy", points=2)
def cross_entropy_float64_mean(ctx):
    """Matches F.cross_entropy (the mean over the batch) in float64, for two batch sizes."""
    g = ctx.generator()
    for n in (randint(g, 2, 4), randint(g, 6, 9)):
        logits, targets = _ce_case(g, ctx.device, n)
        got = ctx.call("classify.cross_entropy", logits, targets)
        assert_close(got, F.cross_entropy(logits, targets), what=f"cross_entropy of a batch of {n}", **TOL64)


@check("classify.cross_entropy", points=2)
def cross_entropy_float32_logits_1e4(ctx):
    """Finite and right for float32 logits of magnitude 1e4."""
    g = ctx.generator()
    logits = _huge_rows(g, ctx.device)
    targets = torch.randint(0, logits.shape[1], (3,), generator=g).to(ctx.device)
    got = ctx.call("classify.cross_entropy", logits, targets)
    assert_close(got, F.cross_entropy(logits, targets), what="cross_entropy of float32 logits of magnitude 1e4",
                 **TOL32_LOG)


@check("classify.cross_entropy", points=2)
def cross_entropy_gradient(ctx):
    """The gradient with respect to the logits matches F.cross_entropy's: (softmax − one-hot)/N."""
    logits, targets = _ce_case(ctx.generator(), ctx.device)
    got = ctx.run("grad", target="classify.cross_entropy", args=[logits, targets])
    xs = logits.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(F.cross_entropy(xs, targets), [xs])
    expect(got["grads"][0] is not None, "cross_entropy: no gradient reaches the logits")
    assert_close(got["grads"][0], want, what="gradient of cross_entropy with respect to the logits", **TOL64)


@check("classify.one_hot", points=2)
def one_hot_values_float32(ctx):
    """Float32 one-hot rows; num_classes larger than every target, so the width comes from it."""
    g = ctx.generator()
    k = randint(g, 5, 9)
    targets = torch.randint(0, k - 2, (randint(g, 4, 8),), generator=g).to(ctx.device)
    got = ctx.call("classify.one_hot", targets, k)
    want = F.one_hot(targets, k).to(torch.float32)
    assert_equal(got, want, what=f"one_hot(targets, {k})")


@check("classify.one_hot", points=2)
def one_hot_batched_targets(ctx):
    """Targets of shape (2, 3) give (2, 3, num_classes)."""
    g = ctx.generator()
    k = randint(g, 4, 6)
    targets = torch.randint(0, k, (2, 3), generator=g).to(ctx.device)
    got = ctx.call("classify.one_hot", targets, k)
    assert_equal(got, F.one_hot(targets, k).to(torch.float32), what=f"one_hot of targets shaped (2, 3), {k} classes")
