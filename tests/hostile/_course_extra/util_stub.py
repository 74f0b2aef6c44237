# leedl — ch99_demo/util.py: implement the functions below; `leedl check ch99` tests them.


def halve(x):
    """Return x / 2."""
    raise NotImplementedError("util.halve: not implemented yet")
