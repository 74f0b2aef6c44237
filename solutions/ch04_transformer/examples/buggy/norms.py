"""Normalization layers written by hand: layer, batch and power normalization.

繁中：Transformer 編碼器每個區塊在殘差連接之後做層歸一化（layer normalization，筆記 4.4）：
對同一個樣本、同一個位置的向量，在特徵維度上算均值與標準差；批量歸一化（batch
normalization）則對同一個特徵維度、跨批量中不同樣本計算。筆記 4.4 末段提到能量歸一化
（power normalization）在 Transformer 裡比批量歸一化好。
English: every block of the Transformer encoder applies layer normalization after the residual
connection (notes 4.4): mean and standard deviation over the features of one vector; batch
normalization computes them per feature across the samples of a batch. Notes 4.4 end with power
normalization, which works better than batch normalization in a Transformer.

Must not call torch's normalization routines (``F.layer_norm``, ``F.batch_norm``, ``F.rms_norm``,
``F.group_norm``, ``F.instance_norm``, ``F.local_response_norm``, ``F.normalize``) nor the ``nn``
normalization modules. Tensor arithmetic and reductions (``mean``, ``var``, ``rsqrt``...) are fine.
"""

import torch


def layer_norm(x, gamma, beta, eps=1e-5):
    """Layer normalization over the last dimension (notes 4.4).

    繁中：x 形狀 (..., D)；對最後一維算均值 m 與有偏變異數 σ²（除以 D），
    y = γ·(x − m)/√(σ² + ε) + β，γ、β 形狀 (D,)，也可以是 None（等於 1 與 0）。
    與 ``F.layer_norm(x, (D,), gamma, beta, eps)`` 的值與梯度相同；保留 x 的 dtype 與 device，
    不修改輸入。評分也比較速度（和 ``F.layer_norm`` 相比，同量級即滿分）。
    English: x (..., D); the mean m and the biased variance σ² (divided by D) of the last axis,
    y = γ·(x − m)/√(σ² + ε) + β with γ, β of shape (D,), or None (meaning 1 and 0). Matches
    ``F.layer_norm(x, (D,), gamma, beta, eps)`` in values and gradients (x, γ and β); keeps x's
    dtype and device and modifies no input. Speed is graded against ``F.layer_norm``.
    """
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    centred = x - mean  # (..., D)
    var = (centred * centred).mean(dim=-1, keepdim=True)  # (..., 1), biased: divided by D
    y = centred / (torch.sqrt(var) + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalization of x (N, C) or (N, C, L), per channel C (notes 4.4).

    繁中：訓練時（training=True）對每個通道 c，在 N（與 L）上算均值 μ 與有偏變異數 σ²，
    y = γ·(x − μ)/√(σ² + ε) + β；並「就地」更新執行統計量（running statistics）：
    running_mean ← (1 − momentum)·running_mean + momentum·μ，
    running_var ← (1 − momentum)·running_var + momentum·σ²_unbiased（無偏：除以 n − 1，
    n = N·L 是每個通道的樣本數）。評估時（training=False）用 running_mean、running_var
    正規化，不更新它們。γ、β 形狀 (C,) 或 None；running_mean、running_var 形狀 (C,)，
    也可以是 None（此時訓練模式只用批量統計量）。與 ``F.batch_norm`` 的值、梯度與執行統計量都相同。
    English: in training, per channel c, the mean μ and the biased variance σ² over N (and L)
    normalize x: y = γ·(x − μ)/√(σ² + ε) + β, and the running statistics are updated in place:
    running_mean ← (1 − momentum)·running_mean + momentum·μ and
    running_var ← (1 − momentum)·running_var + momentum·σ²_unbiased (divided by n − 1, with
    n = N·L values per channel). In eval (training=False) the running statistics normalize and are
    left unchanged. γ, β are (C,) or None; running_mean, running_var are (C,) or None (then
    training uses the batch statistics only). Matches ``F.batch_norm``: values, gradients, and the
    running statistics after the call.
    """
    dims = [0] + list(range(2, x.dim()))  # every axis but the channels
    shape = [1, -1] + [1] * (x.dim() - 2)  # (1, C) or (1, C, 1): broadcasts per channel
    if training:
        mean = x.mean(dim=dims)  # (C,)
        var = x.var(dim=dims, unbiased=False)  # (C,) biased: normalizes this batch
        if running_mean is not None:
            with torch.no_grad():  # statistics, not part of the graph
                n = x.numel() // x.shape[1]  # values per channel
                unbiased = var * (n / (n - 1))  # (C,) what F.batch_norm keeps
                running_mean.mul_(1 - momentum).add_(momentum * mean)
                running_var.mul_(1 - momentum).add_(momentum * var)
    else:
        mean, var = running_mean, running_var
    y = (x - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return y


def power_norm(x, gamma, beta, running_phi, training, momentum=0.1, eps=1e-5):
    """The quadratic-mean normalization of PowerNorm, without mean subtraction (notes 4.4).

    繁中：x 形狀 (N, C) 或 (N, C, L)。訓練時每個通道的二次平均 ψ² = mean(x²)（在 C 以外的
    所有維度上），y = γ·x/√(ψ² + ε) + β，並就地更新
    running_phi ← (1 − momentum)·running_phi + momentum·ψ²（ψ² 不取梯度）；評估時用
    running_phi 代替 ψ²，不更新。這是 PowerNorm 的暖身（warm-up）形式；完整方法在暖身之後
    用執行統計量正規化。γ、β、running_phi 形狀 (C,)。
    English: x (N, C) or (N, C, L). In training, per channel, the quadratic mean
    ψ² = mean(x²) over every axis but C gives y = γ·x/√(ψ² + ε) + β, and running_phi is updated
    in place: running_phi ← (1 − momentum)·running_phi + momentum·ψ² (no gradient flows into
    it). In eval, running_phi replaces ψ² and is left unchanged. This is PowerNorm's warm-up form
    (the full method normalizes by the running statistic after warm-up). γ, β and running_phi
    are (C,). Gradients flow through ψ² in training, as through σ² in batch normalization.
    """
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    if training:
        phi = (x * x).mean(dim=dims)  # (C,) quadratic mean: no mean subtracted
        with torch.no_grad():
            running_phi.mul_(1 - momentum).add_(momentum * phi)
    else:
        phi = running_phi
    return gamma.reshape(shape) * x * torch.rsqrt(phi.reshape(shape) + eps) + beta.reshape(shape)
