"""The language server (pygls 2): open documents in, diagnostics and code actions out.

The event loop only routes messages.  Analyses run in worker processes (see
``analysis``), at most one at a time per document: a change restarts a short
debounce timer, a change that lands while its document is being analysed asks for
one more run when that one ends, and a result for an older version of the text is
dropped, never published.  A huge file therefore costs a worker, not the editor.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from cachelint import __version__
from cachelint.lsp import analysis
from cachelint.lsp.analysis import Finding, Job, Outcome, Span, TextChange

SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
SOURCE = "cachelint"
QUICK_FIX = types.CodeActionKind.QuickFix.value
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.cachelint"
PYTHON_SUFFIXES = (".py", ".pyi")

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    severity: str = "warning"
    debounce: float = 0.3  # seconds after the last change
    workers: int = 2


class AnalysisFailed(Exception):
    """The worker could not produce a result; the message says why."""


@dataclass
class DocumentState:
    """What the server tracks for one open document."""

    timer: asyncio.TimerHandle | None = None
    task: asyncio.Task[None] | None = None  # the analysis in flight
    rerun: bool = False  # changed while being analysed: analyse again when done
    published: Outcome | None = None  # the findings the editor shows
    logged_error: str | None = None


class Workers:
    """A process pool that replaces itself when a worker dies."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pool = self._new_pool()
        self.closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads (pygls reads stdin in one).
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(max_workers=self.size, mp_context=context)

    async def run(self, function: Callable[[Job], T], job: Job) -> T:
        pool = self.pool
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, function, job)
        except BrokenProcessPool:
            if self.closed:
                raise AnalysisFailed("the server is shutting down") from None
            if self.pool is pool:
                self.pool = self._new_pool()
            raise AnalysisFailed("the analysis process died (out of memory?)") from None

    def warm_up(self) -> None:
        self.pool.submit(analysis.warm_up)

    def close(self) -> None:
        """Stop now: a worker busy with a huge file must not delay the editor's exit."""
        if self.closed:
            return
        self.closed = True
        pool = self.pool
        terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
        if terminate is not None:
            terminate()
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


class CachelintServer(LanguageServer):
    def __init__(self, settings: Settings) -> None:
        # Full sync: pygls applies incremental changes over str.splitlines() lines,
        # which also break at \f, \x1c-\x1e, \x85 and U+2028/9 (legal in Python
        # source) and would then corrupt the text.  Whole texts are always right.
        super().__init__("cachelint", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.settings = settings
        self.severity = SEVERITIES[settings.severity]
        self.documents: dict[str, DocumentState] = {}
        self.shown_config_errors: dict[str, str] = {}  # config file -> error shown
        self.workers = Workers(settings.workers)
        self._register()

    def _register(self) -> None:
        # pygls tags its handlers with attributes, which bound methods cannot carry:
        # each feature gets a small function that calls the method.
        @self.feature(types.INITIALIZED)
        def initialized(params: types.InitializedParams) -> None:
            self.on_initialized(params)

        @self.feature(types.SHUTDOWN)
        def shutdown(params: None) -> None:
            self.on_shutdown(params)

        @self.feature(types.TEXT_DOCUMENT_DID_OPEN)
        def did_open(params: types.DidOpenTextDocumentParams) -> None:
            self.on_open(params)

        @self.feature(types.TEXT_DOCUMENT_DID_CHANGE)
        def did_change(params: types.DidChangeTextDocumentParams) -> None:
            self.on_change(params)

        @self.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
        def did_save(params: types.DidSaveTextDocumentParams) -> None:
            self.on_save(params)

        @self.feature(types.TEXT_DOCUMENT_DID_CLOSE)
        def did_close(params: types.DidCloseTextDocumentParams) -> None:
            self.on_close(params)

        @self.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                      types.CodeActionOptions(code_action_kinds=[QUICK_FIX, FIX_ALL]))
        async def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
            return await self.on_code_action(params)

    # Document lifecycle -------------------------------------------------------------

    def on_initialized(self, params: types.InitializedParams) -> None:
        self.workers.warm_up()

    def on_shutdown(self, params: None) -> None:
        for state in self.documents.values():
            if state.timer is not None:
                state.timer.cancel()
        self.documents.clear()
        self.workers.close()

    def on_open(self, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        if document.language_id != "python" and not document.uri.endswith(PYTHON_SUFFIXES):
            return  # a client that sends every file: only Python is ours
        self.documents[document.uri] = DocumentState()
        self.schedule(document.uri, delay=0)

    def on_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self.schedule(params.text_document.uri, delay=self.settings.debounce)

    def on_save(self, params: types.DidSaveTextDocumentParams) -> None:
        # The text is what was last changed; the config next to it may not be.
        self.schedule(params.text_document.uri, delay=0)

    def on_close(self, params: types.DidCloseTextDocumentParams) -> None:
        state = self.documents.pop(params.text_document.uri, None)
        if state is None:
            return
        if state.timer is not None:
            state.timer.cancel()
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    # Analysis ------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        state = self.documents.get(uri)
        if state is None:
            return
        if state.timer is not None:
            state.timer.cancel()
        state.timer = asyncio.get_running_loop().call_later(delay, self._start, uri)

    def _start(self, uri: str) -> None:
        state = self.documents.get(uri)
        if state is None:
            return
        state.timer = None
        if state.task is not None:
            state.rerun = True
            return
        state.task = asyncio.ensure_future(self._analyse(uri, state))

    async def _analyse(self, uri: str, state: DocumentState) -> None:
        try:
            outcome = await self.workers.run(analysis.analyse, self.job(uri))
        except Exception as exc:  # noqa: BLE001 - a bug in a rule must not take the server down
            if self.documents.get(uri) is state:
                detail = str(exc) if isinstance(exc, AnalysisFailed) else traceback.format_exc()
                self._log(uri, state, f"cachelint could not analyse {uri}: {detail}",
                          types.MessageType.Error)
        else:
            if self.documents.get(uri) is state and outcome.version == self.document_version(uri):
                self._report(uri, state, outcome)
        finally:
            state.task = None
            if state.rerun and self.documents.get(uri) is state:
                state.rerun = False
                self._start(uri)

    def _report(self, uri: str, state: DocumentState, outcome: Outcome) -> None:
        self._show_config_error(outcome)
        if outcome.source_error is not None:
            # Keep the last diagnostics: code being typed is often briefly unparsable.
            self._log(uri, state, f"cachelint skipped {uri}: {outcome.source_error}",
                      types.MessageType.Info)
            return
        state.logged_error = None
        state.published = outcome
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri,
            version=outcome.version,
            diagnostics=[self.diagnostic(f) for f in outcome.findings],
        ))

    def _show_config_error(self, outcome: Outcome) -> None:
        if outcome.config_path is None:
            return
        if outcome.config_error is None:
            self.shown_config_errors.pop(outcome.config_path, None)
            return
        if self.shown_config_errors.get(outcome.config_path) == outcome.config_error:
            return
        self.shown_config_errors[outcome.config_path] = outcome.config_error
        self.window_show_message(types.ShowMessageParams(
            type=types.MessageType.Error,
            message=f"cachelint: {outcome.config_error} (using the default settings)",
        ))

    def _log(self, uri: str, state: DocumentState, message: str,
             kind: types.MessageType) -> None:
        """Log once per distinct problem of a document, not once per keystroke."""
        if state.logged_error == message:
            return
        state.logged_error = message
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def document_version(self, uri: str) -> int:
        return self.workspace.get_text_document(uri).version or 0

    def job(self, uri: str) -> Job:
        document = self.workspace.get_text_document(uri)
        folders = list(self.workspace.folders.values())
        root = to_fs_path(folders[0].uri) if folders else self.workspace.root_path
        return Job(
            uri=uri,
            path=to_fs_path(uri),
            text=document.source,
            version=document.version or 0,
            encoding=self.position_encoding(),
            root=root,
        )

    def position_encoding(self) -> str:
        """The negotiated encoding as a plain string (str() of the enum is its name)."""
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding

    def diagnostic(self, finding: Finding) -> types.Diagnostic:
        return types.Diagnostic(
            range=lsp_range(finding.span),
            message=finding.message,
            severity=self.severity,
            code=finding.code,
            code_description=types.CodeDescription(href=finding.doc_url)
            if finding.doc_url else None,
            source=SOURCE,
        )

    # Code actions --------------------------------------------------------------------

    async def on_code_action(
        self, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        if uri not in self.documents:
            return None
        outcome = await self.current(uri)
        if outcome is None:
            return None
        only = params.context.only
        actions: list[types.CodeAction] = []
        if wanted(QUICK_FIX, only):
            asked = span_of(params.range)
            # The client's diagnostics count too: Neovim sends the cursor's line ones.
            listed = {(str(d.code), span_of(d.range)) for d in params.context.diagnostics
                      if d.source == SOURCE}
            for finding in outcome.findings:
                if finding.span.overlaps(asked) or (finding.code, finding.span) in listed:
                    actions.extend(self.quick_fixes(uri, outcome.version, finding))
        if only is not None and wanted(FIX_ALL, only) and any(
            f.fix is not None and f.fix.safe for f in outcome.findings
        ):
            action = await self.fix_all(uri, outcome.version)
            if action is not None:
                actions.append(action)
        return actions

    async def current(self, uri: str) -> Outcome | None:
        """The findings for the document's text now: the published ones if still current."""
        state = self.documents[uri]
        version = self.document_version(uri)
        if state.published is not None and state.published.version == version:
            return state.published
        try:
            outcome = await self.workers.run(analysis.analyse, self.job(uri))
        except AnalysisFailed:
            return None
        if self.documents.get(uri) is not state or outcome.source_error is not None:
            return None
        return outcome if outcome.version == self.document_version(uri) else None

    def quick_fixes(self, uri: str, version: int, finding: Finding) -> list[types.CodeAction]:
        diagnostic = self.diagnostic(finding)
        actions = []
        if finding.fix is not None:
            title = finding.fix.title if finding.fix.safe else f"{finding.fix.title} (unsafe)"
            actions.append(types.CodeAction(
                title=title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                is_preferred=finding.fix.safe,
                edit=self.workspace_edit(uri, version, finding.fix.changes),
            ))
        if finding.ignore is not None:
            actions.append(types.CodeAction(
                title=f"Ignore {finding.code} for this line",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                edit=self.workspace_edit(uri, version, (finding.ignore,)),
            ))
        return actions

    async def fix_all(self, uri: str, version: int) -> types.CodeAction | None:
        try:
            change = await self.workers.run(analysis.fix_all, self.job(uri))
        except AnalysisFailed:
            return None
        if change is None or uri not in self.documents or self.document_version(uri) != version:
            return None
        return types.CodeAction(
            title="Apply every safe cachelint fix",
            kind=FIX_ALL,
            edit=self.workspace_edit(uri, version, (change,)),
        )

    def workspace_edit(
        self, uri: str, version: int, changes: Sequence[TextChange]
    ) -> types.WorkspaceEdit:
        edits = [types.TextEdit(range=lsp_range(c.span), new_text=c.text) for c in changes]
        if get_capability(self.client_capabilities,
                          "workspace.workspace_edit.document_changes", False):
            # Versioned: the client refuses the edit if the text changed meanwhile.
            return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=version),
                edits=list(edits),
            )])
        return types.WorkspaceEdit(changes={uri: edits})


def wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether the client's ``only`` filter asks for actions of ``kind`` (or all)."""
    if only is None:
        return True
    return any(kind == k or kind.startswith(f"{k}.") for k in only)


def span_of(lsp: types.Range) -> Span:
    return Span(lsp.start.line, lsp.start.character, lsp.end.line, lsp.end.character)


def lsp_range(span: Span) -> types.Range:
    return types.Range(
        start=types.Position(line=span.line, character=span.character),
        end=types.Position(line=span.end_line, character=span.end_character),
    )


def serve(settings: Settings) -> int:
    logging.basicConfig(level=logging.WARNING, format="cachelint lsp: %(levelname)s %(message)s")
    server = CachelintServer(settings)
    try:
        server.start_io()
    finally:
        server.workers.close()
    return 0
