"""Which exercises a hit belongs to.

A hit costs the exercises that can reach it: the top-level statement that defines the exercise,
and every top-level statement whose names it uses, transitively (helpers, module-level aliases,
imports). A hit in a statement that binds no name (top-level code) costs every exercise.
"""

from __future__ import annotations

import ast


def _statements(tree: ast.Module) -> list[tuple[int, int, set[str], set[str]]]:
    """Top-level statements as (first line, last line, names bound, names used)."""
    out = []
    for node in tree.body:
        bound: set[str] = set()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            bound.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        used = _free_names(node)
        out.append((node.lineno, node.end_lineno or node.lineno, bound, used))
    return out


def _free_names(node: ast.AST) -> set[str]:
    """Names ``node`` reads from the module: loads, less each function's parameters and locals
    (a parameter called ``hessian`` is not the module's ``hessian``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
        params |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
        body = node.body if isinstance(node.body, list) else [node.body]
        declared = {n for st in ast.walk(node) if isinstance(st, (ast.Global, ast.Nonlocal)) for n in st.names}
        stored = {n.id for st in body for n in ast.walk(st) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, (ast.Store, ast.Del))} - declared
        inner: set[str] = set()
        for st in body:
            inner |= _free_names(st)
        outer: set[str] = set()  # decorators and defaults are read in the enclosing scope
        for d in [*getattr(node, "decorator_list", []), *a.defaults, *[k for k in a.kw_defaults if k is not None]]:
            outer |= _free_names(d)
        return (inner - params - stored) | outer
    names = {node.id} if isinstance(node, ast.Name) else set()
    for child in ast.iter_child_nodes(node):
        names |= _free_names(child)
    return names


def _runs_at_import(node: ast.stmt, line: int) -> bool:
    """Whether the code at ``line`` of top-level ``node`` runs when the module is imported (then
    its effect reaches every exercise): decorators, defaults, class bodies, top-level code."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any(a.name == "*" for a in node.names)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return line < node.body[0].lineno
    if isinstance(node, ast.ClassDef):
        if line < node.body[0].lineno:
            return True
        for inner in node.body:
            if inner.lineno <= line <= (inner.end_lineno or inner.lineno):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    return _runs_at_import(inner, line)
                return True
    return True


def attribute(tree: ast.Module, hit_lines: list[int], names: list[str]) -> dict[str, int]:
    """``{name: first hit line}`` for each top-level ``name`` that reaches a hit."""
    stmts = _statements(tree)
    binders: dict[str, list[int]] = {}
    for i, (_, _, bound, _) in enumerate(stmts):
        for n in bound:
            binders.setdefault(n, []).append(i)
    hit_at: dict[int, int] = {}
    everywhere: list[int] = []
    for line in sorted(hit_lines):
        idx = [i for i, (a, b, _, _) in enumerate(stmts) if a <= line <= b]
        if not idx or _runs_at_import(tree.body[idx[0]], line):
            everywhere.append(line)
        else:
            hit_at.setdefault(idx[0], line)
    # Top-level code that calls something runs it at import, for every exercise.
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    at_import = [i for i, node in enumerate(tree.body)
                 if not isinstance(node, defs) and any(isinstance(n, ast.Call) for n in ast.walk(node))]
    out = {}
    for name in names:
        seen, todo = set(), list(binders.get(name, [])) + at_import
        while todo:
            i = todo.pop()
            if i not in seen:
                seen.add(i)
                for used in stmts[i][3]:
                    todo.extend(binders.get(used, []))
        lines = [hit_at[i] for i in seen if i in hit_at] + everywhere
        if lines:
            out[name] = min(lines)
    return out


def mere_import(tree: ast.Module, line: int) -> bool:
    """A hit on an import statement that only binds names: every use of those names is a hit of its
    own, where it is used (``import *`` is the exception: its names cannot be followed)."""
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return all(a.name != "*" for a in node.names)
    return False


def relative_imports(tree: ast.Module) -> dict[str, list[int]]:
    """Sibling module -> lines of the top-level statements that import it relatively."""
    out: dict[str, list[int]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            mods = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            for m in mods:
                out.setdefault(m, []).append(node.lineno)
    return out
