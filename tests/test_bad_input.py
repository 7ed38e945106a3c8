"""Bad input gets one clear error line naming the file, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli, cli_json

RACE = (
    "from django.core.cache import cache\n"
    "from shop.models import Product\n"
    "\n"
    "def product_detail(request, pk):\n"
    "    product = Product.objects.get(pk=pk)\n"
    "    cache.set(f'product:{pk}', product.name)\n"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good.py").write_text(RACE)
    (tmp_path / "syntax.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "latin1.py").write_bytes(b"name = '\xe9t\xe9'\ncache = None\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "binary.py").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "deep.py").write_text("x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    os.symlink(tmp_path / "missing.py", tmp_path / "dangling.py")
    return tmp_path


def test_every_bad_file_is_one_error_and_the_rest_is_analysed(tree: Path) -> None:
    document = cli_json(str(tree))
    errors = {Path(e["path"]).name: e["message"] for e in document["errors"]}
    assert set(errors) == {"syntax.py", "latin1.py", "nul.py", "binary.py", "deep.py",
                           "dangling.py"}
    assert "syntax error at line 1" in errors["syntax.py"]
    assert "UTF-8" in errors["latin1.py"]
    assert "NUL" in errors["nul.py"] and "NUL" in errors["binary.py"]
    assert "nested" in errors["deep.py"]
    assert "dangling" in errors["dangling.py"]
    assert [(Path(d["path"]).name, d["line"], d["code"]) for d in document["diagnostics"]] == [
        ("good.py", 6, "CL101")
    ]


def test_text_output_and_exit_code(tree: Path) -> None:
    code, out, err = cli("check", "--no-cache", str(tree))
    assert code == 2
    assert out.count("CL101") == 1
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 6
    assert all(": error: " in line for line in err.strip().splitlines())


def test_real_process_prints_no_traceback(tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cachelint.cli", "check", "--no-cache", "--format", "json",
         str(tree)], check=False, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(json.loads(result.stdout)["errors"]) == 6


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    code, _, err = cli("check", "--no-cache", str(tmp_path / "nope.py"))
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_bom_and_crlf_keep_line_numbers(tmp_path: Path, newline: str, bom: bytes) -> None:
    path = tmp_path / "module.py"
    path.write_bytes(bom + RACE.replace("\n", newline).encode())
    document = cli_json(str(path))
    assert [(d["line"], d["column"], d["code"]) for d in document["diagnostics"]] == [
        (6, 5, "CL101")
    ]


def test_coding_cookie_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "legacy.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + RACE.encode())
    document = cli_json(str(path))
    assert document["errors"] == []
    assert [d["line"] for d in document["diagnostics"]] == [8]


def _module_with_race(prefix: str) -> str:
    return prefix + RACE


@pytest.mark.parametrize(
    "prefix",
    [
        "x = " + "(" * 190 + "1" + ")" * 190 + "\n",
        "x = " + " + ".join(["a"] * 2000) + "\n",
        "".join(f"v{i} = {i}\n" for i in range(60_000)),
    ],
    ids=["190-parentheses", "2000-terms", "60000-lines"],
)
def test_large_valid_python_is_analysed(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "big.py"
    path.write_text(_module_with_race(prefix))
    document = cli_json(str(path))
    assert document["errors"] == []
    lines = prefix.count("\n")
    assert [(d["line"], d["code"]) for d in document["diagnostics"]] == [(lines + 6, "CL101")]


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.cachelint]\nselect = [\n")
    (tmp_path / "app.py").write_text(RACE)
    code, _, err = cli("check", "--no-cache", str(tmp_path / "app.py"))
    assert code == 2 and "invalid TOML" in err and "Traceback" not in err


def test_unknown_config_keys_and_codes_are_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.cachelint]\nselct = ["CL1"]\nignore = ["CL999"]\n'
    )
    (tmp_path / "app.py").write_text(RACE)
    code, _, err = cli("check", "--no-cache", str(tmp_path / "app.py"))
    assert code == 2 and "selct" in err
    (tmp_path / "pyproject.toml").write_text('[tool.cachelint]\nignore = ["CL999"]\n')
    code, _, err = cli("check", "--no-cache", str(tmp_path / "app.py"))
    assert code == 2 and "CL999" in err


def test_unknown_code_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(RACE)
    code, _, err = cli("check", "--no-cache", "--select", "CL9", str(tmp_path))
    assert code == 2 and "CL9" in err
    code, _, err = cli("rule", "CL777")
    assert code == 2 and "unknown rule code" in err


def test_newer_python_syntax_is_analysed_when_libcst_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "modern.py"
    path.write_text(
        RACE.replace("def product_detail(request, pk):",
                     "type Pk = int\n\ndef product_detail[T](request, pk: Pk):")
        + "    try:\n        pass\n    except ValueError, TypeError:\n        pass\n"
    )
    document = cli_json(str(path))
    assert document["errors"] == []
    assert [(d["line"], d["code"]) for d in document["diagnostics"]] == [(8, "CL101")]


def test_an_internal_error_is_one_error_line_and_the_rest_is_analysed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cachelint import races

    real = races.write_race

    def broken(op, module):  # type: ignore[no-untyped-def]
        if "boom" in op.function.name:
            raise KeyError("boom")
        return real(op, module)

    monkeypatch.setattr(races, "write_race", broken)
    (tmp_path / "good.py").write_text(RACE)
    (tmp_path / "bad.py").write_text(RACE.replace("product_detail", "boom_detail"))
    code, out, err = cli("check", "--no-cache", str(tmp_path))
    assert code == 2 and out.count("CL101") == 1
    assert "bad.py: error: internal error in cachelint" in err and "KeyError" in err
    assert "Traceback" not in err
