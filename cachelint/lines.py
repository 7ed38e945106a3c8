"""Physical lines as Python (and LibCST) count them: ends are ``\\n``, ``\\r\\n`` or ``\\r``.

``str.splitlines()`` also splits at form feeds, U+2028 and friends, which would shift
every line number after them.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """The physical lines of ``text``, each with its own line ending."""
    return _LINE.findall(text)
