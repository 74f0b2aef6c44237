"""Public check for positional.py (notes 3.4). With `leedl check ch03 --plots DIR` it also saves
a 64 × 32 encoding as a heat map."""

import torch

from leedl_grader.authoring.checks import check

from leedl_grader.authoring.compare import assert_close


@check("positional.sinusoidal_positional_encoding", points=0.5)
def public_pe_small(ctx):
    """sinusoidal_positional_encoding(8, 6) matches the published float32 values."""
    got = ctx.call("positional.sinusoidal_positional_encoding", 8, 6)
    big = ctx.call("positional.sinusoidal_positional_encoding", 64, 32)
    if isinstance(big, torch.Tensor) and big.dim() == 2:
        ctx.artifact({"heatmaps": {"positional_encoding": {
            "panels": big, "title": "sinusoidal positional encoding (64 positions × 32 dims)",
            "xlabel": "dimension", "ylabel": "position"}}})
    # float32 values of sin/cos of angles below 8: float32 rounding, ~1e-6
    assert_close(got, ctx.data["pe_8_6"], what="sinusoidal_positional_encoding(8, 6)", rtol=0, atol=1e-5)
