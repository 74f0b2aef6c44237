import time


def halve(x):
    while True:
        time.sleep(1)
