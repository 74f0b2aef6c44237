import os

import matplotlib
import torch

torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
matplotlib.rcParams["figure.dpi"] = 100
torch.set_printoptions(precision=4)


def double(x):
    """Return 2·x."""
    return x * 2


def softplus(x):
    """log(1 + exp(x)), stable."""
    return torch.logaddexp(x, torch.zeros_like(x))
