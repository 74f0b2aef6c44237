"""Enforce "must not call": a static check of the submission's source.

For each file with a ``forbidden`` list (chapter.toml), the file and every sibling it imports
(an alias through a sibling must not hide a call) are parsed, import aliases are followed
(``import torch.nn.functional as F`` makes ``F.conv2d`` read ``torch.nn.functional.conv2d``),
as are simple assignments (``m = F``) and ``getattr`` with a constant name; each reference to a
forbidden name is a hit, and so is any other name for the same object (``torch.nn.modules.
activation.F.softplus`` is ``F.softplus``: names are resolved in the judge's own modules,
without importing or running anything). In such a file, dynamic access that could hide a call
is a hit too: ``getattr`` with a computed name (or passed around), ``importlib``, ``eval``/
``exec``/``compile``, ``__import__``, ``torch.ops``, private ``torch._*`` namespaces, the
dispatcher's modes and hooks (which could switch the run-time tracer off), ``torch.jit``/
``torch.compile``, ``gc``, frame inspection, ``ctypes``, other processes and threads.
The walk over one file is :mod:`.scanner` (its rules in :mod:`.banned`); which exercises a hit
costs is :mod:`.reach`. The run-time half (tracing dispatched torch ops) is in
:mod:`leedl_grader.drivers`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .names import banned_objects
from .reach import attribute, mere_import, relative_imports
from .scanner import Scanner


def parse(path: Path) -> ast.Module:
    """The file's syntax tree exactly as the interpreter compiles it: from its bytes, so that a BOM
    or a coding declaration is decoded by the same decoder that the import will use. Raises
    SyntaxError (or ValueError) where Python itself could not decode or compile the file."""
    return ast.parse(path.read_bytes(), filename=path.name)


def parse_error(path: Path) -> str | None:
    """Why Python could not compile the file, as a message for its exercises; None when it can."""
    try:
        parse(path)
    except SyntaxError as exc:
        what = exc.msg or "invalid source"
        if "encod" in what or "decod" in what or "codec" in what:
            return f"{path.name} cannot be decoded: {what} (save it as UTF-8)"
        return f"{path.name} could not be imported: SyntaxError: {what} (line {exc.lineno})"
    except (ValueError, UnicodeError) as exc:
        return f"{path.name} cannot be decoded: {exc} (save it as UTF-8)"
    except (OSError, RecursionError, MemoryError) as exc:
        return f"{path.name} could not be read: {type(exc).__name__}"
    return None


def closure(src: Path, file: str, package: str) -> list[str]:
    """``file`` and every sibling it imports, transitively (regular files only): what the process
    that grades ``file``'s exercises may import, and so all that is copied into its sandbox."""
    out, todo = [], [file]
    while todo:
        f = todo.pop()
        p = src / f
        if f in out or not p.is_file() or p.is_symlink():
            continue
        out.append(f)
        try:
            tree = parse(p)
        except (SyntaxError, ValueError, UnicodeError, OSError, RecursionError, MemoryError):
            continue
        s = Scanner(f, (), package)
        s.visit(tree)
        todo.extend(f"{m}.py" for m in sorted(s.siblings))
    return out


def scan_file(path: Path, forbidden: tuple[str, ...], package: str = "",
              banned_ids=None) -> tuple[list[tuple[int, str]], set[str]]:
    """Hits ``(line, what)`` and the sibling modules the file imports (relatively, or
    absolutely through the chapter's package name)."""
    try:
        tree = parse(path)
    except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
        return [], set()  # the file's exercises get parse_error's message
    # Two passes: a name bound by an import (or an alias) anywhere in the file counts everywhere,
    # so that an import placed after the functions that use it hides nothing.
    first = Scanner(path.name, (), package, {})
    first.visit(tree)
    s = Scanner(path.name, forbidden, package, banned_ids)
    s.aliases = dict(first.aliases)
    s.visit(tree)
    return sorted(set(s.hits)), s.siblings


def first_hit(src: Path, start: str, banned, package: str, banned_ids, skip: tuple[str, ...] = ()):
    """The first file with hits reached from ``start`` through the siblings it imports, as
    ``(file, hits)``; None when there is none. Files in ``skip`` are not entered."""
    todo, seen = [start], set(skip)
    while todo:
        f = todo.pop()
        if f in seen or not (src / f).is_file() or (src / f).is_symlink():
            continue
        seen.add(f)
        hits, siblings = scan_file(src / f, banned, package, banned_ids)
        if hits:
            return f, hits
        todo.extend(f"{m}.py" for m in siblings)
    return None


def scan(chapter, src: Path, present: list[str]) -> dict[str, str]:
    """``{file: message}`` for each file of the chapter whose exercises call something forbidden."""
    out: dict[str, str] = {}
    by_file = {e.file: e.forbidden for e in chapter.exercises}
    for file in present:
        banned = by_file.get(file, ())
        if not banned:
            continue
        found = first_hit(src, file, banned, chapter.name, banned_objects(banned))
        if found:
            f, hits = found
            line, what = hits[0]
            via = "" if f == file else f" (through {f}, which {file} imports)"
            more = f"; {len(hits) - 1} more" if len(hits) > 1 else ""
            out[file] = f"forbidden: {f} line {line} {what}{via}{more}. This file's exercises must not use it."
    return out


def scan_exercises(chapter, src: Path, present: list[str]) -> dict[str, str]:
    """``{exercise: message}`` for each exercise that can reach a forbidden call."""
    out: dict[str, str] = {}
    for file in present:
        # Every file is scanned: its must-not-call list where it has one, the tamper rules always.
        exercises = [e for e in chapter.exercises if e.file == file]
        if not exercises:
            continue
        banned = next((e.forbidden for e in exercises if e.forbidden), ())
        banned_ids = banned_objects(banned)
        try:
            tree = parse(src / file)
        except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
            continue  # the file's exercises get parse_error's message
        hits, siblings = scan_file(src / file, banned, chapter.name, banned_ids)
        what = {h[0]: f"{file} line {h[0]} {h[1]}" for h in hits}
        lines = [line for line, _ in hits if not mere_import(tree, line)]
        imports = relative_imports(tree)
        for first in sorted(siblings):  # a hit anywhere behind a sibling costs what imports that sibling
            found = first_hit(src, f"{first}.py", banned, chapter.name, banned_ids, skip=(file,))
            if found:
                f, shits = found
                for line in imports.get(first, [0]):
                    lines.append(line)
                    what.setdefault(line, f"{f} line {shits[0][0]} {shits[0][1]} (through {f}, which {file} imports)")
        tops = {e.name: e.name.split(".", 1)[1].split(".")[0] for e in exercises}  # "optimizers.Adam" -> "Adam"
        reached = attribute(tree, lines, list(tops.values()))
        for e in exercises:
            line = reached.get(tops[e.name])
            if line is not None:
                out[e.name] = (f"forbidden: {what.get(line, f'{file} line {line}')}. "
                               f"{e.name} must not use it.")
    return out
