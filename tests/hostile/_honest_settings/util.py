

def halve(x):
    """Return x / 2."""
    return x / 2
