"""Multi-head self-attention as a module.

多頭注意力（筆記 3.3）：相關有很多種不同的形式，所以用多組 q、k、v，每一組（一個 head）
負責一種相關性；各 head 各自做自注意力，輸出接起來再乘上一個輸出矩陣。
Multi-head self-attention (notes 3.3): relevance comes in several kinds, so several sets of
q, k, v are used, one per head; each head attends on its own, and the heads' outputs are
concatenated and mixed by an output projection.

Must not call ``nn.MultiheadAttention``, ``F.multi_head_attention_forward`` or
``F.scaled_dot_product_attention`` (anywhere in this file). You may import from
``.attention``.
"""

import math

import torch  # noqa: F401  (for your code)
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention with the layout of ``nn.MultiheadAttention(batch_first=True)``.

    繁中：``q_proj``、``k_proj``、``v_proj``、``out_proj`` 各是 ``nn.Linear(d_model, d_model,
    bias=bias)``（名稱固定：評分時會載入 ``nn.MultiheadAttention`` 的權重）。第 h 個 head 使用
    投影後向量的第 h 段（維度 h·d_head 到 (h+1)·d_head − 1），d_head = d_model / num_heads，
    分數除以 √d_head。
    English: ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` are each ``nn.Linear(d_model,
    d_model, bias=bias)`` (the names are fixed: the grader loads ``nn.MultiheadAttention``'s
    weights into them). Head h uses slice h of the projected vectors (features h·d_head to
    (h+1)·d_head − 1), d_head = d_model / num_heads, and scales its scores by 1/√d_head.
    """

    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not a multiple of num_heads={num_heads}")
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        """x (N, L, d_model) → (output (N, L, d_model), weights (N, num_heads, L, L)).

        繁中：mask 是 bool、True = 可以注意，可廣播到 (N, num_heads, L, L)（例如 (L, L) 的因果
        遮罩、(N, 1, 1, L) 的 padding 遮罩）。注意 ``nn.MultiheadAttention`` 的 ``attn_mask``
        意義相反（True = 擋住）。沒有任何可注意位置的列：該 head 的權重為 0、對輸出的貢獻為 0
        （torch 在此給 NaN）。評分也比較速度（16 個 head、L ≥ 128）：對 head 或 query 寫 Python
        迴圈會明顯較慢。
        English: ``mask`` is bool, True = may attend, broadcastable to (N, num_heads, L, L) (a
        causal (L, L) mask, an (N, 1, 1, L) padding mask...). Note that ``nn.MultiheadAttention``'s
        ``attn_mask`` means the opposite (True = blocked). A row with nothing to attend to has
        zero weights in that head and contributes 0 to the output (where torch gives NaN).
        Speed is graded (16 heads, L ≥ 128): a Python loop over heads or queries is clearly
        slower than a vectorized forward.
        """
        N, L, _ = x.shape
        H, dh = self.num_heads, self.d_head

        def split(t):  # (N, L, d_model) → (N, L, H, dh) → (N, H, L, dh): head h owns slice h
            return t.reshape(N, H, L, dh)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (N, H, L, L)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        top = scores.detach().amax(dim=-1, keepdim=True)  # (N, H, L, 1)
        e = torch.exp(scores - torch.where(torch.isinf(top), torch.zeros_like(top), top))
        z = e.sum(dim=-1, keepdim=True)
        weights = e / torch.where(z > 0, z, torch.ones_like(z))  # (N, H, L, L); an empty row stays 0
        heads = weights @ v  # (N, H, L, dh)
        merged = heads.transpose(1, 2).reshape(N, L, self.d_model)  # (N, L, H, dh) → (N, L, d_model)
        return self.out_proj(merged), weights
