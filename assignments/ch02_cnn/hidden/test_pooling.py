"""Hidden checks for pooling.py (notes 2.6): values and gradients against F.max_pool2d and
F.avg_pool2d, on non-square inputs whose sides are not multiples of the window (the leftover
rows and columns must be dropped)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check, expect

from ._util import F32, INPUT, TOL32, TOL64, assert_close_at, randint, randn

TORCH = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d}


def _x(g, device, dtype=torch.float64):
    """(N, C, H, W), H ≠ W; distinct values almost surely (no ties for max pooling)."""
    h = randint(g, 7, 9)
    return randn(g, randint(g, 2, 3), randint(g, 2, 3), h, h + randint(g, 1, 3), dtype=dtype, device=device)


def _values(ctx, name, x, k, stride=None, tol=TOL64, what=""):
    target = f"pooling.{name}"
    got = ctx.call(target, x, k) if stride is None else ctx.call(target, x, k, stride=stride)
    want = TORCH[name](x, k, stride)
    assert_close_at(got, want, what=what or f"{name}(x, {k}, stride={stride}) on x of shape {tuple(x.shape)}",
                    names="channel {1}, window ({2}, {3}) of sample {0}", **tol)


def _gradient(ctx, name, x, k, stride):
    g = ctx.generator("grad_output")
    want_out = TORCH[name](x, k, stride)
    go = randn(g, *want_out.shape, dtype=x.dtype, device=x.device)
    got = ctx.run("grad", target=f"pooling.{name}", args=[x, k], kwargs={"stride": stride}, grad_output=go)
    xs = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(TORCH[name](xs, k, stride), [xs], go)
    expect(got["grads"][0] is not None, f"{name}: no gradient reaches x (is something detached?)")
    assert_close_at(got["grads"][0], want, what=f"{name}(x, {k}, stride={stride}): gradient with respect to x",
                    names=INPUT, **TOL64)


# float64 max pooling selects values, so the comparison could be exact; averaging k² values in
# another order costs a few ulps, hence the shared TOL64 (1e-12).


@check("pooling.max_pool2d", points=2)
def max_pool_default_stride(ctx):
    """stride omitted means stride = kernel_size (2 and 3, sides not multiples of k)."""
    g = ctx.generator()
    x = _x(g, ctx.device)
    for k in (2, 3):
        _values(ctx, "max_pool2d", x, k)


@check("pooling.max_pool2d", points=2)
def max_pool_explicit_stride(ctx):
    """Overlapping windows (stride < k) and gaps between windows (stride > k)."""
    g = ctx.generator()
    x = _x(g, ctx.device)
    _values(ctx, "max_pool2d", x, 3, 1)
    _values(ctx, "max_pool2d", x, 2, 3)


@check("pooling.max_pool2d", points=2)
def max_pool_negative_windows(ctx):
    """Every value negative: the maximum of a window is negative too (float32)."""
    g = ctx.generator()
    x = -_x(g, ctx.device, F32).abs() - 0.5
    _values(ctx, "max_pool2d", x, 2, tol=TOL32, what="max_pool2d(x, 2) on an all-negative float32 x")


@check("pooling.max_pool2d", points=2)
def max_pool_gradient(ctx):
    """The gradient reaches each window's maximum (overlapping windows add up)."""
    x = _x(ctx.generator(), ctx.device)
    _gradient(ctx, "max_pool2d", x, 3, 2)


@check("pooling.avg_pool2d", points=2)
def avg_pool_default_stride(ctx):
    """stride omitted means stride = kernel_size (2 and 3, sides not multiples of k)."""
    g = ctx.generator()
    x = _x(g, ctx.device)
    for k in (2, 3):
        _values(ctx, "avg_pool2d", x, k)


@check("pooling.avg_pool2d", points=2)
def avg_pool_explicit_stride_float32(ctx):
    """Overlapping windows (stride 1) and gaps (stride 3 > k = 2), float32 kept."""
    g = ctx.generator()
    x = _x(g, ctx.device, F32)
    _values(ctx, "avg_pool2d", x, 3, 1, tol=TOL32)
    _values(ctx, "avg_pool2d", x, 2, 3, tol=TOL32)


@check("pooling.avg_pool2d", points=2)
def avg_pool_gradient(ctx):
    """Each window spreads its upstream gradient evenly over its k² inputs."""
    x = _x(ctx.generator(), ctx.device)
    _gradient(ctx, "avg_pool2d", x, 2, 1)
