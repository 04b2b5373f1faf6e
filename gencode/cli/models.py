"""`gencode models`: the models a script can name (built-in, and those in GENCODE_MODELS
folders), their checkpoints' sha256 and what they understand."""

from __future__ import annotations

import json

import click

from gencode.models.catalog import ModelCatalog
from gencode.models.checkpoint import CheckpointError


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def models(as_json: bool) -> None:
    """List the models scripts can name, with their sha256, family and vocabulary or attributes.

    Built-ins ship with gencode; your own checkpoints (`NAME.safetensors`) and diffusers folders
    are named too when their folder is on GENCODE_MODELS (folders separated like PATH).
    """
    catalog = ModelCatalog()
    found = catalog.found()
    rows = []
    for name in catalog.names():
        source = "built-in" if name in catalog.builtins else str(found[name].parent)
        try:
            ref = catalog.resolve(name)
        except CheckpointError as e:
            rows.append({"name": name, "source": source, "error": str(e)})
            continue
        rows.append(
            {
                "name": name,
                "source": source,
                "family": ref.family,
                "sha256": ref.sha256,
                "file": ref.path,
                "size": ref.default("size"),
                "native_sizes": list(ref.native_sizes),
                "vocabulary": list(ref.vocabulary),
                "attributes": list(ref.attributes),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        if "error" in row:
            click.echo(f"{row['name']}: {row['error']}")
            continue
        where = "" if row["source"] == "built-in" else f"  from {row['source']}"
        sizes = " and ".join(f"{s}x{s}" for s in row["native_sizes"])
        size = f", native {sizes}" if sizes else ""
        click.echo(f"{row['name']}  ({row['family']}{size})  sha256 {row['sha256']}{where}")
        if row["vocabulary"]:
            click.echo(f"    words: {', '.join(row['vocabulary'])}")
        if row["attributes"]:
            click.echo(f"    attributes: {', '.join(row['attributes'])}")
