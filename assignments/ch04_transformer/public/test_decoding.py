"""Public checks for decoding.py (notes 4.5, 4.8). The step function is a small table of
log-probabilities by prefix; the grader also uses random tables, exhaustive search, ties, and a
table where a beam of 2 cannot find the best output."""

import math

import torch

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_equal

BOS, EOS, A, B = 0, 1, 2, 3


def _row(pa, pb, peos):
    return torch.log(torch.tensor([1e-9, peos, pa, pb], dtype=torch.float64))


# P(A) = 0.5 then EOS; P(B) = 0.4 then B then EOS with certainty: greedy says [A, EOS] (0.5·0.5),
# the best output is [B, B, EOS] (0.4·0.9·0.9 ≈ 0.32).
TABLE = {"0": _row(0.5, 0.4, 0.1), "0,2": _row(0.25, 0.25, 0.5), "0,3": _row(0.05, 0.9, 0.05),
         "0,3,3": _row(0.05, 0.05, 0.9), "0,2,2": _row(0.3, 0.3, 0.4), "0,2,3": _row(0.3, 0.3, 0.4),
         "0,3,2": _row(0.3, 0.3, 0.4)}
UNIFORM = torch.full((4,), -math.log(4), dtype=torch.float64)


@check("decoding.greedy_decode", points=0.5)
def public_greedy(ctx):
    """greedy_decode follows the most likely token: [A, EOS] on the public table."""
    got = ctx.run("table_call", target="decoding.greedy_decode", table=TABLE, default=UNIFORM, args=[BOS, EOS, 5])
    assert_equal(got["out"], [A, EOS], what="greedy_decode(step_fn, bos_id=0, eos_id=1, max_len=5)")


@check("decoding.beam_search", points=0.5)
def public_beam(ctx):
    """beam_search with beam_size=2 finds [B, B, EOS], which greedy misses; beam_size=1 is greedy."""
    got = ctx.run("table_call", target="decoding.beam_search", table=TABLE, default=UNIFORM, args=[BOS, EOS, 2, 5])
    assert_equal(got["out"], [B, B, EOS], what="beam_search(step_fn, 0, 1, beam_size=2, max_len=5)")
    got = ctx.run("table_call", target="decoding.beam_search", table=TABLE, default=UNIFORM, args=[BOS, EOS, 1, 5])
    assert_equal(got["out"], [A, EOS], what="beam_search(step_fn, 0, 1, beam_size=1, max_len=5)")


@check("decoding.non_autoregressive_decode", points=0.5)
def public_non_autoregressive(ctx):
    """Length 2 (the argmax of length_logits), then the argmax of the first two rows."""
    length_logits = torch.tensor([0.1, 0.3, 2.0, 0.5])
    token_logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 1.0], [0.0, 0.0, 5.0]])
    got = ctx.call("decoding.non_autoregressive_decode", length_logits, token_logits)
    assert_equal(got, [1, 0], what="non_autoregressive_decode")
