"""Inline expectations in fixtures: ``cache.set(k, v)  # error: CL101, CL201``.

Read from comment tokens with a tiny grammar (never ``eval``).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

EXPECTATION = re.compile(r"#\s*error:\s*(?P<codes>CL\d{3}(?:\s*,\s*CL\d{3})*)\s*$")


def expected(path: Path) -> set[tuple[int, str]]:
    """{(line, code)} declared in ``path``."""
    found: set[tuple[int, str]] = set()
    text = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = EXPECTATION.search(token.string)
        if match:
            for code in match.group("codes").split(","):
                found.add((token.start[0], code.strip()))
        elif "error:" in token.string:
            raise ValueError(f"{path}:{token.start[0]}: malformed expectation {token.string!r}")
    return found


def noqa_variant(text: str) -> str:
    """Every ``# error: CODES`` becomes ``# noqa: CODES``: the result must be silent."""
    return re.sub(r"#\s*error:\s*", "# noqa: ", text)
