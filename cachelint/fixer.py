"""Applying fixes: text edits, re-linted until they converge, written atomically."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from cachelint.config import Config
from cachelint.diagnostics import Diagnostic, Edit
from cachelint.engine import SourceError, analyse_text, decode
from cachelint.fixes import imports
from cachelint.lines import split_lines

MAX_ROUNDS = 8


class FixError(Exception):
    pass


@dataclass
class FixOutcome:
    path: str
    original: str
    fixed: str
    applied: int
    encoding: str
    bom: bool
    original_bytes: bytes

    @property
    def changed(self) -> bool:
        return self.fixed != self.original

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                split_lines(self.original),
                split_lines(self.fixed),
                fromfile=f"a/{self.path.lstrip('/')}",
                tofile=f"b/{self.path.lstrip('/')}",
            )
        )


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    fix = diagnostic.fix
    return fix is not None and bool(fix.edits) and (fix.safety == "safe" or unsafe)


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (identical duplicates, such as one import, apply once)."""
    lines = split_lines(text)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(line: int, column: int) -> int:
        if line - 1 >= len(lines):
            return len(text)
        return offsets[line - 1] + column

    spans = sorted({(offset(e.line, e.column), offset(e.end_line, e.end_column), e.content)
                    for e in edits})
    result: list[str] = []
    cursor = 0
    for start, end, content in spans:
        if start < cursor:
            continue  # overlaps an edit already taken: the next round gets it
        if start == len(text) and text and not text.endswith(("\n", "\r")):
            content = _newline(text) + content
        result.append(text[cursor:start])
        result.append(content)
        cursor = end
    result.append(text[cursor:])
    return "".join(result)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def fix_text(text: str, path: str, config: Config, unsafe: bool) -> tuple[str, int]:
    """Apply every applicable fix, re-linting until nothing more applies."""
    applied = 0
    for _ in range(MAX_ROUNDS):
        result = analyse_text(text, path, config)
        fixes = [d for d in result.diagnostics if applicable(d, unsafe)]
        if not fixes:
            return text, applied
        edits = imports.merge([e for d in fixes for e in (d.fix.edits if d.fix else [])])
        new_text = apply_edits(text, edits)
        try:
            cst.parse_module(new_text)
        except cst.ParserSyntaxError as exc:
            raise FixError(f"a fix produced invalid code ({exc.message}); file left unchanged")
        if new_text == text:
            return text, applied
        text = new_text
        applied += len(fixes)
    raise FixError(f"fixes did not converge after {MAX_ROUNDS} rounds; file left unchanged")


def fix_file(path: Path, config: Config, unsafe: bool) -> FixOutcome:
    data = path.read_bytes()
    try:
        text, encoding, bom = decode(data)
    except SourceError as exc:
        raise FixError(str(exc)) from None
    fixed, applied = fix_text(text, str(path), config, unsafe)
    return FixOutcome(str(path), text, fixed, applied, encoding, bom, data)


def write(path: Path, outcome: FixOutcome) -> None:
    """Replace ``path`` atomically, unless it changed on disk since it was read."""
    data = outcome.fixed.encode(outcome.encoding if outcome.encoding != "utf-8-sig" else "utf-8")
    if outcome.bom and not data.startswith(b"\xef\xbb\xbf"):
        data = b"\xef\xbb\xbf" + data
    if path.read_bytes() != outcome.original_bytes:
        raise FixError("changed on disk while cachelint was fixing it; not overwritten")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".cachelint")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
