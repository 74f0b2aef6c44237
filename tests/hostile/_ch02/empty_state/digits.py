"""A DigitCNN without any weight (so an empty state_dict) whose forward is written by hand."""
import torch
from torch import nn


class DigitCNN(nn.Module):
    def forward(self, x):
        return x.reshape(len(x), 64)[:, :10] * 100


def train_digits(x_train, y_train, seed=0, device="cpu"):
    return DigitCNN()
