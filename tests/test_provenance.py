"""Content Credentials: a generated PNG signed with a locally made test certificate chain carries a
C2PA manifest that verifies after writing, says the image came from a trained model, and keeps the
settings and the XMP mark; `portraitist info` reports it."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

import pytest

pytest.importorskip("c2pa", reason="c2pa-python is not installed (pip install 'portraitist[provenance]')")


@pytest.fixture(scope="module")
def test_chain(tmp_path_factory):
    """A test CA and an ES256 signing certificate it issued (PEM chain, signer first) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portraitist tests")])  # fmt: skip

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
                             crl_sign=not sign, encipher_only=False, decipher_only=False)  # fmt: skip

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject, public, ca: bool):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(name("test CA")).public_key(public)
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(usage(not ca), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))  # fmt: skip
        if not ca:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        return b.sign(ca_key, hashes.SHA256())

    folder = tmp_path_factory.mktemp("c2pa")
    chain = cert(name("portraitist test signer"), key.public_key(), False).public_bytes(
        serialization.Encoding.PEM
    )
    chain += cert(name("test CA"), ca_key.public_key(), True).public_bytes(serialization.Encoding.PEM)
    (folder / "chain.pem").write_bytes(chain)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))  # fmt: skip
    return folder / "chain.pem", folder / "key.pem"


@pytest.mark.slow
def test_generated_faces_carry_signed_content_credentials(model_file, test_chain, tmp_path):
    from portraitist.png import read_marks, read_settings
    from portraitist.provenance import read_credentials

    cert, key = test_chain
    proc = subprocess.run([sys.executable, "-m", "portraitist.cli", "generate", "a smiling woman", "--weights",
                           str(model_file), "--n", "1", "--steps", "2", "--seed", "5", "--reroll", "0", "--out", str(tmp_path),
                           "--c2pa-cert", str(cert), "--c2pa-key", str(key)], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    png = tmp_path / "000005.png"
    credentials = read_credentials(png)
    assert credentials["validation_state"] == "Valid"  # verified after writing (the test CA is untrusted)
    actions = [a for x in credentials["manifest"]["assertions"] if x["label"].startswith("c2pa.actions")
               for a in x["data"]["actions"]]  # fmt: skip
    assert actions[0]["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert actions[0]["parameters"]["portraitist"]["seed"] == 5
    assert read_settings(png)["prompt"] == "a smiling woman" and read_marks(png)["model"] == "face-diffusion"
    info = subprocess.run([sys.executable, "-m", "portraitist.cli", "info", str(png), "--json"],
                          capture_output=True, text=True)  # fmt: skip
    assert json.loads(info.stdout)["c2pa"]["validation_state"] == "Valid"


def test_a_tampered_image_fails_verification_and_bad_keys_are_clear_errors(model_file, test_chain, tmp_path):
    from PIL import Image

    from portraitist.errors import InvalidInput, PortraitistError
    from portraitist.png import save_png
    from portraitist.provenance import read_credentials, sign_png

    cert, key = test_chain
    png = save_png(Image.new("RGB", (64, 64), (90, 70, 60)), tmp_path / "x.png", {"model": "face-gan"})
    sign_png(png, {"model": "face-gan"}, cert, key)
    data = bytearray(png.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # one byte of the pixels
    (tmp_path / "tampered.png").write_bytes(bytes(data))
    tampered = read_credentials(tmp_path / "tampered.png")
    assert tampered is None or tampered["validation_state"] != "Valid"
    with pytest.raises(InvalidInput, match="cannot read"):
        sign_png(png, {}, tmp_path / "missing.pem", key)
    with pytest.raises(PortraitistError):
        sign_png(png, {}, key, cert)  # the two swapped
