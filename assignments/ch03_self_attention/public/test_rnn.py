"""Public checks for rnn.py (notes 3.7): against torch's nn.RNN with the same weights."""

import torch
from torch import nn

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close

# float64 over a few tanh steps: a few ulps
TOL64 = dict(rtol=1e-12, atol=1e-12)


def _rnn(g, bidirectional):
    torch.manual_seed(int(torch.randint(0, 2**31, (), generator=g)))
    return nn.RNN(3, 4, batch_first=True, bidirectional=bidirectional).double()


def _params(rnn, suffix=""):
    return tuple(getattr(rnn, f"{n}_l0{suffix}").detach() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


@check("rnn.rnn_forward", points=0.5)
def public_rnn(ctx):
    """rnn_forward matches nn.RNN on 2 sequences of 5."""
    g = ctx.generator()
    rnn = _rnn(g, False)
    x = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    h0 = torch.randn(1, 2, 4, generator=g, dtype=torch.float64)
    out, hn = rnn(x, h0)
    got = ctx.call("rnn.rnn_forward", x, h0[0], *_params(rnn))
    assert_close(got, (out.detach(), hn[0].detach()), what="(outputs, h_last)", **TOL64)


@check("rnn.birnn_forward", points=0.5)
def public_birnn(ctx):
    """birnn_forward matches nn.RNN(bidirectional=True) on 2 sequences of 5."""
    g = ctx.generator()
    rnn = _rnn(g, True)
    x = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    h0 = torch.randn(2, 2, 4, generator=g, dtype=torch.float64)
    got = ctx.call("rnn.birnn_forward", x, h0[0], h0[1], _params(rnn), _params(rnn, "_reverse"))
    assert_close(got, rnn(x, h0)[0].detach(), what="outputs (N, L, 2·d_h)", **TOL64)
