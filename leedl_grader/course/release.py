"""The student bundle: stubs, public checks and their data, a README. Nothing else.

The bundle is an allow-list: the generated stubs, ``chapter.toml``, the ``public/`` package and
a README. No file from ``solutions/`` and no hidden check ever enters it, whatever else lies in
the chapter's folder; ``tests/test_chapters.py`` proves it on every chapter.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import chapters as courses
from .build import generated_files

README = """# {name} — {title}

Implement the functions in `{name}/` (each stub raises `NotImplementedError`), then check your work:

    pip install "leedl[course,plots]"
    leedl check {short}            # public checks, with a diff of what is wrong
    leedl check {short} --json r.json

Hand in the `{name}` folder (or a zip of it). Your files are graded by hidden checks as well;
they test the same contract more thoroughly (other shapes, dtypes, seeds and edge cases).
"""


class ReleaseError(Exception):
    pass


def release(course: Path, chapter: courses.Chapter, out: Path) -> Path:
    """Write the bundle to ``out/<chapter>/`` and ``out/README.md``; returns the chapter folder."""
    generated = generated_files(course, chapter)
    stale = [g.path.name for g in generated if g.stale()]
    if stale:
        raise ReleaseError(f"assignments/{chapter.name} is out of date ({', '.join(stale)}): "
                           f"run `leedl build {chapter.short}`")
    dest = Path(out) / chapter.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    stubs = [g.path.name for g in generated if g.path.parent == chapter.root]
    for name in [*stubs, "chapter.toml"]:
        shutil.copy2(chapter.root / name, dest / name)
    if (chapter.root / "public").is_dir():
        shutil.copytree(chapter.root / "public", dest / "public",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    (Path(out) / "README.md").write_text(
        README.format(name=chapter.name, title=chapter.title, short=chapter.short), encoding="utf-8"
    )
    return dest
