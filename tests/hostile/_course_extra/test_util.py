import torch

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close


@check("util.halve", points=1, timeout=5)
def halve_float64(ctx):
    x = torch.randn(6, generator=ctx.generator(), dtype=torch.float64)
    assert_close(ctx.call("util.halve", x), ctx.reference.util.halve(x), rtol=0, atol=0)
