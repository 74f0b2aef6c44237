import torch

_act = torch.nn.Softplus()


def double(x):
    return x * 2


def softplus(x):
    return _act(x)
