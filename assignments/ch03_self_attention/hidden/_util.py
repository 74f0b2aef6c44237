"""Shared by the hidden checks: input makers, masks of every kind, tolerances, trusted formulas."""

import math

import torch

from leedl_grader.authoring.checks import CheckFailed, expect
from leedl_grader.authoring.compare import assert_close
from leedl_grader.authoring.helpers import F32, F64, randint, randn  # noqa: F401 - shared by every chapter

from ..public import _torch_mha as torch_mha  # noqa: F401 - one helper for both suites

# float64: every value is a sum of at most ~100 products of O(1) numbers, an exp and a division,
# computed in an order that differs between implementations (matmul, einsum, baddbmm, loops):
# the rounding error stays below ~1e-14, so 1e-12 admits every correct order, while each bug
# of the zoo is off by 1e-8 (a float32 constant) or far more.
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 (eps 1.2e-7): the same sums and exps are good to ~1e-6 relative; 2e-5 leaves room.
TOL32 = dict(rtol=2e-5, atol=2e-5)


def close(got, want, *, what, tol):
    """``assert_close`` that also requires the device of ``want`` (the inputs' device)."""
    if isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.device != want.device:
        raise CheckFailed(f"{what}: on {got.device}, expected {want.device} (the inputs' device)")
    assert_close(got, want, what=what, **tol)


def pair(got, what):
    """``got`` must be an (output, weights) pair of tensors."""
    expect(isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got),
           f"{what}: expected a tuple (output, weights) of two tensors, got {type(got).__name__}")
    return got


# ----------------------------------------------------------------------------------- masks


def random_mask(g, *shape, p=0.6, device="cpu"):
    """Random bool mask (True with probability p) in which every row keeps at least one True."""
    m = torch.rand(*shape, generator=g) < p
    first = torch.zeros(shape[-1], dtype=torch.bool)
    first[randint(g, 0, shape[-1] - 1)] = True
    m = torch.where(m.any(-1, keepdim=True), m, first)
    return m.to(device)


def padding_mask(g, n, lk, device="cpu"):
    """(n, 1, 1, Lk): sample i attends to its first len_i keys only (len_i ≥ 1, some < Lk)."""
    lens = torch.randint(1, lk + 1, (n,), generator=g)
    lens[0] = max(1, lk - 2)
    return (torch.arange(lk) < lens[:, None]).reshape(n, 1, 1, lk).to(device)


def causal(length, device="cpu"):
    return torch.ones(length, length, dtype=torch.bool).tril().to(device)


def with_empty_row(mask, row):
    """A copy of ``mask`` (expanded to its full shape) whose query row ``row`` allows nothing."""
    m = mask.clone()
    m[..., row, :] = False
    return m


def empty_rows(mask, shape):
    """(..., Lq, 1) True where a query row has nothing to attend to, broadcast to ``shape``'s rows."""
    return ~mask.expand(shape).any(-1, keepdim=True)


# ------------------------------------------------------------------------- trusted formulas


def softmax_where(scores, mask):
    """The masked softmax, with torch's softmax: masked entries 0, empty rows 0, no NaN even in
    gradients (an empty row is a uniform softmax multiplied by 0)."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    s = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(s, dim=-1) * mask


def attention_ref(q, k, v, mask=None):
    """(output, weights) from the formula; the output agrees with F.scaled_dot_product_attention."""
    w = softmax_where(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), mask)
    return w @ v, w
