"""Validate a chapter: reference full marks, stubs zero, every bug caught, every alternative full.

The bug zoo (``solutions/<chapter>/zoo.toml``) lists small textual variants of the reference. Each
variant is graded as a submission by the same batch machinery TAs use, so validation proves the
grader as it really runs. A variant is graded only on the exercises whose code can reach the
lines it changes (in its file, and through the sibling imports of the other files); every other
exercise would run exactly the reference's code, so its results are the reference's, from the
same run. A training exercise is retrained only by the variants that reach it.
"""

from __future__ import annotations

import ast
import difflib
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..forbid import reach
from ..judge.batch import Suite, grade_many
from ..judge.runner import JudgeOptions
from ..judge.submissions import Submission
from ..model import SubmissionResult
from . import chapters as courses
from . import rules
from .build import generated_files

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # "bug" | "alternative"
    exercise: str
    file: str
    why: str
    replace: tuple[tuple[str, str], ...]
    also: tuple[str, ...] = ()  # exercises built on this one, which a bug may cost too


@dataclass(frozen=True)
class Row:
    subject: str  # "reference", "stubs", "stubs up to date", a variant's name
    kind: str  # "reference" | "stubs" | "build" | "bug" | "alternative"
    exercise: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ValidationReport:
    chapter: str
    seed: int
    rows: tuple[Row, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


def load_zoo(course: Path, chapter: courses.Chapter) -> list[Variant]:
    path = courses.zoo_path(course, chapter)
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for v in data.get("variant", []):
        reps = tuple((r["old"], r["new"]) for r in v.get("replace", []))
        out.append(Variant(v["name"], v["kind"], v["exercise"], v["file"], v.get("why", ""), reps,
                           tuple(v.get("also", ()))))
    return out


def variant_text(ref_dir: Path, v: Variant) -> str:
    text = (ref_dir / v.file).read_text(encoding="utf-8")
    for old, new in v.replace:
        n = text.count(old)
        if n != 1:
            raise ValueError(f"zoo variant {v.name}: the text to replace occurs {n} times in {v.file} (must be once)")
        text = text.replace(old, new)
    return text


def apply_variant(ref_dir: Path, dest: Path, v: Variant) -> None:
    text = variant_text(ref_dir, v)
    shutil.copytree(ref_dir, dest, ignore=shutil.ignore_patterns(*courses.NOT_REFERENCE))
    (dest / v.file).write_text(text, encoding="utf-8")


def _tops(chapter: courses.Chapter, file: str) -> dict[str, str]:
    """``{exercise: its top-level name}`` for the exercises of ``file``."""
    return {e.name: e.name.split(".", 1)[1].split(".")[0] for e in chapter.exercises if e.file == file}


def scope(ref_dir: Path, chapter: courses.Chapter, v: Variant) -> tuple[str, ...]:
    """The exercises whose code can reach what ``v`` changes (every exercise when unsure).

    The changed lines are found by a line diff; :func:`~leedl_grader.forbid.reach.attribute` says which exercises of
    the file reach them (helpers, classes and module-level names followed; a change to code that
    runs at import reaches all), and a file that imports a changed file relatively is treated as
    changed on its import lines, transitively."""
    every = tuple(e.name for e in chapter.exercises)
    try:
        old = (ref_dir / v.file).read_text(encoding="utf-8")
        new = variant_text(ref_dir, v)
        new_tree = ast.parse(new)
    except (OSError, ValueError, SyntaxError):
        return every
    lines: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            lines.update(range(j1 + 1, max(j2, j1 + 1) + 1))  # 1-based; a deletion marks where it was
    reached = reach.attribute(new_tree, sorted(lines), list(_tops(chapter, v.file).values()))
    affected = {e for e, top in _tops(chapter, v.file).items() if top in reached}
    changed, todo = {v.file[:-3]}, [f for f in chapter.files if f != v.file]
    progress = True
    while progress:
        progress = False
        for f in list(todo):
            try:
                tree = ast.parse((ref_dir / f).read_text(encoding="utf-8"))
            except (OSError, SyntaxError):
                continue
            hits = [line for mod, at in reach.relative_imports(tree).items() if mod in changed for line in at]
            if hits:
                reached = reach.attribute(tree, hits, list(_tops(chapter, f).values()))
                affected |= {e for e, top in _tops(chapter, f).items() if top in reached}
                changed.add(f[:-3])
                todo.remove(f)
                progress = True
    return tuple(e for e in every if e in affected) or every


def _merge(variant: SubmissionResult, reference: SubmissionResult, only: tuple[str, ...]) -> SubmissionResult:
    """The variant's results on ``only``, the reference's (same run, same code) elsewhere."""
    mine = {(c.exercise, c.name): c for c in variant.results}
    merged = tuple(mine.get((c.exercise, c.name), c) if c.exercise in only else c for c in reference.results)
    return replace(variant, results=merged)


def _judge_bug(r: SubmissionResult, v: Variant) -> Row:
    per = {e.name: e for e in r.exercises()}
    own = per.get(v.exercise)
    others = [e for e in per.values() if e.name != v.exercise and e.name not in v.also and e.score < e.max_score]
    if own is None:
        return Row(v.name, v.kind, v.exercise, False, "no check of this exercise ran")
    if v.kind == "bug":
        caught = own.score < own.max_score
        ok = caught and not others
        lost = [c.name for c in r.results if c.exercise == v.exercise and c.score < c.max_score]
        detail = (f"{round(own.score, 2):g}/{own.max_score:g}; caught by {', '.join(lost)}" if caught
                  else "NOT CAUGHT: full marks")
    else:
        ok = r.score == r.max_score
        detail = "full marks" if ok else "; ".join(f"{c.exercise}:{c.name} {c.outcome.value}: {c.message[:120]}"
                                                   for c in r.results if c.score < c.max_score)
    if others:
        detail += "; ALSO COSTS " + ", ".join(f"{e.name} ({e.score:g}/{e.max_score:g})" for e in others)
    return Row(v.name, v.kind, v.exercise, ok, detail)


def validate(course: Path, chapter: courses.Chapter, *, seed: int, jobs: int = 1, mode: str,
             device: str = "cpu", on_result=None, select=None) -> ValidationReport:
    """``select``: a function from the zoo's variants to those to grade (all by default; the
    zoo's coverage is judged on the whole zoo either way)."""
    course = Path(course)
    rows: list[Row] = []
    stale = [g.path.name for g in generated_files(course, chapter) if g.stale()]
    rows.append(Row("stubs up to date", "build", "", not stale,
                    "generated files match the reference" if not stale
                    else f"stale: {', '.join(stale)} (run leedl build)"))
    zoo = load_zoo(course, chapter)
    ref_dir = courses.reference_dir(course, chapter)
    suite = Suite(course=str(course), chapter=chapter.name, kinds=("public", "hidden"))
    options = JudgeOptions(mode=mode, device=device)
    with tempfile.TemporaryDirectory(prefix="leedl-validate-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(ref_dir, tmp / "reference", ignore=shutil.ignore_patterns(*courses.NOT_REFERENCE))
        (tmp / "stubs").mkdir()
        for g in generated_files(course, chapter):
            if g.path.parent == chapter.root:
                # One comment line more than the released stub: the judge recognises an unchanged
                # stub and never runs it; validation must run the stubs to prove they score nothing.
                (tmp / "stubs" / g.path.name).write_text(g.text + "# validated\n", encoding="utf-8")
        variants = {}
        for v in (zoo if select is None else select(zoo)):
            student = f"{'bug' if v.kind == 'bug' else 'alt'}-{v.name}"
            try:
                apply_variant(ref_dir, tmp / student, v)
            except ValueError as exc:
                rows.append(Row(v.name, v.kind, v.exercise, False, str(exc)))
                continue
            variants[student] = v
        scopes = {s: scope(ref_dir, chapter, v) for s, v in variants.items()}
        subs = [Submission("reference", tmp / "reference"), Submission("stubs", tmp / "stubs")]
        subs += [Submission(s, tmp / s, only=scopes[s]) for s in variants]
        graded = {r.student: r for r in grade_many(suite, subs, None, options, seed=seed, jobs=jobs,
                                                   force=True, on_result=on_result)}
    ref = graded["reference"]
    for s in variants:
        graded[s] = _merge(graded[s], ref, scopes[s])
    bad = [f"{c.exercise}:{c.name} {c.outcome.value}: {c.message[:160]}" for c in ref.results if c.score < c.max_score]
    rows.insert(0, Row("reference", "reference", "", not bad,
                       f"{ref.score:g}/{ref.max_score:g}" + ("" if not bad else "; " + "; ".join(bad))))
    stubs = graded["stubs"]
    scoring = [f"{c.exercise}:{c.name}" for c in stubs.results if c.score > 0]
    rows.insert(1, Row("stubs", "stubs", "", stubs.score == 0,
                       f"{stubs.score:g}/{stubs.max_score:g}"
                       + ("" if not scoring else "; scores on " + ", ".join(scoring))))
    for student, v in variants.items():
        rows.append(_judge_bug(graded[student], v))
    rows += rules.check(course, chapter, zoo)  # the authoring rules, each stated with its fix
    return ValidationReport(chapter.name, seed, tuple(rows))
