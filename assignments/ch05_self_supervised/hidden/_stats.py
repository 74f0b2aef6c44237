"""Tolerances for statistical checks, derived from the sample size and a false-failure rate."""

import math


def bernstein_tolerance(n, p, delta):
    """t such that the mean of n independent indicators whose mean probability is p strays from
    p by t or more with probability at most ``delta`` (Bernstein's inequality:
    2·exp(−n t² / (2σ² + 2t/3)) ≤ delta with σ² ≤ p(1 − p)). Much tighter than Hoeffding's
    bound for small p, where a bug moves a frequency by a small absolute amount."""
    log_term = math.log(2.0 / delta)
    a = 2.0 * log_term / 3.0
    return (a + math.sqrt(a * a + 8.0 * n * log_term * p * (1.0 - p))) / (2.0 * n)
