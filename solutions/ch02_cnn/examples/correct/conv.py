"""Convolution from its two ideas: receptive fields and parameter sharing.

卷積層 = Receptive field（每個神經元只看一小塊輸入，筆記 2.2）+ 共享參數（同一個濾波器掃過
整張影像，筆記 2.4）。步幅（stride）與零填充（zero padding）也在筆記 2.2。
A convolutional layer is receptive fields (each neuron sees a small patch, notes 2.2) plus
parameter sharing (one filter slides over the whole image, notes 2.4); stride and zero padding
are in notes 2.2 as well.

Shapes: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None, output (N, O, H_out, W_out).
stride and padding are plain ints, the same along both axes. Must not call any torch
convolution routine (``F.conv*``, ``torch.conv*``, ``nn.Conv*``, ``torch._convolution``) nor
``F.pad`` or the padding modules; ``F.unfold``, ``Tensor.unfold`` and ``as_strided`` are allowed.
"""

import torch

import torch.nn.functional as F



def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one axis.

    繁中：輸入長度 size 兩端各補 padding 個零；(dilated) 濾波器覆蓋 dilation·(k−1)+1 格，
    每次移動 stride 格（筆記 2.2），能放下的位置數即輸出長度：
    ⌊(size + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1。回傳 int。
    English: ⌊(size + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1, the number of
    positions a (dilated) window fits in the zero-padded input when it moves by ``stride``
    (notes 2.2), as used by ``nn.Conv2d``. Returns an int.
    """
    span = dilation * (kernel_size - 1) + 1  # input cells one dilated window covers
    return (size + 2 * padding - span) // stride + 1


def zero_pad2d(x, padding):
    """Surround the last two axes of ``x`` with zeros.

    繁中：x 形狀 (N, C, H, W)；padding 是 int，或 (pad_h, pad_w)：上下各補 pad_h 列、左右各補
    pad_w 行的零（零填充，筆記 2.2），輸出 (N, C, H + 2·pad_h, W + 2·pad_w)。不可修改 x；
    要能對 x 求梯度。不可使用 ``F.pad`` 或 padding 模組。
    English: x (N, C, H, W); ``padding`` an int or (pad_h, pad_w): pad_h rows of zeros above and
    below, pad_w columns left and right (zero padding, notes 2.2), giving
    (N, C, H + 2·pad_h, W + 2·pad_w) of x's dtype and device. Leaves x unchanged, is
    differentiable in x. Must not call ``F.pad`` or the padding modules.
    """
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else padding
    *lead, H, W = x.shape
    out = x.new_zeros(*lead, H + 2 * pad_h, W + 2 * pad_w)  # (N, C, H+2ph, W+2pw)
    out[..., pad_h : pad_h + H, pad_w : pad_w + W] = x  # a differentiable copy into the centre
    return out


def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (cross-correlation, as in ``F.conv2d``) with an explicit loop over outputs.

    繁中：對每個輸出位置 (i, j)，它的 receptive field 是補零後輸入中從 (i·stride, j·stride)
    開始的 kh×kw 區塊（筆記 2.2）；同一個濾波器用在每個位置（共享參數，筆記 2.4）：
    out[n, o, i, j] = bias[o] + Σ_{c,u,v} x_pad[n, c, i·s + u, j·s + v] · weight[o, c, u, v]。
    用 Python 迴圈走過輸出位置，和 ``F.conv2d`` 結果相同（含梯度）。
    English: for each output position (i, j), the receptive field is the kh×kw block of the
    zero-padded input starting at (i·stride, j·stride) (notes 2.2), and every position uses the
    same filters (parameter sharing, notes 2.4):
    out[n, o, i, j] = bias[o] + Σ_{c,u,v} x_pad[n, c, i·s + u, j·s + v] · weight[o, c, u, v].
    Loop over output positions in Python. Matches ``F.conv2d`` in values and gradients.
    """
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    s, p = stride, padding
    out_h = (H + 2 * p - kh) // s + 1
    out_w = (W + 2 * p - kw) // s + 1
    out = x.new_zeros(N, O, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            # The receptive field in unpadded coordinates; the part outside the image is the
            # zero padding and contributes nothing, so only the overlap is summed.
            top, left = i * s - p, j * s - p
            r0, r1 = max(top, 0), min(top + kh, H)
            c0, c1 = max(left, 0), min(left + kw, W)
            if r1 <= r0 or c1 <= c0:
                continue  # the window lies entirely in the padding: the output stays 0 (+ bias)
            patch = x[:, :, r0:r1, c0:c1]  # (N, C, r1-r0, c1-c0)
            w = weight[:, :, r0 - top : r1 - top, c0 - left : c1 - left]  # (O, C, r1-r0, c1-c0)
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, w)  # (N, O)
    if bias is not None:
        out = out + bias.reshape(1, O, 1, 1)
    return out


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution without Python loops over positions: receptive fields as columns.

    繁中：把每個 receptive field 攤平成一個長度 C·kh·kw 的向量（im2col），所有位置排成矩陣
    (N, C·kh·kw, L)，L = H_out·W_out；共享參數的濾波器攤平成 (O, C·kh·kw)，卷積就變成一次
    矩陣乘法：out = W_flat · cols + bias（筆記 2.2、2.4）。與 ``F.conv2d`` 的值和梯度相同；
    評分也比較速度（和參考解同量級即滿分，逐位置的 Python 迴圈不算）。
    English: flatten every receptive field into a column of length C·kh·kw (im2col), giving
    (N, C·kh·kw, L) with L = H_out·W_out; the shared filters flattened to (O, C·kh·kw) turn the
    convolution into one matrix product, out = W_flat · cols + bias (notes 2.2, 2.4). Matches
    ``F.conv2d`` in values and gradients. Speed is graded too: about as fast as the reference
    earns the points, a Python loop over output positions does not.
    """
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    out_h = (H + 2 * padding - kh) // stride + 1
    out_w = (W + 2 * padding - kw) // stride + 1
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C*kh*kw, L), zero padding included
    out = weight.reshape(O, C * kh * kw) @ cols  # (O, C*kh*kw) @ (N, C*kh*kw, L) → (N, O, L)
    if bias is not None:
        out = out + bias.reshape(1, O, 1)
    return out.reshape(N, O, out_h, out_w)  # L = out_h*out_w, row-major like the output grid


def receptive_field(layers):
    """Side of the input region that one neuron of the last layer sees.

    繁中：layers 是由輸入到輸出的 (kernel_size, stride) 序列。疊越多層，後面神經元的
    receptive field 越大（筆記 2.2）：從 r = 1 開始，每一層加上 (k − 1)·j，j 是該層之前所有
    stride 的乘積（相鄰兩個神經元在輸入上相隔幾格），之後 j ← j·s。空序列回傳 1。回傳 int。
    English: ``layers`` is a sequence of (kernel_size, stride) from input to output. Stacking
    layers widens what a neuron sees (notes 2.2): start at r = 1 and for each layer add
    (k − 1)·j, where j is the product of the strides before it (how far apart two neighbouring
    neurons of that layer's input are in the image), then j ← j·s. An empty sequence gives 1.
    Returns an int.
    """
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    """Number of parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)``.

    繁中：每個濾波器有 in_channels·k·k 個權重（共享參數：與影像大小無關，筆記 2.4），共
    out_channels 個濾波器；有 bias 時每個濾波器再加 1。kernel_size 是 int（k×k）。
    English: each of the out_channels filters has in_channels·k·k weights (shared over all
    positions, so independent of the image size: notes 2.4), plus one bias each when ``bias``.
    ``kernel_size`` is an int (a k×k kernel).
    """
    return out_channels * in_channels * kernel_size * kernel_size + (out_channels if bias else 0)


def fc_param_count(in_features, out_features, bias=True):
    """Number of parameters of ``nn.Linear(in_features, out_features, bias=bias)``.

    繁中：全連接層每個輸出和每個輸入都有一個權重（筆記第二章開頭），再加上每個輸出的 bias。
    English: one weight per (input, output) pair (chapter 2's introduction), plus one bias per
    output when ``bias``.
    """
    return in_features * out_features + (out_features if bias else 0)
