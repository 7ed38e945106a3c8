"""The CL402 (on_commit) and CL103 (set_if_newer) fixes: golden files, convergence, safety.

Regenerate the golden outputs with
``CACHELINT_REGENERATE=1 python -m pytest tests/test_fix_cl402_cl103.py``.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from cachelint.config import Config
from cachelint.engine import analyse_text
from tests.helpers import FIXES, cli_json, fix_inputs, fixed_copy, golden

INPUTS = fix_inputs("cl402_*.py", "cl103_*.py")
REGENERATE = os.environ.get("CACHELINT_REGENERATE") == "1"
NOT_FIXABLE = {"cl402_not_fixable.py", "cl103_not_fixable.py"}



def code_of(path: Path) -> str:
    return path.name[:5].upper()



def findings(text: str, code: str) -> list[tuple[int, bool]]:
    """(line, has a fix) of every ``code`` finding in ``text``."""
    result = analyse_text(text, "fixed.py", Config())
    return [(d.line, d.fix is not None) for d in result.diagnostics if d.code == code]


def test_there_are_golden_files_for_both_codes() -> None:
    assert {code_of(p) for p in INPUTS} == {"CL402", "CL103"}
    assert all(golden(p) != p for p in INPUTS if p.name not in NOT_FIXABLE)
    assert NOT_FIXABLE <= {p.name for p in INPUTS}


@pytest.mark.parametrize("source", INPUTS, ids=[p.stem for p in INPUTS])
def test_golden(tmp_path: Path, source: Path) -> None:
    code = code_of(source)
    before = findings(source.read_text(), code)
    assert before, f"{source.name} has no {code} finding to fix"
    result = fixed_copy(tmp_path / "first", source, "--unsafe-fixes").read_text()
    if REGENERATE and result != source.read_text():
        source.with_name(source.stem + ".fixed.py").write_text(result)
    assert result == golden(source).read_text()
    cst.parse_module(result)
    after = findings(result, code)
    if source.name in NOT_FIXABLE:
        assert result == source.read_text()
        assert all(not fixable for _, fixable in before)
        assert after == before
    else:
        assert all(fixable for _, fixable in before)
        assert after == [], f"{code} still reported after the fix: {after}"
    again = fixed_copy(tmp_path / "second", golden(source), "--unsafe-fixes").read_text()
    assert again == result


def test_cl402_fix_is_safe_and_applies_without_the_unsafe_flag(tmp_path: Path) -> None:
    source = FIXES / "cl402_atomic_block.py"
    (finding,) = cli_json(str(source))["diagnostics"]
    assert finding["code"] == "CL402"
    assert finding["fix"]["safety"] == "safe"
    assert fixed_copy(tmp_path, source).read_text() == golden(source).read_text()


def test_cl402_fix_is_unsafe_when_the_key_is_read_again_in_the_transaction(
    tmp_path: Path,
) -> None:
    source = FIXES / "cl402_reads_after_delete.py"
    (finding,) = cli_json(str(source))["diagnostics"]
    assert finding["fix"]["safety"] == "unsafe"
    assert fixed_copy(tmp_path, source).read_text() == source.read_text()


def test_cl103_fix_is_unsafe_only(tmp_path: Path) -> None:
    source = FIXES / "cl103_none_or_older.py"
    (finding,) = cli_json(str(source))["diagnostics"]
    assert finding["code"] == "CL103"
    assert finding["fix"]["safety"] == "unsafe"
    assert fixed_copy(tmp_path, source).read_text() == source.read_text()


def test_partial_binds_loop_variables_no_lambda() -> None:
    text = golden(FIXES / "cl402_decorator_loop.py").read_text()
    assert "lambda" not in text
    assert text.count("transaction.on_commit(partial(tickets_cache.delete") == 3
    assert text.count("from functools import partial") == 1


def test_imports_are_added_once_and_only_when_missing() -> None:
    block = golden(FIXES / "cl402_atomic_block.py").read_text()
    assert block.count("from functools import partial") == 1
    assert "from django.db import transaction" in block
    assert block.count("import transaction") == 1
    alone = golden(FIXES / "cl402_atomic_imported_alone.py").read_text()
    assert "from django.db import transaction\n" in alone
    existing = golden(FIXES / "cl402_existing_imports.py").read_text()
    assert "db_transaction.on_commit(functools.partial(cache.delete, " in existing
    assert "from functools import partial" not in existing
    imported = golden(FIXES / "cl402_on_commit_imported.py").read_text()
    assert "        on_commit(partial(cache.delete, " in imported
    assert imported.count("from functools import partial") == 1


def test_unfixable_findings_say_why() -> None:
    messages = [d["message"] for d in cli_json(str(FIXES / "cl402_not_fixable.py"))["diagnostics"]]
    assert any("the result of the delete is used" in m for m in messages)
    reasons = [d["message"] for d in cli_json(str(FIXES / "cl103_not_fixable.py"))["diagnostics"]]
    assert len(reasons) == 4
    assert all("no automatic fix" in m for m in reasons)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            """
            from django.core.cache import cache

            def store(k, value, version):
                current = cache.get(k)
                if version > current["version"]:
                    cache.set(k, value)
            """,
            (
                "set_if_newer(cache, k, value, version=version, ttl=cache.default_timeout, "
                "codec=JsonCodec())"
            ),
        ),
        (
            """
            from django.core.cache import cache

            def store(k, value, version):
                current = cache.get(k)
                if current is None or current.version < version.number:
                    cache.set(k, f"{value}")
            """,
            (
                'set_if_newer(cache, k, f"{value}", version=version.number, '
                "ttl=cache.default_timeout)"
            ),
        ),
    ],
)
def test_cl103_fix_reads_the_version_from_the_comparison(source: str, expected: str) -> None:
    result = analyse_text(textwrap.dedent(source), "example.py", Config())
    (diagnostic,) = result.diagnostics
    assert diagnostic.fix is not None
    assert any(expected in edit.content for edit in diagnostic.fix.edits)


@pytest.mark.parametrize(
    "source",
    [
        # the version is computed, not read: no plain expression to hand to set_if_newer
        """
        from django.core.cache import cache

        def store(k, row):
            current = cache.get(k)
            if current is None or current["updated_at"] < row.updated_at.timestamp():
                cache.set(k, row.payload, 60)
        """,
        # an `else` branch, and a comparison that reads `cached > v`
        """
        from django.core.cache import cache

        def store(k, value, version):
            current = cache.get(k)
            if current is not None and current["version"] > version:
                pass
            else:
                cache.set(k, value)
        """,
    ],
)
def test_cl103_offers_no_fix_for_other_shapes(source: str) -> None:
    result = analyse_text(textwrap.dedent(source), "example.py", Config())
    cl103 = [d for d in result.diagnostics if d.code == "CL103"]
    assert len(cl103) == 1
    assert cl103[0].fix is None
    assert "no automatic fix" in cl103[0].message


def test_on_commit_runs_on_the_transactions_database() -> None:
    text = golden(FIXES / "cl402_decorator_loop.py").read_text()
    assert 'version=2), using="tickets")' in text
    # the loop's transaction is on the default database: no `using=`
    assert text.count("using=") == 2  # the decorator's, and the one added by the fix
