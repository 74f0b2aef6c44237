from .util import smooth


def double(x):
    return x * 2


def softplus(x):
    return smooth(x)
