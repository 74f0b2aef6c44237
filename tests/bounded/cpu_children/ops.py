

def double(x):
    return x * 0


def softplus(x):
    return x * 0
