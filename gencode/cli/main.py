"""The `gencode` click group; subcommands are imported lazily so `--help` and `check` stay fast."""

from __future__ import annotations

import importlib
import importlib.util

import click

# name -> (module, attribute, one-line help). Explicit, so the list is complete and greppable.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": ("gencode.cli.check", "check", "Check scripts for errors without rendering."),
    "fmt": ("gencode.cli.fmt", "fmt", "Format scripts in canonical layout (--check for CI)."),
    "lsp": ("gencode.cli.lsp", "lsp", "Run the language server (stdio) for editors."),
    "graph": ("gencode.cli.graph", "graph", "Print a script's op graph (text, JSON or DOT)."),
    "render": ("gencode.cli.render", "render", "Render a script's outputs."),
    "train": ("gencode.cli.train", "train", "Train a model from a recipe file."),
    "data": ("gencode.cli.data", "data", "Procedural datasets: preview and export."),
    "models": ("gencode.cli.models", "models", "List the built-in models."),
    "watch": ("gencode.cli.watch", "watch", "Re-render on every save, with a live preview page."),
    "signals": (
        "gencode.cli.signals",
        "signals",
        "Show MIDI, OSC and audio signals as they change.",
    ),
    "batch": (
        "gencode.cli.batch",
        "batch",
        "Render over seeds and sweeps into a cataloged folder.",
    ),
    "inspect": ("gencode.cli.inspect", "inspect", "Print the provenance record of an output."),
    "reproduce": ("gencode.cli.reproduce", "reproduce", "Re-render an output from its record."),
    "verify": ("gencode.cli.verify", "verify", "Check records, signatures and catalogs."),
    "keys": ("gencode.cli.keys", "keys", "Manage the artist's signing keys."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, spec in COMMANDS.items() if _importable(spec[0]))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None or not _importable(spec[0]):
            return None
        return getattr(importlib.import_module(spec[0]), spec[1])

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][2]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup)
@click.version_option(package_name="gencode")
def cli() -> None:
    """gencode: write short .gen scripts, render images and animations."""
