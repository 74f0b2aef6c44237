

def halve(x):
    """Return x / 2."""
    # BEGIN SOLUTION
    return x / 2
    # END SOLUTION
