"""Post-LN Transformer encoder and decoder blocks, with their own multi-head attention.

繁中：編碼器的區塊（筆記 4.4）：自注意力 → 殘差連接 → 層歸一化 → 全連接網路（前饋）→
殘差連接 → 層歸一化。解碼器的區塊（筆記 4.5、4.6）多了掩蓋自注意力（masked
self-attention）與編碼器-解碼器注意力（cross attention：查詢來自解碼器，鍵和值來自編碼器
的輸出）。本檔案的遮罩（mask）沿用第三章的慣例：bool，True 表示「可以注意」，
和 ``nn.Transformer*`` 的 ``attn_mask``（True 表示「擋住」）相反。
English: an encoder block (notes 4.4) is self-attention, a residual connection, layer
normalization, a feed-forward network, another residual connection and layer normalization. A
decoder block (notes 4.5, 4.6) adds masked self-attention and encoder-decoder (cross) attention,
whose queries come from the decoder and whose keys and values come from the encoder's output.
Masks follow chapter 3's convention (bool, True = may attend), the opposite of
``nn.Transformer*``'s ``attn_mask`` (True = blocked).

A ch04 submission is a package of its own: the blocks carry their own attention. ``nn.Linear``,
``nn.LayerNorm`` and ``torch.softmax`` are allowed here; ``nn.Transformer*``,
``nn.MultiheadAttention``, ``F.multi_head_attention_forward`` and
``F.scaled_dot_product_attention`` are not.
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate query and key/value inputs (notes 3.3, 4.6).

    繁中：子模組 ``q_proj``、``k_proj``、``v_proj``、``out_proj``（各為
    ``nn.Linear(d_model, d_model)``）。``forward(query, key, value, mask=None)``：
    query (N, Lq, d_model)、key 與 value (N, Lk, d_model) → (N, Lq, d_model)。
    每個頭的維度 d_head = d_model / num_heads，分數除以 √d_head。mask 是 bool、True 表示可以
    注意，形狀 (Lq, Lk)、(N, Lq, Lk) 或可廣播到 (N, Lq, Lk)（例如 (N, 1, Lk) 的填充遮罩）；
    一列完全被擋住時，那一列的注意力權重全為 0（不是 NaN）。
    English: submodules ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` (each
    ``nn.Linear(d_model, d_model)``); ``forward(query, key, value, mask=None)`` maps query
    (N, Lq, d_model) and key, value (N, Lk, d_model) to (N, Lq, d_model). Heads of size
    d_head = d_model / num_heads, scores divided by √d_head. ``mask`` is bool, True = may attend,
    (Lq, Lk), (N, Lq, Lk) or broadcastable to (N, Lq, Lk) (e.g. an (N, 1, Lk) padding mask); a
    query that may attend to nothing gets all-zero weights, never NaN. Not graded on its own:
    the blocks are.
    """

    def __init__(self, d_model, num_heads):
        super().__init__()
        assert d_model % num_heads == 0, "d_model must be a multiple of num_heads"
        self.num_heads = num_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, query, key, value, mask=None):
        N, Lq, D = query.shape
        Lk = key.shape[1]
        h = self.num_heads
        dh = D // h
        q = self.q_proj(query).reshape(N, Lq, h, dh).transpose(1, 2)  # (N, h, Lq, dh)
        k = self.k_proj(key).reshape(N, Lk, h, dh).transpose(1, 2)  # (N, h, Lk, dh)
        v = self.v_proj(value).reshape(N, Lk, h, dh).transpose(1, 2)  # (N, h, Lk, dh)
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (N, h, Lq, Lk)
        if mask is not None:
            mask = mask.unsqueeze(-3) if mask.dim() == 3 else mask  # (N, 1, Lq, Lk): same for every head
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (N, h, Lq, Lk); a fully blocked row is NaN here...
        if mask is not None:
            weights = weights.masked_fill(~mask, 0.0)  # ...and exactly 0 after this
        out = weights @ v  # (N, h, Lq, dh)
        return self.out_proj(out.transpose(1, 2).reshape(N, Lq, D))  # (N, Lq, D): heads concatenated


class TransformerEncoderBlock(nn.Module):
    """One post-LN encoder block (notes 4.4).

    繁中：子模組 ``self_attn``（含 ``q_proj``、``k_proj``、``v_proj``、``out_proj``）、
    ``linear1``（d_model → d_ff）、``linear2``（d_ff → d_model）、``norm1``、``norm2``
    （``nn.LayerNorm(d_model)``，ε = 1e-5）。``forward(x, mask=None)``，x (N, L, d_model)：
    h = norm1(x + SelfAttn(x))；out = norm2(h + linear2(relu(linear1(h))))。沒有 dropout。
    複製權重後與 ``nn.TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0,
    batch_first=True)`` 相同（值與梯度）；mask 的 True 表示可以注意（torch 的 ``src_mask`` 是
    ``~mask``）。評分也比較速度（和 torch 的那一層相比）。
    English: submodules ``self_attn`` (with ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``),
    ``linear1`` (d_model → d_ff), ``linear2`` (d_ff → d_model), ``norm1``, ``norm2``
    (``nn.LayerNorm(d_model)``, ε = 1e-5). ``forward(x, mask=None)`` with x (N, L, d_model):
    h = norm1(x + SelfAttn(x)); out = norm2(h + linear2(relu(linear1(h)))); no dropout. With
    weights copied it matches ``nn.TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0,
    batch_first=True)`` in values and gradients (torch's ``src_mask`` is ``~mask``: True = may
    attend here). Speed is graded against that layer.
    """

    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x, mask=None):
        h = self.norm1(x + self.self_attn(x, x, x, mask))  # (N, L, D): residual, then layer norm
        ff = self.linear2(torch.relu(self.linear1(h)))  # (N, L, d_ff) → (N, L, D)
        return self.norm2(h + ff)


class TransformerDecoderBlock(nn.Module):
    """One post-LN decoder block: masked self-attention, cross attention, feed-forward (notes 4.5, 4.6).

    繁中：子模組 ``self_attn``、``cross_attn``（各含 ``q_proj``、``k_proj``、``v_proj``、
    ``out_proj``）、``linear1``、``linear2``、``norm1``、``norm2``、``norm3``。
    ``forward(y, memory, self_mask=None, memory_mask=None)``，y (N, T, d_model) 是解碼器的
    輸入，memory (N, S, d_model) 是編碼器的輸出：
    h1 = norm1(y + SelfAttn(y, self_mask))；
    h2 = norm2(h1 + CrossAttn(查詢 h1，鍵與值 memory, memory_mask))；
    out = norm3(h2 + linear2(relu(linear1(h2))))。self_mask (T, T)（通常是因果遮罩：下三角為
    True）、memory_mask (T, S) 或 (N, T, S)，True 表示可以注意。複製權重並給因果
    self_mask 時，與 ``nn.TransformerDecoderLayer(..., dropout=0.0, batch_first=True)`` 相同。
    English: submodules ``self_attn``, ``cross_attn`` (each with ``q_proj``, ``k_proj``,
    ``v_proj``, ``out_proj``), ``linear1``, ``linear2``, ``norm1``, ``norm2``, ``norm3``.
    ``forward(y, memory, self_mask=None, memory_mask=None)`` with the decoder's input y
    (N, T, d_model) and the encoder's output memory (N, S, d_model):
    h1 = norm1(y + SelfAttn(y, self_mask));
    h2 = norm2(h1 + CrossAttn(queries h1, keys and values memory, memory_mask));
    out = norm3(h2 + linear2(relu(linear1(h2)))). ``self_mask`` (T, T) (usually causal: True on
    and below the diagonal), ``memory_mask`` (T, S) or (N, T, S); True = may attend. With
    weights copied and a causal ``self_mask`` it matches
    ``nn.TransformerDecoderLayer(d_model, num_heads, d_ff, dropout=0.0, batch_first=True)``.
    """

    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(self, y, memory, self_mask=None, memory_mask=None):
        h1 = self.norm1(y + self.self_attn(y, y, y, self_mask))  # (N, T, D)
        h2 = self.norm3(h1 + self.cross_attn(h1, memory, memory, memory_mask))  # queries (N, T, D), keys (N, S, D)
        ff = self.linear2(torch.relu(self.linear1(h2)))  # (N, T, D)
        return self.norm2(h2 + ff)
