"""The imports a fix needs: added once, after the module's leading imports."""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodeRange

from cachelint.diagnostics import Edit
from cachelint.names import dotted

_FROM_IMPORT = re.compile(r"^from (?P<module>[\w.]+) import (?P<names>[\w, ]+)(?P<newline>\r?\n)$")


def import_edits(
    module: cst.Module,
    positions: Mapping[cst.CSTNode, CodeRange],
    wanted: list[tuple[str, str]],
) -> list[Edit]:
    """One ``from m import a, b`` insertion per module, for the names not yet imported."""
    imported = _top_level_imports(module)
    by_module: dict[str, list[str]] = {}
    for module_name, name in wanted:
        if (module_name, name) not in imported and name not in by_module.get(module_name, []):
            by_module.setdefault(module_name, []).append(name)
    line = _insertion_line(module, positions)
    newline = module.default_newline
    return [
        Edit(line, 0, line, 0, f"from {module_name} import {', '.join(sorted(names))}{newline}")
        for module_name, names in sorted(by_module.items())
    ]


def merge(edits: list[Edit]) -> list[Edit]:
    """Fold the import insertions of several fixes into one line per module."""
    merged: dict[tuple[int, str, str], set[str]] = {}
    others: list[Edit] = []
    for edit in edits:
        match = _FROM_IMPORT.match(edit.content)
        zero_width = (edit.line, edit.column) == (edit.end_line, edit.end_column)
        if match is None or not zero_width or edit.column != 0:
            others.append(edit)
            continue
        names = {n.strip() for n in match.group("names").split(",") if n.strip()}
        key = (edit.line, match.group("module"), match.group("newline"))
        merged.setdefault(key, set()).update(names)
    for (line, module_name, newline), names in sorted(merged.items()):
        others.append(
            Edit(line, 0, line, 0, f"from {module_name} import {', '.join(sorted(names))}{newline}")
        )
    return others


def _top_level_imports(module: cst.Module) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None \
                    and not small.relative and not isinstance(small.names, cst.ImportStar):
                source = dotted(small.module) or ""
                for alias in small.names:
                    if isinstance(alias.name, cst.Name) and alias.asname is None:
                        found.add((source, alias.name.value))
    return found


def _insertion_line(module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange]) -> int:
    """The line after the leading docstring and imports (``__future__`` included)."""
    last: cst.CSTNode | None = None
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            small = statement.body[0]
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                last = statement
                continue
            if last is None and isinstance(small, cst.Expr) and isinstance(
                small.value, (cst.SimpleString, cst.ConcatenatedString)
            ):
                last = statement  # the docstring
                continue
        break
    return 1 if last is None else positions[last].end.line + 1
