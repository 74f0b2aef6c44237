"""Shared by the hidden checks: the public ``_where`` helper, plus input makers and tolerances."""

from leedl_grader.authoring.helpers import F32, F64, randint, randn  # noqa: F401 - shared by every chapter

from ..public._where import FILTER, INPUT, OUTPUT, assert_close_at  # noqa: F401 - one helper for both suites

# float64: each output is a sum of at most ~100 products of O(1) numbers, added in an order that
# differs between implementations; the rounding error stays below 100 · 10 · 1.1e-16 ≈ 1e-13,
# so 1e-12 admits every correct order and no real bug (those are O(0.1) or larger).
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 (eps 1.2e-7): the same bound gives ~1e-4 on sums of ~100 terms.
TOL32 = dict(rtol=1e-4, atol=1e-4)
