"""C2PA Content Credentials for generated images (the `c2pa-python` package), on request:

    portraitist generate "a face" --c2pa-cert chain.pem --c2pa-key key.pem --out out/

The manifest says the image was created by a trained model (action `c2pa.created` with IPTC's
digital source type `trainedAlgorithmicMedia`), names the model, and, where one was used, the
reference face. It is signed with the user's own certificate chain and private key (ES256, a PEM
chain with the signing certificate first); without them nothing is signed. Every PNG also carries
the unsigned XMP mark of png.py, which needs no key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import __version__
from .errors import InvalidInput, PortraitistError
from .png import IPTC_SOURCE, SYNTHETIC


class ProvenanceError(PortraitistError):
    """Signing or reading Content Credentials failed (bad key, certificate, or file)."""


def manifest(settings: dict) -> dict:
    assertion = {"action": "c2pa.created", "digitalSourceType": IPTC_SOURCE + SYNTHETIC,
                 "softwareAgent": {"name": "portraitist", "version": __version__}}  # fmt: skip
    params = {
        k: settings[k] for k in ("model", "weights", "seed", "reference_face") if settings.get(k) is not None
    }
    if params:
        assertion["parameters"] = {"portraitist": params}
    return {
        "claim_generator_info": [{"name": "portraitist", "version": __version__}],
        "title": str(settings.get("prompt", "portraitist image"))[:200],
        "format": "image/png",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [assertion]}}],
    }


def sign_png(
    path: str | os.PathLike, settings: dict, cert_chain: str | os.PathLike, private_key: str | os.PathLike
) -> Path:
    """Embed a signed C2PA manifest in the PNG at `path`, in place (written atomically)."""
    from .files import atomic_write

    try:
        import c2pa
    except ImportError:
        raise InvalidInput(
            "signing Content Credentials needs c2pa-python: pip install 'portraitist[provenance]'"
        ) from None
    path = Path(path)
    try:
        cert, key = Path(cert_chain).read_bytes(), Path(private_key).read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read the C2PA certificate or key: {e}") from None
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert, key, None)
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(json.dumps(manifest(settings))) as builder:

            def write(tmp: str) -> None:
                with open(path, "rb") as src, open(tmp, "w+b") as dest:
                    builder.sign(signer, "image/png", src, dest)

            atomic_write(path, write)
    except c2pa.C2paError as e:
        raise ProvenanceError(
            f"C2PA signing failed (is the key ES256 and the chain's first certificate its own?): {e}"
        ) from None
    return path


def read_credentials(path: str | os.PathLike) -> dict | None:
    """The active manifest of a PNG's Content Credentials with its validation state, or None."""
    try:
        import c2pa
    except ImportError:
        return None
    try:
        with c2pa.Reader(str(path)) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
    except c2pa.C2paError:
        return None
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    return {
        "manifest": active,
        "validation_state": state,
        "validation_status": store.get("validation_status", []),
    }
