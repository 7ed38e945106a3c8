"""Meta-tests: codes, pages, fixtures and examples stay in step with the rule classes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from cachelint import docs
from cachelint.config import Config
from cachelint.engine import analyse_text
from cachelint.rules import Rule, all_rules
from tests.expectations import expected

ROOT = Path(__file__).resolve().parent.parent
RULES = all_rules()
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix",
            "## Options", "## References")


def test_codes_are_unique_and_well_formed() -> None:
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    for rule in RULES:
        assert re.fullmatch(r"CL[1-4]\d\d", rule.code)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name)
        module = rule.__module__.rsplit(".", 1)[-1]
        assert module == f"{rule.code.lower()}_{rule.name.replace('-', '_')}"


def test_readme_rule_table_is_generated_from_the_classes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.readme_with_table(readme) == readme, "run python -m cachelint.docs"
    for rule in RULES:
        assert f"[{rule.code}](rules/{rule.code}.md) | {rule.name}" in readme


def test_rule_pages_are_generated_from_the_classes() -> None:
    pages = docs.expected_pages()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "rules").glob("*.md")}
    assert on_disk == pages, "rules/ is stale: run python -m cachelint.docs"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_page_has_every_section(rule: type[Rule]) -> None:
    page = rule.page()
    positions = [page.index(section) for section in SECTIONS]
    assert positions == sorted(positions)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_code_has_a_fixture(rule: type[Rule]) -> None:
    fixtures = (ROOT / "fixtures").rglob("*.py")
    assert any(rule.code in {c for _, c in expected(p)} for p in fixtures
               if not p.name.endswith(".fixed.py"))


def test_every_fixture_code_is_a_rule() -> None:
    codes = {rule.code for rule in RULES}
    for path in (ROOT / "fixtures" / "lint").glob("*.py"):
        assert {c for _, c in expected(path)} <= codes, path


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_examples(rule: type[Rule]) -> None:
    assert rule.INVALID and rule.VALID
    for example in rule.INVALID:
        result = analyse_text(textwrap.dedent(example), "example.py", Config())
        assert rule.code in {d.code for d in result.diagnostics}, example
    for example in rule.VALID:
        result = analyse_text(textwrap.dedent(example), "example.py", Config())
        assert result.diagnostics == [], example


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_fixable_rules_document_their_fix(rule: type[Rule]) -> None:
    assert rule.fixable in {"never", "sometimes", "always"}
    if rule.fixable != "never":
        assert "safe" in rule.fix_doc.lower()
