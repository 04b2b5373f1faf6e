"""`gencode lsp` driven by pytest-lsp as an editor would: diagnostics, hover, completion,
definitions, symbols, formatting and semantic tokens over stdio."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from frontend_support import catalog, write_fake_checkpoint  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402
from test_fuzz import WORDS  # noqa: E402

from gencode.lsp import completion, hover, navigation, semantic  # noqa: E402
from gencode.lsp.analysis import Parser, analyse  # noqa: E402
from gencode.lsp.convert import Lines  # noqa: E402

MODELS = Path(tempfile.mkdtemp(prefix="gencode-lsp-models-"))
write_fake_checkpoint(MODELS / "my_dunes.safetensors")
ENV = {**os.environ, "GENCODE_MODELS": str(MODELS)}

ASYNC = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig([sys.executable, "-m", "gencode", "lsp"], server_env=ENV),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


COUNT = iter(range(10_000))


async def open_doc(client: LanguageClient, text: str, tmp_path: Path) -> str:
    path = tmp_path / f"doc{next(COUNT)}.gen"
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="gencode", version=1, text=text)
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def at(line: int, character: int) -> lsp.Position:
    return lsp.Position(line, character)


@ASYNC
async def test_diagnostics_with_exact_ranges_on_open_and_change(client, tmp_path):
    uri = await open_doc(client, 'seed 4\ndifuse "dunes"\ninterpolate latent a b 4\n', tmp_path)
    found = client.diagnostics[uri]
    error = next(d for d in found if d.severity == lsp.DiagnosticSeverity.Error)
    assert error.message == "unknown op 'difuse' — did you mean 'diffuse'?"
    assert error.range == lsp.Range(at(1, 0), at(1, 6))
    notes = [d for d in found if d.severity == lsp.DiagnosticSeverity.Information]
    assert any("'a' is an implicit latent" in d.message for d in notes)
    assert notes[0].range.start.line == 2
    change = lsp.TextDocumentContentChangeWholeDocument(text='seed 4\ndiffuse "dunes"\n')
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(version=2, uri=uri),
            content_changes=[change],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []


@ASYNC
async def test_syntax_errors_and_check_errors_together(client, tmp_path):
    uri = await open_doc(client, "steps = 4\nnoise seed -1\nfps 3\n", tmp_path)
    found = sorted(client.diagnostics[uri], key=lambda d: d.range.start.line)
    assert [d.range.start.line for d in found] == [0, 1]  # a parse error, then a check error
    assert "'steps' is a setting and can't be assigned" in found[0].message
    assert found[1].range == lsp.Range(at(1, 11), at(1, 13))


@ASYNC
async def test_hover_docs_come_from_the_checker_tables(client, tmp_path):
    text = 'model scenes\nsteps 4\na = noise seed 3\ndiffuse "dunes" steps 4 from a\n'
    uri = await open_doc(client, text, tmp_path)

    async def hover(line, ch):
        params = lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=at(line, ch)
        )
        result = await client.text_document_hover_async(params)
        return result.contents.value if result else None

    from gencode.ops.table import SIGNATURES

    assert SIGNATURES["diffuse"].doc in await hover(3, 2)
    assert "keyword of **diffuse**" in await hover(3, 17)
    assert "1 to 1000" in await hover(1, 1)  # the steps setting's range
    assert "**scenes** (model, diffusion)" in await hover(0, 8)
    assert "defined on line 3" in await hover(3, 29)
    assert await hover(3, 11) is None  # inside a prompt


@ASYNC
async def test_completion_in_context(client, tmp_path):
    text = (
        "model scenes\na = noise seed 1\n"
        'diffuse "du" sampler \n'
        "interpolate \n"
        "model \n"
        "diffuse from a steps 4 \n"
        "\n"
    )
    uri = await open_doc(client, text, tmp_path)

    async def labels(line, ch):
        params = lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=at(line, ch)
        )
        result = await client.text_document_completion_async(params)
        return [i.label for i in result.items]

    assert "dunes" in await labels(2, 11)  # the model's prompt words inside a string
    assert {"ddim", "euler"} <= set(await labels(2, 21))  # sampler names after `sampler`
    assert {"latent", "prompt", "image", "ease"} <= set(await labels(3, 12))
    assert {"scenes", "faces", "my_dunes"} <= set(await labels(4, 6))  # GENCODE_MODELS too
    after = set(await labels(5, 23))
    assert {"guidance", "strength", "negative"} <= after and not {"from", "steps"} & after
    start = set(await labels(6, 0))
    assert {"seed", "diffuse", "param", "a"} <= start


@ASYNC
async def test_definition_symbols_and_include(client, tmp_path):
    (tmp_path / "lib.gen").write_text("seed 3\n")
    text = 'include "lib.gen"\nparam n = 4\nz = noise\ninterpolate latent z z n\n'
    uri = await open_doc(client, text, tmp_path)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    where = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc, position=at(3, 19))
    )
    assert where.uri == uri and where.range == lsp.Range(at(2, 0), at(2, 1))
    where = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc, position=at(3, 23))
    )
    assert where.range.start == at(1, 6)
    where = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc, position=at(0, 11))
    )
    assert where.uri == (tmp_path / "lib.gen").as_uri()
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=doc)
    )
    assert [(s.name, s.kind) for s in symbols] == [
        ("lib.gen", lsp.SymbolKind.File),
        ("n", lsp.SymbolKind.Constant),
        ("z", lsp.SymbolKind.Variable),
        ("output (line 4)", lsp.SymbolKind.Event),
    ]


@ASYNC
async def test_formatting_goes_through_fmt(client, tmp_path):
    uri = await open_doc(client, "seed   4 # why\nfps  2\n", tmp_path)
    params = lsp.DocumentFormattingParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        options=lsp.FormattingOptions(tab_size=2, insert_spaces=True),
    )
    edits = await client.text_document_formatting_async(params)
    assert [e.new_text for e in edits] == ["seed 4  # why\nfps 2\n"]


@ASYNC
async def test_semantic_tokens(client, tmp_path):
    uri = await open_doc(client, 'seed 4  # c\nnoise seed 2\nx = "s"\n', tmp_path)
    params = lsp.SemanticTokensParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    data = (await client.text_document_semantic_tokens_full_async(params)).data
    from gencode.lsp.semantic import TYPES

    rows = [data[i : i + 5] for i in range(0, len(data), 5)]
    kinds = [TYPES[r[3]] for r in rows]
    assert kinds == [
        "property", "number", "comment", "function", "parameter", "number",
        "variable", "operator", "string",
    ]  # fmt: skip
    assert list(rows[2][:3]) == [0, 3, 3]  # the comment: same line, 3 columns on, 3 long


def test_the_server_imports_no_torch():
    code = "import sys, gencode.lsp.server; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@ASYNC
async def test_an_included_files_errors_show_on_the_include_line(client, tmp_path):
    (tmp_path / "broken.gen").write_text("seed 1\ndifuse 3\n")
    uri = await open_doc(client, 'fps 2\ninclude "broken.gen"\n', tmp_path)
    (found,) = client.diagnostics[uri]
    assert found.range == lsp.Range(at(1, 0), at(1, 20))  # the include statement
    assert found.message.startswith(f"{tmp_path / 'broken.gen'}:2:1: unknown op 'difuse'")


# ---- the features as functions: any text, any cursor, no exception -----------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*WORDS, "🌅", "\\\n", '"du']), max_size=20).map(" ".join))
def test_every_feature_answers_anywhere_in_any_text(text):
    an = analyse(Parser(), text, "/tmp/fuzz.gen", Path("/tmp"), catalog())
    lines = Lines(text)
    semantic.encode(text, lines)
    navigation.symbols(an, lines)
    for row, line in enumerate(lines.lines):
        for col in range(len(line) + 1):
            pos = at(row, col)
            completion.complete(an, lines, pos, catalog(), Path("/tmp"))
            hover.hover(an, lines, pos, catalog())
            navigation.definition(an, lines, pos, "file:///tmp/fuzz.gen", Path("/tmp"))


def test_positions_count_utf16_code_units():
    text = 'prompt "🌅 dunes"; difuse 3\n'
    lines = Lines(text)
    assert lines.position(1, 19) == at(0, 19)  # 'difuse' starts after the emoji (2 units)
    assert lines.offset(at(0, 19)) == 18
    assert Lines(text, "utf-32").position(1, 19) == at(0, 18)


@ASYNC
async def test_hover_on_a_checkpoint_path_reads_it_beside_the_script(client, tmp_path):
    write_fake_checkpoint(tmp_path / "mine.safetensors")
    uri = await open_doc(client, 'model "mine.safetensors"\n', tmp_path)
    params = lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=at(0, 10))
    result = await client.text_document_hover_async(params)
    assert "**mine** (model, diffusion)" in result.contents.value
    assert "dunes" in result.contents.value  # the prompt words it knows


def test_file_names_complete_inside_include_load_and_model_strings(tmp_path):
    for name in ("lib.gen", "sky.png", "mine.safetensors", "notes.txt"):
        (tmp_path / name).write_text("")
    text = 'include "\nimg = load "\nmodel "\nsave "\n'
    an = analyse(Parser(), text, str(tmp_path / "t.gen"), tmp_path, catalog())
    lines = Lines(text)

    def labels(row):
        col = len(lines.lines[row])
        return [i.label for i in completion.complete(an, lines, at(row, col), catalog(), tmp_path)]

    assert [labels(r) for r in range(4)] == [["lib.gen"], ["sky.png"], ["mine.safetensors"], []]


@ASYNC
async def test_warnings_are_warnings(client, tmp_path):
    uri = await open_doc(client, 'diffuse "dunes zebra"\n', tmp_path)
    (found,) = client.diagnostics[uri]
    assert found.severity == lsp.DiagnosticSeverity.Warning
    assert "does not know the word 'zebra'" in found.message
    assert found.range == lsp.Range(at(0, 8), at(0, 21))
