"""``cachelint audit [PATH ...]``: the races of a whole codebase, summarised.

Lints every file (in worker processes; ``--jobs``, automatic by default), shows a
progress bar on stderr when stderr is a terminal, then prints a summary:

- findings per rule (code, name, count) and per top-level package: the first path
  component under the audited root, which is the common directory of the PATHs
  (``cachelint audit .`` groups by ``shop/``, ``blog/``...; ``cachelint audit shop``
  groups by ``shop``'s subpackages; a module directly in the root is its own group);
- the hottest files (the ten with most findings);
- the race pairs: each CL403 blind delete with the blind refill its message names;
- how many findings have an automatic fix, safe (``check --fix``) or unsafe
  (``--unsafe-fixes``);
- files analysed and files that could not be analysed, with the reasons.

``--format text|json|markdown`` chooses the summary's shape (markdown: tables for a
pull-request comment or an issue); ``--html FILE`` also writes a self-contained page.
Exit codes are ``check``'s: 0 clean, 1 findings, 2 files that could not be analysed.

The JSON document (``"version": 1``; lines and columns 1-based; lists sorted as in
the text output)::

    {
      "version": 1,
      "root": "shop",
      "files": {"analysed": 41, "with_errors": 1},
      "findings": 7,
      "rules": [{"code": "CL101", "name": "blind-refill-set", "count": 4}, ...],
      "packages": [{"name": "catalog", "files": 12, "findings": 5, "errors": 0}, ...],
      "hottest_files": [{"path": "shop/catalog/views.py", "findings": 3}, ...],
      "race_pairs": [{"family": "product:{}", "cross_file": true,
                      "delete": {"path": "shop/catalog/signals.py", "line": 10, "column": 5},
                      "refill": {"path": "shop/catalog/views.py", "line": 13}}, ...],
      "fixes": {"safe": 2, "unsafe": 1, "none": 4},
      "errors": [{"path": "shop/legacy.py", "message": "syntax error at line 3: ..."}],
      "diagnostics": [... the objects of ``check --format json`` ...]
    }

``refill`` is ``null`` when a CL403 message names no site that can be read back.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from cachelint import cli, project
from cachelint.diagnostics import Diagnostic, FileError
from cachelint.rules.cl403_invalidation_undone_by_refill import message as cl403_message

SCHEMA_VERSION = 1
HOTTEST_FILES = 10
FORMATS = ("text", "json", "markdown")


# --------------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class RuleCount:
    code: str
    name: str
    count: int


@dataclass(frozen=True)
class PackageCount:
    name: str
    files: int
    findings: int
    errors: int


@dataclass(frozen=True)
class FileCount:
    path: str
    findings: int


@dataclass(frozen=True)
class RacePair:
    """A CL403 finding: a blind delete of ``family`` undone by a blind refill."""

    family: str
    delete_path: str
    delete_line: int
    delete_column: int  # 1-based
    refill_path: str | None
    refill_line: int | None

    @property
    def cross_file(self) -> bool:
        return self.refill_path is not None and self.refill_path != self.delete_path


@dataclass(frozen=True)
class Audit:
    root: str  # the audited directory, relative to the working directory when inside it
    title: str  # what headings call it: the root, or its directory name for "."
    files_analysed: int
    files_with_errors: int
    rules: list[RuleCount]
    packages: list[PackageCount]
    hottest_files: list[FileCount]
    race_pairs: list[RacePair]
    safe_fixes: int
    unsafe_fixes: int
    diagnostics: list[Diagnostic]
    errors: list[FileError]
    package_of: dict[str, str]  # path -> package, for every file linted

    @property
    def findings(self) -> int:
        return len(self.diagnostics)

    @property
    def unfixable(self) -> int:
        return self.findings - self.safe_fixes - self.unsafe_fixes


def audit_root(paths: list[Path]) -> Path:
    """The common directory of the audited paths (a file counts as its directory)."""
    directories = [os.path.abspath(p if p.is_dir() else p.parent) for p in paths]
    return Path(os.path.commonpath(directories))


def package_of(path: str, root: Path) -> str:
    """The first path component of ``path`` under ``root`` (a top-level module: its name)."""
    absolute = Path(os.path.abspath(path))
    try:
        parts = absolute.relative_to(root).parts
    except ValueError:
        return absolute.parent.name or absolute.name
    return parts[0] if parts else absolute.name


def summarise(report: project.Report, root: Path) -> Audit:
    diagnostics = report.diagnostics
    errors = report.all_errors
    error_paths = {e.path for e in errors}
    packages = {f.path: package_of(f.path, root) for f in report.files}

    by_rule = Counter((d.code, d.name) for d in diagnostics)
    rules = [RuleCount(code, name, count) for (code, name), count in by_rule.items()]
    rules.sort(key=lambda r: (-r.count, r.code))

    by_file = Counter(d.path for d in diagnostics)
    hottest = [FileCount(path, count) for path, count in by_file.items()]
    hottest.sort(key=lambda f: (-f.findings, f.path))

    files_per_package = Counter(packages.values())
    findings_per_package = Counter(packages.get(d.path, "") for d in diagnostics)
    errors_per_package = Counter(packages[p] for p in error_paths if p in packages)
    package_rows = [
        PackageCount(name, files, findings_per_package[name], errors_per_package[name])
        for name, files in files_per_package.items()
    ]
    package_rows.sort(key=lambda p: (-p.findings, -p.errors, p.name))

    fixes = Counter(d.fix.safety for d in diagnostics if d.fix is not None)
    root_text = os.path.relpath(root) if _is_within(root, Path.cwd()) else str(root)
    return Audit(
        root=root_text,
        title=root.name if root_text == "." and root.name else root_text,
        files_analysed=sum(1 for f in report.files if f.path not in error_paths),
        files_with_errors=len(error_paths),
        rules=rules,
        packages=package_rows,
        hottest_files=hottest[:HOTTEST_FILES],
        race_pairs=[race_pair(d) for d in diagnostics if d.code == project.CL403],
        safe_fixes=fixes["safe"],
        unsafe_fixes=fixes["unsafe"],
        diagnostics=diagnostics,
        errors=sorted(errors, key=lambda e: (e.path, e.message)),
        package_of=packages,
    )


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory)
    except ValueError:
        return False
    return True


def _cl403_pattern() -> re.Pattern[str]:
    """CL403's message with the family and the refill site as groups, built from the rule."""
    head, rest = cl403_message("\0", "\1").split("\0")
    middle, tail = rest.split("\1")
    return re.compile(
        f"{re.escape(head)}(?P<family>.*?){re.escape(middle)}"
        f"(?P<path>.+):(?P<line>[0-9]+){re.escape(tail)}(?: \\((?P<no_fix>.*)\\))?",
        re.DOTALL,
    )


_CL403_MESSAGE = _cl403_pattern()


def race_pair(diagnostic: Diagnostic) -> RacePair:
    match = _CL403_MESSAGE.fullmatch(diagnostic.message)
    return RacePair(
        family=match["family"] if match else "",
        delete_path=diagnostic.path,
        delete_line=diagnostic.line,
        delete_column=diagnostic.column + 1,
        refill_path=match["path"] if match else None,
        refill_line=int(match["line"]) if match else None,
    )


# --------------------------------------------------------------------------- formats


def to_json(audit: Audit) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "root": audit.root,
        "files": {"analysed": audit.files_analysed, "with_errors": audit.files_with_errors},
        "findings": audit.findings,
        "rules": [{"code": r.code, "name": r.name, "count": r.count} for r in audit.rules],
        "packages": [
            {"name": p.name, "files": p.files, "findings": p.findings, "errors": p.errors}
            for p in audit.packages
        ],
        "hottest_files": [{"path": f.path, "findings": f.findings} for f in audit.hottest_files],
        "race_pairs": [
            {
                "family": pair.family,
                "cross_file": pair.cross_file,
                "delete": {"path": pair.delete_path, "line": pair.delete_line,
                           "column": pair.delete_column},
                "refill": None if pair.refill_path is None else {
                    "path": pair.refill_path, "line": pair.refill_line,
                },
            }
            for pair in audit.race_pairs
        ],
        "fixes": {"safe": audit.safe_fixes, "unsafe": audit.unsafe_fixes,
                  "none": audit.unfixable},
        "errors": [{"path": e.path, "message": e.message} for e in audit.errors],
        "diagnostics": [d.to_dict() for d in audit.diagnostics],
    }


def render_json(audit: Audit) -> str:
    return json.dumps(to_json(audit), indent=2) + "\n"


def refill_site(pair: RacePair) -> str:
    if pair.refill_path is None:
        return "(not named)"
    return f"{pair.refill_path}:{pair.refill_line}"


def headline(audit: Audit) -> str:
    return (
        f"{_plural(audit.findings, 'finding')}; {_plural(audit.files_analysed, 'file')} "
        f"analysed, {_plural(audit.files_with_errors, 'file')} with errors"
    )


def fixes_sentence(audit: Audit) -> str:
    return (
        f"{audit.safe_fixes + audit.unsafe_fixes} of {_plural(audit.findings, 'finding')} "
        f"can be fixed automatically: {audit.safe_fixes} safe (`cachelint check --fix`), "
        f"{audit.unsafe_fixes} unsafe (`--fix --unsafe-fixes`)."
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _text_table(header: tuple[str, ...], rows: list[tuple[object, ...]],
                numeric: frozenset[int] = frozenset()) -> list[str]:
    cells = [header, *(tuple(str(c) for c in row) for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        padded = [c.rjust(widths[i]) if i in numeric else c.ljust(widths[i])
                  for i, c in enumerate(row)]
        lines.append("  " + "  ".join(padded).rstrip())
    return lines


def render_text(audit: Audit) -> str:
    lines = [f"cachelint audit of {audit.title}: {headline(audit)}"]
    if audit.rules:
        lines += ["", "Findings per rule"]
        lines += _text_table(("CODE", "NAME", "FINDINGS"),
                             [(r.code, r.name, r.count) for r in audit.rules], frozenset({2}))
    if audit.packages:
        lines += ["", "Findings per package"]
        lines += _text_table(
            ("PACKAGE", "FILES", "FINDINGS", "ERRORS"),
            [(p.name, p.files, p.findings, p.errors) for p in audit.packages],
            frozenset({1, 2, 3}),
        )
    if audit.hottest_files:
        lines += ["", "Hottest files"]
        lines += _text_table(("FINDINGS", "FILE"),
                             [(f.findings, f.path) for f in audit.hottest_files], frozenset({0}))
    if audit.race_pairs:
        lines += ["", "Race pairs (CL403): a blind delete undone by a blind refill"]
        lines += _text_table(
            ("KEY FAMILY", "DELETE", "REFILL"),
            [(p.family, f"{p.delete_path}:{p.delete_line}", refill_site(p))
             for p in audit.race_pairs],
        )
    if audit.findings:
        lines += ["", f"Fixes: {fixes_sentence(audit)}"]
    if audit.errors:
        lines += ["", "Files that could not be analysed"]
        lines += [f"  {e.path}: {e.message}" for e in audit.errors]
    return "\n".join(lines) + "\n"


def _markdown_cell(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _markdown_code(value: str) -> str:
    fence = "``" if "`" in value else "`"
    padding = " " if "`" in value else ""
    return f"{fence}{padding}{value}{padding}{fence}".replace("|", "\\|")


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]],
                    numeric: frozenset[int] = frozenset()) -> list[str]:
    rule = ["---:" if i in numeric else "---" for i in range(len(header))]
    return [f"| {' | '.join(row)} |" for row in (header, tuple(rule), *rows)]


def render_markdown(audit: Audit) -> str:
    lines = [f"## cachelint audit of {_markdown_code(audit.title)}", "", f"**{headline(audit)}**"]
    if audit.rules:
        lines += ["", "### Findings per rule", ""]
        lines += _markdown_table(
            ("Code", "Name", "Findings"),
            [(r.code, _markdown_code(r.name), str(r.count)) for r in audit.rules],
            frozenset({2}),
        )
    if audit.packages:
        lines += ["", "### Findings per package", ""]
        lines += _markdown_table(
            ("Package", "Files", "Findings", "Errors"),
            [(_markdown_code(p.name), str(p.files), str(p.findings), str(p.errors))
             for p in audit.packages],
            frozenset({1, 2, 3}),
        )
    if audit.hottest_files:
        lines += ["", "### Hottest files", ""]
        lines += _markdown_table(
            ("File", "Findings"),
            [(_markdown_code(f.path), str(f.findings)) for f in audit.hottest_files],
            frozenset({1}),
        )
    if audit.race_pairs:
        lines += ["", "### Race pairs (CL403)", "",
                  "A blind delete is undone by a blind refill of the same key family.", ""]
        lines += _markdown_table(
            ("Key family", "Delete", "Refill"),
            [(_markdown_code(p.family), _markdown_code(f"{p.delete_path}:{p.delete_line}"),
              _markdown_code(refill_site(p))) for p in audit.race_pairs],
        )
    if audit.findings:
        lines += ["", "### Fixes", "", fixes_sentence(audit)]
    if audit.errors:
        lines += ["", "### Files that could not be analysed", ""]
        lines += _markdown_table(
            ("File", "Error"),
            [(_markdown_code(e.path), _markdown_cell(e.message)) for e in audit.errors],
        )
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Audit], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}


# --------------------------------------------------------------------------- progress


class ProgressBar:
    """``[#####.....]  12/40 files`` redrawn in place on a terminal; cleared when done."""

    def __init__(self, total: int, stream: TextIO, interval: float = 0.05) -> None:
        self.total = total
        self.stream = stream
        self.interval = interval
        self.done = 0
        self._last_draw = 0.0

    def __call__(self, file_report: project.FileReport) -> None:
        self.done += 1
        now = time.monotonic()
        if self.done == self.total or now - self._last_draw >= self.interval:
            self._last_draw = now
            self.draw()

    def draw(self) -> None:
        widest = len(f" {self.total}/{self.total} files")  # the bar keeps one width
        width = max(10, min(40, terminal_columns(self.stream) - widest - 3))
        filled = width * self.done // self.total if self.total else width
        counter = f" {self.done}/{self.total} files"
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}]{counter}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to (80 when it does not say)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        columns = 0
    return columns or 80


# --------------------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_selection_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="summary format (default: text)")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write a self-contained HTML report to FILE")


def run(args: argparse.Namespace) -> int:
    config = cli.resolve_config(args)
    paths = list(args.paths) or [Path(".")]
    bar = None
    if sys.stderr.isatty():
        files, _ = project.discover(paths, config)
        bar = ProgressBar(len(files), sys.stderr)
    try:
        report = cli.run_lint(args, config, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    audit = summarise(report, audit_root(paths))
    sys.stdout.write(RENDERERS[args.format](audit))
    if args.html is not None:
        from cachelint import audit_html  # imports this module: import it late

        try:
            args.html.write_text(audit_html.render(audit), encoding="utf-8")
        except OSError as exc:
            print(f"cachelint: error: cannot write {args.html}: {exc.strerror or exc}",
                  file=sys.stderr)
            return cli.EXIT_ERROR
    if audit.errors:
        return cli.EXIT_ERROR
    return cli.EXIT_FINDINGS if audit.findings else cli.EXIT_CLEAN
