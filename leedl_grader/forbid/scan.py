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
The run-time half (tracing dispatched torch ops) is in :mod:`leedl_grader.drivers`.
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
import types
from pathlib import Path

DYNAMIC_MODULES = ("importlib", "gc", "ctypes", "inspect", "builtins", "marshal", "pickle", "types", "code",
                   "codeop", "runpy", "imp", "pkgutil", "dis", "traceback", "leedl_grader", "subprocess",
                   "multiprocessing", "threading", "_thread", "concurrent", "pty", "_ctypes", "cffi")
DYNAMIC_NAMES = {"eval": "eval()", "exec": "exec()", "compile": "compile()", "__import__": "__import__()",
                 "globals": "globals()", "vars": "vars()", "locals": "locals()", "__builtins__": "__builtins__",
                 "breakpoint": "breakpoint()"}
# Ways to reach an op or the grader's machinery without naming it: private torch namespaces
# (``torch._C._nn.softplus`` is ``F.softplus``), the dispatcher and its modes (which could
# switch the run-time tracer off), compilers that run code outside it, other processes/threads.
DYNAMIC_PREFIXES = ("torch.ops", "torch._", "torch.library", "torch.utils._python_dispatch", "torch.overrides",
                    "torch.utils.cpp_extension", "torch.jit", "torch.compile", "torch.export", "torch.fx",
                    "torch.hub", "torch.package", "torch.multiprocessing", "sys._getframe", "sys.modules",
                    "sys.settrace", "sys.setprofile", "sys._current_frames", "operator.attrgetter",
                    "operator.methodcaller", "numpy.ctypeslib")
DYNAMIC_STARTS = ("os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.system", "os.popen")
PRIVATE_ALLOWED = {"torch._assert"}
FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
               "__globals__", "__subclasses__", "__builtins__", "__code__", "__closure__", "__dict__",
               "__getattribute__", "__getattr__", "__loader__", "__spec__", "__self__", "__wrapped__",
               "__reduce__", "__reduce_ex__"}
HOOK_DEFS = {"__torch_dispatch__", "__torch_function__"}
DYNAMIC_CALLS = ("getattr", "setattr", "delattr", "hasattr")
# Every file, with or without a must-not-call list: nothing may reach the grader's modules, the
# import machinery, the builtins or other frames (from there any module or function can be
# replaced), nor put a function, class or module in place of an attribute of an imported module
# or class. Plain settings stay legal: ``torch.backends.cudnn.deterministic = True``,
# ``os.environ[k] = v``, ``plt.rcParams[k] = v``, calls such as ``torch.manual_seed(0)``.
TAMPER_MODULES = ("leedl_grader", "builtins", "importlib", "gc", "inspect", "ctypes", "_ctypes", "imp", "runpy",
                  "pkgutil", "zipimport", "marshal", "types", "code", "codeop")
TAMPER_NAMES = ("sys.modules", "sys._getframe", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache",
                "sys.settrace", "sys.setprofile", "sys._current_frames", "sys.addaudithook")
TAMPER_BUILTINS = {"eval": "eval()", "exec": "exec()", "compile": "compile()", "__import__": "__import__()",
                   "__builtins__": "__builtins__", "breakpoint": "breakpoint()"}
TAMPER_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
                "__globals__", "__subclasses__", "__builtins__", "__code__", "__closure__", "__loader__", "__spec__",
                "__import__"}
_MISSING = object()


def _lookup(name: str):
    """The object a dotted name denotes in this process, found without importing or running
    anything (module and class dictionaries only); ``_MISSING`` when that is not possible."""
    parts = name.split(".")
    obj = sys.modules.get(parts[0], _MISSING)
    for i, part in enumerate(parts[1:], 1):
        if obj is _MISSING:
            return _MISSING
        if isinstance(obj, types.ModuleType):
            nxt = vars(obj).get(part, _MISSING)
            if nxt is _MISSING:
                nxt = sys.modules.get(".".join(parts[: i + 1]), _MISSING)
            obj = nxt
        elif isinstance(obj, type):
            obj = next((vars(k)[part] for k in obj.__mro__ if part in vars(k)), _MISSING)
        else:
            return _MISSING
    return obj


@functools.lru_cache(maxsize=64)  # the same few lists for every submission of a chapter
def _banned_objects(forbidden: tuple[str, ...]) -> dict[int, str]:
    """``{id(object): banned name}``: what the banned names denote, so that another path to the
    same routine (``torch.nn.modules.activation.F.softplus``) is a hit too. A banned module
    stands for the routines defined in it."""
    out: dict[int, str] = {}
    for name in forbidden:
        parts = name.split(".")
        for i in range(len(parts), 0, -1):  # the course's own names: safe to import
            try:
                importlib.import_module(".".join(parts[:i]))
                break
            except Exception:  # noqa: BLE001 - not a module: try the parent
                continue
        obj = _lookup(name)
        if obj is _MISSING:
            continue
        out[id(obj)] = name
        if isinstance(obj, types.ModuleType):
            for attr, v in vars(obj).items():
                if not attr.startswith("_") and str(getattr(v, "__module__", "")).startswith(name):
                    out.setdefault(id(v), f"{name}.{attr}")
    return out


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            parts.append(node.args[1].value)  # getattr(F, "softplus") reads F.softplus
            node = node.args[0]
        else:
            break
    if isinstance(node, ast.Name):
        base = aliases.get(node.id)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])
    return None


def _matches(name: str, banned: str) -> bool:
    return name == banned or name.startswith(banned + ".")


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: str, forbidden: tuple[str, ...], package: str = "", banned_ids=None):
        self.file = file
        self.forbidden = forbidden
        self.package = package
        self.banned_ids = banned_ids if banned_ids is not None else _banned_objects(forbidden)
        # "torch.Tensor.softmax" forbids x.softmax(...) on anything that is not the student's own
        self.methods = {b.rsplit(".", 1)[1] for b in forbidden if b.startswith("torch.Tensor.")}
        self.aliases: dict[str, str] = {}
        self.hits: list[tuple[int, str]] = []
        self.siblings: set[str] = set()
        self._called: set[int] = set()
        # The dynamic-access rules guard a must-not-call list; the tamper rules hold everywhere.
        self.strict = bool(forbidden)
        self._vars_ok: set[int] = set()
        self.local_defs: set[str] = set()  # functions and classes the file defines (top level or nested)

    def hit(self, node: ast.AST, what: str) -> None:
        self.hits.append((getattr(node, "lineno", 0), what))

    def visit_Module(self, node: ast.Module) -> None:
        self.local_defs = {n.name for n in ast.walk(node)
                           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.generic_visit(node)

    def _tamper(self, node: ast.AST, name: str) -> bool:
        """A hit for names that reach the grader, the import machinery or other frames."""
        if name.split(".", 1)[0] in TAMPER_MODULES or any(_matches(name, t) for t in TAMPER_NAMES):
            self.hit(node, f"uses {name} (no submission file may reach the grader, the imported modules or "
                           "other frames)")
            return True
        return False

    def _plain(self, value: ast.AST) -> bool:
        """A plain setting: a literal, or a container or negation of literals."""
        if isinstance(value, ast.Constant):
            return True
        if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
            return all(self._plain(v) for v in value.elts)
        if isinstance(value, ast.Dict):
            return all(k is None or self._plain(k) for k in value.keys) and all(self._plain(v) for v in value.values)
        if isinstance(value, ast.UnaryOp):
            return self._plain(value.operand)
        return False

    def _code_like(self, value: ast.AST) -> bool:
        """A function, class or module: a lambda, a def/class of this file, or an imported name."""
        if isinstance(value, ast.Lambda):
            return True
        if isinstance(value, ast.Name) and value.id in self.local_defs:
            return True
        return _dotted(value, self.aliases) is not None

    def _check_store(self, node: ast.AST, target: ast.AST, value: ast.AST | None) -> None:
        """Assignment (or deletion) of an attribute: not into an imported module or class unless it is a
        plain setting, and no function, class or module onto anything but the file's own objects."""
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._check_store(node, t, None)
            return
        if isinstance(target, ast.Starred):
            self._check_store(node, target.value, None)
            return
        if not isinstance(target, ast.Attribute):
            return
        base = _dotted(target.value, self.aliases)
        where = f"{base}.{target.attr}" if base else f".{target.attr}"
        if base is not None and (value is None or not self._plain(value)):
            self.hit(node, f"assigns to {where}, an attribute of an imported module or class (only plain settings "
                           "such as True or a number may be set there)")
        elif (value is not None and self._code_like(value)
              and not (isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"))):
            self.hit(node, f"puts a function, class or module in {where} (only self.<name> may hold one)")

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._check_store(node, t, node.value)
        self.generic_visit(node)
        name = _dotted(node.value, self.aliases)
        for t in node.targets:
            if isinstance(t, ast.Name) and name is not None:
                self.aliases[t.id] = name  # m = F; m.softplus(x)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_store(node, node.target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._check_store(node, node.target, node.value)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._check_store(node, t, None)
        self.generic_visit(node)

    def _check_name(self, node: ast.AST, name: str) -> None:
        n = len(self.hits)
        if self.strict:
            self._check_forbidden(node, name)
        if len(self.hits) == n:
            self._tamper(node, name)

    def _check_forbidden(self, node: ast.AST, name: str) -> None:
        for banned in self.forbidden:
            if _matches(name, banned):
                self.hit(node, f"uses {name}")
                return
        for prefix in DYNAMIC_PREFIXES:
            if _matches(name, prefix) or (prefix.endswith("._") and name.startswith(prefix)):
                if name not in PRIVATE_ALLOWED:
                    self.hit(node, f"uses {name} (dynamic access that could hide a forbidden call)")
                    return
        if name.startswith(DYNAMIC_STARTS) or name.split(".", 1)[0] in DYNAMIC_MODULES:
            self.hit(node, f"uses {name} (dynamic access that could hide a forbidden call)")
            return
        if self.banned_ids and "." in name:
            obj = _lookup(name)
            if obj is not _MISSING and id(obj) in self.banned_ids:
                self.hit(node, f"uses {name}, which is {self.banned_ids[id(obj)]}")

    def _sibling(self, module: str) -> str | None:
        if self.package and (module == self.package or module.startswith(self.package + ".")):
            return module[len(self.package) + 1:].split(".")[0] or None
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            sib = self._sibling(a.name)
            if sib:
                self.siblings.add(sib)
                continue
            self._check_name(node, a.name)
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                self.aliases[a.name.split(".")[0]] = a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level or (self.package and mod == self.package):  # from .util import x / from . import util
            if node.level and mod:
                self.siblings.add(mod.split(".")[0])
            else:
                self.siblings.update(a.name for a in node.names if a.name != "*")
            return
        sib = self._sibling(mod)  # from <package>.util import x
        if sib:
            self.siblings.add(sib)
            return
        for a in node.names:
            if a.name == "*":
                self._check_name(node, mod)
                self._check_star(node, mod)
                continue
            full = f"{mod}.{a.name}"
            self._check_name(node, full)
            self.aliases[a.asname or a.name] = full

    def _check_star(self, node: ast.AST, mod: str) -> None:
        module = _lookup(mod)
        if isinstance(module, types.ModuleType):
            for attr, v in vars(module).items():
                if not attr.startswith("_") and id(v) in self.banned_ids:
                    self.hit(node, f"imports * from {mod}, which brings in {self.banned_ids[id(v)]}")
                    return

    def visit_FunctionDef(self, node) -> None:
        if node.name in HOOK_DEFS:
            self.hit(node, f"defines {node.name} (it could hide the ops the code runs)")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FRAME_ATTRS and self.strict:
            self.hit(node, f"uses .{node.attr} (introspection that could hide a forbidden call)")
        elif node.attr in TAMPER_ATTRS:
            self.hit(node, f"uses .{node.attr} (no submission file may reach other frames or modules through it)")
        elif node.attr == "__dict__" and _dotted(node.value, self.aliases) is not None:
            self.hit(node, "uses the __dict__ of an imported module or class (no submission file may change it)")
        name = _dotted(node, self.aliases)
        if name is not None:
            self._check_name(node, name)
            return  # the whole chain is judged; do not re-judge its prefixes
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        if self.strict and node.attr in self.methods and not own:
            self.hit(node, f"uses .{node.attr} (torch.Tensor.{node.attr} must not be used)")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if not self.strict and node.id in TAMPER_BUILTINS and node.id not in self.aliases:
            self.hit(node, f"uses {TAMPER_BUILTINS[node.id]} (it can reach the grader and the imported modules)")
        elif node.id == "vars" and node.id not in self.aliases and not self.strict:
            if id(node) in self._vars_ok:
                return
            self.hit(node, "uses vars() of an imported module or class (no submission file may change it)")
        elif not self.strict and node.id in ("setattr", "delattr") and id(node) not in self._called \
                and node.id not in self.aliases:
            self.hit(node, f"passes {node.id} around (it could change an imported module)")
        elif not self.strict:
            if node.id in self.aliases:
                self._check_name(node, self.aliases[node.id])
        elif node.id in DYNAMIC_NAMES and node.id not in self.aliases:
            self.hit(node, f"uses {DYNAMIC_NAMES[node.id]} (dynamic access that could hide a forbidden call)")
        elif node.id in DYNAMIC_CALLS and id(node) not in self._called and node.id not in self.aliases:
            self.hit(node, f"passes {node.id} around (dynamic access that could hide a forbidden call)")
        elif node.id in self.aliases:
            self._check_name(node, self.aliases[node.id])

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "vars" and node.args:
            if _dotted(node.args[0], self.aliases) is None:
                self._vars_ok.add(id(func))  # vars(self), vars(args): the file's own objects
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            base = _dotted(node.args[0], self.aliases)
            if base is not None:
                self.hit(node, f"calls {func.id} on {base} (no submission file may change an imported module or class)")
            elif len(node.args) >= 3 and self._code_like(node.args[2]) and not (
                    isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls")):
                self.hit(node, f"puts a function, class or module in an attribute with {func.id}")
        if not self.strict and isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS:
            self._called.add(id(func))
            arg = node.args[1] if len(node.args) >= 2 else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                base = _dotted(node.args[0], self.aliases) if node.args else None
                if base is not None:
                    self.hit(node, f"calls {func.id} on {base} with a computed name (it could reach anything)")
            elif node.args:
                base = _dotted(node.args[0], self.aliases)
                if base is not None:
                    self._check_name(node, f"{base}.{arg.value}")
            self.generic_visit(node)
            return
        if isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS:
            self._called.add(id(func))
            arg = node.args[1] if len(node.args) >= 2 else None
            const = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            if not const:
                self.hit(node, f"calls {func.id} with a computed name (dynamic access that could hide a call)")
            else:
                base = _dotted(node.args[0], self.aliases)
                if base is not None:
                    self._check_name(node, f"{base}.{node.args[1].value}")
                elif node.args[1].value in self.methods:
                    self.hit(node, f"uses .{node.args[1].value} (torch.Tensor.{node.args[1].value} must not be used)")
        self.generic_visit(node)


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
        s = _Scanner(f, (), package)
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
    first = _Scanner(path.name, (), package, {})
    first.visit(tree)
    s = _Scanner(path.name, forbidden, package, banned_ids)
    s.aliases = dict(first.aliases)
    s.visit(tree)
    return sorted(set(s.hits)), s.siblings


def _first_hit(src: Path, start: str, banned, package: str, banned_ids, skip: tuple[str, ...] = ()):
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
        found = _first_hit(src, file, banned, chapter.name, _banned_objects(banned))
        if found:
            f, hits = found
            line, what = hits[0]
            via = "" if f == file else f" (through {f}, which {file} imports)"
            more = f"; {len(hits) - 1} more" if len(hits) > 1 else ""
            out[file] = f"forbidden: {f} line {line} {what}{via}{more}. This file's exercises must not use it."
    return out


# --- which exercises a hit belongs to -----------------------------------------------------------
# A hit costs the exercises that can reach it: the top-level statement that defines the exercise,
# and every top-level statement whose names it uses, transitively (helpers, module-level aliases,
# imports). A hit in a statement that binds no name (top-level code) costs every exercise.


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


def _mere_import(tree: ast.Module, line: int) -> bool:
    """A hit on an import statement that only binds names: every use of those names is a hit of its
    own, where it is used (``import *`` is the exception: its names cannot be followed)."""
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return all(a.name != "*" for a in node.names)
    return False


def _relative_imports(tree: ast.Module) -> dict[str, list[int]]:
    """Sibling module -> lines of the top-level statements that import it relatively."""
    out: dict[str, list[int]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            mods = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            for m in mods:
                out.setdefault(m, []).append(node.lineno)
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
        banned_ids = _banned_objects(banned)
        try:
            tree = parse(src / file)
        except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
            continue  # the file's exercises get parse_error's message
        hits, siblings = scan_file(src / file, banned, chapter.name, banned_ids)
        what = {h[0]: f"{file} line {h[0]} {h[1]}" for h in hits}
        lines = [line for line, _ in hits if not _mere_import(tree, line)]
        imports = _relative_imports(tree)
        for first in sorted(siblings):  # a hit anywhere behind a sibling costs what imports that sibling
            found = _first_hit(src, f"{first}.py", banned, chapter.name, banned_ids, skip=(file,))
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
