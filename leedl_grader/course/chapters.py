"""Find the course tree and load its chapters, check suites, reference and public data.

A *course root* holds ``assignments/`` (and, for instructors, ``solutions/``). A student's
release bundle is a course root without ``solutions/`` and without hidden suites.

Everything of a chapter that is never released lives beside its reference, in
``solutions/<chapter>/``: the reference modules (``*.py``), the bug zoo (``zoo.toml``) and the
example class (``examples/<student>/``).

Longer than most modules (~360 lines): every path from a chapter's folders to the objects the
engine uses (chapter.toml, suites and their points, drivers, reference, public data) goes
through here, so that no other module knows the course tree's layout.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.util
import json
import os
import sys
import types
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..model import Check, Exercise

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class CourseError(Exception):
    """A user-facing problem with the course tree (unknown chapter, malformed manifest...)."""


@dataclass(frozen=True)
class Chapter:
    name: str  # "ch01_optimization"
    title: str
    root: Path  # assignments/<name> (or the bundle's folder)
    exercises: tuple[Exercise, ...]
    forbidden_ops: dict  # file -> tuple of aten op names traced at run time
    # [limits] of chapter.toml: sandbox limits (sandbox.Limits fields) and, under
    # training_cpu_s, the fixed CPU seconds of each training exercise.
    limits: dict = field(default_factory=dict)
    training_cpu_s: dict = field(default_factory=dict)

    @property
    def files(self) -> tuple[str, ...]:
        seen: list[str] = []
        for e in self.exercises:
            if e.file not in seen:
                seen.append(e.file)
        return tuple(seen)

    @property
    def short(self) -> str:
        return self.name.split("_", 1)[0]

    def exercise(self, name: str) -> Exercise:
        for e in self.exercises:
            if e.name == name:
                return e
        raise CourseError(f"{self.name} has no exercise {name!r}")


def find_course(start: Path | None = None) -> Path | None:
    """``$LEEDL_COURSE``, else the nearest folder at or above ``start`` holding ``assignments/``."""
    env = os.environ.get("LEEDL_COURSE")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "assignments").is_dir():
            return d
    return None


def load_chapter(root: Path) -> Chapter:
    manifest = root / "chapter.toml"
    if not manifest.is_file():
        raise CourseError(f"{root} has no chapter.toml")
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{manifest}: {exc}") from None
    files = data.get("files", {})
    exercises = []
    for name in data.get("exercises", []):
        file = name.split(".", 1)[0] + ".py"
        forbidden = tuple(files.get(file, {}).get("forbidden", ()))
        exercises.append(Exercise(name=name, forbidden=forbidden))
    ops = {f: tuple(v.get("forbidden_ops", ())) for f, v in files.items()}
    limits = dict(data.get("limits", {}))
    training = limits.pop("training_cpu_s", {})
    from ..sandbox.policy import Limits

    known = {f.name for f in fields(Limits)}
    for k, v in [*limits.items(), *training.items()]:
        if (k not in known and k not in training) or isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise CourseError(f"{manifest}: [limits] {k} = {v!r} is not a known positive limit")
    names = {e.name for e in exercises}
    for k in training:
        if k not in names:
            raise CourseError(f"{manifest}: [limits.training_cpu_s] names unknown exercise {k!r}")
    return Chapter(name=root.name, title=data.get("title", ""), root=root, exercises=tuple(exercises),
                   forbidden_ops=ops, limits=limits, training_cpu_s={k: float(v) for k, v in training.items()})


def chapters(course: Path) -> list[Chapter]:
    base = course / "assignments"
    return [load_chapter(p) for p in sorted(base.iterdir()) if (p / "chapter.toml").is_file()]


def unknown(what: str, name: str, known: list[str], where: str = "", close: str | None = None) -> str:
    """"no chapter 'ch1' in X; did you mean ch01? (known: ...)": the message for a name not found."""
    if close is None:  # compared without case, and by the last part of dotted names ("adm" -> Adam)
        keys = {k.lower(): k for k in known} | {k.rsplit(".", 1)[-1].lower(): k for k in known}
        near = difflib.get_close_matches(name.lower(), list(keys), n=1, cutoff=0.6)
        close = keys[near[0]] if near else ""
    hint = f"; did you mean {close}?" if close else ""
    return f"no {what} {name!r}{' in ' + where if where else ''}{hint} (known: {', '.join(known) or 'none'})"


def match_chapter(name: str, known: list[Chapter], where: str = "") -> Chapter:
    """``ch01`` or ``ch01_optimization`` -> the chapter; else a CourseError naming the known
    chapters, with a did-you-mean. Every command that takes a chapter resolves it here."""
    for ch in known:
        if name in (ch.name, ch.short):
            return ch
    number = name.lower().removeprefix("chapter").removeprefix("ch").strip(" _-").split("_", 1)[0]
    same = [ch.short for ch in known if number.isdigit() and ch.short[2:].isdigit()
            and int(ch.short[2:]) == int(number)]  # "ch1", "1": the chapter of that number
    same += [ch.short for ch in known if len(name) >= 3 and name.lower() in ch.name.lower()]  # "optim"
    raise CourseError(unknown("chapter", name, [ch.short for ch in known], where, close=same[0] if same else None))


def resolve_chapter(course: Path, name: str) -> Chapter:
    """``ch01`` or ``ch01_optimization`` (or ``ch1``) -> the chapter."""
    return match_chapter(name, chapters(course), str(course / "assignments"))


def select_exercises(chapter: Chapter, patterns: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The exercises ``-k PATTERN`` selects (any pattern, case-insensitive): a file (``schedules``,
    ``schedules.py``), an exercise (``optimizers.Adam``, ``Adam``), a part of a name (``decay``)
    or a glob (``schedules.*``). A pattern that selects nothing is a CourseError with the choices."""
    names = [e.name for e in chapter.exercises]
    chosen: set[str] = set()
    for pat in patterns:
        p = pat.strip().lower().removesuffix(".py")
        hit = {n for n in names if p == n.lower().split(".", 1)[0] or p in n.lower()
               or fnmatch.fnmatch(n.lower(), p)}
        if not hit:
            choices = [f[:-3] for f in chapter.files] + names
            raise CourseError(unknown("file or exercise matching", pat, choices, chapter.name))
        chosen |= hit
    return tuple(n for n in names if n in chosen)


def _import_package(name: str, path: Path):
    if name in sys.modules:
        if list(getattr(sys.modules[name], "__path__", [])) == [str(path)]:
            return sys.modules[name]
        for mod in [m for m in list(sys.modules) if m == name or m.startswith(name + ".")]:  # another course's copy
            del sys.modules[mod]
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py", submodule_search_locations=[str(path)])
    if spec is None or spec.loader is None:
        raise CourseError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def chapter_package(chapter: Chapter) -> str:
    """The in-memory package ``_leedl_suites.<chapter>`` whose folder is the chapter's: its
    ``public`` and ``hidden`` suites are subpackages, so a hidden check can import a public helper
    (``from ..public.drivers import make_input``). A chapter of another course (another folder)
    replaces every module of the same name."""
    _ensure_parent("_leedl_suites")
    name = f"_leedl_suites.{chapter.name}"
    mod = sys.modules.get(name)
    if mod is None or list(getattr(mod, "__path__", [])) != [str(chapter.root)]:
        for m in [m for m in list(sys.modules) if m == name or m.startswith(name + ".")]:
            del sys.modules[m]
        mod = types.ModuleType(name)
        mod.__path__ = [str(chapter.root)]
        sys.modules[name] = mod
    return name


def suite_module(chapter: Chapter, kind: str, module: str):
    """A module of the chapter's ``public`` or ``hidden`` package (``data``, ``test_conv``...)."""
    return importlib.import_module(f"{chapter_package(chapter)}.{kind}.{module}")


DRIVERS_FILE = "drivers.py"  # in public/: the chapter's own drivers (released: students run them too)


def load_drivers(chapter: Chapter):
    """Import the chapter's ``public/drivers.py`` (its ``@driver`` functions register themselves);
    None when the chapter has none. The zygote calls this before it forks any worker, and so does
    the judge before it loads a suite: both sides run the very same drivers."""
    if not (chapter.root / "public" / DRIVERS_FILE).is_file():
        return None
    return suite_module(chapter, "public", DRIVERS_FILE[:-3])


def load_suite(chapter: Chapter, kind: str) -> tuple[Check, ...]:
    """The checks of ``public`` or ``hidden``, in file then definition order."""
    path = chapter.root / kind
    if not (path / "__init__.py").is_file():
        return ()
    load_drivers(chapter)
    pkg = f"{chapter_package(chapter)}.{kind}"
    visibility = "visible" if kind == "public" else "hidden"
    found: list[Check] = []
    for file in sorted(path.glob("test_*.py")):
        module = importlib.import_module(f"{pkg}.{file.stem}")
        for value in vars(module).values():
            if isinstance(value, Check):
                found.append(_with_visibility(value, visibility))
    known = {e.name for e in chapter.exercises}
    for c in found:
        if c.exercise not in known:
            raise CourseError(f"{kind} check {c.name} names unknown exercise {c.exercise!r}")
    order = {e.name: i for i, e in enumerate(chapter.exercises)}
    return tuple(sorted(found, key=lambda c: order[c.exercise]))


def declared_points(chapter: Chapter, kind: str) -> dict[str, float] | None:
    """``{exercise: points}`` of the ``public`` or ``hidden`` checks, read from their ``@check(...)``
    decorators without importing them (so without torch: ``leedl list`` answers at once). None
    where a decorator is not plain literals: then only :func:`load_suite` can say."""
    import ast

    path = chapter.root / kind
    if not (path / "__init__.py").is_file():
        return {}
    points: dict[str, float] = {}
    for file in sorted(path.glob("test_*.py")):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            return None
        nodes = list(ast.walk(tree))
        functions = [n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        decorators = {id(d) for n in functions for d in n.decorator_list}
        if any(isinstance(n, ast.Call) and id(n) not in decorators
               and (getattr(n.func, "id", "") == "check" or getattr(n.func, "attr", "") == "check")
               for n in nodes):  # checks made by a factory: only importing them says
            return None
        for node in functions:
            for dec in node.decorator_list:
                func = dec.func if isinstance(dec, ast.Call) else dec
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name != "check" or not isinstance(dec, ast.Call):
                    continue
                try:
                    exercise = ast.literal_eval(dec.args[0])
                    kw = {k.arg: ast.literal_eval(k.value) for k in dec.keywords if k.arg == "points"}
                except (AttributeError, IndexError, ValueError, TypeError):
                    return None
                if not isinstance(exercise, str) or any(k is None for k in kw):
                    return None
                points[exercise] = points.get(exercise, 0.0) + float(kw.get("points", 1.0))
    return points


def suite_points(chapter: Chapter, kind: str) -> dict[str, float]:
    """``{exercise: points}`` of a suite: from a per-user cache keyed by the suite's bytes, else
    read from the decorators where they are literals, else by importing the checks (which imports
    torch); cached either way."""
    import hashlib

    path = chapter.root / kind
    h = hashlib.sha256(kind.encode())
    for f in sorted(path.rglob("*.py")):
        h.update(f.relative_to(path).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "leedl" / "points"
    entry = cache / f"{h.hexdigest()}.json"
    try:
        return {str(k): float(v) for k, v in json.loads(entry.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        pass
    points = declared_points(chapter, kind)
    if points is None:
        points = {}
        for c in load_suite(chapter, kind):
            points[c.exercise] = points.get(c.exercise, 0.0) + c.points
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(points), encoding="utf-8")
        os.replace(tmp, entry)
    except OSError:
        pass  # a read-only home: the next list imports again
    return points


def _with_visibility(c: Check, visibility: str) -> Check:
    from dataclasses import replace

    return replace(c, visibility=visibility)


def reference_dir(course: Path, chapter: Chapter) -> Path:
    """``solutions/<chapter>``: the reference package, the bug zoo and the example class."""
    return Path(course) / "solutions" / chapter.name


def reference_files(course: Path, chapter: Chapter) -> list[Path]:
    """The reference package's modules (the zoo and the example class are not part of it)."""
    return sorted(reference_dir(course, chapter).glob("*.py"))


def zoo_path(course: Path, chapter: Chapter) -> Path:
    return reference_dir(course, chapter) / "zoo.toml"


def examples_dir(course: Path, chapter: Chapter) -> Path:
    """The example class: one folder per student, graded by the README's first command."""
    return reference_dir(course, chapter) / "examples"


# What a copy of the reference package leaves out (shutil.ignore_patterns).
NOT_REFERENCE = ("__pycache__", "*.pyc", "examples", "zoo.toml")


def load_reference(course: Path, chapter: Chapter):
    path = reference_dir(Path(course), chapter)
    if not (path / "__init__.py").is_file():
        raise CourseError(f"no reference at {path}")
    _ensure_parent("_leedl_reference")
    name = f"_leedl_reference.{chapter.name}"
    package = _import_package(name, path)
    for file in sorted(path.glob("*.py")):  # so that checks can say ctx.reference.FILE.NAME
        if file.stem != "__init__":
            importlib.import_module(f"{name}.{file.stem}")
    return package


def _ensure_parent(name: str) -> None:
    """An empty in-memory package under which suites and references are imported."""
    if name not in sys.modules:
        mod = types.ModuleType(name)
        mod.__path__ = []
        sys.modules[name] = mod


def public_data(chapter: Chapter) -> dict:
    path = chapter.root / "public" / "expected.json"
    if not path.is_file():
        return {}
    from ..codec import from_json  # torch: imported only where data are read

    return from_json(json.loads(path.read_text(encoding="utf-8")))
