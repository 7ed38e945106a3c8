"""``[tool.cachelint]`` in ``pyproject.toml``: one reader for the CLI, flake8 and the LSP."""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from cachelint import knowledge

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".eggs", "*.egg-info",
    "__pycache__", "build", "dist", "node_modules", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".cachelint_cache",
)
_CODE_PREFIX = re.compile(r"^CL\d{0,3}$")


class ConfigError(Exception):
    """A configuration that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extend_shared_caches: frozenset[str] = frozenset()
    extend_local_caches: frozenset[str] = frozenset()
    extend_source_reads: frozenset[str] = frozenset()
    version_attributes: tuple[str, ...] = knowledge.DEFAULT_VERSION_ATTRIBUTES
    versioned_helpers: frozenset[str] = frozenset(knowledge.DEFAULT_VERSIONED_HELPERS)
    helper_module: str = "cachelint.runtime"
    # Not an option: ``cachelint check DIR`` fills it with the project's module-level key
    # helpers (``("keys.user_key", "user:{}")``, every dotted suffix) for importers.
    project_key_helpers: tuple[tuple[str, str], ...] = ()
    root: Path | None = None
    source: Path | None = field(default=None, compare=False)

    def is_enabled(self, code: str, path: str | None = None) -> bool:
        """flake8's decision: the longest matching prefix of select/ignore wins."""
        selected = _longest_prefix(code, self.select) if self.select else 0
        if self.select and selected == 0:
            return False
        ignores = list(self.ignore)
        if path is not None:
            ignores.extend(self.ignored_for(path))
        ignored = _longest_prefix(code, tuple(ignores))
        return ignored == 0 or (selected > ignored)

    def ignored_for(self, path: str) -> tuple[str, ...]:
        relative = self.relative(path)
        found: list[str] = []
        for pattern, codes in self.per_file_ignores:
            if _matches(relative, pattern):
                found.extend(codes)
        return tuple(found)

    def is_excluded(self, path: Path, *, parents_checked: bool = False) -> bool:
        """Whether ``exclude`` (or the defaults) leave ``path`` out.  In a directory walk
        whose parents were already checked, only the last name and whole-path patterns
        need matching."""
        names, paths = _exclusion((*DEFAULT_EXCLUDE, *self.exclude))
        if parents_checked and paths is None:
            return bool(names and names.match(path.name))
        relative = self.relative(str(path))
        if paths is not None and paths.match(relative):
            return True
        parts = (path.name,) if parents_checked else PurePath(relative).parts
        return names is not None and any(names.match(part) for part in parts)

    def relative(self, path: str) -> str:
        if self.root is None:
            return PurePath(path).as_posix()
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return PurePath(path).as_posix()

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def _longest_prefix(code: str, prefixes: tuple[str, ...]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=0)


def _matches(relative: str, pattern: str) -> bool:
    """flake8-style: a pattern matches the whole relative path or any of its parts."""
    pattern = pattern.rstrip("/")
    if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern + "/*"):
        return True
    return any(fnmatch.fnmatch(part, pattern) for part in PurePath(relative).parts)


@lru_cache(maxsize=64)
def _exclusion(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(one regex for patterns matching any single path part, one for patterns with a
    ``/`` matching the relative path or a folder above it), compiled once."""
    name_patterns = [p.rstrip("/") for p in patterns if "/" not in p.rstrip("/")]
    path_patterns = [p.rstrip("/") for p in patterns if "/" in p.rstrip("/")]
    names = re.compile("|".join(fnmatch.translate(p) for p in name_patterns)) \
        if name_patterns else None
    paths = re.compile("|".join(
        f"{fnmatch.translate(p)}|{fnmatch.translate(p + '/*')}" for p in path_patterns
    )) if path_patterns else None
    return names, paths


_LIST_KEYS = {
    "select", "ignore", "exclude", "extend-shared-caches", "extend-local-caches",
    "extend-source-reads", "version-attributes", "versioned-helpers",
}
KNOWN_KEYS = _LIST_KEYS | {"per-file-ignores"}


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` holding ``[tool.cachelint]``, walking up from ``start``."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = pyproject.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if re.search(r"^\s*\[tool\.cachelint", text, re.MULTILINE):
                return pyproject
    return None


def load(path: Path | None) -> Config:
    """Read ``[tool.cachelint]`` from ``path`` (no path: the defaults)."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("cachelint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.cachelint] must be a table")
    return from_table(table, path)


def from_table(table: dict[str, Any], path: Path | None = None) -> Config:
    where = f"{path}: [tool.cachelint]" if path else "[tool.cachelint]"
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown option(s) {', '.join(unknown)}; "
            f"known options are {', '.join(sorted(KNOWN_KEYS))}"
        )
    values: dict[str, Any] = {}
    for key in _LIST_KEYS & set(table):
        value = table[key]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: `{key}` must be a list of strings")
        values[key] = tuple(value)
    per_file: list[tuple[str, tuple[str, ...]]] = []
    raw_per_file = table.get("per-file-ignores", {})
    if not isinstance(raw_per_file, dict):
        raise ConfigError(f"{where}: `per-file-ignores` must be a table of glob = [codes]")
    for pattern, codes in raw_per_file.items():
        if isinstance(codes, str):
            codes = [c.strip() for c in codes.split(",") if c.strip()]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{where}: per-file-ignores `{pattern}` must list codes")
        per_file.append((pattern, tuple(codes)))
    check_codes(
        [*values.get("select", ()), *values.get("ignore", ()),
         *(c for _, codes in per_file for c in codes)],
        where,
    )
    helpers = values.get("versioned-helpers", ())
    config = Config(
        select=values.get("select", ()),
        ignore=values.get("ignore", ()),
        exclude=values.get("exclude", ()),
        per_file_ignores=tuple(per_file),
        extend_shared_caches=frozenset(values.get("extend-shared-caches", ())),
        extend_local_caches=frozenset(values.get("extend-local-caches", ())),
        extend_source_reads=frozenset(values.get("extend-source-reads", ())),
        version_attributes=values.get("version-attributes", knowledge.DEFAULT_VERSION_ATTRIBUTES),
        versioned_helpers=frozenset((*knowledge.DEFAULT_VERSIONED_HELPERS, *helpers)),
        helper_module=_helper_module(helpers),
        root=path.parent if path else None,
        source=path,
    )
    return config


def _helper_module(helpers: tuple[str, ...]) -> str:
    """The module the fix imports ``set_if_newer`` from: the first configured helper's."""
    for helper in helpers:
        module, _, name = helper.rpartition(".")
        if module and name == "set_if_newer":
            return module
    return "cachelint.runtime"


def check_codes(codes: list[str] | tuple[str, ...], where: str) -> None:
    """Refuse codes and prefixes that name no rule."""
    from cachelint.rules import all_codes  # late: rules import this module

    known = all_codes()
    bad = [
        c for c in codes
        if not _CODE_PREFIX.match(c) or not any(k.startswith(c) for k in known)
    ]
    if bad:
        raise ConfigError(
            f"{where}: unknown rule code(s) {', '.join(bad)}; "
            f"known codes are {', '.join(sorted(known))}"
        )


def discover(paths: list[Path]) -> Config:
    """The config for a run over ``paths``: the nearest ``[tool.cachelint]`` above the first."""
    start = paths[0] if paths else Path.cwd()
    return load(find_pyproject(start))
