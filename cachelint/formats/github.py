"""GitHub Actions workflow commands: one ``::error`` annotation per finding.

    ::error file=app/views.py,line=8,col=5,endLine=8,endColumn=53,title=CL101 blind-refill-set::...

Columns are 1-based, the end column exclusive.  Values are escaped as the Actions
toolkit escapes them: ``%``, CR and LF in the message; also ``:`` and ``,`` in
properties.  Files that could not be analysed get an annotation on the file.
"""

from __future__ import annotations

from pathlib import Path

from cachelint.diagnostics import Diagnostic, FileError
from cachelint.formats.sarif import source_relative
from cachelint.project import Report


def render(report: Report) -> str:
    lines = [_finding(d) for d in report.diagnostics]
    lines += [_error(e) for e in report.all_errors]
    return "".join(f"{line}\n" for line in lines)


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, object], message: str) -> str:
    """``::name key=value,...::message`` with the toolkit's escaping."""
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {rendered}::{escape_data(message)}"


def workspace_path(path: str) -> str:
    """The path GitHub resolves against the checkout: relative to the working directory."""
    return source_relative(path) or Path(path).as_posix()


def _finding(diagnostic: Diagnostic) -> str:
    properties: dict[str, object] = {
        "file": workspace_path(diagnostic.path),
        "line": diagnostic.line,
        "col": diagnostic.column + 1,
        "endLine": diagnostic.end_line,
        "endColumn": diagnostic.end_column + 1,
        "title": f"{diagnostic.code} {diagnostic.name}",
    }
    return command("error", properties, diagnostic.message)


def _error(error: FileError) -> str:
    return command("error", {"file": workspace_path(error.path)}, error.message)
