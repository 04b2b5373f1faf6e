"""Signing: the artist's ed25519 key pairs (in a user config folder) → signatures on records.

A signature covers the canonical JSON of the record without its `signature` field, and carries
the public key, so anyone can check it; whether that key is *yours* (or one you trust) is a
separate question that `verify` answers from the keys folder. Private keys never leave it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gencode.provenance.record import canonical_bytes, unsigned

ALG = "ed25519"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class SigningError(Exception):
    """A key is missing, unreadable or badly named."""


def keys_dir() -> Path:
    """Where keys live: $GENCODE_HOME/keys, else $XDG_CONFIG_HOME (or ~/.config)/gencode/keys."""
    if home := os.environ.get("GENCODE_HOME"):
        return Path(home) / "keys"
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "gencode" / "keys"


def key_id(public_raw: bytes) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class KeyInfo:
    """A key pair on disk, described by its public half."""

    name: str
    key_id: str
    public_key: str  # base64 of the 32 raw bytes
    path: Path  # the private key file


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _paths(name: str) -> tuple[Path, Path]:
    if not _NAME.fullmatch(name):
        raise SigningError(f"'{name}': a key name is letters, digits, '.', '_' or '-'")
    folder = keys_dir()
    return folder / f"{name}.key", folder / f"{name}.pub"


def new_key(name: str = "default", force: bool = False) -> KeyInfo:
    """Make a key pair: the private key readable by its owner only, the public one beside it."""
    private_path, public_path = _paths(name)
    if private_path.exists() and not force:
        raise SigningError(f"a key named '{name}' already exists at {private_path}")
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_path.unlink(missing_ok=True)  # --force: the new file must be created 0600, not reused
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return describe(name)


def describe(name: str = "default") -> KeyInfo:
    """The named key pair's public half (reads the private key to be sure the pair is whole)."""
    raw = _raw(_private(name).public_key())
    return KeyInfo(name, key_id(raw), base64.b64encode(raw).decode(), _paths(name)[0])


def _private(name: str) -> Ed25519PrivateKey:
    path = _paths(name)[0]
    if not path.is_file():
        hint = "run `gencode keys new`" if name == "default" else f"run `gencode keys new {name}`"
        raise SigningError(f"no signing key '{name}' in {path.parent} ({hint})")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise SigningError(f"{path}: not a readable private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an ed25519 key")
    return key


class Signer:
    """Signs records with one private key: `signer(record)` returns the signed record."""

    def __init__(self, name: str = "default"):
        self.key = _private(name)
        raw = _raw(self.key.public_key())
        self.key_id = key_id(raw)
        self.public_key = base64.b64encode(raw).decode()

    def __call__(self, record: dict) -> dict:
        sig = self.key.sign(canonical_bytes(record))
        block = {
            "alg": ALG,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "value": base64.b64encode(sig).decode(),
        }
        return unsigned(record) | {"signature": block}


def pem_key_id(pem: bytes) -> str:
    """The key id of a PEM public key file's contents (a `.pub` someone gave you)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as e:
        raise SigningError(f"not a PEM public key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError("not an ed25519 public key")
    return key_id(_raw(key))


def known_keys() -> dict[str, str]:
    """key id → key name, for the public keys in the keys folder (yours and ones you trust)."""
    found = {}
    folder = keys_dir()
    for pub in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        try:
            key = serialization.load_pem_public_key(pub.read_bytes())
        except ValueError:
            continue
        if isinstance(key, Ed25519PublicKey):
            found[key_id(_raw(key))] = pub.stem
    return found


@dataclass(frozen=True)
class SignatureCheck:
    """A record's signature: absent, valid (by which key) or invalid (and why)."""

    status: str  # "unsigned", "valid" or "invalid"
    key_id: str | None = None
    why: str = ""


def check_signature(record: dict) -> SignatureCheck:
    """Whether the record's signature matches its content and the public key it names."""
    sig = record.get("signature")
    if sig is None:
        return SignatureCheck("unsigned")
    if not isinstance(sig, dict) or sig.get("alg") != ALG:
        return SignatureCheck("invalid", None, "unknown signature format")
    try:
        raw = base64.b64decode(sig["public_key"], validate=True)
        value = base64.b64decode(sig["value"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, ValueError, TypeError):
        return SignatureCheck("invalid", sig.get("key_id"), "malformed signature")
    if key_id(raw) != sig.get("key_id"):
        return SignatureCheck("invalid", sig.get("key_id"), "key id does not match its key")
    try:
        public.verify(value, canonical_bytes(record))
    except InvalidSignature:
        return SignatureCheck("invalid", key_id(raw), "signature does not match the record")
    return SignatureCheck("valid", key_id(raw))
