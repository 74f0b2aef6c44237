"""Both sides of the process boundary: where a submission runs and how the judge talks to it.

``modes`` (strict namespaces, the uid fallback in ``uid_mode``, a plain process) and ``cgroup``
confine the student's processes; ``zygote`` forks them; ``student`` is the loop that runs inside
them; ``processes`` holds the judge's handles on them; ``protocol`` is what crosses the boundary.
"""
