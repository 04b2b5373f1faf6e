"""Signing: `gencode keys`, `--sign` on render, signatures checked by `verify` (and C2PA, optional)."""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from runtime_support import write_script

from gencode.cli.main import cli
from gencode.provenance.record import SCHEMA
from gencode.provenance.signing import (
    Signer,
    SigningError,
    check_signature,
    describe,
    keys_dir,
    new_key,
)
from gencode.runtime.outputs import read_record, write_still

pytestmark = pytest.mark.usefixtures("one_thread")

FACE = 'model "gan.safetensors"\nseed 3\nsample as face\n'  # one file: signing is slow
GAN = 'model "gan.safetensors"\nseed 3\nsample as face\nsample from (interpolate latent a b 2) as walk\n'


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Keys live in the test's folder, never in the user's config."""
    monkeypatch.setenv("GENCODE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def signed_render(tiny_dir: Path) -> Path:
    assert run("keys", "new").exit_code == 0
    out = tiny_dir / "out"
    res = run("render", str(write_script(tiny_dir, GAN)), "-o", str(out), "--sign", "-q")
    assert res.exit_code == 0, res.output
    return out


def rewrite_record(path: Path, change: dict) -> None:
    """Re-save a PNG with the same pixels and an edited record (keeping its signature)."""
    from gencode.provenance.pixels import decode_file

    write_still(path, decode_file(path), read_record(path) | change)


# ---- keys --------------------------------------------------------------------------------------


def test_keys_new_makes_a_private_key_only_its_owner_reads(home: Path) -> None:
    res = run("keys", "new")
    assert res.exit_code == 0 and "made key 'default'" in res.output
    assert keys_dir() == home / "keys"
    private = home / "keys/default.key"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600 and (home / "keys/default.pub").is_file()
    info = describe()
    res = run("keys", "show")
    assert info.key_id in res.output and info.public_key in res.output
    assert "PRIVATE" not in res.output
    assert run("keys", "list").output.split() == ["default", info.key_id]


def test_keys_new_refuses_to_overwrite_without_force() -> None:
    first = new_key("mine").key_id
    res = run("keys", "new", "mine")
    assert res.exit_code == 1 and "already exists" in res.output and "--force" in res.output
    assert run("keys", "new", "mine", "--force").exit_code == 0 and describe("mine").key_id != first
    with pytest.raises(SigningError, match="key name"):
        new_key("../escape")


def test_sign_without_a_key_says_how_to_make_one(tiny_dir: Path) -> None:
    res = run("render", str(write_script(tiny_dir, GAN)), "-o", str(tiny_dir / "o"), "--sign")
    assert res.exit_code == 1 and "gencode keys new" in res.output
    assert not (tiny_dir / "o").exists()
    assert "no keys" in run("keys", "list").output and run("keys", "show").exit_code == 1


# ---- signatures --------------------------------------------------------------------------------


def test_a_signature_covers_the_canonical_record() -> None:
    new_key()
    sign = Signer()
    record = {"schema": SCHEMA, "seed": 1, "prompt": "dünes"}
    signed = sign(record)
    assert check_signature(record).status == "unsigned"
    assert (
        check_signature(signed).status == "valid" and check_signature(signed).key_id == sign.key_id
    )
    assert sign(signed) == signed  # re-signing replaces, never nests, the signature
    assert dict(reversed(list(signed.items()))) == signed  # key order is not part of it
    assert check_signature(signed | {"seed": 2}).why == "signature does not match the record"
    bad_key = signed["signature"] | {"key_id": "0" * 16}
    assert check_signature(signed | {"signature": bad_key}).status == "invalid"
    assert check_signature(signed | {"signature": {"alg": "rsa"}}).why == "unknown signature format"


def test_render_sign_signs_every_file_and_keeps_the_private_key_out(
    tiny_dir: Path, home: Path
) -> None:
    out = signed_render(tiny_dir)
    files = sorted((p for p in out.rglob("*") if p.is_file()), key=lambda p: p.name)
    assert [p.name for p in files] == [
        "0000.png",
        "0001.png",
        "face.png",
        "walk.gif",
        "walk.gif.json",
    ]
    secret = (home / "keys/default.key").read_bytes()
    body = b"".join(secret.splitlines()[1:-1])  # the base64 of the key itself
    for p in files:
        assert body not in p.read_bytes() and b"PRIVATE" not in p.read_bytes()
    assert all(
        check_signature(read_record(p)).status == "valid" for p in files if p.suffix != ".json"
    )
    res = run("verify", str(out))
    assert res.exit_code == 0 and "ok: 4 files verified" in res.output
    assert f"signed by {describe().key_id} (default, trusted): 4 files" in res.output
    assert "signature valid" in run("inspect", str(out / "face.png")).output


def test_verify_reports_an_edited_signed_record(tiny_dir: Path) -> None:
    out = signed_render(tiny_dir)
    rewrite_record(out / "face.png", {"seed": 99})
    res = run("verify", str(out))
    assert res.exit_code == 1
    assert f"FAIL {out / 'face.png'}: signature invalid: signature does not match" in res.output
    assert "INVALID" in run("inspect", str(out / "face.png")).output


def test_verify_key_and_require_signature_policies(tiny_dir: Path, home: Path) -> None:
    out = signed_render(tiny_dir)
    mine = describe()
    assert run("verify", str(out), "--key", "default").exit_code == 0
    assert run("verify", str(out), "--key", str(home / "keys/default.pub")).exit_code == 0
    other = new_key("other")
    res = run("verify", str(out / "face.png"), "--key", other.key_id)
    assert (
        res.exit_code == 1
        and f"signed by key {mine.key_id}, which is not one of the --key given" in res.output
    )
    unsigned = tiny_dir / "plain"
    run("render", str(tiny_dir / "sketch.gen"), "-o", str(unsigned), "-q")
    assert run("verify", str(unsigned)).exit_code == 0
    res = run("verify", str(unsigned / "face.png"), "--require-signature")
    assert res.exit_code == 1 and "face.png: not signed" in res.output


# ---- C2PA (optional extra) ---------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gencode tests")])  # fmt: skip


def _cert(subject: x509.Name, issuer: x509.Name, public, signing_key, ca: bool) -> x509.Certificate:
    """A CA certificate, or a leaf with what C2PA asks of one (a usage, a link to its issuer)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = dict.fromkeys(["content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "encipher_only", "decipher_only"], False)  # fmt: skip
    b = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )  # fmt: skip
    if not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)  # fmt: skip
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
        b = b.add_extension(aki, critical=False)
    return b.sign(signing_key, hashes.SHA256())


def make_chain(folder: Path) -> tuple[Path, Path, Path]:
    """A local CA and a leaf certificate it issued (P-256): (chain PEM, leaf key PEM, CA PEM)."""
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _cert(_name("test CA"), _name("test CA"), ca_key.public_key(), ca_key, True)
    leaf = _cert(_name("artist"), ca.subject, leaf_key.public_key(), ca_key, False)
    pem = serialization.Encoding.PEM
    paths = folder / "chain.pem", folder / "leaf.key", folder / "ca.pem"
    paths[0].write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    paths[1].write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    paths[2].write_bytes(ca.public_bytes(pem))
    return paths


def test_c2pa_credentials_offline_with_a_generated_chain(tiny_dir: Path) -> None:
    pytest.importorskip("c2pa")
    from gencode.provenance import c2pa

    chain, key, ca = make_chain(tiny_dir)
    out = tiny_dir / "out"
    script = str(write_script(tiny_dir, GAN))
    res = run("render", script, "-o", str(out), "-q", "--c2pa-cert", str(chain), "--c2pa-key", str(key))  # fmt: skip
    assert res.exit_code == 0, res.output
    reading = c2pa.read(out / "face.png")
    assert reading.state == "Valid" and reading.failures == [] and "artist" in reading.issuer
    assert reading.record == read_record(out / "face.png")  # the gencode record, carried along
    assert c2pa.read(out / "face.png", ca.read_bytes()).state == "Trusted"
    res = run("verify", str(out / "face.png"), "--c2pa-trust", str(ca))
    assert (
        res.exit_code == 0
        and "C2PA artist (issued by gencode tests), trusted: 1 file" in res.output
    )
    replace_in_chunk(out / "face.png", b"iTXt", b'"seed":3', b'"seed":4')
    res = run("verify", str(out / "face.png"))  # the C2PA hash covers the record's bytes too
    assert res.exit_code == 1 and "face.png: C2PA credentials invalid: assertion.dataHash.mismatch" in res.output  # fmt: skip


def replace_in_chunk(path: Path, kind: bytes, old: bytes, new: bytes) -> None:
    """Edit a PNG chunk in place, with a fresh CRC, keeping every other chunk (C2PA's too)."""
    import struct
    import zlib

    data, pos, out = path.read_bytes(), 8, [path.read_bytes()[:8]]
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if tag == kind and old in body:
            body = body.replace(old, new)
        out.append(struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body)))  # fmt: skip
        pos += 12 + n
    path.write_bytes(b"".join(out))


def test_a_sec1_c2pa_key_is_accepted(tiny_dir: Path) -> None:
    pytest.importorskip("c2pa")
    from gencode.provenance import c2pa

    chain, key, _ = make_chain(tiny_dir)
    leaf = serialization.load_pem_private_key(key.read_bytes(), None)
    key.write_bytes(leaf.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))  # fmt: skip
    assert key.read_bytes().startswith(
        b"-----BEGIN EC PRIVATE KEY-----"
    )  # SEC1, as openssl ecparam writes
    out = tiny_dir / "out"
    res = run("render", str(write_script(tiny_dir, FACE)), "-o", str(out), "-q", "--c2pa-cert", str(chain), "--c2pa-key", str(key))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert c2pa.read(out / "face.png").state == "Valid"


def test_a_failed_c2pa_signing_writes_nothing_unsigned(tiny_dir: Path) -> None:
    pytest.importorskip("c2pa")
    chain, _, _ = make_chain(tiny_dir)
    (tiny_dir / "other").mkdir()
    _, wrong_key, _ = make_chain(tiny_dir / "other")  # not the key of this certificate
    out = tiny_dir / "out"
    res = run("render", str(write_script(tiny_dir, FACE)), "-o", str(out), "-q", "--c2pa-cert", str(chain), "--c2pa-key", str(wrong_key))  # fmt: skip
    assert res.exit_code == 1 and "C2PA signing failed" in res.output, res.output
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_inspect_shows_c2pa_credentials_and_verify_can_require_them(tiny_dir: Path) -> None:
    pytest.importorskip("c2pa")
    chain, key, ca = make_chain(tiny_dir)
    out = tiny_dir / "out"
    res = run("render", str(write_script(tiny_dir, FACE)), "-o", str(out), "-q", "--c2pa-cert", str(chain), "--c2pa-key", str(key))  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run("inspect", str(out / "face.png"))
    assert "signature no gencode key signature (C2PA credentials below)" in res.output
    assert "c2pa      signed by artist (issued by gencode tests), valid; carries this record" in res.output  # fmt: skip
    assert run("verify", str(out), "--require-c2pa", "--c2pa-trust", str(ca)).exit_code == 0
    from gencode.provenance.pixels import decode_file

    path = out / "face.png"
    write_still(path, decode_file(path), read_record(path))  # the credentials stripped
    assert run("verify", str(path)).exit_code == 0  # credentials were not asked for
    res = run("verify", str(path), "--require-c2pa")
    assert res.exit_code == 1 and "face.png: no C2PA credentials (required here: stripped?)" in res.output  # fmt: skip


def test_a_batch_signed_with_c2pa_stays_so(tiny_dir: Path) -> None:
    pytest.importorskip("c2pa")
    chain, key, _ = make_chain(tiny_dir)
    script = write_script(
        tiny_dir, 'model "gan.safetensors"\nparam s = 0\nseed s\nsample as face\n'
    )
    b, creds = tiny_dir / "b", ["--c2pa-cert", str(chain), "--c2pa-key", str(key)]
    assert run("batch", str(script), "-o", str(b), "--seeds", "0-1", "-q", *creds).exit_code == 0
    assert run("verify", str(b)).exit_code == 0
    res = run("batch", str(script), "-o", str(b), "--seeds", "0-2", "-q")  # resumed without them
    assert res.exit_code == 1 and "made with C2PA credentials (give --c2pa-cert and --c2pa-key)" in res.output  # fmt: skip
    from gencode.provenance.pixels import decode_file

    path = b / "seed-0001/face.png"
    write_still(path, decode_file(path), read_record(path))  # stripped: the rest still agrees
    res = run("verify", str(b))
    assert res.exit_code == 1 and "seed-0001/face.png: no C2PA credentials (required here: stripped?)" in res.output  # fmt: skip
