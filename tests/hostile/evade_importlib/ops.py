import importlib


def double(x):
    return x * 2


def softplus(x):
    return importlib.import_module("torch.nn.functional").softplus(x)
