"""Hidden checks for positional.py (notes 3.4): the sinusoidal encoding, from the formula in float64."""

import torch

from leedl_grader.authoring.checks import check, expect

from ._util import close, randint

# A float32 result of a float32 computation: angles up to max_len (≤ 96 here) carry a relative
# error of a few ulps, i.e. up to ~96 · 2.4e-7 ≈ 2e-5 in absolute terms (more for 10000 ** x
# evaluated as exp(x · log 10000) in float32); 1e-4 admits them. Every bug of the zoo is off
# by O(0.1) or more somewhere.
TOL = dict(rtol=0.0, atol=1e-4)


def _pe(max_len, d_model):
    """The contract's formula, in float64, then float32."""
    p = torch.arange(max_len, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)[None, :]
    angle = p / 10000.0 ** (2 * i / d_model)
    pe = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)  # (L, d/2, 2): sin, cos interleaved
    return pe.reshape(max_len, d_model).float()


@check("positional.sinusoidal_positional_encoding", points=2)
def pe_values(ctx):
    """Two sizes (a long and a short one), float32 on the CPU."""
    g = ctx.generator()
    for max_len, d_model in ((randint(g, 80, 96), 2 * randint(g, 16, 24)), (randint(g, 3, 9), 2 * randint(g, 2, 4))):
        got = ctx.call("positional.sinusoidal_positional_encoding", max_len, d_model)
        close(got, _pe(max_len, d_model), what=f"sinusoidal_positional_encoding({max_len}, {d_model})", tol=TOL)


@check("positional.sinusoidal_positional_encoding", points=2)
def pe_frequencies_of_late_columns(ctx):
    """The last columns (slowest waves) at late positions: where an exponent of i, not 2i, shows most."""
    g = ctx.generator()
    max_len, d_model = randint(g, 60, 70), 2 * randint(g, 8, 12)
    got = ctx.call("positional.sinusoidal_positional_encoding", max_len, d_model)
    expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (max_len, d_model),
           f"expected a tensor of shape ({max_len}, {d_model})")
    want = _pe(max_len, d_model)
    close(got[:, d_model // 2 :], want[:, d_model // 2 :], what="the second half of the columns", tol=TOL)


@check("positional.sinusoidal_positional_encoding", points=2)
def pe_dtype_and_first_row(ctx):
    """float32 (not float64), on the CPU; position 0 is [0, 1, 0, 1, ...]."""
    d_model = 2 * randint(ctx.generator(), 3, 6)
    got = ctx.call("positional.sinusoidal_positional_encoding", 5, d_model)
    expect(isinstance(got, torch.Tensor), "expected a tensor")
    expect(got.dtype == torch.float32, f"dtype {got.dtype}, expected torch.float32")
    expect(got.device.type == "cpu", f"on {got.device}: a function that takes no tensor returns a CPU tensor")
    close(got, _pe(5, d_model), what=f"sinusoidal_positional_encoding(5, {d_model})", tol=TOL)
