"""C2PA content credentials (the optional extra `c2pa`: `pip install '.[c2pa]'`, using c2pa-python).

Input: a file gencode wrote, its record, and the artist's certificate chain and private key
(PEM; a leaf certificate issued by a CA, never self-signed). Output: the same file, rewritten
atomically with a signed C2PA manifest holding the record as the assertion `org.gencode.record`
and a `c2pa.created` action marked as trained-algorithmic media. The pixels and the gencode
record are untouched, so `verify` still checks them; it also reads the credentials back.
Signing works offline: no timestamp authority is contacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencode.graph import canonical
from gencode.runtime.atomic import atomic_path

ASSERTION = "org.gencode.record"
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
        ".gif": "image/gif", ".mp4": "video/mp4"}  # fmt: skip
AI_GENERATED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


class C2paError(Exception):
    """The extra is not installed, the credentials are unusable, or signing failed."""


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError:
        raise C2paError("C2PA needs the extra: pip install '.[c2pa]'") from None
    return c2pa


@dataclass(frozen=True)
class Credentials:
    """A certificate chain (leaf first, then its CA) and the leaf's private key, as PEM."""

    chain: bytes
    key: bytes

    @classmethod
    def load(cls, cert: Path, key: Path) -> Credentials:
        """Read the pair; a SEC1 (`EC PRIVATE KEY`) or PKCS#1 key is converted to PKCS#8,
        the form the C2PA library reads."""
        try:
            chain, pem = Path(cert).read_bytes(), Path(key).read_bytes()
        except OSError as e:
            raise C2paError(f"can't read the C2PA certificate or key ({e})") from None
        return cls(chain, _pkcs8(pem))

    def algorithm(self) -> str:
        """The C2PA signing algorithm the private key calls for."""
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        key = _private_key(self.key)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return "ed25519"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            alg = {256: "es256", 384: "es384", 521: "es512"}.get(key.curve.key_size)
            if alg is None:
                raise C2paError(f"the C2PA key's curve {key.curve.name} is not one C2PA allows (P-256, P-384, P-521)")  # fmt: skip
            return alg
        if isinstance(key, rsa.RSAPrivateKey):
            return "ps256"
        raise C2paError("the C2PA key must be EC, Ed25519 or RSA")

    def check(self) -> None:
        """Sign a one-pixel PNG in memory: a key that doesn't match its certificate, or a
        certificate C2PA refuses, fails here, before anything is rendered or written."""
        import io

        from PIL import Image

        png = io.BytesIO()
        Image.new("RGB", (1, 1)).save(png, "PNG")
        png.seek(0)
        _sign(self, {"schema": "gencode.record/check"}, "check.png", "image/png", png, io.BytesIO())  # fmt: skip


def _private_key(pem: bytes):
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise C2paError(f"the C2PA key is not a readable, unencrypted PEM private key ({e})") from None  # fmt: skip


def _pkcs8(pem: bytes) -> bytes:
    """Any PEM private key as unencrypted PKCS#8 PEM (SEC1 and PKCS#1 keys are converted)."""
    from cryptography.hazmat.primitives import serialization

    if b"-----BEGIN PRIVATE KEY-----" in pem:
        return pem
    return _private_key(pem).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def manifest(record: dict, title: str) -> dict:
    """The manifest definition: who made it (gencode), how (an AI render), and the record."""
    version = (record.get("environment") or {}).get("gencode", "?")
    return {
        "claim_generator_info": [{"name": "gencode", "version": version}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI_GENERATED}]}},
            # As a JSON string: C2PA stores assertions as CBOR, whose round trip turns small
            # integer lists (a size, a shape) into byte strings.
            {"label": ASSERTION, "data": {"record": canonical(record)}},
        ],
    }  # fmt: skip


def _sign(credentials: Credentials, record: dict, title: str, mime: str, src, dst) -> None:
    c2pa = _c2pa()
    try:
        info = c2pa.C2paSignerInfo(credentials.algorithm(), credentials.chain, credentials.key, None)  # fmt: skip
        signer = c2pa.Signer.from_info(info)
        c2pa.Builder(json.dumps(manifest(record, title))).sign(signer, mime, src, dst)
    except c2pa.C2paError as e:
        raise C2paError(f"{title}: C2PA signing failed ({e})") from None


def embed(path: Path, record: dict, credentials: Credentials) -> Path:
    """Rewrite `path` (atomically) with C2PA credentials carrying `record`."""
    path = Path(path)
    mime = MIME.get(path.suffix.lower())
    if mime is None:
        raise C2paError(f"{path}: C2PA credentials are not supported for this format")
    with atomic_path(path) as tmp, open(path, "rb") as src, open(tmp, "w+b") as dst:
        _sign(credentials, record, path.name, mime, src, dst)
    return path


def embed_all(paths: list[Path], records: list[dict], credentials: Credentials) -> None:
    """Embed credentials in every file; if one fails, the files (and sidecars) not yet signed
    are removed, so no file is left unsigned when signing was asked for."""
    from gencode.runtime.outputs import sidecar_path

    for i, (path, record) in enumerate(zip(paths, records, strict=True)):
        try:
            embed(path, record, credentials)
        except C2paError:
            for p in paths[i:]:
                Path(p).unlink(missing_ok=True)
                sidecar_path(p).unlink(missing_ok=True)
            raise


def has_manifest(path: Path) -> bool:
    """Whether the file seems to hold a C2PA manifest (its JUMBF label), without the reader."""
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if b"c2pa" in tail + chunk:
                return True
            tail = chunk[-3:]  # a label split across two reads
    return False


@dataclass(frozen=True)
class Reading:
    """The credentials found in a file: validation state, signer, the record they carry."""

    state: str  # "Invalid", "Valid" (signature good) or "Trusted" (and chains to a trust anchor)
    issuer: str
    record: dict | None
    failures: list[str]


def read(path: Path, trust_anchors: bytes | None = None) -> Reading | None:
    """The file's C2PA credentials, validated (against `trust_anchors` PEM when given)."""
    c2pa = _c2pa()
    context = None
    if trust_anchors:
        settings = {"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust_anchors.decode()}}  # fmt: skip
        context = c2pa.Context.from_dict(settings)
    try:
        reader = c2pa.Reader(str(path), context=context)
    except c2pa.C2paError:
        return None  # no manifest (or no readable one): nothing to check
    store = json.loads(reader.json())
    active = store["manifests"][store["active_manifest"]]
    data = next((a["data"] for a in active.get("assertions", []) if a["label"] == ASSERTION), {})
    record = json.loads(data["record"]) if isinstance(data.get("record"), str) else None
    failures = [s["code"] for s in store.get("validation_status", []) if s["code"] != "signingCredential.untrusted" or trust_anchors]  # fmt: skip
    info = active.get("signature_info", {})
    issuer = f"{info.get('common_name', '?')} (issued by {info.get('issuer', '?')})"
    return Reading(str(reader.get_validation_state()), issuer, record, failures)
