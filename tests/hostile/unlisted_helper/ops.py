import torch

from .helper import fast_softplus


def double(x):
    return x * 2


def softplus(x):
    return fast_softplus(x)
