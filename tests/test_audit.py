"""``cachelint audit`` on a small Django-style project: every format, exactly.

The project has a refill of ``product:{pk}`` in one module and a blind delete of
the same key family in another (the cross-file CL403 pair), a refill and a premature
delete in one module (a same-file pair), clean modules, and a file that does not
parse. The HTML report is rendered by a real headless Chromium.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from cachelint.audit_html import markdown_to_html
from cachelint.rules import all_rules, rule_by_code
from tests.helpers import cli

CHROMIUM = Path("/usr/bin/chromium")

PROJECT = {
    "manage.py": """
        import os
        import sys

        if __name__ == "__main__":
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
            from django.core.management import execute_from_command_line

            execute_from_command_line(sys.argv)
    """,
    "shop/__init__.py": "",
    "shop/catalog/__init__.py": "",
    "shop/catalog/models.py": """
        from django.db import models


        class Product(models.Model):
            name = models.CharField(max_length=200)
            price = models.DecimalField(max_digits=10, decimal_places=2)
            is_new = models.BooleanField(default=False)
            version = models.PositiveBigIntegerField(default=0)
    """,
    "shop/catalog/views.py": """
        from django.core.cache import cache
        from django.shortcuts import get_object_or_404

        from shop.catalog.models import Product


        def product_detail(request, pk):
            key = f"product:{pk}"
            payload = cache.get(key)
            if payload is None:
                product = get_object_or_404(Product, pk=pk)
                payload = {"name": product.name, "badge": "<b>new</b>" if product.is_new else "",
                           "version": product.version}
                cache.set(key, payload, timeout=300)
            return payload
    """,
    "shop/catalog/signals.py": """
        from django.core.cache import cache
        from django.db.models.signals import post_save
        from django.dispatch import receiver

        from shop.catalog.models import Product


        @receiver(post_save, sender=Product)
        def product_saved(sender, instance, **kwargs):
            cache.delete("product:%s" % instance.pk)
    """,
    "shop/orders/__init__.py": "",
    "shop/orders/tasks.py": """
        import threading

        from celery import shared_task
        from django.core.cache import cache
        from django.db import transaction

        from shop.orders.models import Order

        _summary_lock = threading.Lock()


        def warm_order_summary(order_id):
            order = Order.objects.get(pk=order_id)
            summary = {"total": str(order.total), "version": order.version}
            cache.add(f"order-summary:{order_id}", summary, timeout=120)


        def close_order(order):
            with transaction.atomic():
                order.status = "closed"
                order.save()
                cache.delete(f"order-summary:{order.pk}")


        def cached_summary(order_id):
            with _summary_lock:
                summary = cache.get(f"order-summary:{order_id}")
                return summary


        def cancel_order(order):
            order.status = "cancelled"
            order.save()
            cache.delete(f"order-summary:{order.pk}")
    """,
    "shop/accounts/__init__.py": "",
    "shop/accounts/profile.py": """
        from django.core.cache import cache

        from shop.accounts.models import Profile


        def refresh_profile(user_id):
            profile = Profile.objects.get(user_id=user_id)
            cache.set(f"profile:{user_id}", profile.as_dict(), timeout=600)
    """,
    "shop/accounts/legacy.py": """
        def export_profiles(:
            pass
    """,
    "blog/__init__.py": "",
    "blog/views.py": """
        from django.shortcuts import render

        from blog.models import Post


        def post_list(request):
            return render(request, "blog/list.html", {"posts": Post.objects.all()})
    """,
}
FILES = len(PROJECT)
SYNTAX_ERROR = "syntax error at line 1: invalid syntax"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit") / "shopsite"
    for name, source in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return root


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project)
    return project


def audit(*args: str) -> tuple[int, str, str]:
    return cli("audit", "--no-cache", *args)


# ------------------------------------------------------------------ text, json, markdown

TEXT = """\
cachelint audit of shopsite: 7 findings; 12 files analysed, 1 file with errors

Findings per rule
  CODE   NAME                             FINDINGS
  CL101  blind-refill-set                        3
  CL403  invalidation-undone-by-refill           2
  CL301  process-local-lock-shared-cache         1
  CL402  invalidate-before-commit                1

Findings per package
  PACKAGE    FILES  FINDINGS  ERRORS
  shop          10         7       1
  blog           2         0       0
  manage.py      1         0       0

Hottest files
  FINDINGS  FILE
         4  shop/orders/tasks.py
         1  shop/accounts/profile.py
         1  shop/catalog/signals.py
         1  shop/catalog/views.py

Race pairs (CL403): a blind delete undone by a blind refill
  KEY FAMILY        DELETE                      REFILL
  product:{}        shop/catalog/signals.py:10  shop/catalog/views.py:14
  order-summary:{}  shop/orders/tasks.py:34     shop/orders/tasks.py:15

Fixes: 3 of 7 findings can be fixed automatically: 2 safe (`cachelint check --fix`), \
1 unsafe (`--fix --unsafe-fixes`).

Files that could not be analysed
  shop/accounts/legacy.py: syntax error at line 1: invalid syntax
"""


def test_text_summary(in_project: Path) -> None:
    code, out, err = audit()
    assert (code, out, err) == (2, TEXT, "")
    assert audit(".") == (2, TEXT, "")


def test_json_summary(in_project: Path) -> None:
    code, out, err = audit("--format", "json", ".")
    assert (code, err) == (2, "")
    document = json.loads(out)
    diagnostics = document.pop("diagnostics")
    assert document == {
        "version": 1,
        "root": ".",
        "files": {"analysed": 12, "with_errors": 1},
        "findings": 7,
        "rules": [
            {"code": "CL101", "name": "blind-refill-set", "count": 3},
            {"code": "CL403", "name": "invalidation-undone-by-refill", "count": 2},
            {"code": "CL301", "name": "process-local-lock-shared-cache", "count": 1},
            {"code": "CL402", "name": "invalidate-before-commit", "count": 1},
        ],
        "packages": [
            {"name": "shop", "files": 10, "findings": 7, "errors": 1},
            {"name": "blog", "files": 2, "findings": 0, "errors": 0},
            {"name": "manage.py", "files": 1, "findings": 0, "errors": 0},
        ],
        "hottest_files": [
            {"path": "shop/orders/tasks.py", "findings": 4},
            {"path": "shop/accounts/profile.py", "findings": 1},
            {"path": "shop/catalog/signals.py", "findings": 1},
            {"path": "shop/catalog/views.py", "findings": 1},
        ],
        "race_pairs": [
            {
                "family": "product:{}",
                "cross_file": True,
                "delete": {"path": "shop/catalog/signals.py", "line": 10, "column": 5},
                "refill": {"path": "shop/catalog/views.py", "line": 14},
            },
            {
                "family": "order-summary:{}",
                "cross_file": False,
                "delete": {"path": "shop/orders/tasks.py", "line": 34, "column": 5},
                "refill": {"path": "shop/orders/tasks.py", "line": 15},
            },
        ],
        "fixes": {"safe": 2, "unsafe": 1, "none": 4},
        "errors": [{"path": "shop/accounts/legacy.py", "message": SYNTAX_ERROR}],
    }
    summary = [(d["path"], d["line"], d["code"], d["fix"] and d["fix"]["safety"])
               for d in diagnostics]
    assert summary == [
        ("shop/accounts/profile.py", 8, "CL101", None),
        ("shop/catalog/signals.py", 10, "CL403", None),
        ("shop/catalog/views.py", 14, "CL101", "safe"),
        ("shop/orders/tasks.py", 15, "CL101", "unsafe"),
        ("shop/orders/tasks.py", 22, "CL402", "safe"),
        ("shop/orders/tasks.py", 26, "CL301", None),
        ("shop/orders/tasks.py", 34, "CL403", None),
    ]
    # The findings are exactly those of `check`, in the same shape.
    _, checked, _ = cli("check", "--no-cache", "--format", "json", ".")
    assert diagnostics == json.loads(checked)["diagnostics"]


MARKDOWN = """\
## cachelint audit of `shopsite`

**7 findings; 12 files analysed, 1 file with errors**

### Findings per rule

| Code | Name | Findings |
| --- | --- | ---: |
| CL101 | `blind-refill-set` | 3 |
| CL403 | `invalidation-undone-by-refill` | 2 |
| CL301 | `process-local-lock-shared-cache` | 1 |
| CL402 | `invalidate-before-commit` | 1 |

### Findings per package

| Package | Files | Findings | Errors |
| --- | ---: | ---: | ---: |
| `shop` | 10 | 7 | 1 |
| `blog` | 2 | 0 | 0 |
| `manage.py` | 1 | 0 | 0 |

### Hottest files

| File | Findings |
| --- | ---: |
| `shop/orders/tasks.py` | 4 |
| `shop/accounts/profile.py` | 1 |
| `shop/catalog/signals.py` | 1 |
| `shop/catalog/views.py` | 1 |

### Race pairs (CL403)

A blind delete is undone by a blind refill of the same key family.

| Key family | Delete | Refill |
| --- | --- | --- |
| `product:{}` | `shop/catalog/signals.py:10` | `shop/catalog/views.py:14` |
| `order-summary:{}` | `shop/orders/tasks.py:34` | `shop/orders/tasks.py:15` |

### Fixes

3 of 7 findings can be fixed automatically: 2 safe (`cachelint check --fix`), \
1 unsafe (`--fix --unsafe-fixes`).

### Files that could not be analysed

| File | Error |
| --- | --- |
| `shop/accounts/legacy.py` | syntax error at line 1: invalid syntax |
"""


def test_markdown_summary(in_project: Path) -> None:
    assert audit("--format", "markdown") == (2, MARKDOWN, "")


def test_subpackage_audit_groups_by_its_modules(in_project: Path) -> None:
    """Under ``shop/catalog`` the groups are its modules; the pair is still found: exit 1."""
    code, out, err = audit("--format", "json", "shop/catalog")
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["root"] == "shop/catalog"
    assert document["packages"] == [
        {"name": "signals.py", "files": 1, "findings": 1, "errors": 0},
        {"name": "views.py", "files": 1, "findings": 1, "errors": 0},
        {"name": "__init__.py", "files": 1, "findings": 0, "errors": 0},
        {"name": "models.py", "files": 1, "findings": 0, "errors": 0},
    ]
    assert [p["family"] for p in document["race_pairs"]] == ["product:{}"]
    assert document["files"] == {"analysed": 4, "with_errors": 0}


def test_clean_code_exits_zero(in_project: Path) -> None:
    assert audit("blog", "manage.py") == (0, textwrap.dedent("""\
        cachelint audit of shopsite: 0 findings; 3 files analysed, 0 files with errors

        Findings per package
          PACKAGE    FILES  FINDINGS  ERRORS
          blog           2         0       0
          manage.py      1         0       0
        """), "")


def test_jobs_two_gives_the_same_result_as_jobs_one(in_project: Path) -> None:
    serial = audit("--format", "json", "--jobs", "1")
    parallel = audit("--format", "json", "--jobs", "2")
    assert parallel == serial
    assert json.loads(serial[1])["findings"] == 7


def test_cached_run_gives_the_same_result(in_project: Path, tmp_path: Path) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = cli("audit", "--format", "json", *cache)
    second = cli("audit", "--format", "json", *cache)
    assert first == audit("--format", "json")
    assert second == first
    assert any((tmp_path / "cache").rglob("*.json"))


# ------------------------------------------------------------------ the progress bar


def run_audit_process(project: Path, stderr: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "cachelint.cli", "audit", "--no-cache", "--jobs", "2", "."]
    return subprocess.Popen(command, cwd=project, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=stderr)


def test_no_progress_bar_when_stderr_is_piped(project: Path) -> None:
    process = run_audit_process(project, subprocess.PIPE)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2
    assert err == b""
    assert out.decode() == TEXT


def test_progress_bar_on_a_terminal(project: Path) -> None:
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    process = run_audit_process(project, child)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(parent, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(parent)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 2
    assert out.decode() == TEXT  # the bar never reaches stdout
    frames = shown.decode().split("\r")
    assert frames[0] == ""
    assert frames[-1] == "\x1b[K"  # the bar is cleared at the end
    # 50 columns: the bar takes what " 13/13 files" and the brackets leave.
    width = 50 - len(f" {FILES}/{FILES} files") - 3
    assert frames[-2] == f"[{'#' * width}] {FILES}/{FILES} files"
    assert all(re.fullmatch(rf"\[[#.]{{{width}}}\] \d+/{FILES} files", f) for f in frames[1:-1]), frames


# ------------------------------------------------------------------ the HTML page


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e for e in self.iter()
            if (tag is None or e.tag == tag)
            and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class DomBuilder(HTMLParser):
    """A tree of the serialised DOM (Chromium's --dump-dom output)."""

    VOID: ClassVar[set[str]] = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_dom(markup: str) -> Element:
    builder = DomBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


def chromium_dom(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, from a real headless Chromium."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is required to test the HTML report and was not found at "
                    f"{CHROMIUM}: install it (Debian: apt-get install chromium).")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", url,
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "<html" in result.stdout, result.stderr
    return result.stdout


RESOURCE_ATTRIBUTES = {"src", "srcset", "poster", "data", "action", "formaction",
                       "background", "manifest", "xlink:href"}
CSS_URL = re.compile(r"url\(|@import", re.IGNORECASE)


def external_resources(dom: Element) -> list[str]:
    """Everything in the page that would load something over the network."""
    found = []
    for element in dom.iter():
        for name, value in element.attrs.items():
            loads = name in RESOURCE_ATTRIBUTES or (name == "href" and element.tag == "link")
            if loads and re.match(r"\s*(https?:)?//", value, re.IGNORECASE):
                found.append(f"<{element.tag} {name}={value!r}>")
            if name == "style" and CSS_URL.search(value):
                found.append(f"<{element.tag} style={value!r}>")
        if element.tag == "style" and CSS_URL.search(element.text()):
            found.append("<style> with url() or @import")
    return found


@pytest.fixture(scope="module")
def html_report(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("html") / "audit report.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert audit("--html", str(page)) == (2, TEXT, "")
    return page


@pytest.fixture(scope="module")
def page(html_report: Path, tmp_path_factory: pytest.TempPathFactory) -> Element:
    """The report as Chromium shows it, after its script ran."""
    return parse_dom(chromium_dom(html_report.as_uri(), tmp_path_factory.mktemp("profile")))


def test_html_summary(page: Element) -> None:
    assert page.find("head").find("title").text() == "cachelint audit of shopsite"
    # The script ran: it replaced the count rendered in Python.
    assert page.find(id="shown").text() == "Showing 7 of 7 findings"
    cards = {d.find("dt").text(): d.find("dd").text() for d in page.find("dl").find_all("div")}
    assert cards == {"Findings": "7", "Files analysed": "12", "Files with errors": "1",
                     "Race pairs": "2", "Safe fixes": "2", "Unsafe fixes": "1"}
    pairs = page.find("section", id="race-pairs").find("tbody").find_all("tr")
    assert [[td.words() for td in tr.find_all("td")] for tr in pairs] == [
        ["product:{}", "shop/catalog/signals.py:10", "shop/catalog/views.py:14", "yes"],
        ["order-summary:{}", "shop/orders/tasks.py:34", "shop/orders/tasks.py:15", "no"],
    ]
    hottest = page.find("section", id="hottest").find("tbody").find_all("tr")
    assert [[td.text() for td in tr.find_all("td")] for tr in hottest] == [
        ["shop/orders/tasks.py", "4"], ["shop/accounts/profile.py", "1"],
        ["shop/catalog/signals.py", "1"], ["shop/catalog/views.py", "1"],
    ]
    errors = page.find("section", id="errors").find("tbody").find_all("tr")
    assert [[td.text() for td in tr.find_all("td")] for tr in errors] == [
        ["shop/accounts/legacy.py", SYNTAX_ERROR],
    ]


def test_html_charts(page: Element) -> None:
    """One SVG bar per rule and per package with findings, each a link to its filter."""

    def bars(kind: str) -> list[tuple[str, ...]]:
        chart = page.find("figure", class_=f"chart {kind}")
        return [(a.attrs["href"], *(t.text() for t in a.find_all("text")))
                for a in chart.find("svg").find_all("a")]

    assert bars("rules") == [
        ("#filter?rule=CL101", "CL101", "3"), ("#filter?rule=CL403", "CL403", "2"),
        ("#filter?rule=CL301", "CL301", "1"), ("#filter?rule=CL402", "CL402", "1"),
    ]
    assert bars("packages") == [("#filter?package=shop", "shop", "7")]
    packages = [o.text() for o in page.find("select", id="filter-package").find_all("option")]
    assert packages == ["all", "blog", "manage.py", "shop"]


def test_html_finding_with_its_code_context(page: Element, project: Path) -> None:
    findings = page.find_all("article", class_="finding")
    assert [(f.attrs["data-rule"], f.attrs["data-package"]) for f in findings] == [
        ("CL101", "shop"), ("CL403", "shop"), ("CL101", "shop"), ("CL101", "shop"),
        ("CL402", "shop"), ("CL301", "shop"), ("CL403", "shop"),
    ]
    refill = findings[2]
    assert refill.find("header").words() == "CL101 blind-refill-set · shop/catalog/views.py:14:9"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        _, out, _ = cli("check", "--no-cache", "--format", "json", "shop/catalog/views.py")
    [checked] = json.loads(out)["diagnostics"]
    assert refill.find("p", class_="message").words() == checked["message"].replace("`", "")
    # Two lines either side, the finding's line marked; the source's "<b>" is text.
    context = [s for s in refill.find("pre").find_all("span") if "src" in s.classes]
    shown = [
        (int(s.find("span", class_="ln").text()),
         "".join(c for c in s.children if isinstance(c, str)),
         "hit" in s.classes)
        for s in context
    ]
    source = textwrap.dedent(PROJECT["shop/catalog/views.py"]).lstrip().splitlines()
    assert shown == [(n, source[n - 1], n == 14) for n in range(12, 16)]
    assert '"<b>new</b>"' in shown[0][1]
    assert refill.find_all("b") == []
    fix_title = checked["fix"]["title"].replace("`", "")
    assert "set_if_newer" in fix_title
    assert refill.find("p", class_="fix safe").words() == f"Fix (safe): {fix_title}"


def test_html_rule_explanations(page: Element) -> None:
    for finding in page.find_all("article", class_="finding"):
        rule = rule_by_code(finding.attrs["data-rule"])
        assert rule is not None
        why = finding.find("p", class_="why")
        assert why.words().startswith(rule.summary)
        assert why.find("a").attrs["href"] == f"#rule-{rule.code}"
    explained = [s.attrs["id"] for s in page.find_all("section", class_="rule")]
    assert explained == ["rule-CL101", "rule-CL301", "rule-CL402", "rule-CL403"]
    rule = rule_by_code("CL403")
    assert rule is not None
    explanation = page.find("section", id="rule-CL403")
    assert explanation.find("h3").text() == "CL403 invalidation-undone-by-refill"
    why_text = rule.page().split("## Why is this bad?")[1].split("##")[0]
    assert " ".join(why_text.replace("`", "").split()) in explanation.words()


def test_html_is_self_contained(page: Element) -> None:
    assert external_resources(page) == []
    policy = page.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert policy.startswith("default-src 'none';")
    # The check itself finds what it looks for.
    leaky = parse_dom('<link rel="stylesheet" href="https://fonts.example/x.css">'
                      '<img src="//cdn.example/a.png"><p style="background:url(x.png)">')
    assert len(external_resources(leaky)) == 3


def test_html_filter_from_the_address(html_report: Path, tmp_path: Path) -> None:
    """A chart bar links to #filter?rule=...: the script shows only those findings."""
    url = html_report.as_uri() + "#filter?rule=CL403"
    dom = parse_dom(chromium_dom(url, tmp_path / "profile"))
    assert dom.find(id="shown").text() == "Showing 2 of 7 findings"
    visible = [f.attrs["data-rule"] for f in dom.find_all("article", class_="finding")
               if "hidden" not in f.attrs]
    assert visible == ["CL403", "CL403"]
    selected = [o.attrs["value"] for o in dom.find("select", id="filter-rule").find_all("option")]
    assert selected == ["", "CL101", "CL301", "CL402", "CL403"]

    url = html_report.as_uri() + "#filter?package=blog"
    dom = parse_dom(chromium_dom(url, tmp_path / "profile2"))
    assert dom.find(id="shown").text() == "Showing 0 of 7 findings"


def test_every_rule_page_renders_without_markdown_left() -> None:
    for rule in all_rules():
        rendered = markdown_to_html(rule.page())
        assert "```" not in rendered, rule.code
        assert not re.search(r"^#|\n#", rendered), rule.code
        assert "`" not in re.sub(r"<pre><code>.*?</code></pre>", "", rendered, flags=re.DOTALL)
        assert rendered.count("<pre><code>") == 2, rule.code
