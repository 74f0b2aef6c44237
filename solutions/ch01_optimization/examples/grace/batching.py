# leedl — ch01_optimization/batching.py: implement the functions below; `leedl check ch01` tests them.
"""Mini-batches: splitting an epoch, and how noisy a mini-batch gradient is.

批量：把一個回合（epoch）切成批量，以及小批量梯度的雜訊有多大（課程筆記 1.2 批量和動量）。
"""

import torch


def minibatch_indices(num_examples, batch_size, *, shuffle=True, drop_last=False, generator=None):
    """The batches of one epoch, as index tensors.

    繁中：筆記 1.2：一個回合（epoch）走過所有批量。回傳 int64 索引張量的串列，每個長度為
    batch_size；最後一個可以較短，除非 drop_last=True（那時丟掉不滿的尾巴；剛好整除時什麼都不丟）。
    所有批量合起來恰好包含每個索引一次（扣掉丟掉的尾巴）。shuffle=False 時順序是 0..n−1；
    shuffle=True 時只能用 generator 產生亂數（例如 torch.randperm(n, generator=generator)），
    同一個 generator 狀態必須得到同樣的批量。

    English: one epoch over ``num_examples`` examples (notes 1.2): a list of int64 (CPU) index
    tensors of length ``batch_size``; the last one may be shorter unless ``drop_last``, which
    drops an incomplete tail (and nothing when ``batch_size`` divides ``num_examples``).
    Together the batches hold every index exactly once (minus the dropped tail). Unshuffled, the
    order is 0..n−1. Shuffled, all randomness comes from ``generator`` (e.g.
    ``torch.randperm(n, generator=generator)``): the same generator state gives the same batches.
    """
    if shuffle:
        order = torch.randperm(num_examples, generator=generator)
    else:
        order = torch.arange(num_examples)
    stop = num_examples - num_examples % batch_size if drop_last else num_examples
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def minibatch_gradient_variance(per_example_grads, batch_size):
    """Expected squared error of a mini-batch gradient, batches drawn without replacement.

    繁中：筆記 1.2：小批量的梯度是全批量梯度的有雜訊估計。per_example_grads 形狀 (N, P)，
    第 i 列是第 i 筆資料的梯度。回傳 0 維張量 E‖ĝ_B − ḡ‖²：從 N 筆中不放回地抽 B 筆取平均梯度
    ĝ_B，與全批量平均 ḡ 的期望平方距離，等於 tr(Σ)·(N−B)/(B·(N−1))，Σ 是母體共變異數
    （除以 N）。B = N 時為 0（包含 N = 1）。不可修改輸入；型別與裝置同輸入。

    English: ``per_example_grads`` is (N, P), row i the gradient of example i. Return the 0-d
    tensor E‖ĝ_B − ḡ‖² for a batch of B = ``batch_size`` examples drawn without replacement
    (notes 1.2): tr(Σ)·(N−B)/(B·(N−1)), Σ the population covariance (divide by N), so
    tr(Σ) = mean_i ‖g_i − ḡ‖². It is 0 when B = N (N = 1 included). Keep dtype and device, do
    not modify the input, and keep it differentiable.
    """
    n = per_example_grads.shape[0]
    x = per_example_grads.double()  # more precise
    centered = x - x.mean(dim=0)  # a new tensor, input untouched
    trace_sigma = centered.pow(2).sum() / n  # population covariance: divide by N, not N - 1
    if batch_size == n:  # the batch is the full data; also avoids 0/0 when N = 1
        return trace_sigma * 0.0
    return trace_sigma * ((n - batch_size) / (batch_size * (n - 1)))
