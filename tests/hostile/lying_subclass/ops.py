import torch

from .util import Liar


def double(x):
    return torch.zeros_like(x).as_subclass(Liar)


def softplus(x):
    return torch.zeros_like(x).as_subclass(Liar)
