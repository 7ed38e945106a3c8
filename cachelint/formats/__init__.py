"""Output formats for ``cachelint check``: each module renders a Report to text.

A format module defines ``render(report: Report) -> str``; this registry maps the
``--format`` names to them.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable

from cachelint.project import Report

FORMATS: dict[str, str] = {
    "text": "cachelint.formats.text",
    "json": "cachelint.formats.json_format",
    "sarif": "cachelint.formats.sarif",
    "github": "cachelint.formats.github",
}
FORMATS = {name: module for name, module in FORMATS.items() if importlib.util.find_spec(module)}


def renderer(name: str) -> Callable[[Report], str]:
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Report], str] = module.render
    return render
