"""The syntax-tree walk behind the static scan: one pass over one file, collecting hits (a forbidden
name, a dynamic access that could hide one, tampering with the grader) and the siblings it imports.
The rules it applies are listed in :mod:`.banned`."""

from __future__ import annotations

import ast
import types

from .banned import (
    DYNAMIC_CALLS,
    DYNAMIC_MODULES,
    DYNAMIC_NAMES,
    DYNAMIC_PREFIXES,
    DYNAMIC_STARTS,
    FRAME_ATTRS,
    HOOK_DEFS,
    PRIVATE_ALLOWED,
    TAMPER_ATTRS,
    TAMPER_BUILTINS,
    TAMPER_MODULES,
    TAMPER_NAMES,
)
from .names import MISSING, banned_objects, dotted, lookup, matches


class Scanner(ast.NodeVisitor):
    def __init__(self, file: str, forbidden: tuple[str, ...], package: str = "", banned_ids=None):
        self.file = file
        self.forbidden = forbidden
        self.package = package
        self.banned_ids = banned_ids if banned_ids is not None else banned_objects(forbidden)
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
        if name.split(".", 1)[0] in TAMPER_MODULES or any(matches(name, t) for t in TAMPER_NAMES):
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
        return dotted(value, self.aliases) is not None

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
        base = dotted(target.value, self.aliases)
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
        name = dotted(node.value, self.aliases)
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
            if matches(name, banned):
                self.hit(node, f"uses {name}")
                return
        for prefix in DYNAMIC_PREFIXES:
            if matches(name, prefix) or (prefix.endswith("._") and name.startswith(prefix)):
                if name not in PRIVATE_ALLOWED:
                    self.hit(node, f"uses {name} (dynamic access that could hide a forbidden call)")
                    return
        if name.startswith(DYNAMIC_STARTS) or name.split(".", 1)[0] in DYNAMIC_MODULES:
            self.hit(node, f"uses {name} (dynamic access that could hide a forbidden call)")
            return
        if self.banned_ids and "." in name:
            obj = lookup(name)
            if obj is not MISSING and id(obj) in self.banned_ids:
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
        module = lookup(mod)
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
        elif node.attr == "__dict__" and dotted(node.value, self.aliases) is not None:
            self.hit(node, "uses the __dict__ of an imported module or class (no submission file may change it)")
        name = dotted(node, self.aliases)
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
            if dotted(node.args[0], self.aliases) is None:
                self._vars_ok.add(id(func))  # vars(self), vars(args): the file's own objects
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            base = dotted(node.args[0], self.aliases)
            if base is not None:
                self.hit(node, f"calls {func.id} on {base} (no submission file may change an imported module or class)")
            elif len(node.args) >= 3 and self._code_like(node.args[2]) and not (
                    isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls")):
                self.hit(node, f"puts a function, class or module in an attribute with {func.id}")
        if not self.strict and isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS:
            self._called.add(id(func))
            arg = node.args[1] if len(node.args) >= 2 else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                base = dotted(node.args[0], self.aliases) if node.args else None
                if base is not None:
                    self.hit(node, f"calls {func.id} on {base} with a computed name (it could reach anything)")
            elif node.args:
                base = dotted(node.args[0], self.aliases)
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
                base = dotted(node.args[0], self.aliases)
                if base is not None:
                    self._check_name(node, f"{base}.{node.args[1].value}")
                elif node.args[1].value in self.methods:
                    self.hit(node, f"uses .{node.args[1].value} (torch.Tensor.{node.args[1].value} must not be used)")
        self.generic_visit(node)
