"""Running the real flake8 and the real CLI, for tests."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cachelint.cli import main

# A Django view with one blind refill (CL101 on its last line), for the tests of the
# ways in: CI formats, pre-commit and the language server.
RACY_VIEW = """\
from django.core.cache import cache
from shop.models import Product


def product_detail(request, pk):
    product = Product.objects.get(pk=pk)
    payload = {"name": product.name, "version": product.version}
    cache.set(f"product:{pk}", payload, timeout=300)
"""


def flake8_findings(paths: list[Path], *extra: str) -> set[tuple[str, int, str]]:
    """{(path, line, code)} reported by ``flake8 --select CL`` (a real subprocess)."""
    command = [sys.executable, "-m", "flake8", "--select", "CL", "--isolated",
               "--format=%(path)s\t%(row)d\t%(code)s", *extra, *map(str, paths)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stderr
    found = set()
    for line in result.stdout.splitlines():
        path, row, code = line.split("\t")
        found.add((str(Path(path).resolve()), int(row), code))
    return found


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``cachelint`` in-process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def cli_json(*args: str) -> dict[str, Any]:
    code, out, err = cli("check", "--format", "json", "--no-cache", *args)
    assert code in (0, 1, 2), err
    document: dict[str, Any] = json.loads(out)
    return document


def cli_findings(path: Path) -> set[tuple[str, int, str]]:
    document = cli_json(str(path))
    assert document["errors"] == [], document["errors"]
    return {(str(Path(d["path"]).resolve()), d["line"], d["code"])
            for d in document["diagnostics"]}


# -- golden fix files: ``name.py`` -> ``name.fixed.py`` ---------------------------------

FIXES = Path(__file__).resolve().parent.parent / "fixtures" / "fix"


def fix_inputs(*patterns: str) -> list[Path]:
    return sorted(p for pattern in patterns for p in FIXES.glob(pattern)
                  if not p.name.endswith(".fixed.py"))


def golden(path: Path) -> Path:
    """The expected output; an input without a ``.fixed.py`` must come out unchanged."""
    fixed = path.with_name(path.stem + ".fixed.py")
    return fixed if fixed.exists() else path


def fixed_copy(directory: Path, source: Path, *flags: str) -> Path:
    """A copy of ``source`` in ``directory`` after ``cachelint check --fix``."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / source.name
    target.write_bytes(source.read_bytes())
    code, _, err = cli("check", "--no-cache", "--fix", *flags, str(target))
    assert code in (0, 1), err
    return target
