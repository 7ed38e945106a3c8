"""``cachelint check --format sarif|github``: the real CLI on files with races.

SARIF is validated against the official OASIS SARIF 2.1.0 schema kept in
tests/data (never fetched); GitHub workflow commands are compared line by line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cachelint import __version__
from cachelint.formats.github import escape_data, escape_property
from cachelint.rules import all_rules
from tests.helpers import RACY_VIEW, cli

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
# RFC 3986 characters: what a "uri"/"uri-reference" may hold once percent-encoded.
URI_CHARACTERS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")

USER_REFILL = """\
from django.core.cache import cache
from accounts.models import User


def user_profile(user_id):
    user = User.objects.get(pk=user_id)
    cache.set(f"user:{user_id}", user.profile_json())
    return user
"""
USER_INVALIDATION = """\
from django.core.cache import cache


def on_user_saved(user_id):
    cache.delete("user:%s" % user_id)
"""
CLEAN = """\
from django.core.cache import cache
from cachelint.runtime import set_if_newer
from shop.models import Product


def product_detail(request, pk):
    product = Product.objects.get(pk=pk)
    set_if_newer(cache, f"product:{pk}", product.name, version=product.version, ttl=300)
"""
SYNTAX_ERROR = "def broken(:\n"

# Names that need escaping: `%`, `,` and `:` in properties, `%` in messages (CL403
# names the refill site), CR and LF in the name of a file that cannot be parsed.
REFILL_NAME = "profiles 100%.py"
INVALIDATION_NAME = "signals, v2: hooks.py"
BROKEN_NAME = "broken\r\nname.py"

CL101_MESSAGE = (
    "blind `set()` on a refill path: a slower refill of older data can land after a newer "
    "write and its invalidation; write with set_if_newer(..., version=<source version>)"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with races in oddly named files, as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(RACY_VIEW)
    (tmp_path / "app" / REFILL_NAME).write_text(USER_REFILL)
    (tmp_path / "app" / INVALIDATION_NAME).write_text(USER_INVALIDATION)
    (tmp_path / "app" / BROKEN_NAME).write_text(SYNTAX_ERROR)
    return tmp_path


def sarif(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli("check", "--no-cache", "--format", "sarif", *args)
    assert err == ""
    log: dict[str, Any] = json.loads(out)
    return code, log


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def validate(log: dict[str, Any]) -> None:
    official = schema()
    validator_class = jsonschema.validators.validator_for(official)
    validator_class.check_schema(official)
    validator = validator_class(official, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []


def uris(node: object) -> list[str]:
    """Every ``uri`` anywhere in a SARIF log."""
    if isinstance(node, dict):
        uri = node.get("uri")
        found = [uri] if isinstance(uri, str) else []
        return found + [u for value in node.values() for u in uris(value)]
    if isinstance(node, list):
        return [u for value in node for u in uris(value)]
    return []


def result_for(log: dict[str, Any], uri: str) -> dict[str, Any]:
    matches = [
        r for r in log["runs"][0]["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
    ]
    assert len(matches) == 1, matches
    found: dict[str, Any] = matches[0]
    return found


def apply_replacements(text: str, replacements: list[dict[str, Any]]) -> str:
    """Apply SARIF replacements one after another, in array order (columns in code points)."""
    for replacement in replacements:
        region = replacement["deletedRegion"]
        lines = text.splitlines(keepends=True) + [""]
        start = sum(map(len, lines[: region["startLine"] - 1])) + region["startColumn"] - 1
        end = sum(map(len, lines[: region["endLine"] - 1])) + region["endColumn"] - 1
        text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
    return text


# --- GitHub workflow commands -------------------------------------------------------


def test_github_escapes_data_and_properties_like_the_actions_toolkit() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext%3A a%2C b"
    assert escape_data("%0A") == "%250A"  # escaped once, not twice


def test_github_one_error_command_per_finding_and_per_unanalysable_file(project: Path) -> None:
    code, out, err = cli("check", "--no-cache", "--format", "github", "app")

    assert code == 2  # a file could not be analysed
    assert err == ""
    assert out.splitlines() == [
        "::error file=app/profiles 100%25.py,line=7,col=5,endLine=7,endColumn=54,"
        "title=CL101 blind-refill-set::" + CL101_MESSAGE
        + " (no version found: expose one from the source of truth)",
        (
            "::error file=app/signals%2C v2%3A hooks.py,line=5,col=5,endLine=5,endColumn=38,"
            "title=CL403 invalidation-undone-by-refill::blind delete of `user:{}` is undone by "
            "the blind refill at app/profiles 100%25.py:7: a refill that read the old row can "
            "land after this delete; version the refill (set_if_newer) and invalidate with a "
            "tombstone (invalidate(..., version=...)) "
            "(no version found for a tombstone: expose the committed version)"
        ),
        "::error file=app/views.py,line=8,col=5,endLine=8,endColumn=53,"
        "title=CL101 blind-refill-set::" + CL101_MESSAGE,
        "::error file=app/broken%0D%0Aname.py::syntax error at line 1: invalid syntax",
    ]
    assert out.endswith("\n")


def test_github_paths_are_relative_to_the_working_directory(project: Path) -> None:
    absolute = project / "app" / "views.py"
    code, out, _ = cli("check", "--no-cache", "--format", "github", str(absolute))

    assert code == 1
    assert out.startswith("::error file=app/views.py,line=8,col=5,")


def test_github_missing_path_is_reported_on_the_file(project: Path) -> None:
    code, out, _ = cli("check", "--no-cache", "--format", "github", "app/views.py", "gone.py")

    assert code == 2
    assert out.splitlines()[-1] == "::error file=gone.py::no such file or directory"


def test_github_clean_code_prints_nothing(project: Path) -> None:
    (project / "clean.py").write_text(CLEAN)

    assert cli("check", "--no-cache", "--format", "github", "clean.py") == (0, "", "")


# --- SARIF ----------------------------------------------------------------------------


def test_sarif_is_valid_against_the_official_schema(project: Path) -> None:
    code, log = sarif("app")

    assert code == 2
    validate(log)
    assert log["$schema"] == schema()["id"]
    assert log["version"] == "2.1.0"
    for uri in uris(log):
        assert URI_CHARACTERS.match(uri), uri


def test_sarif_of_clean_code_is_valid_and_has_empty_results(project: Path) -> None:
    (project / "clean.py").write_text(CLEAN)
    code, log = sarif("clean.py")

    assert code == 0
    validate(log)
    run = log["runs"][0]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True,
                                   "toolExecutionNotifications": []}]


def test_sarif_driver_describes_every_rule_from_its_page(project: Path) -> None:
    _, log = sarif("app/views.py")

    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("cachelint", __version__)
    assert driver["informationUri"].startswith("https://")
    rules = all_rules()
    assert [d["id"] for d in driver["rules"]] == [r.code for r in rules]
    for descriptor, rule in zip(driver["rules"], rules):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"] == {"text": rule.summary}
        assert descriptor["help"] == {"text": rule.page(), "markdown": rule.page()}
        assert descriptor["helpUri"] == rule.doc_url()
        assert descriptor["defaultConfiguration"] == {"level": "error"}
        what_it_does = (rule.__doc__ or "").split("## What it does")[1].split("##")[0]
        assert descriptor["fullDescription"] == {"text": " ".join(what_it_does.split())}


def test_sarif_results_point_at_the_findings(project: Path) -> None:
    _, log = sarif("app")
    run = log["runs"][0]

    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": project.resolve().as_uri() + "/"}}
    views = result_for(log, "app/views.py")
    assert {k: v for k, v in views.items() if k != "fixes"} == {
        "ruleId": "CL101",
        "ruleIndex": [r.code for r in all_rules()].index("CL101"),
        "level": "error",
        "message": {"text": CL101_MESSAGE},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "app/views.py", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 8, "startColumn": 5, "endLine": 8, "endColumn": 53},
        }}],
    }
    invalidation = result_for(log, "app/signals%2C%20v2%3A%20hooks.py")
    assert invalidation["ruleId"] == "CL403"
    assert "app/profiles 100%.py:7" in invalidation["message"]["text"]
    refill = result_for(log, "app/profiles%20100%25.py")
    assert refill["ruleId"] == "CL101"
    assert "fixes" not in refill  # no version to order by: no fix offered
    descriptors = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert descriptors[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_regions_agree_with_the_json_format(project: Path) -> None:
    _, log = sarif("app")
    _, out, _ = cli("check", "--no-cache", "--format", "json", "app")

    from_json = [(d["code"], d["line"], d["column"], d["end_line"], d["end_column"])
                 for d in json.loads(out)["diagnostics"]]
    from_sarif = []
    for result in log["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        from_sarif.append((result["ruleId"], region["startLine"], region["startColumn"],
                           region["endLine"], region["endColumn"]))
    assert from_sarif == from_json
    assert len(from_sarif) == 3


def test_sarif_columns_count_code_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = '    label = "\U0001F642\U0001F642"; cache.set(f"product:{pk}", payload, timeout=300)'
    Path("views.py").write_text(RACY_VIEW.replace(
        '    cache.set(f"product:{pk}", payload, timeout=300)', line), encoding="utf-8")
    _, log = sarif("views.py")

    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == line.index("cache.set") + 1
    assert region["endColumn"] == len(line) + 1


def test_sarif_fix_replacements_reproduce_check_fix(project: Path) -> None:
    _, log = sarif("app/views.py")
    fixes = result_for(log, "app/views.py")["fixes"]

    assert len(fixes) == 1
    fix = fixes[0]
    assert fix["description"]["text"].startswith("Replace with `set_if_newer(")
    assert fix["properties"] == {"safety": "safe"}
    [change] = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "app/views.py", "uriBaseId": "%SRCROOT%"}
    call, import_ = change["replacements"]  # bottom-up: the call, then the import above it
    assert call["deletedRegion"] == {"startLine": 8, "startColumn": 5,
                                     "endLine": 8, "endColumn": 53}
    assert call["insertedContent"]["text"].startswith(
        'set_if_newer(cache, f"product:{pk}", payload, version=product.version, ttl=300')
    assert import_["deletedRegion"] == {"startLine": 3, "startColumn": 1,
                                        "endLine": 3, "endColumn": 1}
    assert re.fullmatch(r"from cachelint\.runtime import .*\bset_if_newer\n",
                        import_["insertedContent"]["text"])

    code, _, _ = cli("check", "--no-cache", "--fix", "app/views.py")
    assert code == 0
    fixed = (project / "app" / "views.py").read_text()
    assert apply_replacements(RACY_VIEW, change["replacements"]) == fixed


def test_sarif_unanalysable_files_are_tool_notifications(project: Path) -> None:
    code, log = sarif("app", "gone.py")

    assert code == 2
    validate(log)
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    notifications = invocation["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"],
             n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for n in notifications] == [
        ("error", "no such file or directory", "gone.py"),
        ("error", "syntax error at line 1: invalid syntax", "app/broken%0D%0Aname.py"),
    ]
    assert len(log["runs"][0]["results"]) == 3  # the other files were still analysed


def test_sarif_file_outside_the_working_directory_gets_an_absolute_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "views.py").write_text(RACY_VIEW)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    code, log = sarif(str(outside / "views.py"))

    assert code == 1
    validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": (outside / "views.py").resolve().as_uri()}
