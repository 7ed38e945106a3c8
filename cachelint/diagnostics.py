"""What a rule reports: a diagnostic, maybe with a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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

    def to_dict(self) -> dict[str, Any]:
        """Plain data (1-based columns); the node replacements stay behind."""
        return {
            "title": self.title,
            "safety": self.safety,
            "edits": [
                {"line": e.line, "column": e.column + 1, "end_line": e.end_line,
                 "end_column": e.end_column + 1, "content": e.content}
                for e in self.edits
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fix:
        return cls(
            title=data["title"],
            safety=data["safety"],
            edits=[Edit(e["line"], e["column"] - 1, e["end_line"], e["end_column"] - 1,
                        e["content"]) for e in data["edits"]],
        )


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
    # Another site the message names ("{related}" becomes its path:line).
    related: cst.CSTNode | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (1-based columns, like the JSON output); no CST nodes."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column + 1,
            "end_line": self.end_line,
            "end_column": self.end_column + 1,
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "fix": None if self.fix is None else self.fix.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        fix = None if data["fix"] is None else Fix.from_dict(data["fix"])
        return cls(
            code=data["code"], name=data["name"], message=data["message"], fix=fix,
            path=data["path"], line=data["line"], column=data["column"] - 1,
            end_line=data["end_line"], end_column=data["end_column"] - 1,
        )


@dataclass
class FileError:
    path: str
    message: str
