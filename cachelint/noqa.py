"""``# noqa`` as flake8 applies it, for the CLI and the LSP (flake8 applies its own)."""

from __future__ import annotations

import io
import re
import tokenize

from cachelint.diagnostics import Diagnostic
from cachelint.lines import split_lines

# flake8's own pattern (flake8/defaults.py).
NOQA = re.compile(
    r"# noqa"
    r"(?::[\s]?(?P<codes>([A-Z][0-9]+(?:[,\s]+)?)+))?",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"[,\s]")


def line_ranges(text: str) -> dict[int, str]:
    """Every physical line -> the text of the whole logical line it belongs to.

    Like flake8, a ``# noqa`` anywhere in a multi-line statement covers all its lines.
    """
    lines = split_lines(text)
    mapping = {number: line for number, line in enumerate(lines, start=1)}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return mapping
    start = None
    for token in tokens:
        if start is None and token.type not in (tokenize.NL, tokenize.COMMENT,
                                                tokenize.INDENT, tokenize.DEDENT):
            start = token.start[0]
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) and start is not None:
            end = token.end[0]
            if end > start:
                joined = "".join(lines[start - 1:end])
                for number in range(start, end + 1):
                    mapping[number] = joined
            start = None
    return mapping


def is_suppressed(code: str, logical_line: str) -> bool:
    for match in NOQA.finditer(logical_line):
        codes = match.group("codes")
        if not codes:
            return True
        if any(code.startswith(c) for c in _SEPARATOR.split(codes.upper()) if c):
            return True
    return False


def filter_diagnostics(text: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    if "noqa" not in text.lower():
        return diagnostics
    mapping = line_ranges(text)
    return [d for d in diagnostics if not is_suppressed(d.code, mapping.get(d.line, ""))]
