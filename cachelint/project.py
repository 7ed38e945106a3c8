"""Linting many files: discovery, parallel analysis, result caching, cross-file pairing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cachelint import __version__, noqa
from cachelint.config import Config
from cachelint.diagnostics import Diagnostic, FileError
from cachelint.engine import SourceError, analyse_bytes, enabled_rules
from cachelint.local_types import local_instances
from cachelint.project_keys import project_key_helpers
from cachelint.rules import rule_by_code
from cachelint.rules.cl403_invalidation_undone_by_refill import KeySite, message, pair

CL403 = "CL403"
_PARALLEL_THRESHOLD = 32


@dataclass
class FileReport:
    """What one file yielded, as plain data (picklable, cacheable)."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    sites: list[KeySite] = field(default_factory=list)
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "errors": [e.message for e in self.errors],
            "sites": [asdict(s) for s in self.sites],
        }

    @classmethod
    def from_json(cls, path: str, data: dict[str, Any]) -> FileReport:
        return cls(
            path=path,
            diagnostics=[Diagnostic.from_dict({**d, "path": path}) for d in data["diagnostics"]],
            errors=[FileError(path, m) for m in data["errors"]],
            sites=[KeySite(**{**s, "path": path}) for s in data["sites"]],
            cached=True,
        )


@dataclass
class Report:
    files: list[FileReport]
    errors: list[FileError]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = [d for f in self.files for d in f.diagnostics]
        return sorted(found, key=Diagnostic.sort_key)

    @property
    def all_errors(self) -> list[FileError]:
        return [*self.errors, *(e for f in self.files for e in f.errors)]


def discover(paths: Iterable[Path], config: Config) -> tuple[list[Path], list[FileError]]:
    """Python files under ``paths`` (recursively), honouring ``exclude``."""
    files: list[Path] = []
    errors: list[FileError] = []
    for path in paths:
        if path.is_symlink() and not path.exists():
            errors.append(FileError(str(path), "dangling symbolic link"))
        elif path.is_dir():
            files.extend(_walk(path, config, errors))
        elif path.exists():
            if not config.is_excluded(path):
                files.append(path)
        else:
            errors.append(FileError(str(path), "no such file or directory"))
    return files, errors


def _walk(root: Path, config: Config, errors: list[FileError]) -> Iterator[Path]:
    for directory, subdirectories, filenames in os.walk(root):
        base = Path(directory)
        subdirectories[:] = sorted(
            d for d in subdirectories
            if not (base / d).is_symlink()
            and not config.is_excluded(base / d, parents_checked=True)
        )
        for name in sorted(filenames):
            if not name.endswith((".py", ".pyi")):
                continue
            path = base / name
            if config.is_excluded(path, parents_checked=True):
                continue
            if path.is_symlink() and not path.exists():
                errors.append(FileError(str(path), "dangling symbolic link"))
                continue
            yield path


class ResultCache:
    """Results per file content, config and cachelint version, like ruff's cache."""

    def __init__(self, directory: Path, config: Config, codes: list[str], project: bool) -> None:
        self.directory = directory
        fingerprint = repr((__version__, sorted(codes), project, _config_fingerprint(config)))
        self.salt = hashlib.sha256(fingerprint.encode()).hexdigest()

    def _file(self, path: str, data: bytes) -> Path:
        digest = hashlib.sha256(self.salt.encode() + path.encode() + b"\0" + data).hexdigest()
        return self.directory / digest[:2] / f"{digest}.json"

    def get(self, path: str, data: bytes) -> FileReport | None:
        try:
            return FileReport.from_json(path, json.loads(self._file(path, data).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, path: str, data: bytes, report: FileReport) -> None:
        target = self._file(path, data)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (self.directory / "CACHEDIR.TAG").exists():
                (self.directory / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n"
                    "# This file is a cache directory tag created by cachelint.\n"
                )
                (self.directory / ".gitignore").write_text("*\n")
            temporary = target.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(report.to_json()))
            os.replace(temporary, target)
        except OSError:
            pass  # a cache that cannot be written only costs speed


def _config_fingerprint(config: Config) -> str:
    """The same text in every process: sets are sorted (their order follows the hash seed)."""
    fields = asdict(config)
    fields.pop("source", None)
    return json.dumps(fields, sort_keys=True, default=_stable)


def _stable(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def analyse_file(path: Path, config: Config, codes: list[str], project: bool,
                 cache: ResultCache | None) -> FileReport:
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileReport(name, errors=[FileError(name, f"cannot read: {exc.strerror or exc}")])
    if cache is not None:
        hit = cache.get(name, data)
        if hit is not None:
            return hit
    report = FileReport(name)
    rules = [r for r in enabled_rules(config, name) if r.code in codes]
    try:
        result = analyse_bytes(data, name, config, rules=rules, collect_sites=project)
        report.diagnostics, report.sites = result.diagnostics, result.sites
        for diagnostic in report.diagnostics:
            diagnostic.node = None
            diagnostic.related = None
            if diagnostic.fix is not None:
                diagnostic.fix.replacements = []
        if project and report.sites:
            report.sites = [s for s in report.sites if _site_kept(s, result.text or "")]
    except SourceError as exc:
        report.errors.append(FileError(name, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a bug in cachelint must not stop the run
        # One file's internal error is reported like an unanalysable file (exit 2), the
        # other files are still analysed, and nothing is cached for it.
        report.errors.append(FileError(
            name, f"internal error in cachelint {__version__} ({type(exc).__name__}: {exc}); "
                  "please report it with this file"
        ))
        return report
    if cache is not None:
        cache.put(name, data, report)
    return report


def _site_kept(site: KeySite, text: str) -> bool:
    """A delete silenced with ``# noqa: CL403`` takes no part in pairing."""
    if site.role != "delete" or "noqa" not in text.lower():
        return True
    line = noqa.line_ranges(text).get(site.line, "")
    return not noqa.is_suppressed(CL403, line)


def _analyse_args(args: tuple[Path, Config, list[str], bool, ResultCache | None]) -> FileReport:
    return analyse_file(*args)


def lint(
    paths: list[Path],
    config: Config,
    *,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    progress: Any = None,
) -> Report:
    """Lint ``paths``; CL403 pairs deletes and refills across every file linted."""
    files, errors = discover(paths, config)
    local = local_instances(files)
    if local - config.extend_local_caches:
        config = replace(config, extend_local_caches=config.extend_local_caches | local)
    config = replace(config, project_key_helpers=project_key_helpers(files))
    codes = [r.code for r in enabled_rules(config)]
    project = CL403 in codes
    file_codes = [c for c in codes if c != CL403]
    cache = ResultCache(cache_dir, config, codes, project) if cache_dir is not None else None
    work = [(path, config, file_codes, project, cache) for path in files]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 8) if len(files) >= _PARALLEL_THRESHOLD else 1
    reports: list[FileReport] = []
    if jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for report in pool.map(_analyse_args, work, chunksize=4):
                reports.append(report)
                if progress is not None:
                    progress(report)
    else:
        for item in work:
            reports.append(_analyse_args(item))
            if progress is not None:
                progress(reports[-1])
    if project:
        _pair_across_files(reports, config)
    return Report(reports, errors)


def _pair_across_files(reports: list[FileReport], config: Config) -> None:
    by_path = {r.path: r for r in reports}
    rule = rule_by_code(CL403)
    assert rule is not None
    all_sites = [s for r in reports for s in r.sites]
    for delete, refill in pair(all_sites):
        if not config.is_enabled(CL403, delete.path):
            continue
        refill_site = f"{refill.path}:{refill.line}"
        by_path[delete.path].diagnostics.append(
            Diagnostic.from_dict({
                "code": CL403, "name": rule.name, "message": message(delete.family, refill_site, delete.no_fix_reason),
                "path": delete.path, "line": delete.line, "column": delete.column + 1,
                "end_line": delete.end_line, "end_column": delete.end_column + 1,
                "fix": delete.fix,
            })
        )
    for report in reports:
        report.diagnostics.sort(key=Diagnostic.sort_key)
