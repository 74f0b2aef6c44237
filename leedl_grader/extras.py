"""Optional extras: which ``pip install`` brings a module that a check or a command needs.

A check that imports a library the machine lacks (scikit-learn for a data set, gymnasium for an
environment) is neither the student's fault nor a bug in the grader: the result says which
package is missing and the exact command that installs it.
"""

from __future__ import annotations

# top-level module -> (package on PyPI, leedl extra that installs it); see pyproject.toml
EXTRAS = {
    "sklearn": ("scikit-learn", "course"),
    "gymnasium": ("gymnasium", "course"),
    "matplotlib": ("matplotlib", "plots"),
    "dask": ("dask", "dask"),
    "distributed": ("distributed", "dask"),
    "nbgrader": ("nbgrader", "nbgrader"),
}


def command(extra: str) -> str:
    """``pip install "leedl[course]"``: double quotes, which bash, zsh, cmd and PowerShell all take."""
    return f'pip install "leedl[{extra}]"'


def missing(exc: BaseException) -> str | None:
    """For an ImportError of a module an extra provides: "scikit-learn is not installed here:
    pip install "leedl[course]""; None for any other exception."""
    if not isinstance(exc, ImportError):
        return None
    top = (getattr(exc, "name", None) or "").split(".", 1)[0]
    if top not in EXTRAS:
        return None
    package, extra = EXTRAS[top]
    return f"{package} is not installed here, and this check needs it: {command(extra)} (then run again)"
