"""`gencode lsp`: the language server on stdin/stdout, for editors (needs the `lsp` extra)."""

from __future__ import annotations

import click


@click.command()
def lsp() -> None:
    """Run the language server over stdio (diagnostics, hover, completion, formatting...)."""
    try:
        from gencode.lsp.server import main
    except ImportError as e:
        raise click.ClickException(
            f"the language server needs the 'lsp' extra: pip install '.[lsp]' ({e})"
        ) from None
    main()
