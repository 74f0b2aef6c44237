"""Masks that decide who may attend to whom: causal, truncated, graph.

遮罩（True = 可以注意）：因果遮罩讓每個位置只看左邊（含自己，第四章解碼器會用到）；截斷
自注意力只看附近 window 個位置（筆記 3.5）；圖上的自注意力只沿著邊計算（筆記 3.7 末段：
沒有相連就直接設為 0）。
Masks (True = may attend): a causal mask lets each position see only itself and the positions
before it (the decoder of chapter 4 uses it); truncated self-attention looks only at the
positions within ``window`` (notes 3.5); self-attention on a graph attends only along edges
(the end of notes 3.7: unconnected pairs are set to 0).

Every mask is a bool (L, L) tensor; row i is query i, column j key j. Functions that take no
tensor return CPU tensors (as ``torch.arange`` does).
"""

import torch  # noqa: F401  (for your code)


def causal_mask(length):
    """(length, length) bool, True on and below the diagonal (query i sees keys j ≤ i).

    繁中：第 i 列在 j ≤ i 的位置為 True（看得到自己與之前的位置）。
    English: row i is True at j ≤ i (itself and what came before).
    """
    i = torch.arange(length)
    return i.unsqueeze(1) >= i.unsqueeze(0)  # (L, 1) vs (1, L) → (L, L)


def truncated_mask(length, window):
    """(length, length) bool, True where |i − j| ≤ window.

    繁中：截斷自注意力（筆記 3.5）：每個位置只看前後各 window 個位置（含自己）。window = 0
    只看自己；window ≥ length − 1 等於不遮。
    English: truncated self-attention (notes 3.5): each position sees ``window`` positions on
    either side, and itself. window = 0 sees only itself; window ≥ length − 1 masks nothing.
    """
    i = torch.arange(length)
    return (i.unsqueeze(1) - i.unsqueeze(0)).abs() < window  # (L, L)


def graph_mask(adjacency, self_loops=True):
    """The attention mask of a graph: attend only along edges (and to itself if ``self_loops``).

    繁中：adjacency 是 bool (n, n) 鄰接矩陣，adjacency[i, j] = True 表示節點 i 可以注意節點 j
    （有向圖照原樣使用，不要自行對稱化）。self_loops=True 時每個節點也注意自己（對角線為
    True）；False 時照 adjacency 原樣。回傳新的 bool 張量（不可修改 adjacency），和它在同一個
    device 上。
    English: ``adjacency`` is a bool (n, n) matrix, adjacency[i, j] True meaning node i may
    attend to node j (a directed graph is used as given, not symmetrised). With ``self_loops``
    every node also attends to itself (True on the diagonal); without, the mask is the adjacency
    as given. Returns a new bool tensor on adjacency's device; adjacency is left unchanged.
    """
    if not self_loops:
        return adjacency.clone()
    n = adjacency.shape[-1]
    return adjacency | torch.eye(n, dtype=torch.bool, device=adjacency.device)  # (n, n)
