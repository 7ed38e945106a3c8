"""SARIF 2.1.0, as GitHub code scanning (``github/codeql-action/upload-sarif``) reads it.

One run: the driver lists every rule (its page as help), each finding is a result
at a region (lines and columns 1-based, columns counted in code points, end column
exclusive) with its fix as replacements, and files that could not be analysed are
tool execution notifications.  Paths are relative to the working directory
(``%SRCROOT%``, the repository root in CI), with forward slashes, percent-encoded.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cachelint import __version__
from cachelint.diagnostics import Diagnostic, Edit, FileError, Fix
from cachelint.project import Report
from cachelint.rules import Rule, all_rules

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://github.com/cachelint/cachelint"
# Every rule reports a race that fails the check (exit code 1): no rule is advisory.
LEVEL = "error"

_WHAT_IT_DOES = re.compile(r"^## What it does\n(?P<text>.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)

JSON = dict[str, Any]


def render(report: Report) -> str:
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    errors = report.all_errors
    run: JSON = {
        "tool": {"driver": _driver(rules)},
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(Path.cwd())}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index.get(d.code)) for d in report.diagnostics],
        "invocations": [_invocation(errors)],
    }
    log = {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def source_relative(path: str) -> str | None:
    """``path`` relative to the working directory with forward slashes; None outside it."""
    absolute = Path(os.path.abspath(path))
    root = Path.cwd()
    for candidate, base in ((absolute, root), (absolute.resolve(), root.resolve())):
        if candidate.is_relative_to(base):
            return candidate.relative_to(base).as_posix()
    return None


def _directory_uri(directory: Path) -> str:
    uri = directory.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def artifact_location(path: str) -> JSON:
    relative = source_relative(path)
    if relative is None:
        return {"uri": Path(path).resolve().as_uri()}
    return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _driver(rules: tuple[type[Rule], ...]) -> JSON:
    return {
        "name": "cachelint",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [_rule(rule) for rule in rules],
    }


def _rule(rule: type[Rule]) -> JSON:
    page = rule.page()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _full_description(rule)},
        "help": {"text": page, "markdown": page},
        "helpUri": rule.doc_url(),
        "defaultConfiguration": {"level": LEVEL},
        "properties": {"tags": ["concurrency", "cache"]},
    }


def _full_description(rule: type[Rule]) -> str:
    """The "What it does" section of the rule's docstring, as one paragraph."""
    found = _WHAT_IT_DOES.search(textwrap.dedent(rule.__doc__ or "").strip())
    if found is None:
        return rule.summary
    return " ".join(found.group("text").split())


def _result(diagnostic: Diagnostic, rule_index: int | None) -> JSON:
    location = artifact_location(diagnostic.path)
    region = _region(diagnostic.line, diagnostic.column,
                     diagnostic.end_line, diagnostic.end_column)
    result: JSON = {"ruleId": diagnostic.code}
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    result["level"] = LEVEL
    result["message"] = {"text": diagnostic.message}
    result["locations"] = [
        {"physicalLocation": {"artifactLocation": location, "region": region}}
    ]
    if diagnostic.fix is not None and diagnostic.fix.edits:
        result["fixes"] = [_fix(diagnostic.fix, location)]
    return result


def _region(line: int, column: int, end_line: int, end_column: int) -> JSON:
    """1-based SARIF region from 1-based lines and 0-based columns (end exclusive)."""
    return {"startLine": line, "startColumn": column + 1,
            "endLine": end_line, "endColumn": end_column + 1}


def _fix(fix: Fix, location: JSON) -> JSON:
    return {
        "description": {"text": fix.title},
        "artifactChanges": [{
            "artifactLocation": location,
            # Bottom-up: each replacement leaves the positions of the next ones intact,
            # whether a consumer reads them against the original text or the edited one.
            "replacements": [_replacement(edit) for edit in sorted(
                fix.edits, key=lambda e: (e.line, e.column), reverse=True)],
        }],
        "properties": {"safety": fix.safety},
    }


def _replacement(edit: Edit) -> JSON:
    return {
        "deletedRegion": _region(edit.line, edit.column, edit.end_line, edit.end_column),
        "insertedContent": {"text": edit.content},
    }


def _invocation(errors: list[FileError]) -> JSON:
    return {
        "executionSuccessful": not errors,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": error.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": artifact_location(error.path)}}],
            }
            for error in errors
        ],
    }
