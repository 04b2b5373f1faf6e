"""The pygls server: LSP requests over stdio → the feature modules of gencode.lsp.

Input: an editor speaking LSP. Output: diagnostics (on open, and debounced on change), hover,
completion, definitions, document symbols, formatting (gencode fmt) and semantic tokens.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from gencode import ast
from gencode.errors import Diagnostic, GenError
from gencode.format import format_text
from gencode.lsp import completion, hover, navigation, semantic
from gencode.lsp.analysis import Analysis, Parser, analyse
from gencode.lsp.convert import Lines
from gencode.models.catalog import ModelCatalog

DEBOUNCE_S = 0.025  # a burst of keystrokes is checked once, at its end
SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "note": lsp.DiagnosticSeverity.Information,
}


def _version() -> str:
    try:
        return version("gencode")
    except PackageNotFoundError:
        return "0"


class GenServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("gencode", _version())
        self.parser = Parser()
        self.catalog = ModelCatalog()
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.Task] = {}

    def place(self, uri: str) -> tuple[str, Path]:
        """The file name diagnostics use, and the folder includes and images are read from."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        return (path, Path(path).parent) if path else (uri, Path.cwd())

    def lines(self, uri: str) -> Lines:
        encoding = self.workspace.position_encoding or "utf-16"
        return Lines(self.workspace.get_text_document(uri).source, str(encoding))

    def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text (made now if edits are pending)."""
        text = self.workspace.get_text_document(uri).source
        known = self.analyses.get(uri)
        if known is None or known.text != text:
            filename, root = self.place(uri)
            known = analyse(self.parser, text, filename, root, self.catalog)
            self.analyses[uri] = known
        return known

    def schedule(self, uri: str, delay: float) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self._publish(uri, delay))

    async def _publish(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        an, lines = self.analysis(uri), self.lines(uri)
        found = [_diagnostic(an, lines, d) for d in an.diagnostics]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found)
        )


def _diagnostic(an: Analysis, lines: Lines, d: Diagnostic) -> lsp.Diagnostic:
    """An LSP diagnostic; one about an included file is shown on the `include` line."""
    span, message = d.span, d.message
    if span is not None and span.file != an.filename:
        include = _include_of(an, span.file)
        span, message = (include.span if include else None), f"{d.span}: {message}"
    return lsp.Diagnostic(
        range=lines.range(span),
        message=message,
        severity=SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Information),
        source="gencode",
    )


def _include_of(an: Analysis, file: str) -> ast.Include | None:
    includes = [s for s in an.program.statements if isinstance(s, ast.Include)]
    folder = Path(an.filename).parent
    same = [s for s in includes if (folder / s.path.value).resolve() == Path(file).resolve()]
    return next(iter(same or includes), None)


server = GenServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: GenServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: GenServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE_S)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: GenServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)  # included files may have changed
    ls.schedule(params.text_document.uri, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: GenServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def on_hover(ls: GenServer, params: lsp.HoverParams) -> lsp.Hover | None:
    uri = params.text_document.uri
    return hover.hover(ls.analysis(uri), ls.lines(uri), params.position, ls.catalog)


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[" ", '"', "("])
)
def on_completion(ls: GenServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    uri = params.text_document.uri
    # Names come from the last analysis (a keystroke old at worst): completion never waits.
    an = ls.analyses.get(uri) or ls.analysis(uri)
    items = completion.complete(an, ls.lines(uri), params.position, ls.catalog, ls.place(uri)[1])
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: GenServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    uri = params.text_document.uri
    an, lines = ls.analysis(uri), ls.lines(uri)
    return navigation.definition(an, lines, params.position, uri, ls.place(uri)[1])


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: GenServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    uri = params.text_document.uri
    return navigation.symbols(ls.analysis(uri), ls.lines(uri))


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def on_format(ls: GenServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    uri = params.text_document.uri
    lines = ls.lines(uri)
    try:
        out = format_text(lines.text, ls.place(uri)[0])
    except GenError:
        return None  # a script that does not parse is left alone; its errors are on screen
    if out == lines.text:
        return []
    end = lines.at_offset(len(lines.text))
    return [
        lsp.TextEdit(
            range=lsp.Range(start=lsp.Position(line=0, character=0), end=end), new_text=out
        )
    ]


@server.feature(
    lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
    lsp.SemanticTokensLegend(token_types=semantic.TYPES, token_modifiers=[]),
)
def on_semantic_tokens(ls: GenServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
    lines = ls.lines(params.text_document.uri)
    return lsp.SemanticTokens(data=semantic.encode(lines.text, lines))


def main() -> None:
    server.start_io()
