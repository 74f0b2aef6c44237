"""Pooling: shrink the feature map by summarising each window.

池化（筆記 2.6）：把特徵映像切成 kernel_size×kernel_size 的窗口，每個窗口只留一個數
（最大值或平均值），影像因此變小，運算量減少。沒有 padding；stride 預設等於 kernel_size
（窗口不重疊）；不能整除時，最後放不下完整窗口的列與行被捨棄（和 torch 相同）。
Pooling (notes 2.6): cut the feature map into kernel_size×kernel_size windows and keep one
number per window (the maximum or the mean), so the image gets smaller and later layers cost
less. No padding; ``stride`` defaults to ``kernel_size`` (windows do not overlap); rows and
columns that do not fill a whole window are dropped, as in torch.

x (..., H, W) → (..., H_out, W_out), H_out = ⌊(H − k) / stride⌋ + 1. kernel_size and stride are
plain ints. Must not call torch's pooling routines (``F.max_pool*``, ``F.avg_pool*``, the
adaptive and Lp pools, ``nn.*Pool*``).
"""

import torch  # noqa: F401  (for your code)


def max_pool2d(x, kernel_size, stride=None):
    """Max pooling: out[..., i, j] = max over the window starting at (i·s, j·s).

    繁中：每個窗口取最大值（筆記 2.6）。注意輸入可能全是負數。梯度只流向每個窗口的最大值
    （輸入沒有相同值時與 ``F.max_pool2d`` 相同）。
    English: the maximum of each window (notes 2.6); windows may hold only negative numbers. The
    gradient flows to each window's maximum (as ``F.max_pool2d`` on inputs without ties).
    """
    s = kernel_size if stride is None else stride
    k = kernel_size
    # unfold rows, then the columns (now at dim -2): (..., H_out, W, k) → (..., H_out, W_out, k, k), a view of x
    windows = x.unfold(-2, k, s).unfold(-2, k, s)
    return windows.amax(dim=(-2, -1))


def avg_pool2d(x, kernel_size, stride=None):
    """Average pooling: out[..., i, j] = mean over the window starting at (i·s, j·s).

    繁中：每個窗口取平均（筆記 2.6），除以 k·k。與 ``F.avg_pool2d`` 的值和梯度相同。
    English: the mean of each window (notes 2.6), i.e. its sum divided by k·k. Matches
    ``F.avg_pool2d`` in values and gradients.
    """
    if stride is None:
        stride = kernel_size
    windows = x.unfold(-2, kernel_size, stride).unfold(-2, kernel_size, stride)  # (..., H_out, W_out, k, k)
    return windows.mean(dim=(-2, -1))
