"""Generate ``rules/*.md`` from the rule classes: ``python -m cachelint.docs [--check]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cachelint.rules import Rule, all_rules

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "rules"


def page_name(rule: type[Rule]) -> str:
    return f"{rule.code}.md"


def index_page() -> str:
    lines = ["# cachelint rules", "", "| code | name | fix | summary |", "|---|---|---|---|"]
    for rule in all_rules():
        lines.append(f"| [{rule.code}]({page_name(rule)}) | {rule.name} | {rule.fixable} "
                     f"| {rule.summary} |")
    return "\n".join(lines) + "\n"


def expected_pages() -> dict[str, str]:
    pages = {page_name(rule): rule.page() for rule in all_rules()}
    pages["README.md"] = index_page()
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the pages are stale")
    parser.add_argument("--directory", type=Path, default=DEFAULT_DIRECTORY)
    args = parser.parse_args(argv)
    stale = []
    for name, text in expected_pages().items():
        path = args.directory / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if not args.check:
                args.directory.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    extra = sorted(p.name for p in args.directory.glob("*.md") if p.name not in expected_pages())
    if args.check and (stale or extra):
        print(f"stale rule pages: {', '.join(stale + extra)}; run python -m cachelint.docs",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
