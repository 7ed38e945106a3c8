"""The language server's work, done in a worker process: text in, editor-ready findings out.

Everything here is plain, picklable data and imports no LSP library, so the worker
only loads the engine.  Positions leave this module in the client's units: 0-based
lines and columns counted in the negotiated position encoding (UTF-16 code units
unless the client asked for UTF-8 or UTF-32), over the lines LibCST and the LSP
both count (``\\n``, ``\\r\\n`` and ``\\r`` end a line; ``\\f`` or U+2028 do not).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path

from cachelint import config as config_module
from cachelint import fixer, noqa
from cachelint.config import Config, ConfigError
from cachelint.diagnostics import Diagnostic, Edit
from cachelint.engine import SourceError, analyse_text
from cachelint.rules import all_rules, rule_by_code

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Span:
    """A range in client units: 0-based lines and columns, the end exclusive."""

    line: int
    character: int
    end_line: int
    end_character: int

    def overlaps(self, other: Span) -> bool:
        """True when the two ranges share a position (touching counts, like a cursor)."""
        return ((self.line, self.character) <= (other.end_line, other.end_character)
                and (other.line, other.character) <= (self.end_line, self.end_character))


@dataclass(frozen=True)
class TextChange:
    span: Span
    text: str


@dataclass(frozen=True)
class QuickFix:
    title: str
    safe: bool
    changes: tuple[TextChange, ...]


@dataclass(frozen=True)
class Finding:
    """One diagnostic, with what the editor needs to show it and act on it."""

    code: str
    message: str
    doc_url: str
    span: Span
    fix: QuickFix | None
    ignore: TextChange | None  # puts the code in a noqa comment on the line


@dataclass(frozen=True)
class Job:
    """One open document to analyse, as it was at ``version``."""

    uri: str
    path: str | None  # None for documents that are not files (untitled:, ...)
    text: str
    version: int
    encoding: str = UTF16
    root: str | None = None  # where to look for config when there is no path


@dataclass(frozen=True)
class Outcome:
    uri: str
    version: int
    findings: tuple[Finding, ...] = ()
    # The text could not be analysed (syntax error, NUL bytes...): no findings.
    source_error: str | None = None
    config_path: str | None = None
    # The config could not be used; findings come from the defaults.
    config_error: str | None = None


def warm_up() -> int:
    """Import the engine and every rule, so that the first real analysis is quick."""
    return len(all_rules())


def analyse(job: Job) -> Outcome:
    config, config_path, config_error = _config(job)
    outcome = Outcome(job.uri, job.version, config_path=config_path, config_error=config_error)
    if job.path is not None and _excluded(config, job.path):
        return outcome
    try:
        result = analyse_text(job.text, job.path or job.uri, config)
    except SourceError as exc:
        return replace(outcome, source_error=str(exc))
    if not result.diagnostics:
        return outcome
    lines = LineIndex(job.text, job.encoding)
    comments = Comments(job.text)
    return replace(outcome, findings=tuple(_finding(d, lines, comments)
                                           for d in result.diagnostics))


def fix_all(job: Job) -> TextChange | None:
    """Every safe fix applied until the text converges, as one whole-document change."""
    config, _, _ = _config(job)
    if job.path is not None and _excluded(config, job.path):
        return None
    try:
        fixed, applied = fixer.fix_text(job.text, job.path or job.uri, config, unsafe=False)
    except (SourceError, fixer.FixError):
        return None
    if not applied or fixed == job.text:
        return None
    lines = LineIndex(job.text, job.encoding)
    return TextChange(Span(0, 0, *lines.end()), fixed)


def _config(job: Job) -> tuple[Config, str | None, str | None]:
    """(config, its file, the error that made it unusable) for the job's document."""
    start = job.path or job.root
    if start is None:
        return Config(), None, None
    found = config_module.find_pyproject(Path(start))
    if found is None:
        return Config(), None, None
    try:
        return config_module.load(found), str(found), None
    except ConfigError as exc:
        return Config(), str(found), str(exc)


def _excluded(config: Config, path: str) -> bool:
    """The config's ``exclude`` patterns, matched like the CLI: relative to the config."""
    if config.root is None:
        return False
    try:
        Path(path).resolve().relative_to(config.root.resolve())
    except ValueError:
        return False
    return config.is_excluded(Path(path))


def _finding(diagnostic: Diagnostic, lines: LineIndex, comments: Comments) -> Finding:
    rule = rule_by_code(diagnostic.code)
    line = max(diagnostic.line, 1)
    end_line, end_column = diagnostic.end_line, diagnostic.end_column
    if end_line < line:
        end_line, end_column = line, diagnostic.column
    span = Span(*lines.position(line, diagnostic.column), *lines.position(end_line, end_column))
    fix = None
    if diagnostic.fix is not None and diagnostic.fix.edits:
        fix = QuickFix(
            title=diagnostic.fix.title,
            safe=diagnostic.fix.safety == "safe",
            changes=tuple(lines.change(edit) for edit in diagnostic.fix.edits),
        )
    ignore = comments.noqa_edit(line, diagnostic.code)
    return Finding(
        code=diagnostic.code,
        message=diagnostic.message,
        doc_url=rule.doc_url() if rule is not None else "",
        span=span,
        fix=fix,
        ignore=None if ignore is None else lines.change(ignore),
    )


def units(text: str, encoding: str) -> int:
    """How many code units of ``encoding`` ``text`` takes (lone surrogates count too)."""
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == UTF32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_lines(text: str) -> list[str]:
    """The lines without their line breaks; a final break leaves an empty last line."""
    return _LINE_BREAK.split(text)


class LineIndex:
    """Converts the engine's positions (1-based line, 0-based code point column)."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.lines = split_lines(text)
        self.encoding = encoding

    def position(self, line: int, column: int) -> tuple[int, int]:
        if line > len(self.lines):
            return self.end()
        content = self.lines[line - 1]
        return line - 1, units(content[:column], self.encoding)

    def end(self) -> tuple[int, int]:
        return len(self.lines) - 1, units(self.lines[-1], self.encoding)

    def change(self, edit: Edit) -> TextChange:
        content = edit.content
        if edit.line > len(self.lines) and self.lines[-1]:
            # After the last line of a text with no final newline (as the fixer does).
            content = _newline(self.text) + content
        span = Span(*self.position(edit.line, edit.column),
                    *self.position(edit.end_line, edit.end_column))
        return TextChange(span, content)


def _newline(text: str) -> str:
    found = _LINE_BREAK.search(text)
    return found.group() if found else "\n"


class Comments:
    """Where ``# noqa`` comments are and where one may be added, from the tokens.

    flake8 (and the CLI) read a ``# noqa`` anywhere in a multi-line statement as
    covering all its lines.  So a code joins the statement's ``# noqa: ...`` list if it
    has one; otherwise a new comment ends the diagnostic's line or, when that line
    cannot take one (it ends inside a string or after a backslash), the next one of
    the statement that can.
    """

    def __init__(self, text: str) -> None:
        self.lines = split_lines(text)
        self.statement: dict[int, tuple[int, int]] = {}  # line -> (first, last) line
        self.comments: dict[int, list[tuple[int, str]]] = {}  # line -> [(column, text)]
        self.open_ends: set[int] = set()  # lines that end outside strings and backslashes
        try:
            self._read(_LINE_BREAK.sub("\n", text))
        except (tokenize.TokenError, SyntaxError):
            self.open_ends.clear()

    def _read(self, text: str) -> None:
        start: int | None = None
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, (line, column) = token.type, token.start
            if kind == tokenize.COMMENT:
                self.comments.setdefault(line, []).append((column, token.string))
            elif kind in (tokenize.NL, tokenize.NEWLINE):
                self.open_ends.add(line)
            if start is None and kind not in _NOT_CODE:
                start = line
            if kind in (tokenize.NEWLINE, tokenize.ENDMARKER) and start is not None:
                for number in range(start, token.end[0] + 1):
                    self.statement[number] = (start, token.end[0])
                start = None

    def noqa_edit(self, line: int, code: str) -> Edit | None:
        first, last = self.statement.get(line, (line, line))
        for number in range(first, last + 1):
            for column, comment in self.comments.get(number, ()):
                match = noqa.NOQA.search(comment)
                if match is not None and match.group("codes"):
                    codes = match.group("codes").rstrip(", \t")
                    at = column + match.start("codes") + len(codes)
                    return Edit(number, at, number, at, f", {code}")
        for number in range(line, last + 1):
            if number in self.open_ends and number <= len(self.lines):
                content = self.lines[number - 1]
                end = len(content.rstrip(" \t"))
                return Edit(number, end, number, len(content), f"  # noqa: {code}")
        return None


_NOT_CODE = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                       tokenize.ENCODING})
