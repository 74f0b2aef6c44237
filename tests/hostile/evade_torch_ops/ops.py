import torch


def double(x):
    return x * 2


def softplus(x):
    return torch.ops.aten.softplus(x)
