"""Every fixture through the real flake8 and the real CLI: exact (line, code) sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.expectations import expected, noqa_variant
from tests.helpers import cli_findings, flake8_findings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
FILES = sorted(FIXTURES.glob("*.py"))


@pytest.fixture(scope="module")
def flake8_results() -> set[tuple[str, int, str]]:
    return flake8_findings(FILES)


@pytest.fixture(scope="module")
def noqa_copies(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("noqa")
    copies = []
    for path in FILES:
        copy = directory / path.name
        copy.write_text(noqa_variant(path.read_text(encoding="utf-8")), encoding="utf-8")
        copies.append(copy)
    return copies


def test_enough_fixtures() -> None:
    assert len(FILES) >= 40
    positives = sum(len(expected(p)) for p in FILES)
    silent = [p for p in FILES if not expected(p)]
    assert positives > 0 and len(silent) >= 5


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_flake8(path: Path, flake8_results: set[tuple[str, int, str]]) -> None:
    want = expected(path)
    got = {(line, code) for p, line, code in flake8_results if p == str(path.resolve())}
    assert sorted(got) == sorted(want)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_cli(path: Path) -> None:
    want = expected(path)
    got = {(line, code) for _, line, code in cli_findings(path)}
    assert sorted(got) == sorted(want)


def test_noqa_variants_are_silent(noqa_copies: list[Path]) -> None:
    assert flake8_findings(noqa_copies) == set()
    for copy in noqa_copies:
        assert cli_findings(copy) == set(), copy.name
