"""Hidden checks for attention.py (notes 3.2): scores, masked softmax, attention, self-attention.

Expected values come from torch in the judge (``F.scaled_dot_product_attention``, ``torch.softmax``)
or from the formulas in ``_util``; inputs are drawn from ``ctx.generator``. Query and key lengths,
d and d_v all differ, so that a transposed or swapped axis cannot pass by symmetry; every check
that takes a mask runs every kind of mask the contract allows.
"""

import math

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import CheckFailed, Partial, check, expect

from ._util import (F32, F64, TOL32, TOL64, attention_ref, causal, close, empty_rows, padding_mask, pair,
                    randint, randn, random_mask, softmax_where, with_empty_row)


def _qkv(g, device, lead=(2, 3), dtype=F64, lq=None, lk=None, d=None, dv=None):
    """q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv) with Lq, Lk, d, dv all different."""
    lq = lq or randint(g, 4, 6)
    lk = lk or lq + randint(g, 1, 3)
    d = d or randint(g, 7, 9)
    dv = dv or d + randint(g, 2, 3)
    return (randn(g, *lead, lq, d, dtype=dtype, device=device), randn(g, *lead, lk, d, dtype=dtype, device=device),
            randn(g, *lead, lk, dv, dtype=dtype, device=device))


def _mask_kinds(g, n, h, lq, lk, device):
    """Every kind of mask: (Lq, Lk) shared, (N, 1, 1, Lk) padding, (N, H, Lq, Lk) per head, and
    a causal (L, L) one when Lq = Lk."""
    kinds = [("an (Lq, Lk) mask", random_mask(g, lq, lk, device=device)),
             ("an (N, 1, 1, Lk) padding mask", padding_mask(g, n, lk, device=device)),
             ("an (N, heads, Lq, Lk) mask", random_mask(g, n, h, lq, lk, device=device))]
    if lq == lk:
        kinds.append(("a causal mask", causal(lq, device=device)))
    return kinds


# --------------------------------------------------------------------- scaled_dot_product_scores


def _sdp(q, k):
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])


@check("attention.scaled_dot_product_scores", points=2)
def scores_float64_batched(ctx):
    """Leading dims (2, 3), Lq ≠ Lk ≠ d, float64: q·kᵀ/√d."""
    q, k, _ = _qkv(ctx.generator(), ctx.device)
    close(ctx.call("attention.scaled_dot_product_scores", q, k), _sdp(q, k),
          what=f"scores for q {tuple(q.shape)}, k {tuple(k.shape)}", tol=TOL64)


@check("attention.scaled_dot_product_scores", points=2)
def scores_float32_unbatched(ctx):
    """2-D float32 inputs (no batch dims) stay float32."""
    q, k, _ = _qkv(ctx.generator(), ctx.device, lead=(), dtype=F32)
    close(ctx.call("attention.scaled_dot_product_scores", q, k), _sdp(q, k), what="scores of 2-D float32 q, k",
          tol=TOL32)


@check("attention.scaled_dot_product_scores", points=2)
def scores_gradients(ctx):
    """Gradients with respect to q and k."""
    g = ctx.generator()
    q, k, _ = _qkv(g, ctx.device, lead=(2,))
    go = randn(g, 2, q.shape[-2], k.shape[-2], device=ctx.device)
    got = ctx.run("grad", target="attention.scaled_dot_product_scores", args=[q, k], wrt=[0, 1], grad_output=go)
    qs, ks = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    want = torch.autograd.grad(_sdp(qs, ks), [qs, ks], go)
    for i, name in enumerate("qk"):
        expect(got["grads"][i] is not None, f"no gradient reaches {name}")
        close(got["grads"][i], want[i], what=f"gradient with respect to {name}", tol=TOL64)


@check("attention.scaled_dot_product_scores", points=2)
def scores_noncontiguous_inputs_unchanged(ctx):
    """Non-contiguous q and k (transposed storage) give the same scores; the inputs are unchanged."""
    q, k, _ = _qkv(ctx.generator(), ctx.device, lead=(3,))
    got = ctx.run("strided_call", target="attention.scaled_dot_product_scores", args=[q, k], noncontiguous=[0, 1])
    expect(all(got["views"]), "the grader could not make non-contiguous inputs")
    close(got["out"], _sdp(q, k), what="scores of non-contiguous q, k", tol=TOL64)
    res = ctx.run("call", target="attention.scaled_dot_product_scores", args=[q, k], return_args=True)
    close(res["args"], [q, k], what="q, k after the call (must not be modified)", tol=dict(rtol=0, atol=0))


# ------------------------------------------------------------------------------- additive_scores


def _additive_case(g, device, lead=(2,), dtype=F64):
    lq, lk = randint(g, 3, 5), randint(g, 6, 7)
    dq, dk, h = randint(g, 4, 5), randint(g, 6, 7), randint(g, 8, 9)
    return (randn(g, *lead, lq, dq, dtype=dtype, device=device), randn(g, *lead, lk, dk, dtype=dtype, device=device),
            randn(g, h, dq, dtype=dtype, device=device, scale=0.5), randn(g, h, dk, dtype=dtype, device=device, scale=0.5),
            randn(g, h, dtype=dtype, device=device))


def _additive(q, k, w_q, w_k, v):
    """score[..., i, j] = Σ_h v_h tanh((W_q q_i)_h + (W_k k_j)_h), by einsum (trusted)."""
    a = torch.einsum("...id,hd->...ih", q, w_q)
    b = torch.einsum("...jd,hd->...jh", k, w_k)
    return torch.einsum("...ijh,h->...ij", torch.tanh(a[..., :, None, :] + b[..., None, :, :]), v)


@check("attention.additive_scores", points=2)
def additive_float64_batched(ctx):
    """A batch of 2, Lq ≠ Lk and dq ≠ dk ≠ h, float64."""
    args = _additive_case(ctx.generator(), ctx.device)
    close(ctx.call("attention.additive_scores", *args), _additive(*args),
          what=f"additive scores for q {tuple(args[0].shape)}, k {tuple(args[1].shape)}", tol=TOL64)


@check("attention.additive_scores", points=2)
def additive_leading_dims_float32(ctx):
    """Two leading dims (2, 3) in float32, and a 2-D call: the scores broadcast like matmul."""
    g = ctx.generator()
    args = _additive_case(g, ctx.device, lead=(2, 3), dtype=F32)
    close(ctx.call("attention.additive_scores", *args), _additive(*args),
          what="additive scores with leading dims (2, 3), float32", tol=TOL32)
    args = _additive_case(g, ctx.device, lead=(), dtype=F32)
    close(ctx.call("attention.additive_scores", *args), _additive(*args), what="additive scores of 2-D inputs",
          tol=TOL32)


@check("attention.additive_scores", points=2)
def additive_gradients(ctx):
    """Gradients with respect to q, k, W_q, W_k and v."""
    g = ctx.generator()
    args = _additive_case(g, ctx.device)
    go = randn(g, *_additive(*args).shape, device=ctx.device)
    got = ctx.run("grad", target="attention.additive_scores", args=list(args), wrt=[0, 1, 2, 3, 4], grad_output=go)
    xs = [a.clone().requires_grad_(True) for a in args]
    want = torch.autograd.grad(_additive(*xs), xs, go)
    for i, name in enumerate(("q", "k", "w_q", "w_k", "v")):
        expect(got["grads"][i] is not None, f"no gradient reaches {name}")
        close(got["grads"][i], want[i], what=f"gradient with respect to {name}", tol=TOL64)


@check("attention.additive_scores", points=2)
def additive_inputs_unchanged(ctx):
    """Non-contiguous q and w_q work; no input is modified."""
    args = _additive_case(ctx.generator(), ctx.device)
    got = ctx.run("strided_call", target="attention.additive_scores", args=list(args), noncontiguous=[0, 2])
    close(got["out"], _additive(*args), what="additive scores of non-contiguous q, w_q", tol=TOL64)
    res = ctx.run("call", target="attention.additive_scores", args=list(args), return_args=True)
    close(res["args"], list(args), what="inputs after the call (must not be modified)", tol=dict(rtol=0, atol=0))


# -------------------------------------------------------------------------------- masked_softmax


def _scores(g, device, n=2, h=3, lq=5, lk=7, dtype=F64, scale=2.0):
    return randn(g, n, h, lq, lk, dtype=dtype, device=device, scale=scale)


@check("attention.masked_softmax", points=2)
def softmax_without_mask(ctx):
    """mask=None (and omitted): a softmax over the last dim, float64, leading dims (2, 3)."""
    s = _scores(ctx.generator(), ctx.device)
    close(ctx.call("attention.masked_softmax", s), torch.softmax(s, -1), what="masked_softmax(scores)", tol=TOL64)
    close(ctx.call("attention.masked_softmax", s, None), torch.softmax(s, -1), what="masked_softmax(scores, None)",
          tol=TOL64)


@check("attention.masked_softmax", points=2)
def softmax_every_mask_kind(ctx):
    """(Lq, Lk), (N, 1, 1, Lk) and (N, heads, Lq, Lk) masks, and a causal one: masked entries exactly 0."""
    g = ctx.generator()
    for lq, lk in ((5, 7), (6, 6)):
        s = _scores(g, ctx.device, lq=lq, lk=lk)
        for name, m in _mask_kinds(g, 2, 3, lq, lk, ctx.device):
            got = ctx.call("attention.masked_softmax", s, m)
            close(got, softmax_where(s, m), what=f"masked_softmax with {name}", tol=TOL64)
            expect(bool((got.masked_select(~m.expand(s.shape)) == 0).all()),
                   f"masked_softmax with {name}: masked entries must be exactly 0")


@check("attention.masked_softmax", points=2)
def softmax_row_with_nothing_to_attend(ctx):
    """A query row whose mask is all False is all zeros (never NaN); the other rows are unaffected."""
    g = ctx.generator()
    s = _scores(g, ctx.device)
    m = with_empty_row(random_mask(g, 2, 3, 5, 7, device=ctx.device), randint(g, 0, 4))
    got = ctx.call("attention.masked_softmax", s, m)
    expect(isinstance(got, torch.Tensor) and not bool(got.isnan().any()),
           "a row with nothing to attend to gave NaN: it must be all zeros")
    close(got, softmax_where(s, m), what="masked_softmax with a row that attends to nothing", tol=TOL64)
    m2 = with_empty_row(causal(6, device=ctx.device), 0).reshape(1, 1, 6, 6)  # broadcast over (N, heads)
    s2 = _scores(g, ctx.device, lq=6, lk=6)
    close(ctx.call("attention.masked_softmax", s2, m2), softmax_where(s2, m2),
          what="masked_softmax with a broadcast mask whose first row is empty", tol=TOL64)


@check("attention.masked_softmax", points=2)
def softmax_float32_large_scores(ctx):
    """float32 scores of magnitude ~300 (exp would overflow without the max shift), masked."""
    g = ctx.generator()
    s = _scores(g, ctx.device, dtype=F32, scale=300.0)
    m = random_mask(g, 5, 7, device=ctx.device)
    want = softmax_where(s.double(), m).float()
    # float32 at scores of 300: one ulp is 3e-5, which moves a probability by up to 3e-5 relative.
    close(ctx.call("attention.masked_softmax", s, m), want, what="masked_softmax of float32 scores of magnitude 300",
          tol=dict(rtol=2e-4, atol=1e-6))


@check("attention.masked_softmax", points=2)
def softmax_gradient_with_masks(ctx):
    """Gradient through the masked softmax (an empty row included): right values, no NaN."""
    g = ctx.generator()
    s = _scores(g, ctx.device)
    m = with_empty_row(random_mask(g, 2, 1, 5, 7, device=ctx.device), 2)
    go = randn(g, *s.shape, device=ctx.device)
    got = ctx.run("grad", target="attention.masked_softmax", args=[s, m], grad_output=go)
    ss = s.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(softmax_where(ss, m), [ss], go)
    expect(got["grads"][0] is not None, "no gradient reaches the scores")
    close(got["grads"][0], want, what="gradient of masked_softmax with respect to the scores", tol=TOL64)


@check("attention.masked_softmax", points=2)
def softmax_inputs_unchanged(ctx):
    """Neither the scores nor the mask are modified; non-contiguous scores work."""
    g = ctx.generator()
    s = _scores(g, ctx.device)
    m = random_mask(g, 2, 3, 5, 7, device=ctx.device)
    res = ctx.run("call", target="attention.masked_softmax", args=[s, m], return_args=True)
    close(res["out"], softmax_where(s, m), what="masked_softmax(scores, mask)", tol=TOL64)
    close(res["args"], [s, m], what="scores, mask after the call (must not be modified)", tol=dict(rtol=0, atol=0))
    got = ctx.run("strided_call", target="attention.masked_softmax", args=[s, m], noncontiguous=[0])
    close(got["out"], softmax_where(s, m), what="masked_softmax of non-contiguous scores", tol=TOL64)


# ------------------------------------------------------------------------------------- attention


def _sdpa(q, k, v, mask=None):
    """F.scaled_dot_product_attention, with our convention for rows that attend to nothing (0)."""
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if mask is not None:
        out = out.masked_fill(empty_rows(mask, (*q.shape[:-1], k.shape[-2])), 0.0)
    return out


def _check_attention(ctx, target, args, want_out, want_w, what, tol):
    out, w = pair(ctx.call(target, *args), what)
    close(w, want_w, what=f"{what}: weights", tol=tol)
    close(out, want_out, what=f"{what}: output", tol=tol)


@check("attention.attention", points=2)
def attention_matches_sdpa(ctx):
    """Leading dims (2, 3), Lq ≠ Lk, d ≠ dv, float64, no mask: matches F.scaled_dot_product_attention."""
    q, k, v = _qkv(ctx.generator(), ctx.device)
    _check_attention(ctx, "attention.attention", (q, k, v), _sdpa(q, k, v), attention_ref(q, k, v)[1],
                     "attention(q, k, v)", TOL64)


@check("attention.attention", points=2)
def attention_every_mask_kind(ctx):
    """Every kind of mask, square and rectangular, against F.scaled_dot_product_attention."""
    g = ctx.generator()
    for lq, lk in ((5, 7), (6, 6)):
        q, k, v = _qkv(g, ctx.device, lq=lq, lk=lk)
        for name, m in _mask_kinds(g, 2, 3, lq, lk, ctx.device):
            _check_attention(ctx, "attention.attention", (q, k, v, m), _sdpa(q, k, v, m),
                             attention_ref(q, k, v, m)[1], f"attention with {name}", TOL64)


@check("attention.attention", points=2)
def attention_row_with_nothing_to_attend(ctx):
    """A query with nothing to attend to gets zero weights and a zero output, never NaN."""
    g = ctx.generator()
    q, k, v = _qkv(g, ctx.device)
    m = with_empty_row(random_mask(g, 2, 3, q.shape[-2], k.shape[-2], device=ctx.device), randint(g, 0, 3))
    out, w = pair(ctx.call("attention.attention", q, k, v, m), "attention with an empty row")
    expect(not bool(out.isnan().any() or w.isnan().any()), "a query with nothing to attend to gave NaN")
    _check_attention(ctx, "attention.attention", (q, k, v, m), _sdpa(q, k, v, m), attention_ref(q, k, v, m)[1],
                     "attention with a query that attends to nothing", TOL64)


@check("attention.attention", points=2)
def attention_float32_unbatched(ctx):
    """2-D float32 q, k, v with a causal mask: float32 in, float32 out."""
    q, k, v = _qkv(ctx.generator(), ctx.device, lead=(), dtype=F32, lq=6, lk=6)
    m = causal(6, device=ctx.device)
    _check_attention(ctx, "attention.attention", (q, k, v, m), _sdpa(q, k, v, m), attention_ref(q, k, v, m)[1],
                     "attention of 2-D float32 inputs", TOL32)


@check("attention.attention", points=2)
def attention_gradients(ctx):
    """Gradients with respect to q, k and v, through both the output and the weights."""
    g = ctx.generator()
    q, k, v = _qkv(g, ctx.device, lead=(2,))
    m = random_mask(g, 2, q.shape[-2], k.shape[-2], device=ctx.device)  # one mask per sample
    out, w = attention_ref(q, k, v, m)
    gos = [randn(g, *out.shape, device=ctx.device), randn(g, *w.shape, device=ctx.device)]
    got = ctx.run("grad", target="attention.attention", args=[q, k, v, m], wrt=[0, 1, 2], grad_output=gos)
    xs = [t.clone().requires_grad_(True) for t in (q, k, v)]
    want = torch.autograd.grad(list(attention_ref(*xs, m)), xs, gos)
    for i, name in enumerate("qkv"):
        expect(got["grads"][i] is not None, f"no gradient reaches {name}")
        close(got["grads"][i], want[i], what=f"gradient with respect to {name}", tol=TOL64)


@check("attention.attention", points=2)
def attention_noncontiguous_inputs_unchanged(ctx):
    """Non-contiguous q, k, v give the same result; the inputs and the mask are unchanged."""
    g = ctx.generator()
    q, k, v = _qkv(g, ctx.device)
    m = padding_mask(g, 2, k.shape[-2], device=ctx.device)
    got = ctx.run("strided_call", target="attention.attention", args=[q, k, v, m], noncontiguous=[0, 1, 2])
    expect(all(got["views"]), "the grader could not make non-contiguous inputs")
    close(pair(got["out"], "attention")[0], _sdpa(q, k, v, m), what="attention of non-contiguous inputs", tol=TOL64)
    res = ctx.run("call", target="attention.attention", args=[q, k, v, m], return_args=True)
    close(res["args"], [q, k, v, m], what="q, k, v, mask after the call (must not be modified)",
          tol=dict(rtol=0, atol=0))


# Speed: the student's attention against the reference's, one thread each, interleaved, median
# ratio of CPU times. One sequence of 16 heads, length 64, width 8, a causal mask. At length 128 a
# loop over the (sample, head) slices costs only ~2.4× a loop-free attention (each slice's
# 128 × 128 work outweighs Python's per-iteration cost), too close to tell apart under load; at
# 64 the loop-free variants (matmul, einsum, baddbmm; softmax by exp, torch.softmax, finfo.min
# fills) measure 0.6–1.8× the reference, a loop over slices ≥ 9×, over queries ≥ 14×.
SPEED_SHAPE = dict(n=1, heads=16, length=64, d=8)
SPEED_BAND = 3.5


@check("attention.attention", points=3, kind="speed", timeout=60)
def attention_speed(ctx):
    """About as fast as a vectorized attention (a Python loop over heads or queries is not)."""
    g = ctx.generator()
    s = SPEED_SHAPE
    q, k, v = (randn(g, s["n"], s["heads"], s["length"], s["d"], dtype=F32, device=ctx.device) for _ in range(3))
    m = causal(s["length"], device=ctx.device)
    try:
        _check_attention(ctx, "attention.attention", (q, k, v, m), _sdpa(q, k, v, m), attention_ref(q, k, v, m)[1],
                         "attention on the timed input", TOL32)
    except CheckFailed as exc:
        raise CheckFailed(f"speed is scored only for a correct attention: {exc}") from None
    # CPU time, not wall time: other processes on a busy machine do not inflate it.
    ratio = ctx.time_ratio("attention.attention", (q, k, v, m), ctx.reference.attention.attention, clock="cpu",
                           repeats=5, min_time=0.005)
    msg = f"{ratio:.1f}× the time of a vectorized reference (full points up to {SPEED_BAND:g}×)"
    if ratio <= SPEED_BAND:
        return Partial(1.0, msg)
    return Partial(0.0, msg + ": avoid Python loops over heads or queries; use batched matrix products")


# -------------------------------------------------------------------------------- self_attention


def _self_case(g, device, lead=(2,), dtype=F64, length=6):
    d_model, d_k = randint(g, 6, 7), randint(g, 9, 10)
    d_v = d_k + randint(g, 2, 3)
    x = randn(g, *lead, length, d_model, dtype=dtype, device=device)
    ws = [randn(g, d_model, d, dtype=dtype, device=device, scale=0.5) for d in (d_k, d_k, d_v)]
    return x, ws


def _self_ref(x, w_q, w_k, w_v, mask=None):
    return attention_ref(x @ w_q, x @ w_k, x @ w_v, mask)


@check("attention.self_attention", points=2)
def self_attention_batched(ctx):
    """A batch of 2, d_model ≠ d_k ≠ d_v, float64, without a mask and with a causal one."""
    g = ctx.generator()
    x, ws = _self_case(g, ctx.device)
    for m, name in ((None, "no mask"), (causal(x.shape[-2], device=ctx.device), "a causal mask")):
        args = (x, *ws) if m is None else (x, *ws, m)
        want = _self_ref(x, *ws, m)
        _check_attention(ctx, "attention.self_attention", args, want[0], want[1], f"self_attention with {name}", TOL64)


@check("attention.self_attention", points=2)
def self_attention_masks_and_empty_row(ctx):
    """Padding and per-head masks (leading dims (2, 3)) and a query row with nothing to attend to."""
    g = ctx.generator()
    x, ws = _self_case(g, ctx.device, lead=(2, 3))
    length = x.shape[-2]
    pad = padding_mask(g, 2, length, device=ctx.device)
    per_head = with_empty_row(random_mask(g, 2, 3, length, length, device=ctx.device), randint(g, 0, length - 1))
    for name, m in (("an (N, 1, 1, L) padding mask", pad), ("a mask with an empty row", per_head)):
        want = _self_ref(x, *ws, m)
        _check_attention(ctx, "attention.self_attention", (x, *ws, m), want[0], want[1], f"self_attention with {name}",
                         TOL64)


@check("attention.self_attention", points=2)
def self_attention_float32_unbatched(ctx):
    """A 2-D float32 sequence: float32 out."""
    x, ws = _self_case(ctx.generator(), ctx.device, lead=(), dtype=F32)
    want = _self_ref(x, *ws)
    _check_attention(ctx, "attention.self_attention", (x, *ws), want[0], want[1], "self_attention of float32 x",
                     TOL32)


@check("attention.self_attention", points=2)
def self_attention_gradients(ctx):
    """Gradients with respect to x, W_q, W_k and W_v (a causal mask); inputs unchanged."""
    g = ctx.generator()
    x, ws = _self_case(g, ctx.device)
    m = causal(x.shape[-2], device=ctx.device)
    out, w = _self_ref(x, *ws, m)
    gos = [randn(g, *out.shape, device=ctx.device), randn(g, *w.shape, device=ctx.device)]
    got = ctx.run("grad", target="attention.self_attention", args=[x, *ws, m], wrt=[0, 1, 2, 3], grad_output=gos)
    xs = [t.clone().requires_grad_(True) for t in (x, *ws)]
    want = torch.autograd.grad(list(_self_ref(*xs, m)), xs, gos)
    for i, name in enumerate(("x", "w_q", "w_k", "w_v")):
        expect(got["grads"][i] is not None, f"no gradient reaches {name}")
        close(got["grads"][i], want[i], what=f"gradient with respect to {name}", tol=TOL64)
    res = ctx.run("call", target="attention.self_attention", args=[x, *ws, m], return_args=True)
    close(res["args"], [x, *ws, m], what="inputs after the call (must not be modified)", tol=dict(rtol=0, atol=0))
