"""Public checks for pooling.py (notes 2.6)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close

# float64 max selects, mean adds four values: a few ulps at most
TOL64 = dict(rtol=1e-12, atol=1e-12)


@check("pooling.max_pool2d", points=0.5)
def public_max_pool(ctx):
    """max_pool2d(x, 2) matches F.max_pool2d on a 1×2×4×6 input."""
    x = torch.randn(1, 2, 4, 6, generator=ctx.generator(), dtype=torch.float64)
    assert_close(ctx.call("pooling.max_pool2d", x, 2), F.max_pool2d(x, 2), what="max_pool2d(x, 2)", **TOL64)


@check("pooling.avg_pool2d", points=0.5)
def public_avg_pool(ctx):
    """avg_pool2d(x, 2) matches F.avg_pool2d on a 1×2×4×6 input."""
    x = torch.randn(1, 2, 4, 6, generator=ctx.generator(), dtype=torch.float64)
    assert_close(ctx.call("pooling.avg_pool2d", x, 2), F.avg_pool2d(x, 2), what="avg_pool2d(x, 2)", **TOL64)
