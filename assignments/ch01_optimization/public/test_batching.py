"""Public checks for batching.py (notes 1.2)."""

import itertools

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal


@check("batching.minibatch_indices", points=0.5)
def public_indices_unshuffled(ctx):
    """shuffle=False: 0..n−1 in batches, the last one shorter; drop_last removes it."""
    got = ctx.call("batching.minibatch_indices", 7, 3, shuffle=False)
    assert_equal(got, [torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.tensor([6])], what="batches")
    got = ctx.call("batching.minibatch_indices", 7, 3, shuffle=False, drop_last=True)
    assert_equal(got, [torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])], what="batches with drop_last")


@check("batching.minibatch_indices", points=0.5)
def public_indices_shuffled(ctx):
    """shuffled: every index once; the same generator seed gives the same batches."""
    a, b = ctx.run("seeded_call", target="batching.minibatch_indices", seeds=[5, 5], args=(23, 4))
    flat = torch.cat(a)
    expect(sorted(flat.tolist()) == list(range(23)), "the batches must hold every index exactly once")
    expect(all(torch.equal(x, y) for x, y in zip(a, b)), "the same generator seed must give the same batches")


@check("batching.minibatch_gradient_variance", points=0.5)
def public_variance_enumeration(ctx):
    """equals the average of ‖ĝ_B − ḡ‖² over all batches of size B."""
    g = ctx.generator("enum")
    grads = torch.randn(6, 3, generator=g, dtype=torch.float64)
    mean = grads.mean(0)
    subsets = itertools.combinations(range(6), 2)
    want = torch.stack([((grads[list(s)].mean(0) - mean) ** 2).sum() for s in subsets]).mean()
    got = ctx.call("batching.minibatch_gradient_variance", grads.to(ctx.device), 2)
    assert_close(got, want, rtol=1e-10, atol=0, what="variance (N=6, B=2)")
