"""Public checks for attention.py (notes 3.2). Run them with `leedl check ch03`. The grader's
hidden checks go further (every kind of mask, batches, float32 and float64, gradients, speed)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close

from .data import small_inputs

# float64 sums of a few O(1) products, an exp and a division: a few ulps
TOL64 = dict(rtol=1e-12, atol=1e-12)


@check("attention.scaled_dot_product_scores", points=0.5)
def public_scores(ctx):
    """Scores of 3 queries and 2 keys of width 4 match the published values."""
    i = small_inputs()
    got = ctx.call("attention.scaled_dot_product_scores", i["q"], i["k"])
    assert_close(got, ctx.data["scores"], what="scaled_dot_product_scores(q, k)", **TOL64)


@check("attention.additive_scores", points=0.5)
def public_additive(ctx):
    """Additive scores of the same queries and keys match the published values."""
    i = small_inputs()
    got = ctx.call("attention.additive_scores", i["q"], i["k"], i["w_q"], i["w_k"], i["v"])
    assert_close(got, ctx.data["additive"], what="additive_scores(q, k, w_q, w_k, v)", **TOL64)


@check("attention.masked_softmax", points=0.5)
def public_masked_softmax(ctx):
    """A 3×3 example whose last row attends to nothing: that row is all zeros."""
    got = ctx.call("attention.masked_softmax", ctx.data["softmax_in"], ctx.data["softmax_mask"])
    assert_close(got, ctx.data["softmax_out"], what="masked_softmax(scores, mask)", **TOL64)


@check("attention.attention", points=0.5)
def public_attention_matches_sdpa(ctx):
    """attention matches F.scaled_dot_product_attention on a batch of 2 with a causal mask."""
    g = ctx.generator()
    q, k, v = (torch.randn(2, 5, 4, generator=g, dtype=torch.float64).to(ctx.device) for _ in range(3))
    mask = torch.ones(5, 5, dtype=torch.bool).tril().to(ctx.device)
    out, _ = ctx.call("attention.attention", q, k, v, mask)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), what="attention output", **TOL64)


@check("attention.self_attention", points=0.5)
def public_self_attention(ctx):
    """Self-attention of 4 vectors with a causal mask matches the published output and weights."""
    i = small_inputs()
    mask = torch.ones(4, 4, dtype=torch.bool).tril()
    out, w = ctx.call("attention.self_attention", i["x"], i["wx"], i["wx"], i["wx"] * 2, mask)
    assert_close(w, ctx.data["self_attention_weights"], what="self_attention weights", **TOL64)
    assert_close(out, ctx.data["self_attention_out"], what="self_attention output", **TOL64)
