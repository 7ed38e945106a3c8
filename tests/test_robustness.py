"""The engine never raises: generated programs, and the whole standard library."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings

from cachelint.config import Config
from cachelint.engine import SourceError, analyse_text

CACHE_PRELUDE = (
    "import threading, time\n"
    "from django.core.cache import cache\n"
    "lock = threading.Lock()\n"
)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles what it generates
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=hypothesmith.from_grammar() | hypothesmith.from_node())
def test_engine_never_raises_on_generated_programs(source: str) -> None:
    for text in (source, CACHE_PRELUDE + source):
        try:
            analyse_text(text, "generated.py", Config())
        except SourceError:
            pass  # a clear "cannot analyse" message is the contract for invalid input


def test_standard_library_gives_no_traceback(tmp_path: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    result = subprocess.run(
        [sys.executable, "-m", "cachelint.cli", "check", "--format", "json",
         "--cache-dir", str(tmp_path / "cache"), "--exclude", "site-packages",
         str(stdlib)],
        check=False, capture_output=True, text=True, timeout=1800,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    document = json.loads(result.stdout)
    # The standard library ships a few deliberately broken files (bad encodings, syntax
    # errors in test data): each must be a one-line error, never a crash.
    for error in document["errors"]:
        assert "\n" not in error["message"]
    assert len(document["errors"]) < 60
