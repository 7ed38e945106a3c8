"""The CL101 fix: golden files, convergence, idempotence, safety, and safe file writes.

Regenerate the golden outputs with ``CACHELINT_REGENERATE=1 python -m pytest tests/test_fix_cl101.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import libcst as cst
import pytest

from cachelint import fixer
from cachelint.config import Config
from cachelint.engine import analyse_text
from tests.helpers import FIXES, cli, cli_json, fix_inputs, fixed_copy, golden

INPUTS = fix_inputs("cl101_*.py")
REGENERATE = os.environ.get("CACHELINT_REGENERATE") == "1"




@pytest.mark.parametrize("source", INPUTS, ids=[p.stem for p in INPUTS])
def test_golden(tmp_path: Path, source: Path) -> None:
    result = fixed_copy(tmp_path / "first", source, "--unsafe-fixes").read_text()
    if REGENERATE and result != source.read_text():
        source.with_name(source.stem + ".fixed.py").write_text(result)
    assert result == golden(source).read_text()
    cst.parse_module(result)
    # Re-linting no longer reports a fixed write, and a second --fix changes nothing.
    remaining = analyse_text(result, source.name, Config()).diagnostics
    assert all(d.fix is None for d in remaining if d.code == "CL101")
    again = fixed_copy(tmp_path / "again", golden(source), "--unsafe-fixes")
    assert again.read_text() == result


def test_every_client_and_ttl_form_has_a_golden_file() -> None:
    texts = "".join(golden(p).read_text() for p in INPUTS)
    for expected in ("ttl=300", "ttl=60 * 15", "ttl=120", "ttl=1500 / 1000", "ttl=3600",
                     "ttl=30_000 / 1000", "ttl=600", "ttl=timedelta(minutes=5).total_seconds()",
                     "await aset_if_newer(", "await aget_value(", "ttl=900", "ttl=45",
                     "ttl=cache.default_timeout"):
        assert expected in texts, expected


def test_no_fix_is_offered_without_a_version() -> None:
    source = FIXES / "cl101_no_version.py"
    assert golden(source).read_text() == source.read_text()
    document = cli_json(str(source))
    (finding,) = document["diagnostics"]
    assert finding["fix"] is None
    assert "no version found: expose one from the source of truth" in finding["message"]


def test_safe_fixes_only_without_unsafe_flag(tmp_path: Path) -> None:
    source = FIXES / "cl101_add_nx.py"
    (finding,) = cli_json(str(source))["diagnostics"]
    assert finding["fix"]["safety"] == "unsafe"
    assert fixed_copy(tmp_path, source).read_text() == source.read_text()
    safe = FIXES / "cl101_redis_ex.py"
    (finding,) = cli_json(str(safe))["diagnostics"]
    assert finding["fix"]["safety"] == "safe"
    assert fixed_copy(tmp_path, safe).read_text() == golden(safe).read_text()


def test_diff_prints_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "views.py"
    shutil.copyfile(FIXES / "cl101_django_timeout_keyword.py", target)
    before = target.read_bytes()
    code, out, _ = cli("check", "--no-cache", "--diff", "--unsafe-fixes", str(target))
    assert code == 1
    assert "+        set_if_newer(cache, key, payload" in out
    assert target.read_bytes() == before


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_fix_keeps_bom_and_line_endings(tmp_path: Path, newline: str, bom: bytes) -> None:
    source = (FIXES / "cl101_redis_ex.py").read_text()
    target = tmp_path / "orders.py"
    target.write_bytes(bom + source.replace("\n", newline).encode())
    cli("check", "--no-cache", "--fix", str(target))
    data = target.read_bytes()
    assert data.startswith(bom) and (bom or not data.startswith(b"\xef\xbb\xbf"))
    text = data[len(bom):].decode()
    assert text == golden(FIXES / "cl101_redis_ex.py").read_text().replace("\n", newline)


def test_latin1_file_keeps_its_encoding(tmp_path: Path) -> None:
    source = (FIXES / "cl101_redis_ex.py").read_text()
    target = tmp_path / "legacy.py"
    target.write_bytes(("# -*- coding: latin-1 -*-\n# café\n" + source).encode("latin-1"))
    cli("check", "--no-cache", "--fix", str(target))
    text = target.read_bytes().decode("latin-1")
    assert "# café" in text and "set_if_newer(client" in text


def test_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "orders.py"
    shutil.copyfile(FIXES / "cl101_redis_ex.py", target)
    outcome = fixer.fix_file(target, Config(), unsafe=False)
    target.write_text(target.read_text() + "# edited meanwhile\n")
    with pytest.raises(fixer.FixError, match="changed on disk"):
        fixer.write(target, outcome)
    assert target.read_text().endswith("# edited meanwhile\n")


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "orders.py"
    shutil.copyfile(FIXES / "cl101_redis_ex.py", target)
    target.chmod(0o640)
    cli("check", "--no-cache", "--fix", str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.py"]
    assert target.stat().st_mode & 0o777 == 0o640


def test_form_feed_does_not_shift_lines(tmp_path: Path) -> None:
    def with_form_feed(text: str) -> str:
        return text.replace("client = redis", "x = 1 \x0c\nclient = redis")

    source = with_form_feed((FIXES / "cl101_redis_ex.py").read_text())
    target = tmp_path / "orders.py"
    target.write_text(source)
    document = cli_json(str(target))
    assert [d["line"] for d in document["diagnostics"]] == [15]
    cli("check", "--no-cache", "--fix", str(target))
    assert target.read_text() == with_form_feed(golden(FIXES / "cl101_redis_ex.py").read_text())
    noqa = tmp_path / "quiet.py"
    noqa.write_text(source.replace("ex=120)", "ex=120)  # noqa: CL101"))
    assert cli_json(str(noqa))["diagnostics"] == []
