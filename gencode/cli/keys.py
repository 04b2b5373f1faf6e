"""`gencode keys new|show|list`: the artist's ed25519 signing keys, kept in a user config folder."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

# `--sign` and `--key` on render and batch.
_SIGN = click.option("--sign", is_flag=True, help="Sign each record with your key.")
_KEY = click.option(
    "--key",
    "key",
    default="default",
    show_default=True,
    metavar="NAME",
    help="The key --sign uses (see `gencode keys`).",
)


def SIGN_OPTIONS(f: Callable) -> Callable:  # noqa: N802 — used as a decorator, like click's
    return _SIGN(_KEY(f))


_C2PA_CERT = click.option(
    "--c2pa-cert",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Also embed C2PA content credentials: your certificate chain (PEM, leaf first).",
)
_C2PA_KEY = click.option(
    "--c2pa-key",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The private key (PEM) of the --c2pa-cert leaf certificate.",
)


def C2PA_OPTIONS(f: Callable) -> Callable:  # noqa: N802 — used as a decorator, like click's
    return _C2PA_CERT(_C2PA_KEY(f))


def load_credentials(cert: str | None, key: str | None):
    """C2PA credentials from --c2pa-cert/--c2pa-key, or None; exits on a bad pair."""
    if cert is None and key is None:
        return None
    from gencode.provenance.c2pa import C2paError, Credentials, _c2pa

    try:
        if cert is None or key is None:
            raise C2paError("--c2pa-cert and --c2pa-key go together")
        _c2pa()  # fail now, not after the render, when the extra is missing
        credentials = Credentials.load(Path(cert), Path(key))
        credentials.check()  # a test signature: a bad pair fails before anything is written
        return credentials
    except C2paError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


def load_signer(name: str) -> Callable[[dict], dict]:
    """The named key's signer, or exit with a message that says how to make one."""
    from gencode.provenance.signing import Signer, SigningError

    try:
        return Signer(name)
    except SigningError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


@click.group()
def keys() -> None:
    """Manage the keys that sign records (kept in $GENCODE_HOME/keys or ~/.config/gencode/keys)."""


@keys.command("new")
@click.argument("name", default="default")
@click.option("--force", is_flag=True, help="Replace an existing key of that name.")
def new(name: str, force: bool) -> None:
    """Make a new ed25519 key pair (NAME defaults to 'default')."""
    from gencode.provenance.signing import SigningError, new_key

    try:
        info = new_key(name, force)
    except SigningError as e:
        click.echo(f"error: {e}" + ("" if force else " (use --force to replace it)"), err=True)
        sys.exit(1)
    click.echo(f"made key '{info.name}' (id {info.key_id})")
    click.echo(f"private key: {info.path} (keep it secret; it never goes into an output)")
    click.echo(f"public key:  {info.public_key}")


@keys.command("show")
@click.argument("name", default="default")
def show(name: str) -> None:
    """Print a key's id and public key (what others need to check your signatures)."""
    from gencode.provenance.signing import SigningError, describe

    try:
        info = describe(name)
    except SigningError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    click.echo(f"name:       {info.name}")
    click.echo(f"key id:     {info.key_id}")
    click.echo(f"public key: {info.public_key}")
    click.echo(f"stored in:  {info.path.parent}")


@keys.command("list")
def list_keys() -> None:
    """List the public keys in the keys folder (yours, and any you added to trust)."""
    from gencode.provenance.signing import keys_dir, known_keys

    found = known_keys()
    if not found:
        click.echo(f"no keys in {keys_dir()} (make one: gencode keys new)")
    for key_id, name in sorted(found.items(), key=lambda kv: kv[1]):
        click.echo(f"{name:<16} {key_id}")
