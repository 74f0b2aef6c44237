import torch


def double(x):
    raise NotImplementedError


def softplus(x):
    raise NotImplementedError
