"""From logits to a classification loss: softmax, log-softmax, cross-entropy, one-hot.

分類（筆記第二章開頭與 2.6 末段）：網路輸出 logits，經過 softmax 得到機率 ŷ；標準答案是獨熱
向量 y′（長度 = 類別數）；y′ 和 ŷ 的交叉熵越小越好。
Classification (chapter 2's introduction and the end of 2.6): the network's logits go through
a softmax to give probabilities ŷ; the label is a one-hot vector y′ as long as there are
classes; training minimises the cross-entropy between y′ and ŷ.

Must not call torch's softmax, log-softmax, cross-entropy, NLL or one-hot routines (anywhere in
this file). Every function must stay finite for logits of magnitude 1e4, in float32 too.
"""

import torch


def softmax(logits, dim=-1):
    """softmax(z)_k = exp(z_k) / Σ_j exp(z_j) along ``dim``.

    繁中：先減去該維度的最大值再取 exp（結果不變，因為分子分母同乘 exp(−max)），
    才不會在 logits 很大（例如 1e4）時溢位成 inf/NaN。
    English: subtract the maximum along ``dim`` before exponentiating (the ratio is unchanged,
    numerator and denominator both gain a factor exp(−max)), so that logits of 1e4 do not
    overflow to inf/NaN.
    """
    m = logits.amax(dim=dim, keepdim=True)  # each slice's own maximum
    e = (logits - m).exp()  # every value in (0, 1]: no overflow
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(logits, dim=-1):
    """log softmax(z)_k = z_k − log Σ_j exp(z_j) along ``dim``, computed stably.

    繁中：用 z − m − log Σ exp(z − m)（m 為最大值），不要寫成 log(softmax(z))：機率下溢成 0 時
    log 會得到 −inf。
    English: z − m − log Σ exp(z − m), m the maximum; not log(softmax(z)), which gives −inf
    wherever a probability underflows to 0.
    """
    z = logits - logits.amax(dim=dim, keepdim=True)
    return z - z.exp().sum(dim=dim, keepdim=True).log()


def cross_entropy(logits, targets):
    """Mean cross-entropy between softmax(logits) and the one-hot labels.

    繁中：logits (N, K)、整數標籤 targets (N,)；第 n 筆的損失是 −log ŷ[n, targets[n]] =
    log Σ_k exp(z_nk) − z_n,targets[n]，回傳 N 筆的平均（純量）。與 ``F.cross_entropy`` 的值和
    梯度相同；logits 達 1e4 時仍有限。
    English: logits (N, K), integer targets (N,); example n costs −log ŷ[n, targets[n]] =
    log Σ_k exp(z_nk) − z_n,targets[n]; returns the mean over the N examples (a scalar).
    Matches ``F.cross_entropy`` in values and gradients; finite for logits of 1e4.
    """
    z = logits - logits.amax(dim=1, keepdim=True)  # (N, K), each row's maximum now 0
    log_norm = z.exp().sum(dim=1).log()  # (N,)
    picked = z.gather(1, targets.reshape(-1, 1)).reshape(-1)  # (N,): z[n, targets[n]]
    return (log_norm - picked).mean()


def one_hot(targets, num_classes):
    """One-hot vectors y′ for integer ``targets``: shape (*targets.shape, num_classes).

    繁中：位置 targets 為 1，其餘為 0（筆記第二章開頭）；dtype 是 float32，device 與 targets
    相同。
    English: 1 at the target's index, 0 elsewhere (chapter 2's introduction); float32, on
    targets' device.
    """
    classes = torch.arange(num_classes, device=targets.device)  # (K,)
    return (targets.unsqueeze(-1) == classes).to(torch.float32)  # (..., 1) vs (K,) → (..., K)
