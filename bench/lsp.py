"""Language-server latency, measured as an editor sees it: `gencode lsp` over stdio, a 2,000-line
script open; one line changed at a time (an incremental edit, as editors send), timed from the
change to its diagnostics arriving; and completion requests inside a call.

Targets: diagnostics within 100 ms of a change; completion within 50 ms (medians).
Usage: python bench/lsp.py [--lines 2000] [--edits 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient


def script(lines: int) -> str:
    out = ["seed 11", 'prompt "ocean at dawn"', "steps 4"]
    i = 0
    while len(out) < lines:
        out += [
            f"a{i} = noise seed {i}",
            f"b{i} = a{i} + 0.5 * (a{i} - a0)  # a comment",
            f'diffuse "dunes at dawn" steps 4 from b{i} as d{i}',
            "",
            f"# block {i}",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used (Linux /proc; NaN elsewhere): a figure load hardly moves."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(lines: int, edits: int) -> tuple[list[float], list[float], tuple[float, float]]:
    client = LanguageClient("bench", "1")
    arrived = asyncio.Event()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        arrived.set()

    await client.start_io(sys.executable, "-m", "gencode", "lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    path = Path(tempfile.mkdtemp(prefix="gencode-lsp-bench-")) / "long.gen"
    text = script(lines)
    path.write_text(text)
    uri = path.as_uri()
    doc = lsp.TextDocumentItem(uri=uri, language_id="gencode", version=1, text=text)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=doc))
    await arrived.wait()
    row = next(
        i for i, t in enumerate(text.split("\n")) if t.startswith("diffuse") and i > lines // 2
    )
    cpu = _cpu_seconds(client._server.pid if client._server else 0)
    edit_times = [await _edit(client, arrived, uri, row, k) for k in range(edits)]
    cpu = (_cpu_seconds(client._server.pid if client._server else 0) - cpu) / edits
    pid = client._server.pid if client._server else 0
    cpu_completion = _cpu_seconds(pid)
    completion_times = [await _complete(client, uri, row) for _ in range(edits * 2)]
    cpu_completion = (_cpu_seconds(pid) - cpu_completion) / (edits * 2)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return edit_times, completion_times, (cpu, cpu_completion)


async def _edit(
    client: LanguageClient, arrived: asyncio.Event, uri: str, row: int, k: int
) -> float:
    """Seconds from changing `steps 4` on line `row` to that change's diagnostics arriving."""
    arrived.clear()
    start = time.perf_counter()
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(start=lsp.Position(row, 30), end=lsp.Position(row, 31)),
        text=str(k % 9 + 1),
    )
    ident = lsp.VersionedTextDocumentIdentifier(version=k + 2, uri=uri)
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(text_document=ident, content_changes=[change])
    )
    await arrived.wait()
    return time.perf_counter() - start


async def _complete(client: LanguageClient, uri: str, row: int) -> float:
    """Seconds for a completion inside `diffuse "..." |` (the op's keywords)."""
    start = time.perf_counter()
    params = lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(row, 24)
    )
    result = await client.text_document_completion_async(params)
    elapsed = time.perf_counter() - start
    assert result is not None and any(i.label == "guidance" for i in result.items)
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lines", type=int, default=2000)
    p.add_argument("--edits", type=int, default=10)
    args = p.parse_args()
    edits, completions, (cpu, cpu_completion) = asyncio.run(measure(args.lines, args.edits))
    edit_ms = statistics.median(edits) * 1000
    completion_ms = statistics.median(completions) * 1000
    print(f"edits (ms): {', '.join(f'{t * 1000:.0f}' for t in edits)}")
    print(
        f"{args.lines}-line script: diagnostics {edit_ms:.0f} ms after a change (target 100; "
        f"server CPU {cpu * 1000:.0f} ms each), completion {completion_ms:.1f} ms (target 50; "
        f"server CPU {cpu_completion * 1000:.1f} ms each), medians"
    )


if __name__ == "__main__":
    main()
