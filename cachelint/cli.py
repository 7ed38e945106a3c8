"""``cachelint check|audit|rules|rule|lsp``.

Exit codes: 0 clean, 1 findings, 2 usage or config errors, or files that could not
be analysed (reported after analysing all the others).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cachelint import __version__, fixer
from cachelint import config as config_module
from cachelint.config import Config, ConfigError
from cachelint.formats import FORMATS, renderer
from cachelint.project import Report, lint
from cachelint.rules import all_rules, rule_by_code

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Subcommands living in their own modules: each has add_arguments(parser) and run(args).
EXTENSION_COMMANDS = {
    "audit": ("cachelint.audit", "Summarise the races of a whole codebase."),
    "lsp": ("cachelint.lsp", "Run the language server on stdio (for editors)."),
}


def codes_option(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that lints (check, audit)."""
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: .)")
    parser.add_argument("--select", type=codes_option, help="codes or prefixes to report")
    parser.add_argument("--ignore", type=codes_option, help="codes or prefixes to leave out")
    parser.add_argument("--exclude", type=lambda v: [p for p in v.split(",") if p],
                        help="extra glob patterns to skip")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read [tool.cachelint] from")
    parser.add_argument("--no-cache", action="store_true", help="ignore and skip the result cache")
    parser.add_argument("--cache-dir", type=Path, help="where results are cached")
    parser.add_argument("--jobs", "-j", type=int, help="worker processes (default: automatic)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachelint", description="Find cache concurrency races in Python code."
    )
    parser.add_argument("--version", action="version", version=f"cachelint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="Lint files and folders.")
    add_selection_arguments(check)
    check.add_argument("--format", choices=sorted(FORMATS), default="text")
    check.add_argument("--fix", action="store_true", help="apply safe fixes")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="also apply fixes marked unsafe (with --fix or --diff)")
    check.add_argument("--diff", action="store_true",
                       help="print the fixes as a unified diff and write nothing")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")

    commands.add_parser("rules", help="List the rules.")
    rule = commands.add_parser("rule", help="Show one rule's documentation.")
    rule.add_argument("code")

    for name, (module, help_text) in EXTENSION_COMMANDS.items():
        if importlib.util.find_spec(module) is None:
            continue
        sub = commands.add_parser(name, help=help_text)
        importlib.import_module(module).add_arguments(sub)
    return parser


def resolve_config(args: argparse.Namespace) -> Config:
    """The run's config: ``--config`` or the nearest ``[tool.cachelint]``, plus flags."""
    if args.config is not None:
        config = config_module.load(args.config)
    else:
        config = config_module.discover(list(args.paths) or [Path.cwd()])
    changes: dict[str, object] = {}
    if args.select:  # the command line's selection replaces the table's select and ignore
        config_module.check_codes(args.select, "--select")
        changes["select"] = tuple(args.select)
        changes["ignore"] = ()
    if args.ignore:  # added to what is ignored (only these, after a --select)
        config_module.check_codes(args.ignore, "--ignore")
        kept = () if args.select else config.ignore
        changes["ignore"] = (*kept, *args.ignore)
    if args.exclude:
        changes["exclude"] = (*config.exclude, *args.exclude)
    return config.with_overrides(**changes) if changes else config


def cache_dir(args: argparse.Namespace, config: Config) -> Path | None:
    if args.no_cache:
        return None
    if args.cache_dir is not None:
        return Path(args.cache_dir)
    if os.environ.get("CACHELINT_CACHE_DIR"):
        return Path(os.environ["CACHELINT_CACHE_DIR"])
    return (config.root or Path.cwd()) / ".cachelint_cache"


def run_lint(args: argparse.Namespace, config: Config, progress: object = None) -> Report:
    paths = list(args.paths) or [Path(".")]
    return lint(paths, config, jobs=args.jobs, cache_dir=cache_dir(args, config),
                progress=progress)


def command_check(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    if args.fix or args.diff:
        fix_errors = apply_fixes(args, config)
    else:
        fix_errors = 0
    report = run_lint(args, config)
    output = renderer(args.format)(report)
    sys.stdout.write(output)
    if args.format == "text":
        for error in report.all_errors:
            print(f"{error.path}: error: {error.message}", file=sys.stderr)
    if report.all_errors or fix_errors:
        return EXIT_ERROR
    if report.diagnostics and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def apply_fixes(args: argparse.Namespace, config: Config) -> int:
    """Fix (or diff) every file that has an applicable fix; returns the number of failures."""
    report = run_lint(args, config)
    paths = sorted({d.path for d in report.diagnostics if fixer.applicable(d, args.unsafe_fixes)})
    failures = fixed = 0
    for name in paths:
        path = Path(name)
        try:
            outcome = fixer.fix_file(path, config, args.unsafe_fixes)
            if not outcome.changed:
                continue
            if args.diff:
                sys.stdout.write(outcome.diff())
            else:
                fixer.write(path, outcome)
            fixed += outcome.applied
        except (fixer.FixError, OSError) as exc:
            print(f"{name}: error: cannot fix: {exc}", file=sys.stderr)
            failures += 1
    verb = "Would fix" if args.diff else "Fixed"
    print(f"{verb} {fixed} finding(s) in {len(paths)} file(s).", file=sys.stderr)
    return failures


def command_rules(args: argparse.Namespace) -> int:
    rows = [("CODE", "NAME", "FIX", "SUMMARY")]
    rows += [(r.code, r.name, r.fixable, r.summary) for r in all_rules()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return EXIT_CLEAN


def command_rule(args: argparse.Namespace) -> int:
    rule = rule_by_code(args.code)
    if rule is None:
        known = ", ".join(r.code for r in all_rules())
        print(f"cachelint: error: unknown rule code {args.code!r}; known codes are {known}",
              file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.write(rule.page())
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"check": command_check, "rules": command_rules, "rule": command_rule}
    try:
        if args.command in handlers:
            return handlers[args.command](args)
        module = importlib.import_module(EXTENSION_COMMANDS[args.command][0])
        code: int = module.run(args)
        return code
    except ConfigError as exc:
        print(f"cachelint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
