"""Enforce "must not call": a static check of the submission's source.

For each file with a ``forbidden`` list (chapter.toml), the file and every sibling it imports
(an alias through a sibling must not hide a call) are parsed, import aliases are followed
(``import torch.nn.functional as F`` makes ``F.conv2d`` read ``torch.nn.functional.conv2d``),
and each reference to a forbidden name is a hit. In such a file, dynamic access that could hide
a call is a hit too: ``getattr`` with a computed name, ``importlib``, ``eval``/``exec``/
``compile``, ``__import__``, ``torch.ops``, ``torch._C``, ``gc``, frame inspection, ``ctypes``.
The run-time half (tracing dispatched torch ops) is in :mod:`leedl_grader.drivers`.
"""

from __future__ import annotations

import ast
from pathlib import Path

DYNAMIC_MODULES = ("importlib", "gc", "ctypes", "inspect", "builtins", "marshal", "pickle", "types", "code",
                   "codeop", "runpy", "imp", "pkgutil", "dis")
DYNAMIC_NAMES = {"eval": "eval()", "exec": "exec()", "compile": "compile()", "__import__": "__import__()",
                 "globals": "globals()", "vars": "vars()", "locals": "locals()", "__builtins__": "__builtins__",
                 "breakpoint": "breakpoint()"}
DYNAMIC_PREFIXES = ("torch.ops", "torch._C", "torch._ops", "torch.library", "sys._getframe", "sys.modules",
                    "torch._dynamo", "torch.utils.cpp_extension")
FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame",
               "__globals__", "__subclasses__", "__builtins__", "__code__", "__closure__", "__dict__",
               "__getattribute__", "__loader__", "__spec__"}


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        base = aliases.get(node.id)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])
    return None


def _matches(name: str, banned: str) -> bool:
    return name == banned or name.startswith(banned + ".")


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: str, forbidden: tuple[str, ...]):
        self.file = file
        self.forbidden = forbidden
        self.aliases: dict[str, str] = {}
        self.hits: list[tuple[int, str]] = []
        self.siblings: set[str] = set()

    def hit(self, node: ast.AST, what: str) -> None:
        self.hits.append((getattr(node, "lineno", 0), what))

    def _check_name(self, node: ast.AST, name: str) -> None:
        for banned in self.forbidden:
            if _matches(name, banned):
                self.hit(node, f"uses {name}")
                return
        for prefix in DYNAMIC_PREFIXES:
            if _matches(name, prefix):
                self.hit(node, f"uses {name} (dynamic access that could hide a forbidden call)")
                return
        root = name.split(".", 1)[0]
        if root in DYNAMIC_MODULES:
            self.hit(node, f"uses {name} (dynamic access that could hide a forbidden call)")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._check_name(node, a.name)
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                self.aliases[a.name.split(".")[0]] = a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # a sibling of the submission
            if node.module:
                self.siblings.add(node.module.split(".")[0])
            else:
                self.siblings.update(a.name for a in node.names)
            return
        mod = node.module or ""
        for a in node.names:
            full = f"{mod}.{a.name}"
            if a.name == "*":
                self._check_name(node, mod)
                continue
            self._check_name(node, full)
            self.aliases[a.asname or a.name] = full

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FRAME_ATTRS:
            self.hit(node, f"uses .{node.attr} (introspection that could hide a forbidden call)")
        name = _dotted(node, self.aliases)
        if name is not None:
            self._check_name(node, name)
            return  # the whole chain is judged; do not re-judge its prefixes
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in DYNAMIC_NAMES and node.id not in self.aliases:
            self.hit(node, f"uses {DYNAMIC_NAMES[node.id]} (dynamic access that could hide a forbidden call)")
        elif node.id in self.aliases:
            self._check_name(node, self.aliases[node.id])

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr", "hasattr"):
            if len(node.args) < 2 or not (isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                self.hit(node, f"calls {func.id} with a computed name (dynamic access that could hide a forbidden call)")
            elif len(node.args) >= 2:
                base = _dotted(node.args[0], self.aliases)
                if base is not None:
                    self._check_name(node, f"{base}.{node.args[1].value}")
        self.generic_visit(node)


def scan_file(path: Path, forbidden: tuple[str, ...]) -> tuple[list[tuple[int, str]], set[str]]:
    """Hits ``(line, what)`` and the sibling modules the file imports."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=path.name)
    except (SyntaxError, ValueError):
        return [], set()  # the import step reports syntax errors
    s = _Scanner(path.name, forbidden)
    s.visit(tree)
    return sorted(set(s.hits)), s.siblings


def scan(chapter, src: Path, present: list[str]) -> dict[str, str]:
    """``{file: message}`` for each file of the chapter whose exercises call something forbidden."""
    out: dict[str, str] = {}
    by_file = {e.file: e.forbidden for e in chapter.exercises}
    for file in present:
        banned = by_file.get(file, ())
        if not banned:
            continue
        todo, seen = [file], set()
        while todo:
            f = todo.pop()
            if f in seen or not (src / f).is_file() or (src / f).is_symlink():
                continue
            seen.add(f)
            hits, siblings = scan_file(src / f, banned)
            if hits:
                line, what = hits[0]
                via = "" if f == file else f" (through {f}, which {file} imports)"
                more = f"; {len(hits) - 1} more" if len(hits) > 1 else ""
                out[file] = f"forbidden: {f} line {line} {what}{via}{more}. This file's exercises must not use it."
                break
            todo.extend(f"{m}.py" for m in siblings)
    return out
