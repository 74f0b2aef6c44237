"""The authoring rules a chapter must meet, each stated with its fix.

``leedl validate`` checks every rule here before it grades anything, and ``docs/authoring.md``
lists them in the same words. Each rule is a pure function of the course tree; a broken rule is
a :class:`validate.Row` that says what is wrong and what to do about it. A *convention* (a public
check per exercise, hidden points totalling 100) is reported as a warning: the grades stay right
without it, and a chapter may have its reasons (a training exercise whose public check would
train for a minute), which the warning leaves to its author.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from . import chapters as courses
from .markers import BEGIN, MarkerError, clear_solutions


@dataclass(frozen=True)
class Rule:
    key: str
    statement: str  # what must hold, in one sentence
    fix: str  # what to do when it does not ("{short}", "{name}" are filled in)
    warning: bool = False  # a convention: reported, never a failure


RULES = (
    Rule("exercises-exist", "every exercise FILE.NAME of chapter.toml is a top-level function or class of "
         "solutions/{name}/FILE.py, under the name the course's exercise list fixes",
         "define it in the reference, or correct the name in chapter.toml"),
    Rule("markers", "every reference module but __init__.py has a # BEGIN SOLUTION / # END SOLUTION region, "
         "and clearing them leaves valid Python",
         "wrap each solution in the markers (see Markers); a function body becomes raise NotImplementedError"),
    Rule("public-check", "every exercise has at least one public check (assignments/{name}/public/test_*.py), "
         "so that `leedl check` tells a student something about it",
         "add a @check(\"FILE.NAME\", points=...) function to a public test module", warning=True),
    Rule("hidden-check", "every exercise has at least one hidden check (assignments/{name}/hidden/test_*.py)",
         "add a @check(\"FILE.NAME\", points=...) function to a hidden test module"),
    Rule("zoo-coverage", "every exercise has at least two bugs and one correct alternative in the bug zoo "
         "(solutions/{name}/zoo.toml)",
         "add [[variant]] entries with kind = \"bug\" / \"alternative\" (see The bug zoo)"),
    Rule("zoo-well-formed", "every zoo variant names an exercise of the chapter and that exercise's file, each "
         "`old` text occurs exactly once in the reference file, and the variant still compiles",
         "correct the variant's exercise/file, or make `old` longer until it is unique"),
    Rule("hidden-points-100", "the hidden checks' points total 100, so that chapters weigh alike in a gradebook",
         "scale the points= of the hidden checks", warning=True),
)
BY_KEY = {r.key: r for r in RULES}


def _row(rule: Rule, chapter: courses.Chapter, ok: bool, detail: str, exercise: str = ""):
    """A row: the rule as stated where it holds; what is wrong and the fix where it does not."""
    from .validate import Row

    statement = rule.statement.format(name=chapter.name, short=chapter.short)
    fix = rule.fix.format(name=chapter.name, short=chapter.short)
    text = statement if ok else f"{detail or statement}; fix: {fix}"
    if not ok and rule.warning:
        return Row(f"rule {rule.key}", "rule", exercise, True, f"warning: {text}")
    return Row(f"rule {rule.key}", "rule", exercise, ok, text)


def check(course: Path, chapter: courses.Chapter, zoo=None) -> list:
    """One :class:`validate.Row` per rule (per exercise where a rule is broken for several)."""
    from .validate import load_zoo, variant_text

    course = Path(course)
    ref_dir = courses.reference_dir(course, chapter)
    rows = []
    names = [e.name for e in chapter.exercises]

    # exercises-exist
    missing = []
    for e in chapter.exercises:
        top = e.name.split(".", 1)[1].split(".")[0]
        try:
            tree = ast.parse((ref_dir / e.file).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            missing.append(e.name)
            continue
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        if top not in defined:
            missing.append(e.name)
    rows.append(_row(BY_KEY["exercises-exist"], chapter, not missing,
                     f"not in the reference: {', '.join(missing)}" if missing else ""))

    # markers
    bad = []
    for src in courses.reference_files(course, chapter):
        if src.name == "__init__.py":
            continue
        text = src.read_text(encoding="utf-8")
        try:
            ok = BEGIN in text and bool(ast.parse(clear_solutions(text, module=src.stem)))
        except (MarkerError, SyntaxError, ValueError) as exc:
            bad.append(f"{src.name} ({exc})")
            continue
        if not ok:
            bad.append(f"{src.name} (no solution region)")
    rows.append(_row(BY_KEY["markers"], chapter, not bad, f"broken: {'; '.join(bad)}" if bad else ""))

    # public-check, hidden-check, hidden-points-100
    hidden_total = 0.0
    for kind in ("public", "hidden"):
        checks = courses.load_suite(chapter, kind)
        have = {c.exercise for c in checks}
        lacking = [n for n in names if n not in have]
        rows.append(_row(BY_KEY[f"{kind}-check"], chapter, not lacking,
                         f"no {kind} check: {', '.join(lacking)}" if lacking else ""))
        if kind == "hidden":
            hidden_total = sum(c.points for c in checks)
    ok = abs(hidden_total - 100) < 1e-6
    rows.append(_row(BY_KEY["hidden-points-100"], chapter, ok,
                     "" if ok else f"the hidden checks' points total {hidden_total:g}"))

    # zoo-coverage, zoo-well-formed
    zoo = load_zoo(course, chapter) if zoo is None else zoo
    short = []
    for ex in names:
        bugs = sum(1 for v in zoo if v.exercise == ex and v.kind == "bug")
        alts = sum(1 for v in zoo if v.exercise == ex and v.kind == "alternative")
        if bugs < 2 or alts < 1:
            short.append(f"{ex} ({bugs} bugs, {alts} alternatives)")
    rows.append(_row(BY_KEY["zoo-coverage"], chapter, not short, f"short: {', '.join(short)}" if short else ""))
    broken = []
    for v in zoo:
        if v.exercise not in names or v.file != v.exercise.split(".", 1)[0] + ".py" or not set(v.also) <= set(names):
            broken.append(f"{v.name} (exercise {v.exercise!r}, file {v.file!r})")
            continue
        try:
            compile(variant_text(ref_dir, v).encode("utf-8"), v.file, "exec")
        except (ValueError, SyntaxError, OSError) as exc:
            broken.append(f"{v.name} ({exc})")
    if len({v.name for v in zoo}) != len(zoo):
        broken.append("two variants share a name")
    rows.append(_row(BY_KEY["zoo-well-formed"], chapter, not broken, f"broken: {'; '.join(broken)}" if broken else ""))
    return rows
