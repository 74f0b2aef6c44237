"""Hidden checks for rnn.py (notes 3.7): against torch's ``nn.RNN`` (tanh, one layer,
``batch_first=True``) with the same weights, in values and gradients."""

import torch
from torch import nn

from leedl_grader.authoring.checks import check, expect

from ._util import F32, F64, TOL32, TOL64, close, randn

# float64 rounding over a dozen tanh steps stays ~1e-15; TOL64 (1e-12) admits any summation order.


def _rnn(g, device, *, d_in=4, d_h=6, bidirectional=False, dtype=F64):
    """torch's RNN with weights drawn from g, and the parameters as tuples (w_ih, w_hh, b_ih, b_hh)."""
    rnn = nn.RNN(d_in, d_h, batch_first=True, bidirectional=bidirectional)
    with torch.no_grad():
        for p in rnn.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=F64) * 0.5)
    rnn = rnn.to(dtype=dtype, device=device)
    fwd = tuple(getattr(rnn, f"{n}_l0").detach().clone() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    bwd = tuple(getattr(rnn, f"{n}_l0_reverse").detach().clone()
                for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")) if bidirectional else None
    return rnn, fwd, bwd


def _inputs(g, device, n, length, d_in, d_h, dirs=1, dtype=F64):
    return randn(g, n, length, d_in, dtype=dtype, device=device), randn(g, dirs, n, d_h, dtype=dtype, device=device)


@check("rnn.rnn_forward", points=2)
def rnn_matches_torch(ctx):
    """A batch of 3 sequences of 5 (d_in ≠ d_h), float64: every h_t and h_last."""
    g = ctx.generator()
    rnn, fwd, _ = _rnn(g, ctx.device)
    x, h0 = _inputs(g, ctx.device, 3, 5, 4, 6)
    got = ctx.call("rnn.rnn_forward", x, h0[0], *fwd)
    want_out, want_h = rnn(x, h0)
    expect(isinstance(got, (tuple, list)) and len(got) == 2, "expected a tuple (outputs, h_last)")
    close(got[0], want_out.detach(), what="outputs (N, L, d_h)", tol=TOL64)
    close(got[1], want_h[0].detach(), what="h_last (N, d_h)", tol=TOL64)


@check("rnn.rnn_forward", points=2)
def rnn_float32_single_and_long(ctx):
    """float32: one sequence of 9, and a batch of 4 sequences of length 1."""
    g = ctx.generator()
    rnn, fwd, _ = _rnn(g, ctx.device, d_in=3, d_h=5, dtype=F32)
    for n, length in ((1, 9), (4, 1)):
        x, h0 = _inputs(g, ctx.device, n, length, 3, 5, dtype=F32)
        got = ctx.call("rnn.rnn_forward", x, h0[0], *fwd)
        want_out, want_h = rnn(x, h0)
        expect(isinstance(got, (tuple, list)) and len(got) == 2, "expected a tuple (outputs, h_last)")
        close(got[0], want_out.detach(), what=f"outputs for {n} sequence(s) of {length}, float32", tol=TOL32)
        close(got[1], want_h[0].detach(), what=f"h_last for {n} sequence(s) of {length}, float32", tol=TOL32)


@check("rnn.rnn_forward", points=2)
def rnn_gradients(ctx):
    """Gradients with respect to x, h0 and the four parameters (through outputs and h_last)."""
    g = ctx.generator()
    rnn, fwd, _ = _rnn(g, ctx.device)
    x, h0 = _inputs(g, ctx.device, 2, 6, 4, 6)
    gos = [randn(g, 2, 6, 6, device=ctx.device), randn(g, 2, 6, device=ctx.device)]
    got = ctx.run("grad", target="rnn.rnn_forward", args=[x, h0[0], *fwd], wrt=[0, 1, 2, 3, 4, 5], grad_output=gos)
    xs = [t.clone().requires_grad_(True) for t in (x, h0[0], *fwd)]
    with torch.no_grad():
        for name, t in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), xs[2:]):
            getattr(rnn, name).copy_(t)
    out, hn = rnn(xs[0], xs[1].unsqueeze(0))
    params = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0]
    want = torch.autograd.grad([out, hn[0]], [xs[0], xs[1], *params], gos)
    for i, name in enumerate(("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh")):
        expect(got["grads"][i] is not None, f"no gradient reaches {name}")
        close(got["grads"][i], want[i], what=f"gradient with respect to {name}", tol=TOL64)


@check("rnn.rnn_forward", points=2)
def rnn_inputs_unchanged(ctx):
    """x (non-contiguous too) and h0 are not modified."""
    g = ctx.generator()
    rnn, fwd, _ = _rnn(g, ctx.device)
    x, h0 = _inputs(g, ctx.device, 2, 4, 4, 6)
    res = ctx.run("call", target="rnn.rnn_forward", args=[x, h0[0], *fwd], return_args=True)
    want_out, _ = rnn(x, h0)
    close(res["out"][0], want_out.detach(), what="outputs", tol=TOL64)
    close(res["args"][:2], [x, h0[0]], what="x, h0 after the call (must not be modified)", tol=dict(rtol=0, atol=0))
    got = ctx.run("strided_call", target="rnn.rnn_forward", args=[x, h0[0], *fwd], noncontiguous=[0, 2])
    close(got["out"][0], want_out.detach(), what="outputs for a non-contiguous x and w_ih", tol=TOL64)


@check("rnn.birnn_forward", points=2)
def birnn_matches_torch(ctx):
    """A batch of 3 sequences of 5, float64: [forward h_t, backward h_t] at every t."""
    g = ctx.generator()
    rnn, fwd, bwd = _rnn(g, ctx.device, bidirectional=True)
    x, h0 = _inputs(g, ctx.device, 3, 5, 4, 6, dirs=2)
    got = ctx.call("rnn.birnn_forward", x, h0[0], h0[1], fwd, bwd)
    close(got, rnn(x, h0)[0].detach(), what="outputs (N, L, 2·d_h)", tol=TOL64)


@check("rnn.birnn_forward", points=2)
def birnn_float32_single(ctx):
    """float32, one sequence of 7 and a batch of 2 of length 1."""
    g = ctx.generator()
    rnn, fwd, bwd = _rnn(g, ctx.device, d_in=3, d_h=4, bidirectional=True, dtype=F32)
    for n, length in ((1, 7), (2, 1)):
        x, h0 = _inputs(g, ctx.device, n, length, 3, 4, dirs=2, dtype=F32)
        got = ctx.call("rnn.birnn_forward", x, h0[0], h0[1], fwd, bwd)
        close(got, rnn(x, h0)[0].detach(), what=f"outputs for {n} sequence(s) of {length}, float32", tol=TOL32)


@check("rnn.birnn_forward", points=2)
def birnn_gradients(ctx):
    """Gradients with respect to x and both initial states; inputs unchanged."""
    g = ctx.generator()
    rnn, fwd, bwd = _rnn(g, ctx.device, bidirectional=True)
    x, h0 = _inputs(g, ctx.device, 2, 5, 4, 6, dirs=2)
    go = randn(g, 2, 5, 12, device=ctx.device)
    got = ctx.run("grad", target="rnn.birnn_forward", args=[x, h0[0], h0[1], fwd, bwd], wrt=[0, 1, 2], grad_output=go)
    xs, hs = x.clone().requires_grad_(True), h0.clone().requires_grad_(True)
    gx, gh = torch.autograd.grad(rnn(xs, hs)[0], [xs, hs], go)
    for i, (name, want) in enumerate((("x", gx), ("h0_fwd", gh[0]), ("h0_bwd", gh[1]))):
        expect(got["grads"][i] is not None, f"no gradient reaches {name}")
        close(got["grads"][i], want, what=f"gradient with respect to {name}", tol=TOL64)
    res = ctx.run("call", target="rnn.birnn_forward", args=[x, h0[0], h0[1], fwd, bwd], return_args=True)
    close(res["args"][:3], [x, h0[0], h0[1]], what="x, h0 after the call (must not be modified)",
          tol=dict(rtol=0, atol=0))
