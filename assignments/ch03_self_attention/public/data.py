"""Values the public checks compare against where torch has no routine to compute them.

``leedl build`` calls ``make_data(reference)`` and stores the result in ``expected.json``.
"""

import torch

F64 = torch.float64


def small_inputs():
    """Tiny fixed inputs, written out so a student can redo them by hand."""
    q = torch.tensor([[1.0, 0.0, 2.0, -1.0], [0.5, -1.0, 0.0, 1.0], [0.0, 2.0, 1.0, 0.0]], dtype=F64)  # (3, 4)
    k = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, -1.0, 1.0, 2.0]], dtype=F64)  # (2, 4)
    w_q = torch.tensor([[0.5, -0.5, 0.0, 1.0], [1.0, 0.0, 0.5, 0.0], [0.0, 1.0, -1.0, 0.5]], dtype=F64)  # (3, 4)
    w_k = torch.tensor([[1.0, 0.0, 0.0, -0.5], [0.0, 0.5, 1.0, 0.0], [-1.0, 0.0, 0.5, 1.0]], dtype=F64)
    v = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    x = torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [-1.0, 0.5, 2.0]], dtype=F64)  # (4, 3)
    wx = torch.tensor([[0.5, -1.0], [1.0, 0.0], [0.0, 0.5]], dtype=F64)  # (3, 2)
    return {"q": q, "k": k, "w_q": w_q, "w_k": w_k, "v": v, "x": x, "wx": wx}


def make_data(reference):
    a = reference.attention
    i = small_inputs()
    scores = torch.tensor([[1.0, 2.0, -1.0], [0.0, 3.0, 1.0], [4.0, -2.0, 0.0]], dtype=F64)
    mask = torch.tensor([[True, False, False], [True, True, False], [False, False, False]])
    out, w = a.self_attention(i["x"], i["wx"], i["wx"], i["wx"] * 2, reference.masks.causal_mask(4))
    return {
        "scores": a.scaled_dot_product_scores(i["q"], i["k"]),
        "additive": a.additive_scores(i["q"], i["k"], i["w_q"], i["w_k"], i["v"]),
        "softmax_in": scores, "softmax_mask": mask, "softmax_out": a.masked_softmax(scores, mask),
        "self_attention_out": out, "self_attention_weights": w,
        "pe_8_6": reference.positional.sinusoidal_positional_encoding(8, 6),
        "truncated_6_1": reference.masks.truncated_mask(6, 1),
    }
