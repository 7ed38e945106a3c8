"""The engine: source text in, diagnostics (with positions and fix edits) out.

Parse once with LibCST, build the facts in one walk, run every enabled rule over
the facts.  Positions are resolved only for files that have findings: most files
have none, and LibCST's position pass costs more than the parse.
"""

from __future__ import annotations

import ast
import re
import sys
import threading
import tokenize
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from io import BytesIO
from typing import TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from cachelint import noqa
from cachelint.config import Config
from cachelint.diagnostics import Diagnostic, Edit, FileError, Fix
from cachelint.facts import ModuleFacts, build_facts
from cachelint.facts.context import module_parts
from cachelint.fixes import imports
from cachelint.local_types import own_local_instances
from cachelint.rules import Rule, RuleContext, all_rules
from cachelint.rules.cl403_invalidation_undone_by_refill import KeySite
from cachelint.rules.cl403_invalidation_undone_by_refill import sites as key_sites

# Cheap pre-check: every finding needs a cache client (named, imported or annotated as
# one) or, for CL201, a clock next to a version; most files of a codebase have neither.
_CACHE_HINT = re.compile(
    r"cache\b|caches\b|cache_(?:client|conn|connection|backend|db|store|pool|cli|region)\b"
    r"|redis|memcach|pylibmc|\bmc\b|\brds\b|dogpile|region\b|flask_caching",
)
_CLOCK_HINT = re.compile(r"time\(|now\(|utcnow|today\(|monotonic|perf_counter|time_ns|timestamp")
_VERSION_HINT = re.compile(r"version|revision|\bseq|generation|\bver\b|\blsn\b|\brev\b")
_NEWER_SYNTAX_MAX_DEPTH = 100
_DEEP_STACK_BYTES = 512 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 200_000

T = TypeVar("T")


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    facts: ModuleFacts | None = None
    module: cst.Module | None = None
    sites: list[KeySite] = field(default_factory=list)  # for project-wide CL403
    text: str | None = None
    encoding: str = "utf-8"
    bom: bool = False


class SourceError(Exception):
    """A file that cannot be analysed; the message names the problem."""


def decode(data: bytes) -> tuple[str, str, bool]:
    """(text, encoding, had_bom), following PEP 263; SourceError when impossible."""
    if b"\x00" in data:
        raise SourceError("contains NUL bytes (binary file?): not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    except SyntaxError as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise SourceError(
                f"not valid UTF-8 (byte 0x{data[bad.start]:02x} at offset {bad.start}) and no "
                "coding declaration"
            ) from None
        raise SourceError(f"invalid encoding declaration: {exc}") from None
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        reason = "not valid UTF-8" if encoding.startswith("utf-8") else f"not valid {encoding}"
        raise SourceError(f"{reason} ({exc.__class__.__name__}: {exc})") from None
    return text, encoding, bom


def might_have_findings(text: str, config: Config) -> bool:
    lowered = text.lower()  # case-sensitive patterns on lowered text: faster than IGNORECASE
    if _CACHE_HINT.search(lowered):
        return True
    if _CLOCK_HINT.search(lowered) and _VERSION_HINT.search(lowered):
        return True
    extra = (*config.extend_shared_caches, *config.extend_source_reads)
    return any(name.rsplit(".", 1)[-1] in text for name in extra)


def check_syntax(text: str) -> None:
    """CPython's verdict first, so that LibCST never sees input that would exhaust it.

    Code in a newer Python's syntax than the running one (``except A, B:``, ``type X =
    ...``) is still analysed when LibCST's grammar accepts it and it nests shallowly.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as exc:
        message = f"syntax error at line {exc.lineno}: {exc.msg}"
        if "nested" in exc.msg or "too complex" in exc.msg:
            raise SourceError("too deeply nested to analyse") from None
        if _bracket_depth(text) > _NEWER_SYNTAX_MAX_DEPTH:
            raise SourceError(message) from None
        try:
            cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError):
            raise SourceError(message) from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse") from None
    except ValueError as exc:
        raise SourceError(str(exc)) from None


def _bracket_depth(text: str) -> int:
    """An upper bound of the bracket nesting (strings and comments count too)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(depth - 1, 0)
    return deepest


def run_deep(function: Callable[[], T]) -> T:
    """Run ``function``, retrying on a big stack when the code nests very deeply."""
    try:
        return function()
    except RecursionError:
        pass
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(_DEEP_RECURSION_LIMIT)
        try:
            result.append(function())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            failure.append(exc)
        finally:
            sys.setrecursionlimit(old)

    previous = threading.stack_size(_DEEP_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="cachelint-deep")
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    if failure:
        if isinstance(failure[0], RecursionError):
            raise SourceError("too deeply nested to analyse")
        raise failure[0]
    return result[0]


def enabled_rules(config: Config, path: str | None = None) -> list[Rule]:
    return [rule() for rule in all_rules() if config.is_enabled(rule.code, path)]


def analyse_text(
    text: str,
    path: str,
    config: Config,
    *,
    syntax_checked: bool = False,
    rules: list[Rule] | None = None,
    apply_noqa: bool = True,
    collect_sites: bool = False,
) -> FileResult:
    """Lint one module's text.  Raises SourceError for input that cannot be analysed."""
    result = FileResult(path=path, text=text)
    if not syntax_checked:
        check_syntax(text)
    if not might_have_findings(text, config):
        return result
    rules = enabled_rules(config, path) if rules is None else rules
    if not rules and not collect_sites:
        return result

    def analyse() -> None:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            raise SourceError(f"syntax error at line {exc.raw_line}: {exc.message}") from None
        facts = build_facts(module, config, path)
        own = own_local_instances(text, module, facts)
        if own:  # ``cache = LRUCache(512)`` of a dict-backed class defined in this module
            parts = module_parts(path)
            named = frozenset(".".join([*parts, name]) for name in own)
            if named - config.extend_local_caches:
                local = replace(config, extend_local_caches=config.extend_local_caches | named)
                facts = build_facts(module, local, path)
        ctx = RuleContext(module=module, facts=facts, config=config, path=path)
        diagnostics = [d for rule in rules for d in rule.check(ctx)]
        result.module, result.facts = module, facts
        sites = list(key_sites(ctx)) if collect_sites else []
        if diagnostics or sites:
            positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            _locate(module, positions, diagnostics, path)
            result.sites = [_site(module, positions, path, *site) for site in sites]
        result.diagnostics = diagnostics

    run_deep(analyse)
    if apply_noqa and result.diagnostics:
        result.diagnostics = noqa.filter_diagnostics(text, result.diagnostics)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def analyse_bytes(data: bytes, path: str, config: Config, **kwargs: object) -> FileResult:
    text, encoding, bom = decode(data)
    result = analyse_text(text, path, config, **kwargs)  # type: ignore[arg-type]
    result.encoding, result.bom = encoding, bom
    return result


def _site(
    module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange], path: str, family: str,
    role: str, node: cst.CSTNode, fix: Fix | None, no_fix_reason: str | None,
) -> KeySite:
    where = positions[node]
    fix_data = None
    if fix is not None:
        _fix_edits(module, positions, fix)
        fix_data = fix.to_dict()
    return KeySite(family, role, path, where.start.line, where.start.column,
                   where.end.line, where.end.column, fix_data, no_fix_reason)


def _locate(
    module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange],
    diagnostics: list[Diagnostic], path: str,
) -> None:
    for diagnostic in diagnostics:
        diagnostic.path = path
        if diagnostic.node is not None:
            where = positions[diagnostic.node]
            diagnostic.line, diagnostic.column = where.start.line, where.start.column
            diagnostic.end_line, diagnostic.end_column = where.end.line, where.end.column
        if diagnostic.related is not None:
            related = positions[diagnostic.related].start
            diagnostic.message = diagnostic.message.replace(
                "{related}", f"{path}:{related.line}"
            )
        if diagnostic.fix is not None:
            _fix_edits(module, positions, diagnostic.fix)


def _fix_edits(module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange], fix: Fix) -> None:
    """A fix's node replacements and imports, as text edits."""
    for node, replacement in fix.replacements:
        where = positions[node]
        fix.edits.append(Edit(where.start.line, where.start.column,
                              where.end.line, where.end.column, replacement))
    fix.edits.extend(imports.import_edits(module, positions, fix.imports))
