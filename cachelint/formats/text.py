"""``path:line:col: CODE message``, one finding per line (columns 1-based, like flake8)."""

from __future__ import annotations

from cachelint.project import Report


def render(report: Report) -> str:
    return "".join(
        f"{d.path}:{d.line}:{d.column + 1}: {d.code} {d.message}\n" for d in report.diagnostics
    )
