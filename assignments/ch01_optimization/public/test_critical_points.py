"""Public checks for critical_points.py (notes 1.1). Run them with `leedl check ch01`."""

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close
from leedl_grader.drivers import run_local

from .drivers import make_loss, mlp_size

F64 = torch.float64


def _spec_to(spec, device):
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in spec.items()}


@check("critical_points.hessian", points=0.5)
def public_hessian_mlp(ctx):
    """hessian of a small MLP's loss matches torch.autograd.functional.hessian (float64)."""
    g = ctx.generator("mlp")
    d, h, k = 2, 3, 6
    spec = _spec_to({"kind": "mlp", "X": torch.randn(k, d, generator=g, dtype=F64),
                     "y": torch.randn(k, generator=g, dtype=F64), "hidden": h}, ctx.device)
    theta = torch.randn(mlp_size(d, h), generator=g, dtype=F64).to(ctx.device)
    got = ctx.run("loss_call", target="critical_points.hessian", loss=spec, args=(theta,))["out"]
    want = run_local("loss_call", torch.autograd.functional.hessian, loss=spec, args=(theta,))["out"]
    assert_close(got, want, rtol=1e-10, atol=1e-11, what="Hessian")  # float64 double backward: a few ulps


@check("critical_points.taylor_approximation", points=0.5)
def public_taylor_quadratic_is_exact(ctx):
    """for a quadratic loss, the second-order Taylor approximation equals L(θ) exactly."""
    g = ctx.generator("quadratic")
    a = torch.randn(4, 4, generator=g, dtype=F64)
    spec = _spec_to({"kind": "quadratic", "A": a + a.T, "b": torch.randn(4, generator=g, dtype=F64)}, ctx.device)
    tp = torch.randn(4, generator=g, dtype=F64).to(ctx.device)
    th = torch.randn(4, generator=g, dtype=F64).to(ctx.device)
    got = ctx.run("loss_call", target="critical_points.taylor_approximation", loss=spec, args=(tp, th))["out"]
    assert_close(got, make_loss(spec)(th), rtol=1e-10, atol=1e-10, what="Taylor approximation")


@check("critical_points.classify_critical_point", points=0.5)
def public_classify_examples(ctx):
    """diagonal Hessians of each kind get the right label."""
    cases = [([2.0, 1.0], "local_minimum"), ([-2.0, -1.0], "local_maximum"),
             ([2.0, -1.0], "saddle_point"), ([2.0, 0.0], "degenerate")]
    for lam, want in cases:
        h = torch.diag(torch.tensor(lam, dtype=F64)).to(ctx.device)
        got = ctx.call("critical_points.classify_critical_point", h)
        expect(got == want, f"eigenvalues {lam}: got {got!r}, expected {want!r}")


@check("critical_points.escape_direction", points=0.5)
def public_escape_direction(ctx):
    """at a saddle the direction is ±(the eigenvector of the negative eigenvalue); None at a minimum."""
    h = torch.tensor([[1.0, 0.0, 0.0], [0.0, -3.0, 0.0], [0.0, 0.0, 2.0]], dtype=F64).to(ctx.device)
    got = ctx.call("critical_points.escape_direction", h)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}")
    assert_close(got.abs(), torch.tensor([0.0, 1.0, 0.0], dtype=F64), rtol=0, atol=1e-12, what="|direction|")
    got = ctx.call("critical_points.escape_direction", torch.eye(3, dtype=F64).to(ctx.device))
    expect(got is None, "positive definite Hessian: expected None")
