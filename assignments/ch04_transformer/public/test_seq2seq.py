"""Public checks for seq2seq.py (notes 4.7, 4.8). The grader also checks padding ids, large logits,
gradients, the statistics and reproducibility of scheduled sampling, repeated source tokens,
rectangular attention maps, causality of the model, and trains train_reverse (its accuracy is
measured by the grader only: see the function's docstring)."""

import math

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

# float64 log-softmax and sums of a few terms: a few ulps
TOL64 = dict(rtol=1e-10, atol=1e-10)


@check("seq2seq.shift_right", points=0.5)
def public_shift_right(ctx):
    """shift_right([[1, 2, 3], [4, 5, 6]], 10) is [[10, 1, 2], [10, 4, 5]]."""
    got = ctx.call("seq2seq.shift_right", torch.tensor([[1, 2, 3], [4, 5, 6]]), 10)
    assert_equal(got, torch.tensor([[10, 1, 2], [10, 4, 5]]), what="shift_right")


@check("seq2seq.teacher_forcing_loss", points=0.5)
def public_teacher_forcing_loss(ctx):
    """Matches F.cross_entropy(ignore_index=12) on (2, 4, 13) logits with padding."""
    logits = torch.randn(2, 4, 13, generator=ctx.generator(), dtype=torch.float64)
    targets = torch.tensor([[3, 1, 11, 12], [5, 11, 12, 12]])
    want = F.cross_entropy(logits.reshape(-1, 13), targets.reshape(-1), ignore_index=12)
    assert_close(ctx.call("seq2seq.teacher_forcing_loss", logits, targets, 12), want, what="loss", **TOL64)


@check("seq2seq.scheduled_sampling", points=0.5)
def public_scheduled_sampling(ctx):
    """teacher_forcing_prob=1 keeps the gold inputs; 0 takes the predictions except at position 0."""
    gold = torch.tensor([[10, 1, 2, 3], [10, 4, 5, 6]])
    pred = torch.tensor([[9, 7, 7, 7], [9, 8, 8, 8]])
    one, zero = ctx.run("seeded_call", target="seq2seq.scheduled_sampling", seeds=[0, 0], args=[gold, pred, 1.0]), \
        ctx.run("seeded_call", target="seq2seq.scheduled_sampling", seeds=[0], args=[gold, pred, 0.0])
    assert_equal(one[0], gold, what="scheduled_sampling(..., teacher_forcing_prob=1)")
    assert_equal(zero[0], torch.tensor([[10, 7, 7, 7], [10, 8, 8, 8]]), what="scheduled_sampling(..., 0)")


@check("seq2seq.copy_distribution", points=0.5)
def public_copy_distribution(ctx):
    """One row: p_gen = 0.25 over a vocabulary of 3, two source tokens (one out of vocabulary)."""
    p_vocab = torch.tensor([[0.5, 0.25, 0.25]], dtype=torch.float64)
    attention = torch.tensor([[0.75, 0.25]], dtype=torch.float64)
    src = torch.tensor([[1, 4]])
    p_gen = torch.tensor([[0.25]], dtype=torch.float64)
    want = torch.tensor([[0.125, 0.0625 + 0.5625, 0.0625, 0.0, 0.1875]], dtype=torch.float64)
    got = ctx.call("seq2seq.copy_distribution", p_vocab, attention, src, p_gen, 5)
    assert_close(got, want, what="copy_distribution", **TOL64)


@check("seq2seq.guided_attention_loss", points=0.5)
def public_guided_attention(ctx):
    """A uniform 2×2 attention map with g = 0.5: the mean of W / 2."""
    w01 = 1 - math.exp(-(0.5**2) / (2 * 0.25))
    want = torch.tensor(2 * w01 * 0.5 / 4, dtype=torch.float64)
    got = ctx.call("seq2seq.guided_attention_loss", torch.full((2, 2), 0.5, dtype=torch.float64), g=0.5)
    assert_close(got, want, what="guided_attention_loss", **TOL64)


@check("seq2seq.Seq2SeqTransformer", points=0.5)
def public_seq2seq_shapes(ctx):
    """Seq2SeqTransformer() maps src (3, 8) and tgt_in (3, 5) to (3, 5, 13) logits."""
    src = torch.tensor([[1, 2, 3, 12, 12, 12, 12, 12], [4, 5, 6, 7, 8, 9, 0, 1], [2, 2, 2, 2, 12, 12, 12, 12]])
    tgt = torch.tensor([[10, 3, 2, 1, 11], [10, 1, 0, 9, 8], [10, 2, 2, 2, 2]])
    got = ctx.run("module_forward", target="seq2seq.Seq2SeqTransformer", inputs=[[src, tgt]])
    out = got["outputs"][0]
    expect(isinstance(out, torch.Tensor), f"the model returned {type(out).__name__}, expected a tensor")
    assert_equal(tuple(out.shape), (3, 5, 13), what="logits shape")
