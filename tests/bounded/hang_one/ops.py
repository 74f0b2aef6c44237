import time

import torch


def double(x):
    while True:  # hangs without using CPU: only a wall-clock limit ends it
        time.sleep(1)


def softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))
