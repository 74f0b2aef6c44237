"""Hidden checks for batching.py (notes 1.2 batch and epoch)."""

import itertools

import torch
from torch.utils.data import BatchSampler, SequentialSampler

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal
from leedl_grader.authoring.helpers import F32, F64, randint, reference_module


def _sizes(g, divisible):
    """(n, batch_size) with batch_size ≥ 2 that divides n, or that leaves a tail of ≥ 1."""
    b = randint(g, 2, 7)
    n = b * randint(g, 2, 6) + (0 if divisible else randint(g, 1, b - 1))
    return n, b


def _sequential(n, b, drop_last):
    """What torch's DataLoader batches would be, without shuffling."""
    return [torch.tensor(x, dtype=torch.int64) for x in BatchSampler(SequentialSampler(range(n)), b, drop_last)]


def _expect_batches(got, n, b, drop_last, why):
    """A valid epoch: int64 1-D tensors, sizes right, each index at most once, all kept ones present."""
    expect(isinstance(got, list), f"{why}: expected a list of tensors, got {type(got).__name__}")
    full, tail = divmod(n, b)
    sizes = [b] * full + ([] if drop_last or tail == 0 else [tail])
    expect(all(isinstance(t, torch.Tensor) for t in got), f"{why}: every batch must be a tensor")
    expect([tuple(t.shape) for t in got] == [(s,) for s in sizes],
           f"{why}: batch shapes {[tuple(t.shape) for t in got]}, expected {[(s,) for s in sizes]}")
    expect(all(t.dtype == torch.int64 for t in got), f"{why}: batches must be int64 tensors")
    flat = torch.cat(got).cpu() if got else torch.zeros(0, dtype=torch.int64)
    expect(len(set(flat.tolist())) == flat.numel(), f"{why}: an index appears twice")
    expect(bool(((flat >= 0) & (flat < n)).all()), f"{why}: an index outside 0..{n - 1}")
    return flat


def _seeded(ctx, n, b, seeds, global_seeds=None, **kw):
    return ctx.run("seeded_call", target="batching.minibatch_indices", seeds=seeds, args=(n, b),
                   kwargs=kw, global_seeds=global_seeds)


# --- minibatch_indices ------------------------------------------------------------------------


@check("batching.minibatch_indices", points=1)
def indices_unshuffled_order(ctx):
    """without shuffling the batches are 0..n−1 in order, as a DataLoader makes them (int64)."""
    g = ctx.generator("order")
    for divisible in (False, True):
        n, b = _sizes(g, divisible)
        got = ctx.call("batching.minibatch_indices", n, b, shuffle=False)
        _expect_batches(got, n, b, False, f"n={n}, batch_size={b}, shuffle=False")
        assert_equal(got, _sequential(n, b, False), what=f"batches for n={n}, batch_size={b}, shuffle=False")


@check("batching.minibatch_indices", points=1)
def indices_drop_last(ctx):
    """drop_last drops only an incomplete last batch (nothing when batch_size divides n)."""
    g = ctx.generator("drop")
    for divisible in (True, False):
        n, b = _sizes(g, divisible)
        got = ctx.call("batching.minibatch_indices", n, b, shuffle=False, drop_last=True)
        _expect_batches(got, n, b, True, f"n={n}, batch_size={b}, drop_last=True")
        assert_equal(got, _sequential(n, b, True), what=f"batches for n={n}, batch_size={b}, drop_last=True")


@check("batching.minibatch_indices", points=1)
def indices_shuffled_partition(ctx):
    """shuffled batches hold every index exactly once, in batches of the right sizes."""
    g = ctx.generator("partition")
    n, b = _sizes(g, False)
    (got,) = _seeded(ctx, n, b, [randint(g, 0, 2**31)])
    flat = _expect_batches(got, n, b, False, f"n={n}, batch_size={b}, shuffle=True")
    expect(sorted(flat.tolist()) == list(range(n)), f"n={n}, batch_size={b}: some index is missing")


@check("batching.minibatch_indices", points=1.5)
def indices_generator_reproducible(ctx):
    """the same generator seed gives the same batches, whatever the global RNG's state."""
    g = ctx.generator("repro")
    n, b = _sizes(g, False)
    n += 20  # 20+ examples: two unrelated shuffles coincide with probability < 1/20!
    s = randint(g, 0, 2**31)
    a, c = _seeded(ctx, n, b, [s, s], global_seeds=[randint(g, 0, 2**30), 2**30 + randint(g, 1, 2**30)])
    expect(len(a) == len(c) and all(torch.equal(x, y) for x, y in zip(a, c)),
           "two calls with generators seeded alike gave different batches: "
           "draw every random number from `generator` (e.g. torch.randperm(n, generator=generator))")


@check("batching.minibatch_indices", points=0.5)
def indices_shuffle_depends_on_generator(ctx):
    """shuffle=True really shuffles: the order is not 0..n−1 and changes with the generator's seed."""
    g = ctx.generator("differ")
    n, b = _sizes(g, False)
    n += 20
    s = randint(g, 0, 2**31)
    a, c = _seeded(ctx, n, b, [s, s + 1], shuffle=True)
    flat_a, flat_c = torch.cat(a), torch.cat(c)
    expect(not torch.equal(flat_a, torch.arange(n)), "shuffle=True returned the indices in order")
    expect(not torch.equal(flat_a, flat_c), "two different generator seeds gave the same order")


@check("batching.minibatch_indices", points=1)
def indices_shuffled_drop_last(ctx):
    """shuffle with drop_last: full batches only, n − n % batch_size distinct indices."""
    g = ctx.generator("shuffled_drop")
    for divisible in (False, True):
        n, b = _sizes(g, divisible)
        (got,) = _seeded(ctx, n, b, [randint(g, 0, 2**31)], drop_last=True)
        _expect_batches(got, n, b, True, f"n={n}, batch_size={b}, shuffle=True, drop_last=True")


@check("batching.minibatch_indices", points=0.5)
def indices_batch_larger_than_data(ctx):
    """batch_size > n: one short batch, or none at all with drop_last."""
    g = ctx.generator("large")
    n = randint(g, 1, 6)
    b = n + randint(g, 1, 5)
    got = ctx.call("batching.minibatch_indices", n, b, shuffle=False)
    assert_equal(got, [torch.arange(n)], what=f"batches for n={n}, batch_size={b}")
    got = ctx.call("batching.minibatch_indices", n, b, shuffle=False, drop_last=True)
    expect(got == [], f"n={n}, batch_size={b}, drop_last=True: expected no batch, got {len(got)}")


@check("batching.minibatch_indices", points=0.5)
def indices_without_generator(ctx):
    """generator=None (the default) still shuffles into a valid epoch."""
    g = ctx.generator("none")
    n, b = _sizes(g, False)
    (got,) = _seeded(ctx, n, b, [None])
    flat = _expect_batches(got, n, b, False, f"n={n}, batch_size={b}, generator=None")
    expect(sorted(flat.tolist()) == list(range(n)), "some index is missing")


# --- minibatch_gradient_variance --------------------------------------------------------------


def _grads(g, n, p, dtype=F64, device="cpu"):
    # a common offset: the mean gradient is far from 0, as in training
    x = torch.randn(n, p, generator=g, dtype=F64) + 3 * torch.randn(p, generator=g, dtype=F64)
    return x.to(dtype=dtype, device=device)


def _enumerated(grads, b):
    """E‖ĝ_B − ḡ‖² by averaging over every subset of size b (the definition, no formula)."""
    grads = grads.detach().cpu().to(F64)
    mean = grads.mean(0)
    vals = [((grads[list(s)].mean(0) - mean) ** 2).sum() for s in itertools.combinations(range(len(grads)), b)]
    return torch.stack(vals).mean()


def _variance(ctx, grads, b):
    return ctx.call("batching.minibatch_gradient_variance", grads, b)


@check("batching.minibatch_gradient_variance", points=1.5)
def variance_matches_enumeration(ctx):
    """equals the average of ‖ĝ_B − ḡ‖² over all batches of size B (float64)."""
    g = ctx.generator("enum")
    n = randint(g, 5, 8)
    b = randint(g, 2, n - 1)
    grads = _grads(g, n, randint(g, 2, 4), device=ctx.device)
    got = _variance(ctx, grads, b)
    # the enumeration sums ≤ 70 nonnegative terms: ~1e-14 relative error; 1e-10 is loose
    assert_close(got, _enumerated(grads, b), rtol=1e-10, atol=0, what=f"variance (N={n}, B={b})")


@check("batching.minibatch_gradient_variance", points=1)
def variance_matches_reference_large(ctx):
    """matches tr(Σ)(N−B)/(B(N−1)) on a larger problem (float64)."""
    g = ctx.generator("large")
    n = randint(g, 30, 60)
    b = randint(g, 2, n - 1)
    grads = _grads(g, n, randint(g, 5, 10), device=ctx.device)
    got = _variance(ctx, grads, b)
    want = reference_module(ctx, "batching").minibatch_gradient_variance(grads, b)
    # sums of a few hundred squares in another order: ~1e-14 relative
    assert_close(got, want, rtol=1e-12, atol=0, what=f"variance (N={n}, B={b})")


@check("batching.minibatch_gradient_variance", points=1)
def variance_float32(ctx):
    """float32 input gives a float32 result close to the float64 value."""
    g = ctx.generator("f32")
    n = randint(g, 10, 40)
    b = randint(g, 2, n - 1)
    grads = _grads(g, n, randint(g, 3, 8), dtype=F32, device=ctx.device)
    got = _variance(ctx, grads, b)
    want = reference_module(ctx, "batching").minibatch_gradient_variance(grads.to(F64), b).to(F32)
    # centering removes the offset; float32 sums of ≤ 320 terms: 1e-5 relative
    assert_close(got, want, rtol=1e-5, atol=0, what=f"variance (N={n}, B={b}, float32)")


@check("batching.minibatch_gradient_variance", points=1)
def variance_full_batch_is_zero(ctx):
    """B = N (including N = 1) gives exactly 0, as a tensor of the input's dtype."""
    g = ctx.generator("full")
    for dtype in (F64, F32):
        for n in (randint(g, 2, 9), 1):
            grads = _grads(g, n, randint(g, 1, 4), dtype=dtype, device=ctx.device)
            assert_equal(_variance(ctx, grads, n), torch.zeros((), dtype=dtype), what=f"variance (N=B={n}, {dtype})")


@check("batching.minibatch_gradient_variance", points=1)
def variance_gradient(ctx):
    """autograd through the variance gives the reference's gradient w.r.t. the per-example gradients."""
    g = ctx.generator("grad")
    n = randint(g, 4, 12)
    b = randint(g, 1, n - 1)
    grads = _grads(g, n, randint(g, 2, 5), device=ctx.device)
    got = ctx.run("grad", target="batching.minibatch_gradient_variance", args=(grads, b), wrt=(0,))
    x = grads.detach().clone().requires_grad_(True)
    (want,) = torch.autograd.grad(reference_module(ctx, "batching").minibatch_gradient_variance(x, b), x)
    # the gradient is linear in the centered data: a few roundings per entry
    assert_close(got["grads"][0], want, rtol=1e-12, atol=1e-14, what="d variance / d per_example_grads")


@check("batching.minibatch_gradient_variance", points=0.5, kind="side")
def variance_input_not_modified(ctx):
    """minibatch_gradient_variance leaves per_example_grads unchanged."""
    g = ctx.generator("inputs")
    n = randint(g, 4, 10)
    grads = _grads(g, n, 3, device=ctx.device)
    b = randint(g, 1, n - 1)
    r = ctx.run("call", target="batching.minibatch_gradient_variance", args=(grads, b), return_args=True)
    assert_equal(r["args"][0], grads, what="per_example_grads after the call")
