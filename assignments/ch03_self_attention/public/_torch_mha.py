"""nn.MultiheadAttention with given weights, and the same weights as MultiHeadSelfAttention's
``state_dict``: the module the chapter's multi-head exercise is compared with."""

import torch
from torch import nn


def make_mha(g, d_model, num_heads, *, bias=True, dtype=torch.float64, device="cpu"):
    """A torch ``nn.MultiheadAttention(batch_first=True)`` whose weights are drawn from ``g``
    (scaled by 1/√d_model, so scores stay O(1)), and the matching ``state_dict`` of
    ``MultiHeadSelfAttention`` (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``)."""
    mha = nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) / d_model**0.5)
    mha = mha.to(dtype=dtype, device=device).eval()
    wq, wk, wv = mha.in_proj_weight.detach().chunk(3)
    state = {"q_proj.weight": wq, "k_proj.weight": wk, "v_proj.weight": wv,
             "out_proj.weight": mha.out_proj.weight.detach()}
    if bias:
        bq, bk, bv = mha.in_proj_bias.detach().chunk(3)
        state.update({"q_proj.bias": bq, "k_proj.bias": bk, "v_proj.bias": bv,
                      "out_proj.bias": mha.out_proj.bias.detach()})
    return mha, {k: v.clone() for k, v in state.items()}


def torch_attn_mask(mask, n, num_heads, length):
    """Our mask (True = may attend, broadcastable to (N, heads, L, L)) as torch's ``attn_mask``
    (True = blocked), shaped (N·heads, L, L)."""
    if mask is None:
        return None
    return ~mask.expand(n, num_heads, length, length).reshape(n * num_heads, length, length)


def run_mha(mha, x, mask):
    """(output, weights per head) of torch's module; NaN on rows with nothing to attend to."""
    n, length, _ = x.shape
    return mha(x, x, x, attn_mask=torch_attn_mask(mask, n, mha.num_heads, length), need_weights=True,
               average_attn_weights=False)
