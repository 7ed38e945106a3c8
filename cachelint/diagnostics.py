"""What a rule reports: a diagnostic, maybe with a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

Safety = Literal["safe", "unsafe"]


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions (1-based lines, 0-based columns)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass
class Fix:
    title: str
    safety: Safety
    replacements: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    imports: list[tuple[str, str]] = field(default_factory=list)  # (module, name)
    edits: list[Edit] = field(default_factory=list)  # filled in by the engine


@dataclass
class Diagnostic:
    code: str
    name: str
    message: str
    node: cst.CSTNode | None = None
    fix: Fix | None = None
    path: str = ""
    line: int = 0  # 1-based
    column: int = 0  # 0-based, like flake8 plugins yield
    end_line: int = 0
    end_column: int = 0

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


@dataclass
class FileError:
    path: str
    message: str
