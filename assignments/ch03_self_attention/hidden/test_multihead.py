"""Hidden checks for multihead.py (notes 3.3): MultiHeadSelfAttention against torch's
``nn.MultiheadAttention(batch_first=True)`` with the same weights (``average_attn_weights=False``).

The student's module is built in the student's process from plain data (constructor arguments
and a ``state_dict``); the torch module runs here, in the judge. Every check uses a batch of
several sequences, heads ≥ 2 and d_head ≠ L, so that mixing up samples, heads or axes shows.
"""

import torch

from leedl_grader.authoring.checks import CheckFailed, Partial, check, expect

from ._util import (F32, F64, TOL32, TOL64, causal, close, padding_mask, pair, randint, randn, random_mask,
                    torch_mha, with_empty_row)

TARGET = "multihead.MultiHeadSelfAttention"


def _setup(g, device, *, n=3, heads=3, d_head=4, length=7, bias=True, dtype=F64):
    d_model = heads * d_head
    mha, state = torch_mha.make_mha(g, d_model, heads, bias=bias, dtype=dtype, device=device)
    x = randn(g, n, length, d_model, dtype=dtype, device=device)
    spec = {"init": {"d_model": d_model, "num_heads": heads, "bias": bias}, "state": state}
    return mha, spec, x


def _call(ctx, spec, x, mask, **extra):
    args = [x] if mask is None else [x, mask]
    return ctx.run("module_call", target=TARGET, args=args, **spec, **extra)


def _compare(ctx, mha, spec, x, mask, what, tol):
    got = _call(ctx, spec, x, mask)
    out, w = pair(got["out"], what)
    want_out, want_w = torch_mha.run_mha(mha, x, mask)
    close(w, want_w.detach(), what=f"{what}: weights (N, heads, L, L)", tol=tol)
    close(out, want_out.detach(), what=f"{what}: output", tol=tol)


@check(TARGET, points=2)
def mhsa_matches_torch_no_mask(ctx):
    """3 sequences, 3 heads, float64, no mask: output and per-head weights match torch."""
    mha, spec, x = _setup(ctx.generator(), ctx.device)
    _compare(ctx, mha, spec, x, None, "MultiHeadSelfAttention(x)", TOL64)


@check(TARGET, points=2)
def mhsa_every_mask_kind(ctx):
    """Causal (L, L), padding (N, 1, 1, L) and per-head (N, heads, L, L) masks (True = may attend)."""
    g = ctx.generator()
    mha, spec, x = _setup(g, ctx.device, heads=4, d_head=3, length=6)
    n, length = x.shape[0], x.shape[1]
    for name, m in (("a causal mask", causal(length, device=ctx.device)),
                    ("a padding mask", padding_mask(g, n, length, device=ctx.device)),
                    ("a per-head mask", random_mask(g, n, 4, length, length, device=ctx.device))):
        _compare(ctx, mha, spec, x, m, f"MultiHeadSelfAttention with {name}", TOL64)


@check(TARGET, points=2)
def mhsa_row_with_nothing_to_attend(ctx):
    """A query that attends to nothing: zero weights in every head, output = out_proj's bias
    (torch gives NaN there); every other row as torch."""
    g = ctx.generator()
    mha, spec, x = _setup(g, ctx.device)
    n, length = x.shape[0], x.shape[1]
    row = randint(g, 0, length - 1)
    m = with_empty_row(random_mask(g, n, 1, length, length, device=ctx.device), row)  # the same for every head
    out, w = pair(_call(ctx, spec, x, m)["out"], "MultiHeadSelfAttention with an empty row")
    expect(not bool(out.isnan().any() or w.isnan().any()), "a query with nothing to attend to gave NaN")
    want_out, want_w = (t.detach().clone() for t in torch_mha.run_mha(mha, x, m))
    want_w[:, :, row, :] = 0.0
    want_out[:, row, :] = mha.out_proj.bias.detach()
    close(w, want_w, what="weights with a query that attends to nothing", tol=TOL64)
    close(out, want_out, what="output with a query that attends to nothing", tol=TOL64)


@check(TARGET, points=2)
def mhsa_float32_without_bias(ctx):
    """float32, bias=False, 2 sequences of 8 with 2 heads of 6, a causal mask."""
    g = ctx.generator()
    mha, spec, x = _setup(g, ctx.device, n=2, heads=2, d_head=6, length=8, bias=False, dtype=F32)
    spec["dtype"] = "float32"
    _compare(ctx, mha, spec, x, causal(8, device=ctx.device), "float32 MultiHeadSelfAttention(bias=False)", TOL32)


@check(TARGET, points=2)
def mhsa_gradients(ctx):
    """Gradients with respect to x and every projection's weight and bias (a padding mask)."""
    g = ctx.generator()
    mha, spec, x = _setup(g, ctx.device, n=2)
    m = padding_mask(g, 2, x.shape[1], device=ctx.device)
    want_out, want_w = torch_mha.run_mha(mha, x, m)
    gos = [randn(g, *want_out.shape, device=ctx.device), randn(g, *want_w.shape, device=ctx.device)]
    got = _call(ctx, spec, x, m, wrt=[0], param_grads=True, grad_output=gos)
    xs = x.clone().requires_grad_(True)
    outs = torch_mha.run_mha(mha, xs, m)
    params = [xs, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias]
    gx, gin_w, gin_b, gout_w, gout_b = torch.autograd.grad(list(outs), params, gos)
    want = {"q_proj.weight": gin_w.chunk(3)[0], "k_proj.weight": gin_w.chunk(3)[1], "v_proj.weight": gin_w.chunk(3)[2],
            "q_proj.bias": gin_b.chunk(3)[0], "k_proj.bias": gin_b.chunk(3)[1], "v_proj.bias": gin_b.chunk(3)[2],
            "out_proj.weight": gout_w, "out_proj.bias": gout_b}
    expect(got["grads"] and got["grads"][0] is not None, "no gradient reaches x")
    close(got["grads"][0], gx, what="gradient with respect to x", tol=TOL64)
    pg = got["param_grads"] or {}
    for name, gw in want.items():
        expect(pg.get(name) is not None, f"no gradient reaches {name}")
        close(pg[name], gw, what=f"gradient with respect to {name}", tol=TOL64)


@check(TARGET, points=2)
def mhsa_noncontiguous_input_unchanged(ctx):
    """A non-contiguous x gives the same result; x and the mask are not modified."""
    g = ctx.generator()
    mha, spec, x = _setup(g, ctx.device, n=2, heads=2, d_head=5, length=6)
    m = causal(6, device=ctx.device)
    got = _call(ctx, spec, x, m, noncontiguous=[0], return_args=True)
    out, _ = pair(got["out"], "MultiHeadSelfAttention of a non-contiguous x")
    close(out, torch_mha.run_mha(mha, x, m)[0].detach(), what="output for a non-contiguous x", tol=TOL64)
    close(got["args"], [x, m], what="x, mask after the call (must not be modified)", tol=dict(rtol=0, atol=0))


# Speed: forward against nn.MultiheadAttention(need_weights=True, average_attn_weights=False) with
# the same weights, one thread each, interleaved, median ratio of CPU times. One sequence, 16
# heads of width 4, length 64, a causal mask. Measured (CPU time, under the op tracer): loop-free
# forwards (this reference with its explicit softmax, unflatten/permute, einsum, baddbmm,
# torch.softmax) 1.0–1.9× torch; a Python loop over the heads 4.2–7× (the low end on a machine
# under heavy load; ~3.9× at length 128, where each head's 128 × 128 work outweighs the loop's
# cost: too close to tell apart reliably); a loop over queries far more.
SPEED = dict(n=1, heads=16, d_head=4, length=64)
SPEED_BAND = 3.0


@check(TARGET, points=3, kind="speed", timeout=60)
def mhsa_speed(ctx):
    """About as fast as nn.MultiheadAttention (a Python loop over heads or queries is not)."""
    g = ctx.generator()
    mha, spec, x = _setup(g, ctx.device, n=SPEED["n"], heads=SPEED["heads"], d_head=SPEED["d_head"],
                          length=SPEED["length"], dtype=F32)
    spec["dtype"] = "float32"
    m = causal(SPEED["length"], device=ctx.device)
    try:
        _compare(ctx, mha, spec, x, m, "MultiHeadSelfAttention on the timed input", TOL32)
    except CheckFailed as exc:
        raise CheckFailed(f"speed is scored only for a correct forward: {exc}") from None
    blocked = torch_mha.torch_attn_mask(m, SPEED["n"], SPEED["heads"], SPEED["length"])

    def yardstick(x, mask):  # with autograd on, as the student's module runs
        return mha(x, x, x, attn_mask=blocked, need_weights=True, average_attn_weights=False)

    # CPU time, not wall time: other processes on a busy machine do not inflate it.
    build = {"init_kwargs": spec["init"], "state": spec["state"], "dtype": "float32", "device": str(ctx.device),
             "strict": False}  # names and shapes were checked above; extra buffers are the student's business
    ratio = ctx.time_ratio(TARGET, (x, m), yardstick, build=build, clock="cpu", repeats=5, min_time=0.005)
    msg = f"{ratio:.1f}× the time of nn.MultiheadAttention (full points up to {SPEED_BAND:g}×)"
    if ratio <= SPEED_BAND:
        return Partial(1.0, msg)
    return Partial(0.0, msg + ": avoid Python loops over heads or queries; reshape to (N, heads, L, d_head)")
