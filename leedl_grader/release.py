"""The student bundle: stubs, public checks and their data, a README. Nothing else.

No file from ``solutions/`` and no hidden check ever enters a bundle; ``tests/test_release.py``
proves it on every chapter.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import course as courses
from .build import generated_files

README = """# {name} — {title}

Implement the functions in `{name}/` (each stub raises `NotImplementedError`), then check your work:

    pip install "leedl[course,plots]"
    leedl check {short}            # public checks, with a diff of what is wrong
    leedl check {short} --json r.json

Hand in the `{name}` folder (or a zip of it). Your files are graded by hidden checks as well;
they test the same contract more thoroughly (other shapes, dtypes, seeds and edge cases).
"""

_SKIP = {"hidden", "__pycache__"}


class ReleaseError(Exception):
    pass


def release(course: Path, chapter: courses.Chapter, out: Path) -> Path:
    """Write the bundle to ``out/<chapter>/`` and ``out/README.md``; returns the chapter folder."""
    stale = [g.path.name for g in generated_files(course, chapter) if g.stale()]
    if stale:
        raise ReleaseError(f"assignments/{chapter.name} is out of date ({', '.join(stale)}): "
                           f"run `leedl build {chapter.short}`")
    dest = Path(out) / chapter.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for p in sorted(chapter.root.iterdir()):
        if p.name in _SKIP or p.name.startswith("."):
            continue
        if p.is_dir():
            shutil.copytree(p, dest / p.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, dest / p.name)
    (Path(out) / "README.md").write_text(
        README.format(name=chapter.name, title=chapter.title, short=chapter.short), encoding="utf-8"
    )
    return dest
