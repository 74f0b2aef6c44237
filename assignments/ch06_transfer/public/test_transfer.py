"""Public checks for transfer.py: one quick check per building block. The grader runs more
(other names, other λ and γ, float32 and float64, the gradients inside DANN)."""

import math

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal


@check("transfer.freeze", points=0.5)
def public_freeze_head(ctx):
    """freeze(net, ["head"]) leaves only head.* trainable."""
    net = {"body": [["Linear", 2, 3], ["ReLU"], ["Linear", 3, 3]], "head": ["Linear", 3, 2]}
    got = ctx.run("module_apply", target="transfer.freeze", module=net, args=[["head"]])
    flags = got["requires_grad"]
    want = {n: n.startswith("head.") for n in flags}
    assert_equal(flags, want, what="requires_grad of each parameter")


@check("transfer.grad_reverse", points=0.5)
def public_grad_reverse(ctx):
    """Identity forward; the gradient times −0.5 backward (λ = 0.5)."""
    x = torch.randn(3, 2, generator=ctx.generator(), dtype=torch.float64)
    go = torch.ones(3, 2, dtype=torch.float64)
    got = ctx.run("grad", target="transfer.grad_reverse", args=[x], kwargs={"lambd": 0.5}, grad_output=go)
    assert_close(got["out"], x, rtol=0, atol=0, what="grad_reverse(x)")
    expect(got["grads"][0] is not None, "no gradient reaches x")
    assert_close(got["grads"][0], -0.5 * go, rtol=1e-12, atol=0, what="gradient through grad_reverse(x, 0.5)")


@check("transfer.dann_lambda", points=0.5)
def public_dann_lambda(ctx):
    """dann_lambda(0) = 0 and dann_lambda(0.5) = 2/(1+e^−5) − 1."""
    assert_close(float(ctx.call("transfer.dann_lambda", 0.0)), 0.0, rtol=0, atol=1e-15, what="dann_lambda(0)")
    assert_close(float(ctx.call("transfer.dann_lambda", 0.5)), 2 / (1 + math.exp(-5)) - 1, rtol=1e-12, atol=0,
                 what="dann_lambda(0.5)")


@check("transfer.DANN", points=0.5)
def public_dann_shapes(ctx):
    """DANN()(x, 1.0) returns (class logits (4, 2), domain logits (4, 2))."""
    x = torch.randn(4, 2, generator=ctx.generator())
    got = ctx.run("module_calls", target="transfer.DANN", calls=[{"args": [x, 1.0]}])
    out = got["calls"][0]["out"]
    expect(isinstance(out, (tuple, list)) and len(out) == 2, "forward(x, lambd) should return a pair")
    assert_equal([tuple(t.shape) for t in out], [(4, 2), (4, 2)], what="output shapes")
