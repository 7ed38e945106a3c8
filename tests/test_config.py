"""``[tool.cachelint]``: every option works, in the CLI and under flake8 alike."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import cli, cli_json, flake8_findings

VIEWS = textwrap.dedent(
    """
    import time
    from django.core.cache import cache
    from shop.models import Product

    def product_detail(request, pk):
        product = Product.objects.get(pk=pk)
        cache.set(f"product:{pk}", product.name, version=int(time.time()))
    """
)
STORE = textwrap.dedent(
    """
    from myapp.clients import store

    def warm_prices(rows):
        for row in rows:
            store.set(f"price:{row.sku}", str(row.price))
    """
)


def project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.cachelint]\n{textwrap.dedent(table)}")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(VIEWS)
    (tmp_path / "app" / "store.py").write_text(STORE)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_views.py").write_text(VIEWS)
    return tmp_path


def findings(root: Path, *args: str) -> set[tuple[str, int, str]]:
    document = cli_json(*args, str(root))
    assert document["errors"] == []
    return {(Path(d["path"]).relative_to(root).as_posix(), d["line"], d["code"])
            for d in document["diagnostics"]}


def flake8(root: Path) -> set[tuple[str, int, str]]:
    files = sorted(root.rglob("*.py"))
    return {(Path(p).relative_to(root.resolve()).as_posix(), line, code)
            for p, line, code in flake8_findings(files)}


def test_defaults(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    expected = {("app/views.py", 8, "CL101"), ("app/views.py", 8, "CL201"),
                ("tests/test_views.py", 8, "CL101"), ("tests/test_views.py", 8, "CL201")}
    assert findings(root) == expected
    assert flake8(root) == expected


def test_select_ignore_exclude_and_per_file_ignores(tmp_path: Path) -> None:
    root = project(tmp_path, """
        select = ["CL1", "CL2"]
        ignore = ["CL201"]
        exclude = ["legacy"]
        per-file-ignores = { "tests/*" = ["CL101"] }
    """)
    (root / "legacy").mkdir()
    (root / "legacy" / "old.py").write_text(VIEWS)
    expected = {("app/views.py", 8, "CL101")}
    assert findings(root) == expected
    assert {f for f in flake8(root) if not f[0].startswith("legacy")} == expected


def test_command_line_overrides_the_table(tmp_path: Path) -> None:
    root = project(tmp_path, 'ignore = ["CL201"]\n')
    assert ("app/views.py", 8, "CL201") in findings(root, "--select", "CL201")
    assert findings(root, "--ignore", "CL1") == set()


def test_extend_shared_caches(tmp_path: Path) -> None:
    root = project(tmp_path, 'extend-shared-caches = ["myapp.clients.store"]\n')
    assert ("app/store.py", 6, "CL101") in findings(root)
    assert ("app/store.py", 6, "CL101") in flake8(root)
    (tmp_path / "plain").mkdir()
    plain = project(tmp_path / "plain", "")
    assert not any(f[0] == "app/store.py" for f in findings(plain))


def test_extend_local_caches(tmp_path: Path) -> None:
    root = project(tmp_path, 'extend-local-caches = ["cache"]\n')
    assert findings(root) == {("app/views.py", 8, "CL201"), ("tests/test_views.py", 8, "CL201")}


def test_extend_source_reads(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.cachelint]\nextend-source-reads = ["myapp.repo.row_for"]\n'
    )
    (tmp_path / "report.py").write_text(textwrap.dedent("""
        from django.core.cache import cache
        from myapp.repo import row_for

        def report(pk):
            cache.set(f"report:{pk}", row_for(pk))
    """))
    assert findings(tmp_path) == {("report.py", 6, "CL101")}


def test_version_attributes_and_versioned_helpers(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.cachelint]
        version-attributes = ["etag_seq"]
        versioned-helpers = ["myapp.caching.set_if_newer"]
    """))
    (tmp_path / "views.py").write_text(textwrap.dedent("""
        import time
        from django.core.cache import cache
        from myapp.caching import set_if_newer
        from shop.models import Product

        def product_detail(request, pk):
            product = Product.objects.get(pk=pk)
            cache.set(f"product:{pk}", product.name, 60)
            return product.etag_seq

        def stamp(pk, name):
            set_if_newer(cache, f"stamp:{pk}", name, version=time.time_ns())
    """))
    document = cli_json(str(tmp_path))
    by_code = {d["code"]: d for d in document["diagnostics"]}
    assert set(by_code) == {"CL101", "CL201"}
    edit = by_code["CL101"]["fix"]["edits"][0]["content"]
    assert "version=product.etag_seq" in edit
    assert any(e["content"] == "from myapp.caching import set_if_newer\n"
               for e in by_code["CL101"]["fix"]["edits"]) is False  # already imported


def test_explicit_config_file(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    other = tmp_path / "strict.toml"
    other.write_text('[tool.cachelint]\nselect = ["CL201"]\n')
    assert {c for *_, c in findings(root, "--config", str(other))} == {"CL201"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('select = "CL1', "invalid TOML"),
        ("selct = []", "unknown option(s) selct"),
        ('ignore = ["CL999"]', "unknown rule code(s) CL999"),
        ('ignore = ["E501"]', "unknown rule code(s) E501"),
        ("select = 3", "`select` must be a list of strings"),
        ('per-file-ignores = ["x"]', "`per-file-ignores` must be a table"),
    ],
)
def test_broken_config_is_named(tmp_path: Path, table: str, message: str) -> None:
    root = project(tmp_path, table + "\n")
    code, out, err = cli("check", "--no-cache", str(root))
    assert code == 2 and out == ""
    assert message in err and "pyproject.toml" in err and "Traceback" not in err
