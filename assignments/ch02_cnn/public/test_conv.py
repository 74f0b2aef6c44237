"""Public checks for conv.py (notes 2.2, 2.4): small cases against torch. The grader's hidden
checks go further (stride with padding, non-square kernels, gradients, speed)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_equal

from ._where import assert_close_at

# float64 sums of a few dozen O(1) products: any summation order is within 1e-12
TOL64 = dict(rtol=1e-12, atol=1e-12)


def _case(g):
    x = torch.randn(2, 2, 5, 6, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(3, generator=g, dtype=torch.float64)
    return x, w, b


@check("conv.conv_output_size", points=0.5)
def public_output_size(ctx):
    """A 32-wide input, 3-wide kernel: stride 1 / padding 1 keeps 32; stride 2 gives 16."""
    assert_equal(ctx.call("conv.conv_output_size", 32, 3, 1, 1), 32, what="conv_output_size(32, 3, 1, 1)")
    assert_equal(ctx.call("conv.conv_output_size", 32, 3, 2, 1), 16, what="conv_output_size(32, 3, 2, 1)")


@check("conv.zero_pad2d", points=0.5)
def public_zero_pad(ctx):
    """zero_pad2d(x, 1) equals F.pad(x, (1, 1, 1, 1))."""
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    assert_equal(ctx.call("conv.zero_pad2d", x, 1), F.pad(x, (1, 1, 1, 1)), what="zero_pad2d(x, 1)")


@check("conv.conv2d_naive", points=0.5)
def public_conv2d_naive(ctx):
    """conv2d_naive matches F.conv2d (stride 1, padding 0)."""
    x, w, b = _case(ctx.generator())
    assert_close_at(ctx.call("conv.conv2d_naive", x, w, b), F.conv2d(x, w, b), what="conv2d_naive(x, w, b)", **TOL64)


@check("conv.conv2d", points=0.5)
def public_conv2d(ctx):
    """conv2d matches F.conv2d (stride 1, padding 1)."""
    x, w, b = _case(ctx.generator())
    got = ctx.call("conv.conv2d", x, w, b, padding=1)
    assert_close_at(got, F.conv2d(x, w, b, padding=1), what="conv2d(x, w, b, padding=1)", **TOL64)


@check("conv.receptive_field", points=0.5)
def public_receptive_field(ctx):
    """Two 3×3 stride-1 layers see 5×5 (notes 2.2)."""
    assert_equal(ctx.call("conv.receptive_field", [(3, 1), (3, 1)]), 5, what="receptive_field([(3, 1), (3, 1)])")


@check("conv.conv_param_count", points=0.5)
def public_conv_param_count(ctx):
    """nn.Conv2d(3, 64, 3) has 3·64·3·3 + 64 parameters."""
    assert_equal(ctx.call("conv.conv_param_count", 3, 64, 3), 1792, what="conv_param_count(3, 64, 3)")


@check("conv.fc_param_count", points=0.5)
def public_fc_param_count(ctx):
    """nn.Linear(100, 10) has 100·10 + 10 parameters."""
    assert_equal(ctx.call("conv.fc_param_count", 100, 10), 1010, what="fc_param_count(100, 10)")
