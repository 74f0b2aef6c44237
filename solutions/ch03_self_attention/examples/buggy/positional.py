"""Sinusoidal positional encoding.

位置編碼（筆記 3.4）：自注意力本身不知道輸入的順序，所以為每個位置 p 設定一個位置向量 e^p，
加到輸入上。這裡用 "Attention Is All You Need" 的正弦版本：不需要學習，任意長度都能產生。
Positional encoding (notes 3.4): self-attention alone does not know the order of its inputs,
so each position p gets a positional vector e^p added to its input. This is the sinusoidal
version of "Attention Is All You Need": nothing to learn, any length.
"""

import torch  # noqa: F401  (for your code)


def sinusoidal_positional_encoding(max_len, d_model):
    """PE (max_len, d_model), float32, on the CPU; d_model even.

    繁中：PE[p, 2i] = sin(p / 10000^(2i/d))、PE[p, 2i+1] = cos(p / 10000^(2i/d))，d = d_model：
    偶數維是 sin、奇數維是 cos，兩兩一組交錯排列（不是前半 sin、後半 cos）。回傳 float32
    （可以用 float64 計算再轉型，也可以直接用 float32）。
    English: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)),
    d = d_model: sines in the even columns, cosines in the odd ones, interleaved in pairs (not
    all sines first). Returns float32 (computing in float64 and casting is fine, so is float32
    throughout).
    """
    pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d_model/2,): 0, 2, 4, ...
    angle = pos / 10000.0 ** (two_i / d_model)  # (max_len, d_model/2)
    pe = torch.empty(max_len, d_model, dtype=torch.float64)
    pe[:, : d_model // 2] = torch.sin(angle)
    pe[:, d_model // 2 :] = torch.cos(angle)
    return pe.to(torch.float32)
