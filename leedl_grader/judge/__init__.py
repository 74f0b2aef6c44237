"""Judging: run a chapter's checks against submissions, time them, budget them, store the results.

``runner`` judges one submission; ``batch`` many on a local pool, ``cluster`` many on Dask.
"""
