"""Hidden checks for masking.py: BERT's masking rule, exactly where it is deterministic and
statistically where it is random, and the masked-language-model loss."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal
from leedl_grader.authoring.helpers import randint

from ._stats import bernstein_tolerance

F64, F32 = torch.float64, torch.float32
FALSE_FAILURE = 1e-6  # per statistical check, split evenly between its comparisons (a union bound)
# float64 cross-entropy of a few hundred O(1) logits: rounding ~1e-15; 1e-12 admits any order.
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 (eps 1.2e-7) through log-sum-exp and a mean over a few hundred terms.
TOL32 = dict(rtol=1e-5, atol=1e-5)


def _batch(g, n, length, vocab, mask_id, device):
    """Ids in [0, vocab) other than mask_id; a [CLS] at 0, a [SEP] at the end, padding at the end
    of some rows, all marked special."""
    ids = torch.randint(0, vocab - 1, (n, length), generator=g)
    ids = ids + (ids >= mask_id).long()  # skip mask_id: a masked position is then always visible
    special = torch.zeros(n, length, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    pad = torch.randint(0, length // 4, (n,), generator=g)
    special |= torch.arange(length)[None, :] >= (length - 1 - pad)[:, None]
    return ids.to(device), special.to(device)


def _mask(ctx, ids, special, mask_id, vocab, p, seeds, global_seeds=None):
    return ctx.run("seeded_call", target="masking.mask_tokens", seeds=seeds, args=[ids, mask_id, vocab, special],
                   kwargs={"mask_prob": p}, global_seeds=global_seeds)


def _pair(out, ids):
    expect(isinstance(out, (tuple, list)) and len(out) == 2, "mask_tokens should return (input_ids, labels)")
    new, labels = out
    for name, t in (("masked ids", new), ("labels", labels)):
        expect(isinstance(t, torch.Tensor), f"the {name} are {type(t).__name__}, not a tensor")
        assert_equal(tuple(t.shape), tuple(ids.shape), what=f"shape of the {name}")
        assert_equal(str(t.dtype), str(torch.int64), what=f"dtype of the {name}")
    return new.cpu(), labels.cpu()


@check("masking.mask_tokens", points=8)
def mask_labels_specials_and_unchosen(ctx):
    """Exact rules: labels hold the original id where chosen and −100 elsewhere; special and
    unchosen positions keep their ids; a changed id is mask_id or in [0, vocab); inputs unchanged."""
    g = ctx.generator()
    vocab = randint(g, 20, 40)
    mask_id = randint(g, 1, vocab - 1)
    ids, special = _batch(g, randint(g, 6, 10), randint(g, 20, 30), vocab, mask_id, ctx.device)
    res = ctx.run("call", target="masking.mask_tokens", args=[ids, mask_id, vocab, special],
                  kwargs={"mask_prob": 0.5}, return_args=True)
    new, labels = _pair(res["out"], ids)
    ids_c, special_c = ids.cpu(), special.cpu()
    chosen = labels != -100
    expect(bool(chosen.any()), "no position was chosen at mask_prob=0.5")
    expect(not bool((chosen & special_c).any()), "a special position was chosen: special tokens are never masked")
    assert_equal(labels[chosen], ids_c[chosen], what="labels at the chosen positions (the original ids)")
    expect(bool((labels[~chosen] == -100).all()), "labels must be -100 wherever the position was not chosen")
    assert_equal(new[~chosen], ids_c[~chosen], what="ids at positions that were not chosen (unchanged)")
    expect(bool(((new == mask_id) | ((new >= 0) & (new < vocab))).all()), f"an id outside [0, {vocab})")
    assert_equal(res["args"][0].cpu(), ids_c, what="input_ids after the call (must not change)")


@check("masking.mask_tokens", points=4)
def mask_choice_rate(ctx):
    """Statistical: each non-special position is chosen with probability mask_prob (Bernstein's
    bound over ~20 000 positions, false failure ≤ 1e-6); special positions never."""
    g = ctx.generator()
    p = 0.1 + 0.2 * float(torch.rand((), generator=g))
    ids, special = _batch(g, 100, 256, 50, 3, ctx.device)
    (out,) = _mask(ctx, ids, special, 3, 50, p, [randint(g, 0, 2**30)])
    _, labels = _pair(out, ids)
    normal = ~special.cpu()
    n = int(normal.sum())
    rate = float((labels[normal] != -100).double().mean())
    tol = bernstein_tolerance(n, p, FALSE_FAILURE)
    expect(abs(rate - p) <= tol, f"mask_prob={p:.3f}: {rate:.4f} of the non-special positions were chosen, expected "
                                 f"{p:.4f} ± {tol:.4f}")


@check("masking.mask_tokens", points=8)
def mask_80_10_10_split(ctx):
    """Statistical, among ~25 000 chosen positions: mask_id 80 % (+ random ids that hit it),
    unchanged 10 % (+ random hits), another id 10 %·(V−2)/V; false failure ≤ 1e-6 in all."""
    g = ctx.generator()
    vocab = randint(g, 6, 9)
    mask_id = randint(g, 0, vocab - 1)
    ids, special = _batch(g, 100, 300, vocab, mask_id, ctx.device)
    (out,) = _mask(ctx, ids, special, mask_id, vocab, 0.9, [randint(g, 0, 2**30)])
    new, labels = _pair(out, ids)
    chosen = labels != -100
    n = int(chosen.sum())
    expect(n > 1000, f"only {n} positions were chosen at mask_prob=0.9")
    got_new, orig = new[chosen], labels[chosen]
    rand = 0.1 / vocab  # a random id lands on any given id with this probability
    parts = (("replaced by mask_id", got_new == mask_id, 0.8 + rand),
             ("left unchanged", got_new == orig, 0.1 + rand),
             ("replaced by another id", (got_new != mask_id) & (got_new != orig), 0.1 * (vocab - 2) / vocab))
    for name, hit, want in parts:
        freq = float(hit.double().mean())
        tol = bernstein_tolerance(n, want, FALSE_FAILURE / 3)
        expect(abs(freq - want) <= tol, f"{freq:.4f} of the chosen positions were {name}, expected {want:.4f} ± "
                                        f"{tol:.4f} (80 % mask_id, 10 % a random id in [0, vocab_size), 10 % kept)")


@check("masking.mask_tokens", points=4)
def mask_random_ids_uniform(ctx):
    """Statistical: every id k in [0, vocab) replaces a chosen position with probability 0.1/V
    (when it is neither mask_id nor the original), the last id included; false failure ≤ 1e-6."""
    g = ctx.generator()
    vocab = randint(g, 5, 7)
    mask_id = randint(g, 0, vocab - 2)  # never the last id, whose share a bug might drop
    ids, special = _batch(g, 120, 300, vocab, mask_id, ctx.device)
    (out,) = _mask(ctx, ids, special, mask_id, vocab, 0.9, [randint(g, 0, 2**30)])
    new, labels = _pair(out, ids)
    chosen = labels != -100
    got_new, orig = new[chosen], labels[chosen]
    want = 0.1 / vocab
    others = [k for k in range(vocab) if k != mask_id]
    for k in others:
        pool = orig != k  # positions where landing on k is visibly a random replacement
        n = int(pool.sum())
        freq = float((got_new[pool] == k).double().mean())
        tol = bernstein_tolerance(n, want, FALSE_FAILURE / len(others))
        expect(abs(freq - want) <= tol, f"id {k} replaced {freq:.5f} of the chosen positions holding another id, "
                                        f"expected {want:.5f} ± {tol:.5f} (random ids are uniform over "
                                        f"[0, {vocab}))")


@check("masking.mask_tokens", points=4)
def mask_uses_generator(ctx):
    """The same generator seed gives the same result whatever the global RNG; another seed differs."""
    g = ctx.generator()
    ids, special = _batch(g, 4, 50, 30, 5, ctx.device)
    s = randint(g, 0, 2**30)
    a, b, c = _mask(ctx, ids, special, 5, 30, 0.3, [s, s, s + 1], global_seeds=[1, 2, 3])
    a, b, c = (_pair(x, ids) for x in (a, b, c))
    expect(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]),
           "two calls with generators seeded alike gave different results: draw every random number from `generator`")
    # ~190 positions at mask_prob 0.3: two seeds choose the same set with probability < 1e-40
    expect(not torch.equal(a[1], c[1]), "two different generator seeds chose the same positions")


# -------------------------------------------------------------------------------------- mlm_loss


def _mlm_case(g, device, dtype=F64, shape=(4, 12)):
    v = randint(g, 5, 9)
    logits = (3 * torch.randn(*shape, v, generator=g, dtype=F64)).to(dtype=dtype, device=device)
    labels = torch.randint(0, v, shape, generator=g)
    keep = torch.rand(shape, generator=g) < 0.3
    keep.view(-1, shape[-1])[0] = False
    keep.view(-1, shape[-1])[0, 0] = True  # one row with a single chosen position, others with several
    labels[~keep] = -100
    return logits, labels.to(device)


def _want(logits, labels):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


@check("masking.mlm_loss", points=8)
def mlm_loss_float64(ctx):
    """Matches F.cross_entropy(ignore_index=-100) on (N, L, V) logits, rows with different
    numbers of chosen positions (each position weighs the same)."""
    g = ctx.generator()
    logits, labels = _mlm_case(g, ctx.device)
    assert_close(ctx.call("masking.mlm_loss", logits, labels), _want(logits, labels), what="mlm_loss", **TOL64)


@check("masking.mlm_loss", points=4)
def mlm_loss_gradient(ctx):
    """The gradient with respect to the logits matches autograd's, and is zero at ignored positions."""
    g = ctx.generator()
    logits, labels = _mlm_case(g, ctx.device)
    got = ctx.run("grad", target="masking.mlm_loss", args=[logits, labels])
    ls = logits.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(_want(ls, labels), [ls])
    expect(got["grads"][0] is not None, "no gradient reaches the logits")
    assert_close(got["grads"][0], want, what="gradient of mlm_loss with respect to the logits", **TOL64)


@check("masking.mlm_loss", points=4)
def mlm_loss_float32_other_shapes(ctx):
    """float32 logits of shape (L, V) and (B, N, L, V): a float32 scalar, the same mean."""
    g = ctx.generator()
    for shape in ((randint(g, 8, 14),), (2, 3, randint(g, 5, 8))):
        logits, labels = _mlm_case(g, ctx.device, F32, shape)
        got = ctx.call("masking.mlm_loss", logits, labels)
        expect(isinstance(got, torch.Tensor) and got.numel() == 1, "mlm_loss should return a scalar tensor")
        assert_equal(str(got.dtype), str(F32), what="dtype of the loss")
        assert_close(got.reshape(()), _want(logits.double(), labels).float(), what=f"mlm_loss for logits of shape "
                     f"{tuple(logits.shape)}", **TOL32)
