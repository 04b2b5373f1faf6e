"""`gencode verify PATH...`: check records, pixel hashes, signatures and batch catalogs."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def trusted_ids(keys: tuple[str, ...]) -> set[str] | None:
    """`--key` values (key ids, names in the keys folder, or .pub files) → key ids."""
    if not keys:
        return None
    from gencode.provenance.signing import SigningError, known_keys, pem_key_id

    by_name = {name: kid for kid, name in known_keys().items()}
    ids = set()
    for k in keys:
        if Path(k).is_file():
            try:
                ids.add(pem_key_id(Path(k).read_bytes()))
            except SigningError as e:
                raise click.BadParameter(f"{k}: {e}", param_hint="--key") from None
        else:
            ids.add(by_name.get(k, k))
    return ids


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--require-signature",
    is_flag=True,
    help="Every record must be signed by a key you trust: one in your keys folder "
    "(see `gencode keys list`), or given with --key. Without it, a signature by an unknown "
    "key is a warning.",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY",
    help="Trust only this key (an id, a name in your keys, or a .pub file); implies "
    "--require-signature. Repeatable.",
)
@click.option(
    "--c2pa-trust",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CA certificates (PEM) that C2PA credentials must chain to.",
)
@click.option(
    "--require-c2pa",
    is_flag=True,
    help="Every file must carry valid C2PA content credentials (with --c2pa-trust: chaining "
    "to those CAs).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print problems only.")
def verify(
    paths: tuple[str, ...],
    require_signature: bool,
    keys: tuple[str, ...],
    c2pa_trust: str | None,
    require_c2pa: bool,
    quiet: bool,
) -> None:
    """Check files and batch folders: records, pixels, signatures, catalog and manifest."""
    from gencode.cli.inspect import printable
    from gencode.provenance.verify import Policy
    from gencode.provenance.verify import verify as run_verify

    anchors = Path(c2pa_trust).read_bytes() if c2pa_trust else None
    policy = Policy(require_signature, trusted_ids(keys), anchors, require_c2pa)
    report = run_verify([Path(p) for p in paths], policy)
    for problem in report.problems:
        click.echo(f"FAIL {printable(str(problem))}")
    if not quiet:
        for warning in report.warnings:
            click.echo(f"warning {printable(warning)}")
        for note in report.notes:
            click.echo(f"note {printable(note)}")
        for signer, n in report.signers.items():
            click.echo(f"signed by {signer}: {n} file{'s' if n != 1 else ''}")
    n = len(report.problems)
    if n:
        click.echo(f"{n} problem{'s' if n != 1 else ''} in {report.files} file{'s' if report.files != 1 else ''} checked", err=True)  # fmt: skip
        sys.exit(1)
    if not quiet:
        click.echo(f"ok: {report.files} file{'s' if report.files != 1 else ''} verified")
