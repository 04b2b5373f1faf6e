"""`gencode models`: the built-in models, their checkpoints' sha256 and what they understand."""

from __future__ import annotations

import json

import click

from gencode.models.catalog import ModelCatalog
from gencode.models.checkpoint import CheckpointError


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def models(as_json: bool) -> None:
    """List the built-in models with their sha256, family and vocabulary or attributes."""
    catalog = ModelCatalog()
    rows = []
    for name in catalog.names():
        try:
            ref = catalog.resolve(name)
        except CheckpointError as e:
            rows.append({"name": name, "error": str(e)})
            continue
        rows.append(
            {
                "name": name,
                "family": ref.family,
                "sha256": ref.sha256,
                "file": ref.path,
                "size": ref.default("size"),
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
        click.echo(f"{row['name']}  ({row['family']}, {row['size']}px)  sha256 {row['sha256']}")
        if row["vocabulary"]:
            click.echo(f"    words: {', '.join(row['vocabulary'])}")
        if row["attributes"]:
            click.echo(f"    attributes: {', '.join(row['attributes'])}")
