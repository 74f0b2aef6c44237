"""Find the students in a SUBMISSIONS folder (or .zip) and unpack each one safely."""

from __future__ import annotations

import difflib
import hashlib
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_UNPACKED = 64 * 1024 * 1024  # bytes one student's zip may expand to
MAX_MEMBERS = 2000


class SubmissionError(Exception):
    """A submission that cannot be read (bad zip, escaping paths...). Costs only that student."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path  # folder or .zip as handed in
    only: tuple[str, ...] = ()  # grade only these exercises (validation of a zoo variant); () = all


_SAFE = re.compile(r"[^A-Za-z0-9._@+-]+")
MAX_NAME = 80  # characters of a result file's stem (file systems allow 255 bytes)


def student_name(entry: Path) -> str:
    """The entry's stem made safe as a file name (may collide; :func:`discover` makes it unique)."""
    stem = entry.stem if entry.is_file() else entry.name
    return _SAFE.sub("_", stem).strip("._")[:MAX_NAME] or "student"


def _tag(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:n]


def discover(root: Path) -> list[Submission]:
    """Each entry of ``root`` (a folder or a .zip of one) is one student, named by its stem.

    Every student gets a name of their own, which is also their result file's stem: a stem
    that is already a safe file name is kept; one that had to be changed (odd characters, too
    long) or that another entry already took (``alice`` and ``alice.zip``, ``Bob`` and ``bob``
    on a case-insensitive disk) gets a short hash of the entry's own name. No name starts with
    a dot, so none reaches the class's own files (``.leedl/``)."""
    root = Path(root)
    if root.is_file() and root.suffix == ".zip":
        raise SubmissionError(f"{root} is one zip; pass the folder that holds the students' entries")
    if not root.is_dir():
        raise SubmissionError(f"{root} is not a folder")
    entries = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            continue  # a link to somewhere else is never a student's work
        if entry.is_dir() or (entry.is_file() and entry.suffix == ".zip"):
            raw = entry.stem if entry.is_file() else entry.name
            entries.append((student_name(entry) != raw, entry))
    taken: set[str] = set()
    found: list[Submission] = []
    for altered, entry in sorted(entries, key=lambda e: e[0]):  # unchanged names first: they keep them
        name = student_name(entry)
        n = 8
        while altered or name.casefold() in taken:
            name = f"{student_name(entry)}-{_tag(entry.name, n)}"
            altered = False
            n += 2
        taken.add(name.casefold())
        found.append(Submission(name, entry))
    order = {e: i for i, (_, e) in enumerate(entries)}
    return sorted(found, key=lambda s: order[s.path])


def not_a_class(root: Path, chapter_name: str, files: tuple[str, ...], found: list[Submission]) -> str | None:
    """Why ``root`` cannot be a class of ``chapter_name`` (None when it can): it holds no student
    entry, or it is one student's folder (the chapter's files at its top, or only the chapter's
    folder), which grading would take for a class of odd students with nothing handed in."""
    root = Path(root)
    own = sorted(f for f in files if (root / f).is_file())
    if own:
        return (f"{root} looks like one student's folder (it holds {', '.join(own)}): pass the folder that "
                f"holds one folder or .zip per student, or check this one with "
                f"`leedl check {chapter_name.split('_', 1)[0]} {root} --hidden`")
    if len(found) == 1 and found[0].path.name in (chapter_name, chapter_name.split("_", 1)[0]):
        return (f"{root} looks like one student's working copy (it holds only {found[0].path.name}/): pass "
                f"the folder that holds one folder or .zip per student")
    if not found:
        return f"{root} holds no submissions: a class is a folder with one folder or .zip per student"
    return None


def near_misses(folder: Path, missing: list[str], present: list[str]) -> dict[str, str]:
    """``{missing file: the .py file of ``folder`` that was probably meant}``: the same name but
    for case, a copy's suffix (``schedules (1).py``, ``schedules-copy.py``) or a typo."""
    folder = Path(folder)
    try:
        candidates = sorted(p.name for p in folder.iterdir()
                            if p.suffix.lower() == ".py" and p.is_file() and p.name not in present)
    except OSError:
        return {}

    def core(name: str) -> str:  # "Schedules (1).py" -> "schedules"
        stem = name[:-3].lower()
        stem = re.sub(r"\s*\(\d+\)$|[ _-]*(copy|kopie|副本)\d*$|[ _-]*\d+$", "", stem)
        return stem.strip(" _-")

    found: dict[str, str] = {}
    for f in missing:
        same = [c for c in candidates if core(c) == f[:-3].lower() and c not in found.values()]
        if not same:
            near = difflib.get_close_matches(f[:-3].lower(), [core(c) for c in candidates], n=1, cutoff=0.8)
            same = [c for c in candidates if near and core(c) == near[0] and c not in found.values()]
        if same:
            found[f] = same[0]
    return found


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract regular files only; refuse absolute paths, ``..``, links and zip bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{archive.name} is not a readable zip ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise SubmissionError(f"{archive.name} holds too many files")
        total = 0
        dest = dest.resolve()
        for m in members:
            p = PurePosixPath(m.filename.replace("\\", "/"))
            if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
                raise SubmissionError(f"{archive.name}: entry {m.filename!r} points outside the submission")
            mode = m.external_attr >> 16
            if stat.S_ISLNK(mode):
                continue  # links inside a zip are dropped, never followed
            target = (dest / Path(*p.parts)).resolve() if p.parts else dest
            if dest not in target.parents and target != dest:
                raise SubmissionError(f"{archive.name}: entry {m.filename!r} points outside the submission")
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            total += m.file_size
            if total > MAX_UNPACKED:
                raise SubmissionError(f"{archive.name} expands to more than {MAX_UNPACKED >> 20} MiB")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(m) as fin, open(target, "wb") as fout:
                    remaining = MAX_UNPACKED
                    while chunk := fin.read(1 << 16):
                        remaining -= len(chunk)
                        if remaining < 0:
                            raise SubmissionError(f"{archive.name} expands to more than it declares")
                        fout.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError,
                    ValueError, zlib.error) as exc:
                # A member whose size, checksum or compression lies: the student's zip is broken.
                raise SubmissionError(f"{archive.name}: entry {m.filename!r} cannot be read ({exc})") from None


def chapter_folder(root: Path, chapter_name: str, files: tuple[str, ...]) -> Path:
    """Where the chapter's files are inside an unpacked submission.

    Accepts the files at the top, under one top folder (as zips often are), or under a folder
    named after the chapter.
    """
    root = Path(root)
    for _ in range(3):
        if any((root / f).is_file() for f in files):
            return root
        if (root / chapter_name).is_dir():
            root = root / chapter_name
            continue
        subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__"))]
        if len(subdirs) == 1:
            root = subdirs[0]
            continue
        break
    return root


def content_hash(folder: Path, files: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for f in files:
        p = Path(folder) / f
        h.update(f.encode() + b"\0")
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
        h.update(b"\1")
    return h.hexdigest()


def tree_hash(paths: list[Path]) -> str:
    """Hash of every file below ``paths`` (hidden tests, reference): a change forces a regrade."""
    h = hashlib.sha256()
    for base in paths:
        base = Path(base)
        if not base.exists():
            continue
        if base.is_file():  # a file named itself (chapter.toml, a reference module)
            h.update(base.name.encode() + b"\0" + base.read_bytes() + b"\1")
            continue
        for p in sorted(base.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(base)).encode() + b"\0" + p.read_bytes() + b"\1")
    return h.hexdigest()
