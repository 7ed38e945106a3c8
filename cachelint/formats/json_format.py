"""``{"version": 1, "diagnostics": [...], "errors": [...]}``; lines and columns 1-based."""

from __future__ import annotations

import json

from cachelint.project import Report

SCHEMA_VERSION = 1


def render(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "diagnostics": [d.to_dict() for d in report.diagnostics],
        "errors": [{"path": e.path, "message": e.message} for e in report.all_errors],
    }
    return json.dumps(document, indent=2) + "\n"
