"""Hidden checks for masks.py (notes 3.5 truncated self-attention, 3.7 graphs, chapter 4's causal
mask). Masks are compared exactly with ones built here from index arithmetic."""

import torch

from leedl_grader.authoring.checks import check, expect

from ._util import close, randint

EXACT = dict(rtol=0, atol=0)


def _ij(length):
    i = torch.arange(length)
    return i[:, None], i[None, :]


def _bool_cpu(got, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {type(got).__name__}")
    expect(got.dtype == torch.bool, f"{what}: dtype {got.dtype}, expected torch.bool")


@check("masks.causal_mask", points=2)
def causal_values(ctx):
    """Several lengths, 1 included: True exactly on and below the diagonal, bool, on the CPU."""
    g = ctx.generator()
    for length in (1, randint(g, 2, 4), randint(g, 7, 12)):
        got = ctx.call("masks.causal_mask", length)
        _bool_cpu(got, f"causal_mask({length})")
        i, j = _ij(length)
        close(got, j <= i, what=f"causal_mask({length})", tol=EXACT)


@check("masks.causal_mask", points=2)
def causal_is_usable_by_attention(ctx):
    """Query i (a row) sees keys j ≤ i: row 0 sees only key 0, the last row sees everything."""
    length = randint(ctx.generator(), 5, 9)
    got = ctx.call("masks.causal_mask", length)
    _bool_cpu(got, f"causal_mask({length})")
    expect(tuple(got.shape) == (length, length), f"shape {tuple(got.shape)}, expected ({length}, {length})")
    expect(bool(got[0, 0]) and not bool(got[0, 1:].any()), "row 0 (the first query) must see key 0 only")
    expect(bool(got[-1].all()), "the last query must see every key")


@check("masks.truncated_mask", points=2)
def truncated_values(ctx):
    """True exactly where |i − j| ≤ window, for windows 0, 1..3 and ≥ length − 1."""
    g = ctx.generator()
    for length, window in ((randint(g, 6, 10), 0), (randint(g, 6, 10), randint(g, 1, 3)),
                           (randint(g, 8, 12), randint(g, 2, 4)), (5, randint(g, 4, 7))):
        got = ctx.call("masks.truncated_mask", length, window)
        _bool_cpu(got, f"truncated_mask({length}, {window})")
        i, j = _ij(length)
        close(got, (i - j).abs() <= window, what=f"truncated_mask({length}, {window})", tol=EXACT)


@check("masks.truncated_mask", points=2)
def truncated_is_symmetric_band(ctx):
    """The band reaches ``window`` positions on both sides (past and future), not one."""
    length, window = randint(ctx.generator(), 9, 12), 2
    got = ctx.call("masks.truncated_mask", length, window)
    _bool_cpu(got, f"truncated_mask({length}, {window})")
    i, j = _ij(length)
    close(got, (i - j).abs() <= window, what=f"truncated_mask({length}, {window})", tol=EXACT)
    expect(bool((got == got.T).all()), "the mask must be symmetric: i sees j exactly when j sees i")


def _adjacency(g, n, device, loops=False):
    """A random directed graph (not symmetric), with or without some self-loops."""
    a = torch.rand(n, n, generator=g) < 0.35
    a[0, 1], a[1, 0] = True, False  # surely directed
    if not loops:
        a.fill_diagonal_(False)
    else:
        a[2, 2] = True
    return a.to(device)


@check("masks.graph_mask", points=2)
def graph_with_self_loops(ctx):
    """A directed graph used as given, plus the diagonal (self_loops defaults to True)."""
    g = ctx.generator()
    a = _adjacency(g, randint(g, 5, 8), ctx.device)
    got = ctx.call("masks.graph_mask", a)
    _bool_cpu(got, "graph_mask(adjacency)")
    want = a | torch.eye(a.shape[0], dtype=torch.bool, device=a.device)
    close(got, want, what="graph_mask(adjacency)", tol=EXACT)


@check("masks.graph_mask", points=2)
def graph_without_self_loops(ctx):
    """self_loops=False: exactly the adjacency (its own self-loops kept, none added)."""
    g = ctx.generator()
    for loops in (False, True):
        a = _adjacency(g, randint(g, 5, 8), ctx.device, loops=loops)
        got = ctx.call("masks.graph_mask", a, self_loops=False)
        _bool_cpu(got, "graph_mask(adjacency, self_loops=False)")
        close(got, a, what="graph_mask(adjacency, self_loops=False)", tol=EXACT)


@check("masks.graph_mask", points=2)
def graph_adjacency_unchanged(ctx):
    """The adjacency passed in is not modified; the mask is a new tensor on its device."""
    g = ctx.generator()
    a = _adjacency(g, randint(g, 5, 8), ctx.device)
    res = ctx.run("call", target="masks.graph_mask", args=[a], kwargs={"self_loops": True}, return_args=True)
    want = a | torch.eye(a.shape[0], dtype=torch.bool, device=a.device)
    close(res["out"], want, what="graph_mask(adjacency, self_loops=True)", tol=EXACT)
    close(res["args"][0], a, what="adjacency after the call (must not be modified)", tol=EXACT)
