"""The one way project-wide passes read a tree before linting it (``cachelint check DIR``).

Each pass looks at a module's text first and parses only what passes that look; a
module that cannot be read or analysed is skipped here, since its own analysis
reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

from cachelint.facts.context import module_parts

T = TypeVar("T")


def scan(
    files: Iterable[Path], worth: Callable[[str], bool], analyse: Callable[[str, str], T]
) -> Iterator[tuple[Path, T]]:
    """``analyse(text, path)`` of every file whose text is ``worth`` it."""
    from cachelint.engine import run_deep  # the engine imports the passes that use this

    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            continue
        if not worth(text):
            continue
        try:
            yield path, run_deep(partial(analyse, text, str(path)))
        except Exception:  # noqa: BLE001, S112
            continue


def dotted_suffixes(path: Path, name: str) -> list[str]:
    """``name`` under every dotted module path it may be imported by: for
    ``src/shop/keys.py``, ``keys.name``, ``shop.keys.name``, ``src.shop.keys.name``."""
    parts = module_parts(str(path))
    return [".".join([*parts[start:], name]) for start in range(len(parts))]
