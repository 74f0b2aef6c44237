# coding: utf-8
import torch

NAME = 'ÿþ'


def double(x):
    return x * 2


def softplus(x):
    return torch.nn.functional.softplus(x)
