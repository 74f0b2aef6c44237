from torch.nn.modules import activation


def double(x):
    return x * 2


def softplus(x):
    return activation.F.softplus(x)
