"""Output formats for ``cachelint check``: each module renders a Report to text.

A format module defines ``render(report: Report) -> str``; this registry maps the
``--format`` names to them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from cachelint.project import Report

FORMATS: dict[str, str] = {
    "text": "cachelint.formats.text",
    "json": "cachelint.formats.json_format",
}


def renderer(name: str) -> Callable[[Report], str]:
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Report], str] = module.render
    return render
