"""Hidden checks for decoding.py (notes 4.5, 4.8): greedy, beam and non-autoregressive decoding.

The step function is a table of log-probabilities by prefix, sent as plain data; the
``table_call`` driver turns it into ``step_fn`` inside the student's process. The judge knows the
table and computes the answer itself: the greedy path, exhaustive search over every possible
output, or the contract's beam search (the reference, run here on the same table). Vocabularies
are small (5 tokens) so exhaustive search is exact; BOS and EOS ids are drawn per seed; the
crafted tables below hold for every seed (only their values move).
"""

import math

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_equal
from leedl_grader.drivers.modules import table_call

from ._util import F64, exhaustive, greedy, ids, key, randint, random_table, score

V = 5


def _decode(ctx, target, table, args, default=None):
    got = ctx.run("table_call", target=target, table=table, default=default, args=list(args))["out"]
    expect(isinstance(got, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in got),
           f"{target} must return a list of ints, got {type(got).__name__}"
           + (f" of {type(got[0]).__name__}" if isinstance(got, list) and got else ""))
    return got


def _uniform():
    return torch.full((V,), -math.log(V), dtype=F64)


def _row(probs):
    """A log-probability row from a dict {token: probability}; the rest share what is left."""
    p = torch.zeros(V, dtype=F64)
    for t, v in probs.items():
        p[t] = v
    rest = [t for t in range(V) if t not in probs]
    left = 1.0 - float(p.sum())
    for t in rest:
        p[t] = left / len(rest)
    return torch.log(p.clamp_min(1e-300))


def _reference_beam(ctx, table, bos, eos, beam, max_len):
    ref = ctx.reference.decoding.beam_search
    return table_call(ref, table=table, default=_uniform(), args=[bos, eos, beam, max_len])["out"]  # in the judge


def _tokens(g, bos, eos):
    """Three ordinary tokens a, b, c (neither BOS nor EOS) in a seed-drawn order."""
    others = [t for t in range(V) if t not in (bos, eos)]
    perm = torch.randperm(len(others), generator=g).tolist()
    return [others[i] for i in perm]


# ----------------------------------------------------------------------------- greedy_decode


@check("decoding.greedy_decode", points=2)
def greedy_follows_the_argmax_path(ctx):
    """Random tables: the output is the argmax path, EOS included when it comes, BOS excluded."""
    g = ctx.generator()
    for _ in range(4):
        bos, eos = ids(g, V)
        max_len = randint(g, 3, 5)
        table = random_table(g, V, bos, eos, max_len)
        got = _decode(ctx, "decoding.greedy_decode", table, (bos, eos, max_len), default=_uniform())
        assert_equal(got, greedy(table, bos, eos, max_len),
                     what=f"greedy_decode (bos={bos}, eos={eos}, max_len={max_len})")


@check("decoding.greedy_decode", points=2)
def greedy_stops_at_eos_and_at_max_len(ctx):
    """EOS as the 2nd token ends the output (EOS kept); without EOS exactly max_len tokens (1 included)."""
    g = ctx.generator()
    bos, eos = ids(g, V)
    a, b, c = _tokens(g, bos, eos)
    table = {key([bos]): _row({a: 0.5}), key([bos, a]): _row({eos: 0.6}), key([bos, a, eos]): _row({b: 0.9})}
    got = _decode(ctx, "decoding.greedy_decode", table, (bos, eos, 4), default=_uniform())
    assert_equal(got, [a, eos], what="greedy_decode when EOS is the most likely second token")
    for max_len in (1, randint(g, 2, 4)):
        table = {key([bos, *([a] * n)]): _row({a: 0.5, eos: 0.3}) for n in range(max_len + 1)}
        got = _decode(ctx, "decoding.greedy_decode", table, (bos, eos, max_len), default=_uniform())
        assert_equal(got, [a] * max_len, what=f"greedy_decode when EOS never wins (max_len={max_len})")


@check("decoding.greedy_decode", points=1)
def greedy_ties_go_to_the_smallest_id(ctx):
    """Two tokens tied for the maximum: the smaller id wins (torch.argmax's rule)."""
    g = ctx.generator()
    bos, eos = ids(g, V)
    a, b, _ = _tokens(g, bos, eos)
    lo, hi = min(a, b), max(a, b)
    table = {key([bos]): _row({hi: 0.4, lo: 0.4}), key([bos, lo]): _row({eos: 0.7}), key([bos, hi]): _row({eos: 0.7})}
    got = _decode(ctx, "decoding.greedy_decode", table, (bos, eos, 3), default=_uniform())
    assert_equal(got, [lo, eos], what="greedy_decode with a tie between two tokens")


# ------------------------------------------------------------------------------- beam_search


@check("decoding.beam_search", points=2)
def beam_wide_equals_exhaustive(ctx):
    """A beam as wide as the number of outputs finds the exhaustive-search optimum (random tables)."""
    g = ctx.generator()
    for _ in range(3):
        bos, eos = ids(g, V)
        max_len = randint(g, 3, 4)
        table = random_table(g, V, bos, eos, max_len, temperature=1.5)
        best, s1, s2 = exhaustive(table, V, bos, eos, max_len)
        expect(s1 - s2 > 1e-9, "the grader drew a table with a tie for the optimum")  # measure zero
        got = _decode(ctx, "decoding.beam_search", table, (bos, eos, V ** max_len, max_len), default=_uniform())
        assert_equal(got, best, what=f"beam_search with a beam of {V ** max_len} (exhaustive), max_len={max_len}")


def _trap(g):
    """A table where beam_size=2 provably misses the optimum: after BOS, a (0.40) and b (0.35) are
    kept over c (0.25), but both continue with spread-out mass (≤ 0.3 per token, so every
    sequence through them scores < 0.4·0.3 = 0.12) while c → EOS has probability 1 − tiny:
    exhaustive search finds [c, EOS] (≈ 0.25), beam 2 finds [a, x, EOS], greedy [a, ...]."""
    bos, eos = ids(g, V)
    a, b, c = _tokens(g, bos, eos)
    table = {key([bos]): _row({a: 0.40, b: 0.35, c: 0.25 - 1e-9, eos: 1e-9 / 2})}
    table[key([bos, c])] = _row({eos: 1 - 1e-6})
    for first in (a, b):
        # second step: EOS 0.05, then a third step that ends with EOS at 0.3 — so beam 2's finished
        # hypotheses are of length 3 and differ from greedy's
        table[key([bos, first])] = _row({a: 0.3, b: 0.25, c: 0.2, eos: 0.05})
        for second in (a, b, c, bos):
            table[key([bos, first, second])] = _row({eos: 0.3 if second != b else 0.45})
    return bos, eos, table


@check("decoding.beam_search", points=2)
def beam_two_is_not_exhaustive(ctx):
    """A table where beam_size=2 provably differs from exhaustive search: the answer is the beam's.
    (An exhaustive search passed off as beam search fails here.)"""
    g = ctx.generator()
    bos, eos, table = _trap(g)
    max_len = 4
    best = exhaustive(table, V, bos, eos, max_len, _uniform())[0]
    want = _reference_beam(ctx, table, bos, eos, 2, max_len)
    assert want != best  # the table's purpose, checked in the judge at every seed
    got = _decode(ctx, "decoding.beam_search", table, (bos, eos, 2, max_len), default=_uniform())
    assert_equal(got, want, what="beam_search with beam_size=2 on a table where it cannot find the optimum")
    got = _decode(ctx, "decoding.beam_search", table, (bos, eos, 3, max_len), default=_uniform())
    assert_equal(got, best, what="beam_search with beam_size=3 on the same table (c is kept and wins)")


@check("decoding.beam_search", points=2)
def beam_one_is_greedy(ctx):
    """beam_size=1 gives the greedy path on random tables."""
    g = ctx.generator()
    for _ in range(3):
        bos, eos = ids(g, V)
        max_len = randint(g, 3, 5)
        table = random_table(g, V, bos, eos, max_len)
        got = _decode(ctx, "decoding.beam_search", table, (bos, eos, 1, max_len), default=_uniform())
        assert_equal(got, greedy(table, bos, eos, max_len), what=f"beam_search with beam_size=1 (max_len={max_len})")


@check("decoding.beam_search", points=2)
def beam_random_tables_medium_beams(ctx):
    """beam_size 2 and 3 on random tables give the contract's beam search (finished hypotheses leave the beam)."""
    g = ctx.generator()
    for beam in (2, 3, 2):
        bos, eos = ids(g, V)
        max_len = randint(g, 3, 5)
        table = random_table(g, V, bos, eos, max_len, temperature=1.0)
        want = _reference_beam(ctx, table, bos, eos, beam, max_len)
        got = _decode(ctx, "decoding.beam_search", table, (bos, eos, beam, max_len), default=_uniform())
        assert_equal(got, want, what=f"beam_search with beam_size={beam}, max_len={max_len}")


def _late_winner(g):
    """EOS handling: [a, EOS] finishes first (0.3·0.5 = 0.15) while [b, b] is still live at 0.3·0.9
    and later finishes as [b, b, EOS] at 0.27·0.95 ≈ 0.26 > 0.15. Stopping at the first finished
    hypothesis, or returning a live prefix ([b, b] scores more than any finished one), is wrong."""
    bos, eos = ids(g, V)
    a, b, c = _tokens(g, bos, eos)
    table = {key([bos]): _row({a: 0.32, b: 0.3, c: 0.28}), key([bos, a]): _row({eos: 0.5, a: 0.3}),
             key([bos, b]): _row({b: 0.9}), key([bos, c]): _row({eos: 0.2, c: 0.5}),
             key([bos, b, b]): _row({eos: 0.95}), key([bos, a, a]): _row({eos: 0.1}),
             key([bos, c, c]): _row({eos: 0.1})}
    return bos, eos, (a, b, c), table


@check("decoding.beam_search", points=2)
def beam_eos_and_late_finishers(ctx):
    """A hypothesis that finishes later with a higher score beats one that finished first; the answer
    is a finished hypothesis (ending with EOS, or max_len tokens), never a live prefix."""
    g = ctx.generator()
    bos, eos, (a, b, c), table = _late_winner(g)
    for beam, max_len in ((2, 4), (3, 5)):
        want = _reference_beam(ctx, table, bos, eos, beam, max_len)
        assert want == [b, b, eos]
        got = _decode(ctx, "decoding.beam_search", table, (bos, eos, beam, max_len), default=_uniform())
        assert_equal(got, want, what=f"beam_search with beam_size={beam}, max_len={max_len}")
    # max_len = 2: [b, b] is cut by max_len and is finished; it beats [a, EOS]
    got = _decode(ctx, "decoding.beam_search", table, (bos, eos, 2, 2), default=_uniform())
    assert_equal(got, [b, b], what="beam_search with max_len=2 (a hypothesis of max_len tokens is finished)")


@check("decoding.beam_search", points=1)
def beam_with_tied_hypotheses(ctx):
    """Two first tokens tied exactly, both kept by a beam of 2; the answer (unique) follows one of them."""
    g = ctx.generator()
    bos, eos = ids(g, V)
    a, b, c = _tokens(g, bos, eos)
    table = {key([bos]): _row({a: 0.35, b: 0.35, c: 0.2}), key([bos, a]): _row({eos: 0.6}),
             key([bos, b]): _row({eos: 0.7}), key([bos, c]): _row({eos: 0.99})}
    got = _decode(ctx, "decoding.beam_search", table, (bos, eos, 2, 3), default=_uniform())
    want = [b, eos]
    assert score(table, bos, want, _uniform()) > score(table, bos, [a, eos], _uniform())
    assert_equal(got, want, what="beam_search with two tied first tokens")


# ------------------------------------------------------------------------ non_autoregressive


def _nar(ctx, length_logits, token_logits, what):
    got = ctx.call("decoding.non_autoregressive_decode", length_logits, token_logits)
    expect(isinstance(got, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in got),
           f"non_autoregressive_decode must return a list of ints, got {type(got).__name__}")
    L = int(torch.argmax(length_logits))
    assert_equal(got, torch.argmax(token_logits[:L], dim=-1).tolist(), what=what)


@check("decoding.non_autoregressive_decode", points=2)
def nar_length_then_tokens(ctx):
    """The argmax of length_logits is the length (index = length); then the argmax of each row."""
    g = ctx.generator()
    for _ in range(4):
        t, vocab = randint(g, 6, 10), randint(g, 5, 9)
        length = randint(g, 1, t - 1)
        ll = torch.randn(t + 1, generator=g, dtype=F64)
        ll[length] = ll.max() + 0.5
        _nar(ctx, ll, torch.randn(t, vocab, generator=g, dtype=F64), f"length {length} of {t} rows")


@check("decoding.non_autoregressive_decode", points=2)
def nar_length_zero_and_full(ctx):
    """Length 0 gives []; length T gives every row; float32 logits."""
    g = ctx.generator()
    t, vocab = randint(g, 4, 8), randint(g, 4, 7)
    ll = torch.randn(t + 1, generator=g)
    ll[0] = ll.max() + 1.0
    _nar(ctx, ll, torch.randn(t, vocab, generator=g), "length 0 (an empty output)")
    ll[t] = ll.max() + 1.0
    _nar(ctx, ll, torch.randn(t, vocab, generator=g), f"length {t} (every row)")


@check("decoding.non_autoregressive_decode", points=1)
def nar_ties_go_to_the_smallest_index(ctx):
    """Tied lengths and tied token scores: the smallest index wins (torch.argmax)."""
    g = ctx.generator()
    t, vocab = randint(g, 5, 8), randint(g, 4, 7)
    length = randint(g, 2, t - 2)
    ll = torch.randn(t + 1, generator=g, dtype=F64).clamp(max=1.0)
    ll[length] = ll[length + 1] = 2.0
    tok = torch.randn(t, vocab, generator=g, dtype=F64).clamp(max=1.0)
    tok[:, 1] = tok[:, 3] = 2.0
    _nar(ctx, ll, tok, "ties in the length and in every row")
