"""Public checks for norms.py (notes 4.4). The grader also checks float32, gradients, large means,
ε, eval mode, (N, C, L) inputs, non-contiguous inputs and speed."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close

# float64 means, variances and one division of O(1) values: a few ulps
TOL64 = dict(rtol=1e-10, atol=1e-10)


@check("norms.layer_norm", points=0.5)
def public_layer_norm(ctx):
    """layer_norm matches F.layer_norm on a (2, 3, 8) float64 input."""
    g = ctx.generator()
    x, gamma, beta = (torch.randn(*s, generator=g, dtype=torch.float64) for s in ((2, 3, 8), (8,), (8,)))
    assert_close(ctx.call("norms.layer_norm", x, gamma, beta), F.layer_norm(x, (8,), gamma, beta),
                 what="layer_norm(x, gamma, beta)", **TOL64)


@check("norms.batch_norm", points=0.5)
def public_batch_norm_training(ctx):
    """batch_norm in training on (6, 3): output and running statistics as F.batch_norm leaves them."""
    g = ctx.generator()
    x = torch.randn(6, 3, generator=g, dtype=torch.float64) + 1
    gamma, beta = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    r = ctx.run("call", target="norms.batch_norm", args=[x, gamma, beta, rm, rv, True], return_args=True)
    rm_t, rv_t = rm.clone(), rv.clone()
    want = F.batch_norm(x, rm_t, rv_t, gamma, beta, True)
    assert_close(r["out"], want, what="batch_norm output", **TOL64)
    assert_close(r["args"][3], rm_t, what="running_mean after the call (updated in place)", **TOL64)
    assert_close(r["args"][4], rv_t, what="running_var after the call (updated in place, unbiased)", **TOL64)


@check("norms.power_norm", points=0.5)
def public_power_norm(ctx):
    """power_norm in training on (4, 2): γ·x/√(mean(x²) + ε) + β per channel, running_phi updated."""
    x = torch.tensor([[1.0, 2.0], [3.0, -2.0], [-1.0, 0.0], [1.0, 4.0]], dtype=torch.float64)
    gamma = torch.tensor([2.0, 1.0], dtype=torch.float64)
    beta = torch.tensor([0.0, 1.0], dtype=torch.float64)
    phi = torch.ones(2, dtype=torch.float64)
    r = ctx.run("call", target="norms.power_norm", args=[x, gamma, beta, phi, True], kwargs={"eps": 0.0},
                return_args=True)
    psi2 = torch.tensor([3.0, 6.0], dtype=torch.float64)  # mean of x² per channel
    assert_close(r["out"], gamma * x / psi2.sqrt() + beta, what="power_norm output", **TOL64)
    assert_close(r["args"][3], 0.9 * phi + 0.1 * psi2, what="running_phi after the call", **TOL64)
