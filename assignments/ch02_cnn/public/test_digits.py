"""Public check for digits.py. train_digits is graded by the grader only (it trains for
seconds; run it yourself and measure the test accuracy: full points at ≥ 0.96)."""

import torch

from leedl_grader.checks import check, expect
from leedl_grader.compare import assert_equal


@check("digits.DigitCNN", points=0.5)
def public_digitcnn_shape(ctx):
    """DigitCNN() maps (4, 1, 8, 8) to (4, 10)."""
    x = torch.rand(4, 1, 8, 8, generator=ctx.generator())
    got = ctx.run("module_probe", target="digits.DigitCNN", inputs=[x])
    out = got["outputs"][0]
    expect(isinstance(out, torch.Tensor), f"DigitCNN()(x) returned {type(out).__name__}, expected a tensor")
    assert_equal(tuple(out.shape), (4, 10), what="output shape")
