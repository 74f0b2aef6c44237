"""Hidden checks for blocks.py (notes 4.4–4.6): post-LN encoder and decoder blocks.

Each check builds torch's ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``
(``batch_first=True``, ``dropout=0.0``) here in the judge with every parameter drawn from the
run's seed (torch's init leaves biases at 0 and norm scales at 1, which would hide swapped norms),
sends the same weights under the blocks' names, and compares outputs and gradients (inputs,
memory and every parameter). The blocks' masks mean True = may attend; torch's are the opposite.
Several heads, a batch of several sequences, and S ≠ T everywhere.
"""

import torch

from leedl_grader.authoring.checks import CheckFailed, Partial, check, expect
from leedl_grader.authoring.compare import assert_close

from ._util import (
    F32,
    TOL,
    TOL32,
    causal,
    mask_with_a_key_per_row,
    param_grads_to_block_names,
    randint,
    randn,
    speed_ratio,
    to_block_names,
    torch_layer,
)


def _dims(g):
    heads = randint(g, 2, 4)
    return 8 * heads, heads, randint(g, 24, 48)  # d_model, heads, d_ff


def _compare(ctx, target, got, want_out, want_in_grads, layer, what, dtype, names=("x",)):
    tol = TOL[dtype]
    expect(isinstance(got["out"], torch.Tensor) and got["out"].shape == want_out.shape,
           f"{target} returned {tuple(getattr(got['out'], 'shape', ()))}, expected {tuple(want_out.shape)} ({what})")
    expect(got["out"].dtype == want_out.dtype, f"{target} returned {got['out'].dtype} for {dtype} inputs")
    assert_close(got["out"], want_out, what=f"output ({what})", **tol)
    for name, a, b in zip(names, got["grads"], want_in_grads):
        assert_close(a, b, what=f"gradient with respect to {name} ({what})", **tol)
    want_p = param_grads_to_block_names(layer)
    for name, gw in sorted(want_p.items()):
        expect(name in got["param_grads"], f"no parameter named {name} ({what})")
        assert_close(got["param_grads"][name], gw, what=f"gradient of {name} ({what})", **tol)


# ------------------------------------------------------------------------------- encoder


def _encoder(ctx, dtype, what, mask_kind):
    """mask_kind: None, "2d" (L, L), "padding" (N, 1, L), "per_sample" (N, L, L)."""
    g = ctx.generator(what)
    dt = getattr(torch, dtype)
    d, h, ff = _dims(g)
    n, seq = randint(g, 2, 4), randint(g, 5, 9)
    layer = torch_layer("encoder", d, h, ff, g, dt)
    x = randn(g, n, seq, d, dtype=dt)
    go = randn(g, n, seq, d, dtype=dt)
    kwargs, torch_kw = {}, {}
    if mask_kind == "2d":
        m = mask_with_a_key_per_row(g, seq, seq)
        kwargs["mask"], torch_kw["src_mask"] = m, ~m
    elif mask_kind == "padding":
        lengths = torch.randint(2, seq + 1, (n,), generator=g)
        lengths[0] = seq - 1  # at least one sequence really padded
        keep = torch.arange(seq)[None, :] < lengths[:, None]  # (N, L)
        kwargs["mask"], torch_kw["src_key_padding_mask"] = keep[:, None, :], ~keep
    elif mask_kind == "per_sample":
        m = torch.stack([mask_with_a_key_per_row(g, seq, seq) for _ in range(n)])  # (N, L, L)
        kwargs["mask"], torch_kw["src_mask"] = m, ~m.repeat_interleave(h, dim=0)  # torch: (N·heads, L, L)
    got = ctx.run("module_grad", target="blocks.TransformerEncoderBlock", init_args=[d, h, ff],
                  state=to_block_names(layer.state_dict()), dtype=dtype, device=str(ctx.device),
                  args=[x], kwargs=kwargs, wrt=(0,), grad_output=go)
    xs = x.clone().requires_grad_(True)
    want = layer(xs, **torch_kw)
    (gx,) = torch.autograd.grad(want, xs, go, retain_graph=True)
    want.backward(go)
    _compare(ctx, "TransformerEncoderBlock", got, want.detach(), [gx], layer, what, dtype)


@check("blocks.TransformerEncoderBlock", points=3)
def encoder_matches_torch_float64(ctx):
    """Matches nn.TransformerEncoderLayer (copied weights, no mask), float64, with every gradient."""
    _encoder(ctx, "float64", "float64, no mask", None)


@check("blocks.TransformerEncoderBlock", points=2)
def encoder_matches_torch_float32_with_mask(ctx):
    """Matches torch with an (L, L) mask (True = may attend, torch's src_mask = ~mask), float32."""
    _encoder(ctx, "float32", "float32, (L, L) mask", "2d")


@check("blocks.TransformerEncoderBlock", points=2)
def encoder_padding_mask(ctx):
    """An (N, 1, L) padding mask matches torch's src_key_padding_mask = ~mask, float64."""
    _encoder(ctx, "float64", "float64, (N, 1, L) padding mask", "padding")


@check("blocks.TransformerEncoderBlock", points=1)
def encoder_per_sample_mask(ctx):
    """An (N, L, L) mask, one per sequence, the same for every head, float64."""
    _encoder(ctx, "float64", "float64, (N, L, L) mask", "per_sample")


SPEED = dict(d_model=128, heads=8, d_ff=256, n=8, seq=128)  # enough heads and length to expose loops
SPEED_BAND = 6.0  # a loop-free block takes 1–3× torch's layer; a loop over heads or positions far more


@check("blocks.TransformerEncoderBlock", points=2, kind="speed", timeout=180)  # up to three timings
def encoder_speed(ctx):
    """About as fast as nn.TransformerEncoderLayer (no Python loop over heads or positions)."""
    g = ctx.generator()
    s = SPEED
    layer = torch_layer("encoder", s["d_model"], s["heads"], s["d_ff"], g, F32).to(ctx.device)
    x = randn(g, s["n"], s["seq"], s["d_model"], dtype=F32, device=ctx.device)
    state = to_block_names(layer.state_dict())
    init = [s["d_model"], s["heads"], s["d_ff"]]
    got = ctx.run("module_forward", target="blocks.TransformerEncoderBlock", init_args=init, state=state,
                  device=str(ctx.device), inputs=[[x]])
    with torch.no_grad():
        want = layer(x)
    try:
        assert_close(got["outputs"][0], want, what="encoder block on the timed input", **TOL32)
    except CheckFailed as exc:
        raise CheckFailed(f"speed is scored only for a correct encoder block: {exc}") from None
    build = {"init_args": init, "state": state, "device": str(ctx.device)}
    ratio = speed_ratio(ctx, SPEED_BAND, "blocks.TransformerEncoderBlock", (x,), layer, build=build)
    msg = f"{ratio:.1f}× the time of nn.TransformerEncoderLayer (full points up to {SPEED_BAND:g}×)"
    if ratio <= SPEED_BAND:
        return Partial(1.0, msg)
    return Partial(0.0, msg + ": compute every head and position with batched matrix products")


# ------------------------------------------------------------------------------- decoder


def _decoder(ctx, dtype, what, self_mask="causal", memory_mask=None):
    """memory_mask: None, "2d" (T, S), "padding" (N, 1, S) or "per_sample" (N, T, S)."""
    g = ctx.generator(what)
    dt = getattr(torch, dtype)
    d, h, ff = _dims(g)
    n, t = randint(g, 2, 4), randint(g, 4, 7)
    s = t + randint(g, 2, 4)  # S ≠ T: queries and keys from the wrong side cannot line up
    layer = torch_layer("decoder", d, h, ff, g, dt)
    y = randn(g, n, t, d, dtype=dt)
    mem = randn(g, n, s, d, dtype=dt)
    go = randn(g, n, t, d, dtype=dt)
    kwargs, torch_kw = {}, {}
    if self_mask == "causal":
        kwargs["self_mask"], torch_kw["tgt_mask"] = causal(t), ~causal(t)
    if memory_mask == "2d":
        m = mask_with_a_key_per_row(g, t, s)
        kwargs["memory_mask"], torch_kw["memory_mask"] = m, ~m
    elif memory_mask == "padding":
        lengths = torch.randint(2, s + 1, (n,), generator=g)
        lengths[0] = s - 2
        keep = torch.arange(s)[None, :] < lengths[:, None]  # (N, S)
        kwargs["memory_mask"], torch_kw["memory_key_padding_mask"] = keep[:, None, :], ~keep
    elif memory_mask == "per_sample":
        m = torch.stack([mask_with_a_key_per_row(g, t, s) for _ in range(n)])  # (N, T, S)
        kwargs["memory_mask"], torch_kw["memory_mask"] = m, ~m.repeat_interleave(h, dim=0)
    got = ctx.run("module_grad", target="blocks.TransformerDecoderBlock", init_args=[d, h, ff],
                  state=to_block_names(layer.state_dict()), dtype=dtype, device=str(ctx.device),
                  args=[y, mem], kwargs=kwargs, wrt=(0, 1), grad_output=go)
    ys, ms = y.clone().requires_grad_(True), mem.clone().requires_grad_(True)
    want = layer(ys, ms, **torch_kw)
    gy, gm = torch.autograd.grad(want, (ys, ms), go, retain_graph=True)
    want.backward(go)
    _compare(ctx, "TransformerDecoderBlock", got, want.detach(), [gy, gm], layer, what, dtype, names=("y", "memory"))


@check("blocks.TransformerDecoderBlock", points=3)
def decoder_matches_torch_causal_float64(ctx):
    """Matches nn.TransformerDecoderLayer with a causal self_mask, float64; gradients of y, memory
    and every parameter (the memory feeds the keys and values of the cross attention)."""
    _decoder(ctx, "float64", "float64, causal")


@check("blocks.TransformerDecoderBlock", points=2)
def decoder_matches_torch_float32_memory_mask(ctx):
    """Causal self_mask and a (T, S) memory_mask (torch's memory_mask = ~memory_mask), float32."""
    _decoder(ctx, "float32", "float32, causal + (T, S) memory mask", memory_mask="2d")


@check("blocks.TransformerDecoderBlock", points=2)
def decoder_memory_padding_mask(ctx):
    """An (N, 1, S) memory padding mask matches torch's memory_key_padding_mask, float64."""
    _decoder(ctx, "float64", "float64, causal + (N, 1, S) memory padding", memory_mask="padding")


@check("blocks.TransformerDecoderBlock", points=1)
def decoder_without_masks(ctx):
    """self_mask=None attends everywhere (torch with no tgt_mask), with an (N, T, S) memory mask."""
    _decoder(ctx, "float64", "float64, no self mask, (N, T, S) memory mask", self_mask=None,
             memory_mask="per_sample")
