"""``cachelint lsp``: a language server on stdio, for editors.

Diagnostics on open, change (debounced) and save; quick fixes from the autofixes,
"ignore for this line" (``# noqa``) actions and a ``source.fixAll.cachelint``
action.  Needs the ``lsp`` extra (pygls); the rest of cachelint does not, so this
module imports it only when the server starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

SEVERITY_NAMES = ("error", "warning", "information", "hint")
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--severity", choices=SEVERITY_NAMES, default="warning",
                        help="severity of every diagnostic (default: warning)")
    parser.add_argument("--debounce", type=_milliseconds, default=300, metavar="MS",
                        help="wait this long after the last change before analysing "
                             "(default: 300)")
    parser.add_argument("--workers", type=_positive, default=2,
                        help="analysis processes (default: 2)")


def run(args: argparse.Namespace) -> int:
    missing = [name for name in ("pygls", "lsprotocol") if importlib.util.find_spec(name) is None]
    if missing:
        print("cachelint: error: the language server needs pygls; "
              "install it with: pip install 'cachelint[lsp]'", file=sys.stderr)
        return EXIT_ERROR
    from cachelint.lsp.server import Settings, serve

    return serve(Settings(severity=args.severity, debounce=args.debounce / 1000,
                          workers=args.workers))


def _milliseconds(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number
