"""Hidden checks for seq2seq.py (notes 4.7, 4.8): teacher forcing, scheduled sampling, the copy
mechanism, guided attention and the model's interface. ``train_reverse`` is in test_training.py.

Expected values are computed here from torch (``F.cross_entropy``) or from each formula written
out in the judge; inputs come from ``ctx.generator``.
"""

import math

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

from ._util import F32, F64, TOL32, TOL64, randint, randn

# ------------------------------------------------------------------------------- shift_right


def _targets(g, n=None, t=None, vocab=13):
    n = n or randint(g, 3, 5)
    t = t or randint(g, 4, 8)
    return torch.randint(0, vocab, (n, t), generator=g)


def _shift(targets, bos):
    return torch.cat([torch.full((targets.shape[0], 1), bos, dtype=targets.dtype), targets[:, :-1]], dim=1)


@check("seq2seq.shift_right", points=2)
def shift_right_batch(ctx):
    """A batch of several sequences: every row starts with BOS and is its target moved right by one."""
    g = ctx.generator()
    tg = _targets(g)
    bos = randint(g, 10, 20)
    r = ctx.run("call", target="seq2seq.shift_right", args=[tg, bos], return_args=True)
    assert_equal(r["out"], _shift(tg, bos), what=f"shift_right of a ({tg.shape[0]}, {tg.shape[1]}) batch")
    expect(torch.equal(r["args"][0], tg), "shift_right modified its input in place")


@check("seq2seq.shift_right", points=1)
def shift_right_length_one_and_views(ctx):
    """T = 1 gives a column of BOS; a non-contiguous (transposed) batch works too."""
    g = ctx.generator()
    tg = _targets(g, t=1)
    assert_equal(ctx.call("seq2seq.shift_right", tg, 7), _shift(tg, 7), what="shift_right with T = 1")
    tg = _targets(g, n=6, t=5)
    got = ctx.run("strided_call", target="seq2seq.shift_right", args=[tg, 3], noncontiguous=(0,))
    assert_equal(got["out"], _shift(tg, 3), what="shift_right of a non-contiguous batch")


# ------------------------------------------------------------------------ teacher_forcing_loss


def _tf_inputs(g, dtype, scale=3.0, pad_share=0.3):
    n, t, v = randint(g, 3, 5), randint(g, 4, 7), randint(g, 6, 11)
    pad = randint(g, 0, v - 1)  # any id can be the padding, not only the last
    logits = randn(g, n, t, v, dtype=dtype, scale=scale)
    targets = torch.randint(0, v, (n, t), generator=g)
    targets[torch.rand(n, t, generator=g) < pad_share] = pad
    targets[0, 0] = (pad + 1) % v  # at least one real target
    targets[1, -1] = pad  # at least one pad
    return logits, targets, pad


def _tf_check(ctx, logits, targets, pad, tol, what):
    got = ctx.run("grad", target="seq2seq.teacher_forcing_loss", args=[logits, targets, pad], wrt=(0,))
    lg = logits.clone().requires_grad_(True)
    want = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), targets.reshape(-1), ignore_index=pad)
    (gw,) = torch.autograd.grad(want, lg)
    assert_close(got["out"], want.detach(), what=f"teacher_forcing_loss ({what})", **tol)
    assert_close(got["grads"][0], gw, what=f"gradient with respect to the logits ({what})", **tol)


@check("seq2seq.teacher_forcing_loss", points=2)
def teacher_forcing_loss_with_padding_float64(ctx):
    """Matches F.cross_entropy(ignore_index=pad) with ~30 % padding, float64, with the gradient."""
    logits, targets, pad = _tf_inputs(ctx.generator(), F64)
    _tf_check(ctx, logits, targets, pad, TOL64, "float64, padded")


@check("seq2seq.teacher_forcing_loss", points=2)
def teacher_forcing_loss_large_logits_float32(ctx):
    """float32 logits of size ~100: the log-softmax must be computed stably."""
    logits, targets, pad = _tf_inputs(ctx.generator(), F32, scale=60.0)
    _tf_check(ctx, logits, targets, pad, TOL32, "float32, logits ~ 100")


# ------------------------------------------------------------------------- scheduled_sampling

Z = 5.0  # a binomial count beyond 5 standard deviations: a false failure below 6e-7 per test


def _ss(ctx, seeds, gold, pred, p, global_seeds=None):
    return ctx.run("seeded_call", target="seq2seq.scheduled_sampling", seeds=seeds, args=[gold, pred, p],
                   global_seeds=global_seeds)


def _pair(g, n, t):
    gold = torch.randint(0, 10, (n, t), generator=g)
    return gold, (gold + 1 + torch.randint(0, 8, (n, t), generator=g)) % 10  # differs everywhere


@check("seq2seq.scheduled_sampling", points=2)
def scheduled_sampling_keeps_gold_with_probability_p(ctx):
    """Each position keeps the gold token with probability p (binomial test, p = 0.25 and 0.8);
    column 0 is always gold; every other token is gold or predicted."""
    g = ctx.generator()
    n, t = 200, 40
    gold, pred = _pair(g, n, t)
    for p in (0.25, 0.8):
        (out,) = _ss(ctx, [randint(g, 0, 2**31)], gold, pred, p)
        expect(isinstance(out, torch.Tensor) and out.shape == gold.shape,
               f"scheduled_sampling returned {tuple(getattr(out, 'shape', ()))}, expected {tuple(gold.shape)}")
        expect(bool(((out == gold) | (out == pred)).all()), "some tokens are neither gold nor predicted")
        expect(bool((out[:, 0] == gold[:, 0]).all()), f"position 0 (BOS) was replaced (p={p})")
        k = int((out[:, 1:] == gold[:, 1:]).sum())
        m = n * (t - 1)
        sd = math.sqrt(m * p * (1 - p))
        expect(abs(k - m * p) <= Z * sd, f"kept {k / m:.3f} of the gold tokens with teacher_forcing_prob={p}; "
                                         f"expected about {p}")


@check("seq2seq.scheduled_sampling", points=2)
def scheduled_sampling_positions_independent(ctx):
    """Decisions are per position: neither whole sequences nor whole columns are kept together."""
    g = ctx.generator()
    n, t, p = 120, 30, 0.5
    gold, pred = _pair(g, n, t)
    (out,) = _ss(ctx, [randint(g, 0, 2**31)], gold, pred, p)
    kept = (out == gold)[:, 1:].double()  # (N, T-1)
    # Under independence a row (or column) of ≥ 29 fair coins is all-equal with probability ≤ 2^-28.
    rows = int(((kept.sum(1) == 0) | (kept.sum(1) == kept.shape[1])).sum())
    cols = int(((kept.sum(0) == 0) | (kept.sum(0) == kept.shape[0])).sum())
    expect(rows == 0, f"{rows} of {n} sequences were kept or replaced as a whole: decide for each position")
    expect(cols == 0, f"{cols} positions were kept or replaced in every sequence: decide for each position")


@check("seq2seq.scheduled_sampling", points=2)
def scheduled_sampling_uses_only_the_generator(ctx):
    """The same generator seed gives the same mix whatever the global RNG; another seed another mix;
    p = 1 keeps everything, p = 0 keeps only BOS; the inputs are unchanged."""
    g = ctx.generator()
    gold, pred = _pair(g, 20, 12)
    s = randint(g, 0, 2**31)
    a, b, c = _ss(ctx, [s, s, s + 1], gold, pred, 0.5, global_seeds=[1, 2, 1])
    expect(torch.equal(a, b), "two calls with generators seeded alike gave different results: draw every random "
                              "number from `generator` (e.g. torch.rand(..., generator=generator))")
    expect(not torch.equal(a, c), "two different generator seeds gave the same result")
    (one,) = _ss(ctx, [s], gold, pred, 1.0)
    (zero,) = _ss(ctx, [s + 2], gold, pred, 0.0)
    assert_equal(one, gold, what="scheduled_sampling with teacher_forcing_prob=1")
    want = pred.clone()
    want[:, 0] = gold[:, 0]
    assert_equal(zero, want, what="scheduled_sampling with teacher_forcing_prob=0")
    r = ctx.run("call", target="seq2seq.scheduled_sampling", args=[gold, pred, 0.5], return_args=True)
    expect(torch.equal(r["args"][0], gold) and torch.equal(r["args"][1], pred),
           "scheduled_sampling modified its inputs in place")


# --------------------------------------------------------------------------- copy_distribution


def _copy_inputs(g, dtype):
    n, v, s = randint(g, 3, 5), randint(g, 6, 9), randint(g, 5, 8)
    v_ext = v + randint(g, 2, 4)
    p_vocab = torch.softmax(torch.randn(n, v, generator=g, dtype=F64), -1).to(dtype)
    attn = torch.softmax(torch.randn(n, s, generator=g, dtype=F64), -1).to(dtype)
    src = torch.randint(0, v_ext, (n, s), generator=g)
    src[:, 1] = src[:, 0]  # every row repeats a token: its mass must add up
    src[0, 2] = v_ext - 1  # an out-of-vocabulary token (≥ V) is copied too
    p_gen = (0.15 + 0.7 * torch.rand(n, 1, generator=g, dtype=F64)).to(dtype)  # never 0.5 exactly
    return p_vocab, attn, src, p_gen, v_ext


def _copy_want(p_vocab, attn, src, p_gen, v_ext):
    n, v = p_vocab.shape
    out = torch.zeros(n, v_ext, dtype=p_vocab.dtype)
    out[:, :v] = p_gen * p_vocab
    for i in range(n):
        for j in range(src.shape[1]):
            out[i, src[i, j]] = out[i, src[i, j]] + (1 - p_gen[i, 0]) * attn[i, j]
    return out


@check("seq2seq.copy_distribution", points=3)
def copy_distribution_with_repeats_float64(ctx):
    """Matches the pointer-generator mixture with repeated and out-of-vocabulary source tokens, float64,
    with gradients of p_vocab, attention and p_gen; rows sum to 1."""
    g = ctx.generator()
    pv, at, src, pg, v_ext = _copy_inputs(g, F64)
    go = randn(g, pv.shape[0], v_ext)
    got = ctx.run("grad", target="seq2seq.copy_distribution", args=[pv, at, src, pg, v_ext], wrt=(0, 1, 3),
                  grad_output=go)
    xs = [t.clone().requires_grad_(True) for t in (pv, at, pg)]
    want = _copy_want(xs[0], xs[1], src, xs[2], v_ext)
    grads = torch.autograd.grad(want, xs, go)
    assert_close(got["out"], want.detach(), what="copy_distribution", **TOL64)
    assert_close(got["out"].sum(-1), torch.ones(pv.shape[0], dtype=F64), what="row sums", **TOL64)
    for name, a, b in zip(("p_vocab", "attention", "p_gen"), got["grads"], grads):
        assert_close(a, b, what=f"gradient with respect to {name}", **TOL64)


@check("seq2seq.copy_distribution", points=2)
def copy_distribution_float32(ctx):
    """float32 inputs give float32 output of shape (N, V_ext) with the same values."""
    g = ctx.generator()
    pv, at, src, pg, v_ext = _copy_inputs(g, F32)
    got = ctx.call("seq2seq.copy_distribution", pv, at, src, pg, v_ext)
    expect(isinstance(got, torch.Tensor) and got.dtype == F32,
           f"expected a float32 tensor, got {getattr(got, 'dtype', type(got).__name__)}")
    assert_close(got, _copy_want(pv, at, src, pg, v_ext), what="copy_distribution (float32)", **TOL32)


# ----------------------------------------------------------------------- guided_attention_loss


def _guided_want(att, g):
    t_out, t_in = att.shape[-2:]
    w = torch.empty(t_out, t_in, dtype=att.dtype)
    for i in range(t_out):
        for j in range(t_in):
            w[i, j] = 1 - math.exp(-((i / t_out - j / t_in) ** 2) / (2 * g * g))
    return (att * w).mean()


@check("seq2seq.guided_attention_loss", points=2)
def guided_attention_rectangular_batched(ctx):
    """(N, heads, T_out, T_in) with T_out ≠ T_in and g drawn per seed, float64, with the gradient."""
    g = ctx.generator()
    t_out = randint(g, 4, 7)
    t_in = t_out + randint(g, 3, 6)
    att = torch.softmax(torch.randn(2, 3, t_out, t_in, generator=g, dtype=F64), -1)
    gw = 0.1 + 0.3 * float(torch.rand((), generator=g))
    got = ctx.run("grad", target="seq2seq.guided_attention_loss", args=[att], kwargs={"g": gw}, wrt=(0,))
    a = att.clone().requires_grad_(True)
    want = _guided_want(a, gw)
    (grad,) = torch.autograd.grad(want, a)
    assert_close(got["out"], want.detach(), what=f"guided_attention_loss, T_out={t_out}, T_in={t_in}, g={gw:.3f}",
                 **TOL64)
    assert_close(got["grads"][0], grad, what="gradient with respect to the attention", **TOL64)


@check("seq2seq.guided_attention_loss", points=2)
def guided_attention_default_g_float32(ctx):
    """A (T_out, T_in) float32 map with T_out > T_in and the default g = 0.2."""
    g = ctx.generator()
    t_in = randint(g, 3, 5)
    t_out = t_in + randint(g, 2, 5)
    att = torch.softmax(torch.randn(t_out, t_in, generator=g), -1)
    got = ctx.call("seq2seq.guided_attention_loss", att)
    assert_close(got, _guided_want(att.double(), 0.2).float(), what="guided_attention_loss (float32, g=0.2)",
                 **TOL32)


# -------------------------------------------------------------------------- Seq2SeqTransformer

VOCAB, BOS, EOS, PAD = 13, 10, 11, 12


def _src(g, n):
    lengths = torch.randint(3, 9, (n,), generator=g)
    lengths[0] = 8
    src = torch.randint(0, 10, (n, 8), generator=g)
    return torch.where(torch.arange(8)[None, :] < lengths[:, None], src, PAD)


@check("seq2seq.Seq2SeqTransformer", points=2)
def seq2seq_builds_and_maps_shapes(ctx):
    """Seq2SeqTransformer() maps src (N, S) and tgt_in (N, T) to (N, T, 13) finite float32 logits (N = 1 too)."""
    g = ctx.generator()
    inputs = []
    n = randint(g, 3, 5)
    for n, t in ((1, 1), (n, n + randint(g, 1, 4))):  # N ≠ T: a (T, N, 13) answer cannot pass
        tgt = torch.randint(0, 10, (n, t), generator=g)
        tgt[:, 0] = BOS
        inputs.append([_src(g, n).to(ctx.device), tgt.to(ctx.device)])
    got = ctx.run("module_forward", target="seq2seq.Seq2SeqTransformer", device=str(ctx.device), inputs=inputs,
                  seed=randint(g, 0, 1000))
    for (src, tgt), out in zip(inputs, got["outputs"]):
        want = (tgt.shape[0], tgt.shape[1], VOCAB)
        expect(isinstance(out, torch.Tensor) and tuple(out.shape) == want,
               f"Seq2SeqTransformer returned {tuple(getattr(out, 'shape', ()))} for src {tuple(src.shape)} and "
               f"tgt_in {tuple(tgt.shape)}, expected {want}")
        expect(out.dtype == F32, f"Seq2SeqTransformer returned {out.dtype} logits, expected float32")
        expect(bool(torch.isfinite(out).all()), "Seq2SeqTransformer gives non-finite logits")


@check("seq2seq.Seq2SeqTransformer", points=2)
def seq2seq_is_causal(ctx):
    """Position t's logits depend only on tgt_in[:, :t + 1]: changing later tokens changes nothing before."""
    g = ctx.generator()
    n, t = randint(g, 3, 5), 9
    src = _src(g, n)
    a = torch.randint(0, 10, (n, t), generator=g)
    a[:, 0] = BOS
    cut = randint(g, 2, 5)
    b = a.clone()
    b[:, cut:] = (a[:, cut:] + 1 + torch.randint(0, 8, (n, t - cut), generator=g)) % 10
    got = ctx.run("module_forward", target="seq2seq.Seq2SeqTransformer", device=str(ctx.device),
                  inputs=[[src, a], [src, b], [src, a[:, :cut]]], seed=randint(g, 0, 1000))
    out_a, out_b, out_short = got["outputs"]
    assert_close(out_b[:, :cut], out_a[:, :cut], what=f"logits before position {cut} when only later tokens "
                                                      f"change (the decoder must be causal)", rtol=1e-4, atol=1e-4)
    assert_close(out_short, out_a[:, :cut], what=f"logits of a prefix of {cut} tokens against the same positions "
                                                 f"of the full input", rtol=1e-4, atol=1e-4)
    expect(not torch.allclose(out_b[:, cut:], out_a[:, cut:]), "the logits ignore the decoder's input tokens")
