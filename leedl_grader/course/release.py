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

    pip install "leedl[course,plots]" "torch=={torch}"
    leedl check {short}                # public checks, with a diff of what is wrong
    leedl check {short} --failed-only  # only what lost points
    leedl check {short} --json r.json  # the result as JSON too
    leedl check {short} -k {first}
        # only one file's (or one exercise's) checks

Grading runs torch {torch} on CPU: check with that version to see what the grader sees.

Hand in the `{name}` folder (or a zip of it). Your files are graded by hidden checks as well;
they test the same contract more thoroughly (other shapes, dtypes, seeds and edge cases).
{forbidden}"""

FORBIDDEN = """
## What you must not call

An exercise whose code calls one of these scores 0. The grader reads your code for the names,
and traces the ops listed as ops while your code runs, however they are reached.

{lines}
"""


def torch_version(course: Path) -> str:
    """The torch that grades: ``constraints.txt`` of the course (the grading environment), else
    the one installed here (read from its metadata: releasing never imports torch)."""
    try:
        for line in (Path(course) / "constraints.txt").read_text(encoding="utf-8").splitlines():
            name, sep, version = line.partition("==")
            if sep and name.strip().lower() == "torch":
                return version.split("#", 1)[0].strip()
    except OSError:
        pass
    from importlib import metadata

    try:
        return metadata.version("torch").split("+", 1)[0]
    except metadata.PackageNotFoundError:
        return "(not installed where this bundle was made)"


def forbidden_text(chapter: courses.Chapter) -> str:
    """The chapter's must-not-call lists, per file, from ``chapter.toml``."""
    lines = []
    for file in chapter.files:
        names = next((e.forbidden for e in chapter.exercises if e.file == file and e.forbidden), ())
        ops = chapter.forbidden_ops.get(file, ())
        if names or ops:
            what = [f"`{n}`" for n in names] + [f"`{o}` (the op, however it is reached)" for o in ops]
            lines.append(f"- `{file}`: " + ", ".join(what))
    return FORBIDDEN.format(lines="\n".join(lines)) if lines else ""


class ReleaseError(Exception):
    pass


def release(course: Path, chapter: courses.Chapter, out: Path) -> Path:
    """Write the bundle to ``out/<chapter>/`` and ``out/README.md``; returns the chapter folder."""
    generated = generated_files(course, chapter)
    stale = [g.path.name for g in generated if g.stale()]
    if stale:
        raise ReleaseError(f"assignments/{chapter.name} is out of date ({', '.join(stale)}): "
                           f"run `leedl build {chapter.short}`")
    out = Path(out)
    others = sorted(p.parent.name for p in out.glob("*/chapter.toml") if p.parent.name != chapter.name) \
        if out.is_dir() else []
    if others:  # one README per folder: a second chapter would overwrite the first's
        raise ReleaseError(f"{out} already holds the bundle of {', '.join(others)}: release each chapter into a "
                           f"folder of its own (--out {out / chapter.short})")
    dest = out / chapter.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    stubs = [g.path.name for g in generated if g.path.parent == chapter.root]
    for name in [*stubs, "chapter.toml"]:
        shutil.copy2(chapter.root / name, dest / name)
    if (chapter.root / "public").is_dir():
        shutil.copytree(chapter.root / "public", dest / "public",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    first = chapter.files[0][:-3] if chapter.files else "FILE"
    (out / "README.md").write_text(
        README.format(name=chapter.name, title=chapter.title, short=chapter.short, first=first,
                      torch=torch_version(course), forbidden=forbidden_text(chapter)), encoding="utf-8"
    )
    return dest
