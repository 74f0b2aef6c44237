"""Say where a 4-D result differs, in the words of a convolution: channel, position, sample."""

import math

import torch

from leedl_grader.authoring.checks import CheckFailed
from leedl_grader.authoring.compare import first_difference

# How to name an index of each 4-D tensor a check compares.
OUTPUT = "output channel {1}, position ({2}, {3}) of sample {0}"
INPUT = "input channel {1}, position ({2}, {3}) of sample {0}"
FILTER = "filter {0}, input channel {1}, kernel offset ({2}, {3})"


def worst_index(got: torch.Tensor, want: torch.Tensor, rtol: float, atol: float) -> tuple[int, ...]:
    """The index where ``got`` exceeds its tolerance the most (NaN counts as infinitely wrong)."""
    g, w = got.detach().cpu().double(), want.detach().cpu().double()
    err = torch.nan_to_num((g - w).abs(), nan=math.inf, posinf=math.inf)
    err = torch.where(torch.isnan(g) & torch.isnan(w), torch.zeros_like(err), err)
    excess = err - (atol + rtol * w.abs().nan_to_num(0.0))
    flat = int(excess.flatten().argmax())
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), g.shape))


def assert_close_at(got, want, *, rtol: float, atol: float, what: str, names: str = OUTPUT) -> None:
    """Like ``assert_close``; for a 4-D tensor of the right shape the message also names the
    worst element with ``names`` (e.g. "output channel 2, position (0, 3) of sample 1")."""
    d = first_difference(got, want, rtol=rtol, atol=atol, path=what)
    if d is None:
        return
    if (isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and want.dim() == 4
            and got.shape == want.shape and got.dtype == want.dtype):
        idx = worst_index(got, want, rtol, atol)
        d = f"{d}. Look first at {names.format(*idx)}"
    raise CheckFailed(d)
