import time


def double(x):
    while True:
        time.sleep(1)


def softplus(x):
    while True:
        pass
