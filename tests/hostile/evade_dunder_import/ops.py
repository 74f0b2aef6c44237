def double(x):
    return x * 2


def softplus(x):
    return __import__("torch.nn.functional", fromlist=["softplus"]).softplus(x)
