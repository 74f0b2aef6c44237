"""Public checks for blocks.py (notes 4.4–4.6): the blocks against torch's layers with the same
weights. The grader also randomizes every parameter (torch's init leaves norm scales at 1 and biases
at 0), compares gradients, float32, padding and per-sample masks, and times the encoder block."""

import torch
from torch import nn

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close

from . import _names

# float64 through a few matrix products and two or three layer norms: ~1e-14
TOL64 = dict(rtol=1e-9, atol=1e-9)


@check("blocks.TransformerEncoderBlock", points=0.5)
def public_encoder_block(ctx):
    """TransformerEncoderBlock(16, 2, 32) with nn.TransformerEncoderLayer's weights, on (2, 5, 16)."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True, dtype=torch.float64)
    x = torch.randn(2, 5, 16, generator=ctx.generator(), dtype=torch.float64)
    got = ctx.run("module_forward", target="blocks.TransformerEncoderBlock", init_args=[16, 2, 32],
                  state=_names.to_block_names(layer.state_dict()), dtype="float64", inputs=[[x]])
    with torch.no_grad():
        want = layer(x)
    assert_close(got["outputs"][0], want, what="encoder block output", **TOL64)


@check("blocks.TransformerDecoderBlock", points=0.5)
def public_decoder_block(ctx):
    """TransformerDecoderBlock(16, 2, 32) with a causal self_mask against nn.TransformerDecoderLayer."""
    torch.manual_seed(0)
    layer = nn.TransformerDecoderLayer(16, 2, 32, dropout=0.0, batch_first=True, dtype=torch.float64)
    g = ctx.generator()
    y = torch.randn(2, 4, 16, generator=g, dtype=torch.float64)
    memory = torch.randn(2, 6, 16, generator=g, dtype=torch.float64)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()  # True = may attend
    got = ctx.run("module_forward", target="blocks.TransformerDecoderBlock", init_args=[16, 2, 32],
                  state=_names.to_block_names(layer.state_dict()), dtype="float64", inputs=[[y, memory, causal]])
    with torch.no_grad():
        want = layer(y, memory, tgt_mask=~causal)  # torch's masks mean the opposite: True = blocked
    assert_close(got["outputs"][0], want, what="decoder block output", **TOL64)
