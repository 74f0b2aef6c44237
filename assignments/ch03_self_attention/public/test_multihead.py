"""Public check for multihead.py (notes 3.3): the module against torch's nn.MultiheadAttention
with the same weights. With `leedl check ch03 --plots DIR` it also saves the attention weights
of the first sequence, one heat map per head."""

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close

from ._torch_mha import make_mha, run_mha

# float64 sums of a few dozen O(1) products: a few ulps
TOL64 = dict(rtol=1e-12, atol=1e-12)


@check("multihead.MultiHeadSelfAttention", points=0.5)
def public_mhsa_matches_torch(ctx):
    """2 sequences of 6, d_model 8, 2 heads, a causal mask: output and weights match torch."""
    g = ctx.generator()
    mha, state = make_mha(g, 8, 2, device=ctx.device)
    x = torch.randn(2, 6, 8, generator=g, dtype=torch.float64).to(ctx.device)
    mask = torch.ones(6, 6, dtype=torch.bool).tril().to(ctx.device)
    got = ctx.run("module_call", target="multihead.MultiHeadSelfAttention", args=[x, mask],
                  init={"d_model": 8, "num_heads": 2}, state=state)["out"]
    expect(isinstance(got, (tuple, list)) and len(got) == 2, "forward should return (output, weights)")
    out, w = got
    if isinstance(w, torch.Tensor) and w.dim() == 4:
        ctx.artifact({"heatmaps": {"attention_heads": {
            "panels": w[0], "title": "attention weights of sequence 0 (causal mask)",
            "titles": [f"head {h}" for h in range(w.shape[1])], "xlabel": "key", "ylabel": "query"}}})
    want_out, want_w = run_mha(mha, x, mask)
    assert_close(w, want_w.detach(), what="weights (N, heads, L, L)", **TOL64)
    assert_close(out, want_out.detach(), what="output (N, L, d_model)", **TOL64)
