"""Project-wide: key helpers that one module defines and others import.

``shop/keys.py`` defines ``def product_key(pk): return f"product:{pk}"``; a view
refills ``cache.set(product_key(pk), ...)`` and a signal deletes
``cache.delete("product:%s" % pk)``.  Within one file the view's key is only "a call
to ``shop.keys.product_key``"; ``cachelint check DIR`` reads the helper's template
once here so that importers see ``product:{}`` and the two sites pair.  flake8 and
the editor see one file at a time and cannot.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import libcst as cst

from cachelint import keys
from cachelint.config import Config
from cachelint.facts.context import ModuleContext
from cachelint.facts.module import prepass
from cachelint.facts.syntax import KEY_HELPER_WORDS
from cachelint.names import has_word
from cachelint.project_scan import dotted_suffixes, scan

# A module-level ``def user_key(`` / ``def cache_key_for(``: worth parsing the file.
_HELPER_DEF = re.compile(r"^def (\w*(?:key|cache|prefix)\w*)\(", re.MULTILINE | re.IGNORECASE)


def project_key_helpers(files: Iterable[Path]) -> tuple[tuple[str, str], ...]:
    """(dotted name, template) of every module-level key helper, under every dotted
    suffix of at least two parts (``keys.user_key``, ``shop.keys.user_key``)."""
    found: dict[str, str] = {}
    ambiguous: set[str] = set()  # ``keys.user_key`` in two apps, with two templates
    for path, helpers in scan(files, _returns_templates, _module_helpers):
        for name, template in helpers.items():
            for dotted in dotted_suffixes(path, name):
                if found.setdefault(dotted, template) != template:
                    ambiguous.add(dotted)
    return tuple(sorted((k, v) for k, v in found.items() if k not in ambiguous))


def _returns_templates(text: str) -> bool:
    """A cheap ``ast`` look before LibCST: some module-level key-named function returns a
    string built from parts (an f-string, ``%``, ``+``, ``.format()``, another helper)."""
    if not _HELPER_DEF.search(text):
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and _HELPER_DEF.match(f"def {node.name}("):
            last = node.body[-1]
            if isinstance(last, ast.Return) and isinstance(
                last.value, (ast.JoinedStr, ast.BinOp, ast.Call, ast.Constant)
            ):
                return True
    return False


def _module_helpers(text: str, path: str) -> dict[str, str]:
    """Module-level functions named for keys whose one ``return`` is a key template."""
    module = cst.parse_module(text)
    ctx = ModuleContext(module, Config(), path)
    prepass(ctx, module)
    return {
        name: template for name, template in ctx.key_helpers.items()
        if name in ctx.function_nodes and has_word(name, KEY_HELPER_WORDS)
        and keys.pairable(template)
    }
