"""``cachelint audit --html FILE``: the audit as one self-contained HTML page.

Everything is inline: CSS, a small script (filters the findings by rule and
package), and the charts as SVG. A Content-Security-Policy with ``default-src
'none'`` and hashes of the inline style and script makes the page unable to load
anything, even from a file it was not meant to contain. The content is rendered
here, in Python: the page reads fine with scripts off; the script only filters.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path
from urllib.parse import quote

from cachelint import __version__
from cachelint.audit import Audit, fixes_sentence, headline, refill_site
from cachelint.diagnostics import Diagnostic
from cachelint.engine import SourceError, decode
from cachelint.lines import split_lines
from cachelint.rules import rule_by_code

CONTEXT_LINES = 2  # shown before and after a finding
MAX_HIGHLIGHTED_LINES = 8  # of a long multi-line statement

STYLE = """
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #fff;
  --panel: #f6f8fa; --line: #d1d9e0; --bar: #cf222e; --bar2: #0969da; --hit: #fff8c5; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23;
    --line: #3d444d; --bar: #f85149; --bar2: #4493f8; --hit: #3b2e00; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; color: var(--fg);
  background: var(--bg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem;
  margin-top: 2rem; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: .9em; }
.headline { color: var(--muted); margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0 0; padding: 0; }
.cards div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: .5rem 1rem; min-width: 9rem; }
.cards dt { color: var(--muted); font-size: .85rem; }
.cards dd { margin: 0; font-size: 1.4rem; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr));
  gap: 1.5rem; }
.chart svg { width: 100%; height: auto; }
.chart text { fill: var(--fg); font: 12px ui-monospace, Menlo, Consolas, monospace; }
.chart .bar { fill: var(--bar); }
.chart.packages .bar { fill: var(--bar2); }
.chart a:hover .bar { opacity: .75; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
td.num, th.num { text-align: right; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center;
  margin-bottom: 1rem; }
.finding { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 1rem;
  overflow: hidden; }
.finding header { background: var(--panel); padding: .5rem .75rem;
  border-bottom: 1px solid var(--line); }
.finding .code { font-weight: 700; }
.finding p { margin: .5rem .75rem; }
.finding .why { color: var(--muted); }
pre.context { margin: 0; padding: .5rem 0; overflow-x: auto; background: var(--panel);
  border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
pre.context span.src { display: block; padding: 0 .75rem; white-space: pre; }
pre.context span.hit { background: var(--hit); }
pre.context span.ln { display: inline-block; min-width: 3.5em; color: var(--muted);
  user-select: none; }
.fix.safe { color: #1a7f37; }
.fix.unsafe { color: #9a6700; }
.rule { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 0 1rem; margin-bottom: 1rem; }
.rule pre { background: var(--bg); padding: .5rem; overflow-x: auto; }
footer { margin-top: 2rem; color: var(--muted); font-size: .85rem; }
"""

# Filters the findings by rule and package; the state lives in the address
# (#filter?rule=CL101&package=shop) so a chart bar is a plain link.
SCRIPT = """
(function () {
  "use strict";
  var findings = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var rule = document.getElementById("filter-rule");
  var pkg = document.getElementById("filter-package");
  var shown = document.getElementById("shown");
  var PREFIX = "#filter?";
  function apply() {
    var count = 0;
    findings.forEach(function (finding) {
      var visible = (!rule.value || finding.dataset.rule === rule.value) &&
        (!pkg.value || finding.dataset.package === pkg.value);
      finding.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = "Showing " + count + " of " + findings.length + " findings";
  }
  function fromAddress(scroll) {
    if (location.hash.indexOf(PREFIX) !== 0) { apply(); return; }
    var params = new URLSearchParams(location.hash.slice(PREFIX.length));
    rule.value = params.get("rule") || "";
    pkg.value = params.get("package") || "";
    apply();
    if (scroll) { document.getElementById("findings").scrollIntoView(); }
  }
  function toAddress() {
    var params = new URLSearchParams();
    if (rule.value) { params.set("rule", rule.value); }
    if (pkg.value) { params.set("package", pkg.value); }
    history.replaceState(null, "", PREFIX + params.toString());
    apply();
  }
  rule.addEventListener("change", toAddress);
  pkg.addEventListener("change", toAddress);
  window.addEventListener("hashchange", function () { fromAddress(true); });
  fromAddress(false);
})();
"""


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def filter_link(key: str, value: str) -> str:
    return f"#filter?{key}={quote(value, safe='')}"


def render(audit: Audit) -> str:
    sources = SourceLines()
    packages = sorted(set(audit.package_of.values()))
    body = [
        "<header>",
        f"<h1>cachelint audit of <code>{e(audit.title)}</code></h1>",
        f'<p class="headline">{e(headline(audit))}</p>',
        _cards(audit),
        "</header>",
        '<section id="charts"><h2>Findings per rule and package</h2><div class="charts">',
        _chart("Findings per rule", "rules",
               [(r.code, f"{r.code} {r.name}", r.count, filter_link("rule", r.code))
                for r in audit.rules]),
        _chart("Findings per package", "packages",
               [(p.name, p.name, p.findings, filter_link("package", p.name))
                for p in audit.packages if p.findings]),
        "</div></section>",
        _race_pairs(audit),
        _hottest_files(audit),
        _fixes(audit),
        _findings(audit, packages, sources),
        _rules(audit),
        _errors(audit),
        f"<footer>Generated by cachelint {e(__version__)}.</footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CONTENT_SECURITY_POLICY)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cachelint audit of {e(audit.title)}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _cards(audit: Audit) -> str:
    cards = [
        ("Findings", audit.findings),
        ("Files analysed", audit.files_analysed),
        ("Files with errors", audit.files_with_errors),
        ("Race pairs", len(audit.race_pairs)),
        ("Safe fixes", audit.safe_fixes),
        ("Unsafe fixes", audit.unsafe_fixes),
    ]
    items = "".join(f"<div><dt>{e(label)}</dt><dd>{value}</dd></div>" for label, value in cards)
    return f'<dl class="cards">{items}</dl>'


def _chart(title: str, kind: str, rows: list[tuple[str, str, int, str]]) -> str:
    """Horizontal bars as inline SVG: (label, tooltip, count, link) per row."""
    if not rows:
        return f'<figure class="chart {kind}"><figcaption>{e(title)}</figcaption>' \
               "<p>No findings.</p></figure>"
    row_height, bar_height, bar_width, char_width = 26, 18, 320, 7.3
    label_width = int(max(len(label) for label, _, _, _ in rows) * char_width) + 16
    width = label_width + bar_width + 48
    height = row_height * len(rows) + 8
    largest = max(count for _, _, count, _ in rows) or 1
    bars = []
    for index, (label, tooltip, count, link) in enumerate(rows):
        y = 4 + index * row_height
        length = max(2, round(bar_width * count / largest))
        middle = y + bar_height / 2 + 4
        bars.append(
            f'<a href="{e(link)}"><title>{e(tooltip)}: {count}</title>'
            f'<text x="{label_width - 8}" y="{middle}" text-anchor="end">{e(label)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{length}" '
            f'height="{bar_height}" rx="3"/>'
            f'<text class="count" x="{label_width + length + 6}" y="{middle}">{count}</text></a>'
        )
    return (
        f'<figure class="chart {kind}"><figcaption>{e(title)}</figcaption>'
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{e(title)}">'
        + "".join(bars)
        + "</svg></figure>"
    )


def _table(header: list[tuple[str, bool]], rows: list[list[str]]) -> str:
    """``header``: (title, numeric); ``rows``: cells already escaped."""
    head = "".join(f'<th class="num">{e(t)}</th>' if num else f"<th>{e(t)}</th>"
                   for t, num in header)
    lines = []
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if header[i][1] else f"<td>{c}</td>"
                        for i, c in enumerate(row))
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _race_pairs(audit: Audit) -> str:
    if not audit.race_pairs:
        return ""
    anchors = {(d.code, d.path, d.line, d.column + 1): _finding_id(i)
               for i, d in enumerate(audit.diagnostics)}
    rows = []
    for pair in audit.race_pairs:
        anchor = anchors[("CL403", pair.delete_path, pair.delete_line, pair.delete_column)]
        rows.append([
            f"<code>{e(pair.family)}</code>",
            f'<a class="mono" href="#{anchor}">{e(pair.delete_path)}:{pair.delete_line}</a>',
            f'<span class="mono">{e(refill_site(pair))}</span>',
            "yes" if pair.cross_file else "no",
        ])
    return (
        '<section id="race-pairs"><h2>Race pairs (CL403)</h2>'
        "<p>Each blind delete below is undone by the blind refill of the same key family: "
        "a refill that read the old row can land after the delete.</p>"
        + _table([("Key family", False), ("Delete", False), ("Refill", False),
                  ("Across files", False)], rows)
        + "</section>"
    )


def _hottest_files(audit: Audit) -> str:
    if not audit.hottest_files:
        return ""
    rows = [[f'<span class="mono">{e(f.path)}</span>', str(f.findings)]
            for f in audit.hottest_files]
    return ('<section id="hottest"><h2>Hottest files</h2>'
            + _table([("File", False), ("Findings", True)], rows) + "</section>")


def _fixes(audit: Audit) -> str:
    if not audit.findings:
        return ""
    sentence = _inline_markdown(fixes_sentence(audit))
    return f'<section id="fixes"><h2>Fixes</h2><p>{sentence}</p></section>'


def _finding_id(index: int) -> str:
    return f"finding-{index + 1}"


def _findings(audit: Audit, packages: list[str], sources: SourceLines) -> str:
    if not audit.diagnostics:
        return '<section id="findings"><h2>Findings</h2><p>No findings.</p></section>'
    rule_options = "".join(f'<option value="{e(r.code)}">{e(r.code)} {e(r.name)}</option>'
                           for r in sorted(audit.rules, key=lambda r: r.code))
    package_options = "".join(f'<option value="{e(p)}">{e(p)}</option>' for p in packages)
    filters = (
        '<form class="filters" role="search">'
        f'<label>Rule <select id="filter-rule"><option value="">all</option>{rule_options}'
        "</select></label>"
        f'<label>Package <select id="filter-package"><option value="">all</option>'
        f"{package_options}</select></label>"
        f'<output id="shown">{len(audit.diagnostics)} findings</output></form>'
    )
    articles = [_finding(i, d, audit.package_of.get(d.path, ""), sources)
                for i, d in enumerate(audit.diagnostics)]
    return ('<section id="findings"><h2>Findings</h2>' + filters + "".join(articles)
            + "</section>")


def _finding(index: int, diagnostic: Diagnostic, package: str, sources: SourceLines) -> str:
    d = diagnostic
    rule = rule_by_code(d.code)
    summary = rule.summary if rule is not None else ""
    fix = ""
    if d.fix is not None:
        fix = (f'<p class="fix {e(d.fix.safety)}">Fix ({e(d.fix.safety)}): '
               f"{_inline_markdown(d.fix.title)}</p>")
    return (
        f'<article class="finding" id="{_finding_id(index)}" '
        f'data-rule="{e(d.code)}" data-package="{e(package)}">'
        f'<header><span class="code">{e(d.code)}</span> {e(d.name)} · '
        f'<span class="mono">{e(d.path)}:{d.line}:{d.column + 1}</span></header>'
        f'<p class="message">{_inline_markdown(d.message)}</p>'
        + _context(d, sources)
        + f'<p class="why">{e(summary)} <a href="#rule-{e(d.code)}">Why this is a race</a></p>'
        + fix
        + "</article>"
    )


class SourceLines:
    """The lines of each file with findings, read once."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str] | None] = {}

    def get(self, path: str) -> list[str] | None:
        if path not in self._lines:
            try:
                text, _, _ = decode(Path(path).read_bytes())
                self._lines[path] = [line.rstrip("\r\n") for line in split_lines(text)]
            except (OSError, SourceError):
                self._lines[path] = None
        return self._lines[path]


def _context(d: Diagnostic, sources: SourceLines) -> str:
    lines = sources.get(d.path)
    if not lines or not 1 <= d.line <= len(lines):
        return '<p class="context-missing">(source not available)</p>'
    last_hit = min(max(d.end_line, d.line), d.line + MAX_HIGHLIGHTED_LINES - 1, len(lines))
    first = max(1, d.line - CONTEXT_LINES)
    last = min(len(lines), last_hit + CONTEXT_LINES)
    rows = []
    for number in range(first, last + 1):
        hit = " hit" if d.line <= number <= last_hit else ""
        rows.append(f'<span class="src{hit}"><span class="ln">{number}</span>'
                    f"{e(lines[number - 1])}</span>")
    return f'<pre class="context"><code>{"".join(rows)}</code></pre>'


def _rules(audit: Audit) -> str:
    sections = []
    for code in sorted(r.code for r in audit.rules):
        rule = rule_by_code(code)
        if rule is None:
            continue
        sections.append(f'<section class="rule" id="rule-{e(code)}">'
                        f"{markdown_to_html(rule.page())}</section>")
    if not sections:
        return ""
    return '<section id="rules"><h2>The rules</h2>' + "".join(sections) + "</section>"


def _errors(audit: Audit) -> str:
    if not audit.errors:
        return ""
    rows = [[f'<span class="mono">{e(err.path)}</span>', e(err.message)] for err in audit.errors]
    return ('<section id="errors"><h2>Files that could not be analysed</h2>'
            + _table([("File", False), ("Error", False)], rows) + "</section>")


# ---------------------------------------------------------------- rule pages (Markdown)

_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])")


def _inline_markdown(text: str) -> str:
    """Escaped text with `code`, **bold** and *italics*: enough for messages and rule pages."""
    parts = _INLINE_CODE.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(f"<code>{e(part)}</code>")
        else:
            bold = _BOLD.sub(r"<strong>\1</strong>", e(part))
            out.append(_ITALIC.sub(r"<em>\1</em>", bold))
    return "".join(out)


def markdown_to_html(text: str) -> str:
    """The Markdown of ``Rule.page()``: headings, paragraphs, lists, fenced code."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{_inline_markdown(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline_markdown(i)}</li>" for i in items)
                       + "</ul>")
            items.clear()

    for line in text.splitlines():
        if code is not None:
            if line.startswith("```"):
                out.append(f"<pre><code>{e(chr(10).join(code))}</code></pre>")
                code = None
            else:
                code.append(line)
        elif line.startswith("```"):
            flush()
            code = []
        elif line.startswith("#"):
            flush()
            level = min(6, len(line) - len(line.lstrip("#")) + 2)
            out.append(f"<h{level}>{_inline_markdown(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append(line[2:].strip())
        elif not line.strip():
            flush()
        elif items and line.startswith(" "):
            items[-1] += " " + line.strip()
        else:
            if items:
                flush()
            paragraph.append(line.strip())
    if code is not None:
        out.append(f"<pre><code>{e(chr(10).join(code))}</code></pre>")
    flush()
    return "\n".join(out)
