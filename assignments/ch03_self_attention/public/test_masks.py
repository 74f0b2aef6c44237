"""Public checks for masks.py (notes 3.5, 3.7)."""

import torch

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_equal


@check("masks.causal_mask", points=0.5)
def public_causal(ctx):
    """causal_mask(3) is [[T, F, F], [T, T, F], [T, T, T]]."""
    want = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    assert_equal(ctx.call("masks.causal_mask", 3), want, what="causal_mask(3)")


@check("masks.truncated_mask", points=0.5)
def public_truncated(ctx):
    """truncated_mask(6, 1) is the published band of width 3."""
    assert_equal(ctx.call("masks.truncated_mask", 6, 1), ctx.data["truncated_6_1"], what="truncated_mask(6, 1)")


@check("masks.graph_mask", points=0.5)
def public_graph(ctx):
    """A path graph 0 → 1 → 2 (directed): each node attends to itself and its successor."""
    a = torch.tensor([[False, True, False], [False, False, True], [False, False, False]])
    want = torch.tensor([[True, True, False], [False, True, True], [False, False, True]])
    assert_equal(ctx.call("masks.graph_mask", a.to(ctx.device)), want.to(ctx.device), what="graph_mask(adjacency)")
