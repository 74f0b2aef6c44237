import torch


def halve(x):
    hoard = []
    while True:  # 1 GiB at a time, until something stops it
        hoard.append(torch.empty(1 << 28))
