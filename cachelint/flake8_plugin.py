"""flake8 bridge: ``flake8 --select CL``.  Translates only; it never writes files."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from cachelint import __version__
from cachelint import config as config_module
from cachelint.config import Config
from cachelint.engine import SourceError, analyse_text
from cachelint.rules import all_codes


@lru_cache(maxsize=256)
def _config_for_directory(directory: str) -> Config:
    return config_module.load(config_module.find_pyproject(Path(directory)))


def _codes_selected(options: argparse.Namespace) -> bool:
    """False when flake8's own selection leaves out every CL code (``--select B``)."""
    select = getattr(options, "select", None)
    if not select:
        return True
    chosen = [*select, *(getattr(options, "extend_select", None) or [])]
    return any(code.startswith(prefix) for code in all_codes() for prefix in chosen)


class Plugin:
    name = "cachelint"
    version = __version__
    _enabled = True
    _config_path: str | None = None

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, option_manager: Any) -> None:
        option_manager.add_option(
            "--cachelint-config",
            default=None,
            parse_from_config=True,
            help="pyproject.toml holding [tool.cachelint] (default: nearest one above each file)",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        # Class attributes are the only channel flake8 gives; they hold no rule state.
        cls._enabled = _codes_selected(options)
        cls._config_path = getattr(options, "cachelint_config", None)

    def _config(self) -> Config:
        explicit = type(self)._config_path
        if explicit:
            return config_module.load(Path(explicit))
        directory = str(Path(self.filename).resolve().parent) if self.filename else "."
        return _config_for_directory(directory)

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        if not type(self)._enabled:
            return
        config = self._config()
        text = "".join(self.lines)
        try:
            result = analyse_text(text, self.filename, config, syntax_checked=True,
                                  apply_noqa=False)
        except SourceError:
            return  # flake8 reports unparsable files itself (E999)
        for diagnostic in result.diagnostics:
            yield (
                diagnostic.line,
                diagnostic.column,
                f"{diagnostic.code} {diagnostic.message}",
                type(self),
            )
