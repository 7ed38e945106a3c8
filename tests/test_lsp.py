"""``cachelint lsp`` end to end: pytest-lsp drives the real server in a subprocess.

The server publishes each document's diagnostics with the document version, so the
tests wait (with a timeout) for the publication of a given version instead of
sleeping.  A few tests check the pure position and ``# noqa`` helpers directly.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.workspace import PositionCodec, TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from cachelint import fixer
from cachelint.config import Config
from cachelint.lsp import analysis
from cachelint.rules import rule_by_code
from tests.helpers import RACY_VIEW

TIMEOUT = 60.0
T = TypeVar("T")

CLEAN = '''\
from django.core.cache import cache

def product_detail(request, pk):
    return cache.get(f"product:{pk}")
'''
SET_CALL = 'cache.set(f"product:{pk}", payload, timeout=300)'
SET_LINE = next(i for i, line in enumerate(RACY_VIEW.splitlines()) if SET_CALL in line)  # 0-based


class Client(LanguageClient):
    """pytest-lsp's client, keeping every publication and waking waiters on each message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.arrived = asyncio.Event()

    async def wait_until(self, condition: Callable[[], T | None]) -> T:
        """The first non-None value of ``condition``, checked after every notification."""

        async def poll() -> T:
            while (value := condition()) is None:
                self.arrived.clear()
                await self.arrived.wait()
            return value

        return await asyncio.wait_for(poll(), TIMEOUT)

    async def findings(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for ``version`` of the document."""

        def found() -> list[types.Diagnostic] | None:
            for params in reversed(self.published):
                if params.uri == uri and params.version == version:
                    return list(params.diagnostics)
            return None

        return await self.wait_until(found)

    async def publication(self, uri: str, number: int) -> types.PublishDiagnosticsParams:
        """The document's ``number``-th publication (from 0)."""

        def found() -> types.PublishDiagnosticsParams | None:
            mine = [p for p in self.published if p.uri == uri]
            return mine[number] if len(mine) > number else None

        return await self.wait_until(found)

    def versions(self, uri: str) -> list[int | None]:
        return [p.version for p in self.published if p.uri == uri]

    async def message(self, kind: types.MessageType, *parts: str) -> str:
        """The first ``window/showMessage`` of ``kind`` containing every part."""

        def found() -> str | None:
            return next((m.message for m in self.messages
                         if m.type == kind and all(p in m.message for p in parts)), None)

        return await self.wait_until(found)

    async def log(self, *parts: str) -> str:
        """The first ``window/logMessage`` containing every part."""

        def found() -> str | None:
            return next((m.message for m in self.log_messages
                         if all(p in m.message for p in parts)), None)

        return await self.wait_until(found)

    def open(self, path: Path | str, text: str, version: int = 1) -> str:
        uri = path if isinstance(path, str) else path.as_uri()
        self.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=text)))
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        ))

    def save(self, uri: str) -> None:
        self.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    async def actions(
        self, uri: str, span: types.Range, only: Sequence[str] | None = None,
        diagnostics: Sequence[types.Diagnostic] = (),
    ) -> list[types.CodeAction]:
        result = await asyncio.wait_for(self.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=span,
                context=types.CodeActionContext(diagnostics=list(diagnostics), only=only),
            )), TIMEOUT)
        return [a for a in result or [] if isinstance(a, types.CodeAction)]


def _recorded(default: Callable[[Client, Any], None]) -> Callable[[Client, Any], None]:
    def handler(client: Client, params: Any) -> None:
        default(client, params)
        if isinstance(params, types.PublishDiagnosticsParams):
            client.published.append(params)
        client.arrived.set()

    return handler


def make_client() -> Client:
    client = Client(converter_factory=default_converter)
    recorded = (types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, types.WINDOW_SHOW_MESSAGE,
                types.WINDOW_LOG_MESSAGE)
    features = {method: _recorded(handler) if method in recorded else handler
                for method, handler in DEFAULT_CLIENT_FEATURES.items()}
    register_lsp_features(client, features)
    return client


MODULE = (sys.executable, "-m", "cachelint.cli")
SCRIPT = (str(Path(sys.executable).with_name("cachelint")),)  # what editors start


def server(*options: str, command: Sequence[str] = MODULE) -> ClientServerConfig:
    return ClientServerConfig(
        server_command=[*command, "lsp", *options],
        client_factory=make_client,
    )


async def _session(client: Client, editor: str, root: Path) -> None:
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(editor),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
    ))


# One server for most tests (starting one costs about a second): they share nothing
# but the server, as each test opens its own files under its own tmp_path.
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=server("--debounce", "100"), scope="module")
async def client(
    lsp_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[None]:
    await _session(lsp_client, "visual-studio-code", tmp_path_factory.mktemp("workspace"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=server("--debounce", "1000"), loop_scope="module")
async def patient(lsp_client: Client, tmp_path: Path) -> AsyncIterator[None]:
    """A long debounce: a burst of changes always lands within one window."""
    await _session(lsp_client, "visual-studio-code", tmp_path)
    yield
    await lsp_client.shutdown_session()


EDITORS = ["visual-studio-code", "neovim@v0.11.0", "emacs@v29.1"]


@pytest_lsp.fixture(config=server(), params=EDITORS, loop_scope="module")
async def any_editor(
    lsp_client: Client, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[None]:
    await _session(lsp_client, request.param, tmp_path)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=server("--severity", "error", command=SCRIPT), loop_scope="module")
async def strict(lsp_client: Client, tmp_path: Path) -> AsyncIterator[None]:
    await _session(lsp_client, "visual-studio-code", tmp_path)
    yield
    await lsp_client.shutdown_session()


def span(line: int, character: int, end_line: int, end_character: int) -> types.Range:
    return types.Range(start=types.Position(line=line, character=character),
                       end=types.Position(line=end_line, character=end_character))


def apply(text: str, edit: types.WorkspaceEdit | None, uri: str, version: int,
          encoding: str = "utf-16") -> str:
    """Apply a workspace edit as a client does, with pygls' own position arithmetic."""
    assert edit is not None, "no edit"
    if edit.document_changes is not None:
        [change] = edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.uri == uri and change.text_document.version == version
        edits = list(change.edits)
    else:
        assert edit.changes is not None and list(edit.changes) == [uri]
        edits = list(edit.changes[uri])
    document = TextDocument(uri, text, position_codec=PositionCodec(encoding))
    located = [(document.offset_at_position(e.range.start),
                document.offset_at_position(e.range.end), e.new_text)
               for e in edits if isinstance(e, types.TextEdit)]
    for start, end, new_text in sorted(located, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def write_config(directory: Path, table: str) -> Path:
    (directory / "pyproject.toml").write_text(f"[tool.cachelint]\n{table}\n")
    return directory / "views.py"


# Diagnostics ----------------------------------------------------------------------------

@in_module_loop
async def test_open_publishes_the_race_with_code_range_link_and_severity(
    client: Client, tmp_path: Path
) -> None:
    uri = client.open(tmp_path / "views.py", RACY_VIEW)

    [diagnostic] = await client.findings(uri, version=1)

    assert diagnostic.code == "CL101"
    assert diagnostic.source == "cachelint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.range == span(SET_LINE, 4, SET_LINE, 4 + len(SET_CALL))
    rule = rule_by_code("CL101")
    assert rule is not None
    assert diagnostic.code_description == types.CodeDescription(href=rule.doc_url())
    assert "set_if_newer" in diagnostic.message


@in_module_loop
async def test_severity_is_configurable(strict: Client, tmp_path: Path) -> None:
    uri = strict.open(tmp_path / "views.py", RACY_VIEW)

    [diagnostic] = await strict.findings(uri, version=1)

    assert diagnostic.severity == types.DiagnosticSeverity.Error


@in_module_loop
async def test_positions_and_edits_in_each_editors_encoding(
    any_editor: Client, tmp_path: Path
) -> None:
    """VS Code counts UTF-16 units, Neovim 0.11 UTF-8 bytes, Emacs code points."""
    assert any_editor.capabilities is not None and any_editor.capabilities.general is not None
    encoding = (any_editor.capabilities.general.position_encodings or ["utf-16"])[0]
    prefix = 'label = "Ωé😀"; '
    text = RACY_VIEW.replace(f"    {SET_CALL}", f"    {prefix}{SET_CALL}")
    path = tmp_path / "views.py"
    uri = any_editor.open(path, text)

    [diagnostic] = await any_editor.findings(uri, version=1)

    width = {"utf-8": len(prefix.encode("utf-8")),  # Ω, é: 2 bytes, 😀: 4
             "utf-16": len(prefix) + 1,  # 😀 is a surrogate pair
             "utf-32": len(prefix)}[encoding]
    assert diagnostic.range == span(SET_LINE, 4 + width, SET_LINE, 4 + width + len(SET_CALL))
    actions = await any_editor.actions(uri, span(SET_LINE, 4 + width, SET_LINE, 4 + width))
    fix = next(a for a in actions if a.is_preferred)
    ignore = next(a for a in actions if a.title == "Ignore CL101 for this line")
    assert apply(text, fix.edit, uri, 1, encoding) == fixer.fix_text(
        text, str(path), Config(), unsafe=False)[0]
    assert apply(text, ignore.edit, uri, 1, encoding) == text.replace(
        SET_CALL, f"{SET_CALL}  # noqa: CL101")


@in_module_loop
async def test_change_to_clean_code_clears_and_save_reanalyses(
    client: Client, tmp_path: Path
) -> None:
    uri = client.open(tmp_path / "views.py", RACY_VIEW)
    assert len(await client.findings(uri, version=1)) == 1

    client.change(uri, CLEAN, version=2)
    assert await client.findings(uri, version=2) == []

    client.change(uri, RACY_VIEW, version=3)
    assert len(await client.findings(uri, version=3)) == 1
    # The config changed on disk: saving re-reads it.
    write_config(tmp_path, 'ignore = ["CL101"]')
    client.save(uri)
    after_save = await client.publication(uri, 3)
    assert after_save.version == 3 and not after_save.diagnostics
    assert client.versions(uri) == [1, 2, 3, 3]


@in_module_loop
async def test_a_burst_of_changes_is_analysed_once(patient: Client, tmp_path: Path) -> None:
    uri = patient.open(tmp_path / "views.py", CLEAN)
    assert await patient.findings(uri, version=1) == []

    for version in range(2, 7):
        patient.change(uri, RACY_VIEW if version % 2 == 0 else CLEAN, version=version)

    assert [d.code for d in await patient.findings(uri, version=6)] == ["CL101"]
    assert patient.versions(uri) == [1, 6]


@in_module_loop
async def test_code_actions_right_after_a_change_fit_the_new_text(
    patient: Client, tmp_path: Path
) -> None:
    path = tmp_path / "views.py"
    uri = patient.open(path, RACY_VIEW)
    await patient.findings(uri, version=1)
    moved = "import logging\n" + RACY_VIEW

    patient.change(uri, moved, version=2)  # asked before the debounced analysis runs
    actions = await patient.actions(uri, span(SET_LINE + 1, 4, SET_LINE + 1, 4))

    fix = next(a for a in actions if a.is_preferred)
    assert apply(moved, fix.edit, uri, version=2) == fixer.fix_text(
        moved, str(path), Config(), unsafe=False)[0]


@in_module_loop
async def test_closing_a_document_clears_its_diagnostics(client: Client, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "views.py", RACY_VIEW)
    assert len(await client.findings(uri, version=1)) == 1

    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))

    closed = await client.publication(uri, 1)
    assert list(closed.diagnostics) == [] and closed.version is None


@in_module_loop
async def test_untitled_documents_are_analysed(client: Client) -> None:
    uri = client.open("untitled:Untitled-1", RACY_VIEW)

    [diagnostic] = await client.findings(uri, version=1)

    assert diagnostic.code == "CL101"


# Config --------------------------------------------------------------------------------

@in_module_loop
async def test_pyproject_ignore_suppresses_the_code(client: Client, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    uri = client.open(write_config(project, 'ignore = ["CL101"]'), RACY_VIEW)

    assert await client.findings(uri, version=1) == []
    # The same text outside that project is reported.
    other = client.open(tmp_path / "elsewhere.py", RACY_VIEW)
    assert [d.code for d in await client.findings(other, version=1)] == ["CL101"]


@in_module_loop
async def test_files_the_config_excludes_are_not_reported(client: Client, tmp_path: Path) -> None:
    write_config(tmp_path, 'exclude = ["generated"]')
    (tmp_path / "generated").mkdir()
    excluded = client.open(tmp_path / "generated" / "views.py", RACY_VIEW)
    included = client.open(tmp_path / "views.py", RACY_VIEW)

    assert await client.findings(excluded, version=1) == []
    assert len(await client.findings(included, version=1)) == 1


@in_module_loop
async def test_broken_config_shows_an_error_and_lints_with_defaults(
    client: Client, tmp_path: Path
) -> None:
    uri = client.open(write_config(tmp_path, 'ignore = ["CL999"]'), RACY_VIEW)

    message = await client.message(types.MessageType.Error, str(tmp_path / "pyproject.toml"))

    assert "unknown rule code(s) CL999" in message
    assert [d.code for d in await client.findings(uri, version=1)] == ["CL101"]
    # Shown once, not on every change.
    client.change(uri, RACY_VIEW + "\n", version=2)
    await client.findings(uri, version=2)
    assert sum(str(tmp_path) in m.message for m in client.messages) == 1


# Robustness ----------------------------------------------------------------------------

@in_module_loop
async def test_unparsable_text_is_logged_and_the_server_keeps_answering(
    client: Client, tmp_path: Path
) -> None:
    uri = client.open(tmp_path / "views.py", RACY_VIEW)
    assert len(await client.findings(uri, version=1)) == 1

    client.change(uri, "def broken(:\n    cache.set(k, v)\n", version=2)
    await client.log(uri, "syntax error at line 1")

    assert await client.actions(uri, span(1, 4, 1, 4)) == []
    client.change(uri, CLEAN, version=3)
    assert await client.findings(uri, version=3) == []
    # The unparsable version never replaced the findings shown before it.
    assert client.versions(uri) == [1, 3]


@in_module_loop
async def test_a_huge_file_neither_blocks_requests_nor_publishes_stale_results(
    client: Client, tmp_path: Path
) -> None:
    small = client.open(tmp_path / "small.py", RACY_VIEW)
    [diagnostic] = await client.findings(small, version=1)
    head = "from django.core.cache import cache\nfrom shop.models import Product\n"
    body = RACY_VIEW.split("\n\n", 1)[1]
    huge_text = head + "".join(
        "\n" + body.replace("def product_detail(", f"def product_detail_{i}(")
        for i in range(600)
    )

    huge = client.open(tmp_path / "huge.py", huge_text)
    actions = await client.actions(small, diagnostic.range)

    assert actions, "the small document's actions were not answered"
    assert client.versions(huge) == [], "answered only after the huge file was analysed"
    client.change(huge, CLEAN, version=2)
    assert await client.findings(huge, version=2) == []
    # The analysis of version 1 ended after version 2 arrived: it was never published.
    assert client.versions(huge) == [2]


# Code actions --------------------------------------------------------------------------

@in_module_loop
async def test_quick_fix_rewrites_the_write_and_adds_the_import(
    client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "views.py"
    uri = client.open(path, RACY_VIEW)
    [diagnostic] = await client.findings(uri, version=1)

    actions = await client.actions(uri, span(SET_LINE, 10, SET_LINE, 10))
    fix = next(a for a in actions if a.is_preferred)

    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.title == "Replace with `set_if_newer(..., version=product.version)`"
    assert list(fix.diagnostics or []) == [diagnostic]
    fixed = apply(RACY_VIEW, fix.edit, uri, version=1)
    assert 'set_if_newer(cache, f"product:{pk}", payload, version=product.version, ttl=300' \
        in fixed.splitlines()[SET_LINE + 1]  # below the added import
    assert re.search(r"^from cachelint\.runtime import .*\bset_if_newer\b", fixed, re.MULTILINE)
    # The same text `cachelint check --fix` writes.
    assert fixed == fixer.fix_text(RACY_VIEW, str(path), Config(), unsafe=False)[0]
    client.change(uri, fixed, version=2)
    assert await client.findings(uri, version=2) == []


@in_module_loop
async def test_noqa_action_appends_a_comment_that_silences_the_line(
    client: Client, tmp_path: Path
) -> None:
    uri = client.open(tmp_path / "views.py", RACY_VIEW)
    [diagnostic] = await client.findings(uri, version=1)

    # The cursor at the start of the line, the line's diagnostics in the context (Neovim).
    actions = await client.actions(uri, span(SET_LINE, 0, SET_LINE, 0), diagnostics=[diagnostic])
    ignore = next(a for a in actions if a.title == "Ignore CL101 for this line")

    assert ignore.kind == types.CodeActionKind.QuickFix and not ignore.is_preferred
    ignored = apply(RACY_VIEW, ignore.edit, uri, version=1)
    assert ignored == RACY_VIEW.replace(SET_CALL, f"{SET_CALL}  # noqa: CL101")
    client.change(uri, ignored, version=2)
    assert await client.findings(uri, version=2) == []


@in_module_loop
async def test_noqa_action_extends_an_existing_noqa_list(client: Client, tmp_path: Path) -> None:
    text = RACY_VIEW.replace(SET_CALL, f"{SET_CALL}  # noqa: E501  (long key)")
    uri = client.open(tmp_path / "views.py", text)
    await client.findings(uri, version=1)

    actions = await client.actions(uri, span(SET_LINE, 4, SET_LINE, 4))
    ignore = next(a for a in actions if a.title == "Ignore CL101 for this line")

    assert apply(text, ignore.edit, uri, version=1) == RACY_VIEW.replace(
        SET_CALL, f"{SET_CALL}  # noqa: E501, CL101  (long key)")


@in_module_loop
async def test_no_quick_fix_away_from_the_diagnostic(client: Client, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "views.py", RACY_VIEW)
    await client.findings(uri, version=1)

    assert await client.actions(uri, span(4, 0, 4, 0)) == []


@in_module_loop
async def test_unsafe_fix_is_offered_but_not_preferred_nor_applied_by_fix_all(
    client: Client, tmp_path: Path
) -> None:
    text = RACY_VIEW.replace("cache.set(", "cache.add(")  # add() only writes absent keys
    uri = client.open(tmp_path / "views.py", text)
    await client.findings(uri, version=1)

    actions = await client.actions(uri, span(SET_LINE, 4, SET_LINE, 4))
    fix_all = await client.actions(uri, span(0, 0, 0, 0), only=["source.fixAll"])

    [fix] = [a for a in actions if a.title.startswith("Replace with")]
    assert fix.title.endswith("(unsafe)") and not fix.is_preferred
    assert fix_all == []


@in_module_loop
async def test_fix_all_source_action(client: Client, tmp_path: Path) -> None:
    text = RACY_VIEW + RACY_VIEW.split("\n\n", 1)[1].replace("product_detail(", "product_card(")
    path = tmp_path / "views.py"
    uri = client.open(path, text)
    assert len(await client.findings(uri, version=1)) == 2

    quick_only = await client.actions(uri, span(0, 0, 0, 0), only=["quickfix"])
    [fix_all] = await client.actions(uri, span(0, 0, 0, 0), only=["source.fixAll"])

    assert quick_only == []
    assert fix_all.kind == "source.fixAll.cachelint"
    fixed = apply(text, fix_all.edit, uri, version=1)
    assert fixed.count("set_if_newer(cache, ") == 2
    assert fixed == fixer.fix_text(text, str(path), Config(), unsafe=False)[0]


# Position and noqa helpers ---------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "expected"), [
    (analysis.UTF16, 6), (analysis.UTF8, 9), (analysis.UTF32, 5),
])
def test_units_per_encoding(encoding: str, expected: int) -> None:
    assert analysis.units("aé😀xy", encoding) == expected


def test_lines_break_like_python_not_like_splitlines() -> None:
    text = "a = '\u2028'\r\nb = 1\x0c\rc = 2"

    assert analysis.split_lines(text) == ["a = '\u2028'", "b = 1\x0c", "c = 2"]
    index = analysis.LineIndex(text, analysis.UTF16)
    assert index.position(3, 4) == (2, 4)
    assert index.end() == (2, 5)


def _noqa(text: str, line: int) -> str:
    edit = analysis.Comments(text).noqa_edit(line, "CL101")
    assert edit is not None
    lines = analysis.LineIndex(text, analysis.UTF32)
    change = lines.change(edit)
    document = TextDocument("file:///x.py", text)
    start = document.offset_at_position(types.Position(change.span.line, change.span.character))
    end = document.offset_at_position(
        types.Position(change.span.end_line, change.span.end_character))
    return text[:start] + change.text + text[end:]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('cache.set(key, """a\nb""")\nx = 1\n',
                 'cache.set(key, """a\nb""")  # noqa: CL101\nx = 1\n',
                 id="after a multi-line string, not inside it"),
    pytest.param("cache.set(key, \\\n    value)   \n",
                 "cache.set(key, \\\n    value)  # noqa: CL101\n",
                 id="after a backslash continuation"),
    pytest.param("cache.set(\n    key,  # noqa:E501\n    value,\n)\n",
                 "cache.set(\n    key,  # noqa:E501, CL101\n    value,\n)\n",
                 id="extends a list on another line of the statement"),
    pytest.param("cache.set(key, value)  # refill\n",
                 "cache.set(key, value)  # refill  # noqa: CL101\n",
                 id="follows an existing comment"),
])
def test_noqa_placement(text: str, expected: str) -> None:
    assert _noqa(text, 1) == expected


# Without pygls -------------------------------------------------------------------------------

def test_without_pygls_only_the_lsp_command_fails_and_says_what_to_install() -> None:
    hide = "import sys; sys.modules['pygls'] = None; from cachelint.cli import main; "
    lsp = subprocess.run([sys.executable, "-c", hide + "sys.exit(main(['lsp']))"],
                         check=False, capture_output=True, text=True, timeout=120)
    rules = subprocess.run([sys.executable, "-c", hide + "sys.exit(main(['rules']))"],
                           check=False, capture_output=True, text=True, timeout=120)

    assert lsp.returncode == 2
    assert "pip install 'cachelint[lsp]'" in lsp.stderr and "Traceback" not in lsp.stderr
    assert rules.returncode == 0 and "CL101" in rules.stdout
