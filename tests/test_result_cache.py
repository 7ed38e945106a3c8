"""The result cache: reused across processes, invalidated by content, config and version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"


def run_check(root: Path, cache: Path, seed: str, *extra: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "cachelint.cli", "check", "--format", "json", "--cache-dir",
         str(cache), *extra, str(root)],
        check=False, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    assert result.returncode in (0, 1), result.stderr
    document: dict = json.loads(result.stdout)
    return document


def entries(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in cache.rglob("*.json")}


def test_warm_run_in_another_process_reads_nothing_again(tmp_path: Path) -> None:
    root = tmp_path / "src"
    shutil.copytree(FIXTURES, root)
    cache = tmp_path / "cache"
    cold = run_check(root, cache, "1")
    first = entries(cache)
    assert len(first) == len(list(root.glob("*.py")))
    warm = run_check(root, cache, "2")  # another hash seed: sets iterate differently
    assert warm == cold
    assert entries(cache) == first  # nothing re-analysed, nothing rewritten
    assert (cache / "CACHEDIR.TAG").exists()


def test_changed_file_config_or_no_cache(tmp_path: Path) -> None:
    root = tmp_path / "src"
    shutil.copytree(FIXTURES, root)
    cache = tmp_path / "cache"
    cold = run_check(root, cache, "0")
    first = entries(cache)
    target = root / "django_product_views.py"
    target.write_text(target.read_text() + "\n# touched\n")
    run_check(root, cache, "0")
    assert len(entries(cache)) == len(first) + 1  # only the changed file was analysed
    selected = run_check(root, cache, "0", "--select", "CL201")
    assert {d["code"] for d in selected["diagnostics"]} == {"CL201"}
    assert len(entries(cache)) > len(first) + 1  # another configuration, other entries
    before = entries(cache)
    uncached = run_check(root, cache, "0", "--no-cache")
    assert entries(cache) == before
    assert len(uncached["diagnostics"]) == len(cold["diagnostics"])
