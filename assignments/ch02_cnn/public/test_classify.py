"""Public checks for classify.py (chapter 2's introduction)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close, assert_equal

# float64 exp/log/sum of O(1) values: a few ulps
TOL64 = dict(rtol=1e-12, atol=1e-12)


@check("classify.softmax", points=0.5)
def public_softmax(ctx):
    """softmax matches F.softmax over the last dim."""
    x = torch.randn(3, 4, generator=ctx.generator(), dtype=torch.float64)
    assert_close(ctx.call("classify.softmax", x), F.softmax(x, dim=-1), what="softmax(x)", **TOL64)


@check("classify.log_softmax", points=0.5)
def public_log_softmax(ctx):
    """log_softmax matches F.log_softmax over the last dim."""
    x = torch.randn(3, 4, generator=ctx.generator(), dtype=torch.float64)
    assert_close(ctx.call("classify.log_softmax", x), F.log_softmax(x, dim=-1), what="log_softmax(x)", **TOL64)


@check("classify.cross_entropy", points=0.5)
def public_cross_entropy(ctx):
    """cross_entropy matches F.cross_entropy on a batch of 4."""
    g = ctx.generator()
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (4,), generator=g)
    assert_close(ctx.call("classify.cross_entropy", x, t), F.cross_entropy(x, t), what="cross_entropy", **TOL64)


@check("classify.one_hot", points=0.5)
def public_one_hot(ctx):
    """one_hot([2, 0], 3) is [[0, 0, 1], [1, 0, 0]] in float32."""
    got = ctx.call("classify.one_hot", torch.tensor([2, 0]), 3)
    assert_equal(got, torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), what="one_hot([2, 0], 3)")
