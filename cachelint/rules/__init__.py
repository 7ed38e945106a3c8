"""The rule catalog: one module per rule, discovered automatically.

A rule is a small class: its code, name and message, its documentation (the
class docstring plus tested examples), and ``check``, a pure function of the
module facts.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar

import libcst as cst

from cachelint.config import Config
from cachelint.diagnostics import Diagnostic, Fix
from cachelint.facts import ModuleFacts

DOCS_BASE_URL = "https://github.com/cachelint/cachelint/blob/main/rules/"


@dataclass
class RuleContext:
    module: cst.Module
    facts: ModuleFacts
    config: Config
    path: str


class Rule:
    """Base class. Subclasses set the class attributes and implement ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    # "never", "sometimes" or "always": whether diagnostics carry a fix.
    fixable: ClassVar[str] = "never"
    fix_doc: ClassVar[str] = "No automatic fix."
    options_doc: ClassVar[str] = "None."
    references: ClassVar[tuple[str, ...]] = ()
    # Small examples next to the logic; tests assert INVALID reports and VALID does not.
    INVALID: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[tuple[str, ...]] = ()

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        raise NotImplementedError

    def report(
        self, node: cst.CSTNode, message: str, fix: Fix | None = None,
        no_fix_reason: str | None = None,
    ) -> Diagnostic:
        """A finding; ``no_fix_reason`` (why no fix is offered) ends the message."""
        if no_fix_reason:
            message = f"{message} ({no_fix_reason})"
        return Diagnostic(code=self.code, name=self.name, message=message, node=node, fix=fix)

    @classmethod
    def doc_url(cls) -> str:
        return f"{DOCS_BASE_URL}{cls.code}.md"

    @classmethod
    def page(cls) -> str:
        """The rule's documentation page, in ruff's shape."""
        body = textwrap.dedent(cls.__doc__ or "").strip()
        example = textwrap.dedent(cls.INVALID[0]).strip() if cls.INVALID else ""
        use_instead = textwrap.dedent(cls.VALID[0]).strip() if cls.VALID else ""
        references = "\n".join(f"- {r}" for r in cls.references) or "None."
        return (
            f"# {cls.code} {cls.name}\n\n"
            f"{cls.summary}\n\n"
            f"{body}\n\n"
            f"## Example\n\n```python\n{example}\n```\n\n"
            f"## Use instead\n\n```python\n{use_instead}\n```\n\n"
            f"## Fix\n\n{textwrap.dedent(cls.fix_doc).strip()}\n\n"
            f"## Options\n\n{textwrap.dedent(cls.options_doc).strip()}\n\n"
            f"## References\n\n{references}\n"
        )


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class in ``cachelint.rules.cl*`` modules, sorted by code."""
    found: list[type[Rule]] = []
    package_path = [str(Path(__file__).parent)]
    for info in pkgutil.iter_modules(package_path):
        if not info.name.startswith("cl"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and obj is not Rule and obj.__module__ == module.__name__:
                found.append(obj)
    found.sort(key=lambda r: r.code)
    codes = [r.code for r in found]
    if len(set(codes)) != len(codes):
        raise RuntimeError(f"duplicate rule codes: {codes}")
    return tuple(found)


def all_codes() -> frozenset[str]:
    return frozenset(r.code for r in all_rules())


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper():
            return rule
    return None
