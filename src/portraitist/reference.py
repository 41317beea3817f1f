"""Faces a user hands over: a reference face (the person a portrait should show) and a start image
(the photo a generation starts from).

    ref = Reference.from_file("me.png")          # a real photo, or any generated face
    images = generate("smiling, lit from the left", reference=ref)

A photo is aligned first (data/align.py: five YuNet landmarks onto the CelebA-64 template), then
embedded with SFace (quality/identity.py), the same way the training references were. A photo with
no face, or several, is a clear error naming it. Images made from a reference say so in their
metadata: which image (its name and the SHA-256 of its aligned face) and, so that `generate --from`
repeats them exactly, the embedding itself (128 numbers, float16, base64). A start image is
recorded by name and digest: regenerating needs the photo again (`--init-image`).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InvalidInput

EMBEDDING_DIM = 128


@dataclass(frozen=True, eq=False)
class Reference:
    name: str  # what the user gave: a file name, "seed 42", a gallery image
    digest: str  # SHA-256 of the aligned 64-px face, first 16 hex digits
    embedding: np.ndarray  # (128,) unit-length SFace embedding
    face: np.ndarray | None = None  # the aligned 64x64 face, where it was computed here

    @classmethod
    def from_image(cls, image, name: str) -> Reference:
        """From an RGB array or PIL image of any size holding one face (aligned here)."""
        from .data.align import align_one_face

        return cls.from_aligned(
            align_one_face(np.asarray(image.convert("RGB") if hasattr(image, "convert") else image), name),
            name,
        )

    @classmethod
    def from_aligned(cls, face: np.ndarray, name: str) -> Reference:
        """From a 64x64 face already framed like the training faces: a face this project's models
        generated, or one `from_image` aligned. No detection, as in training."""
        from .quality.identity import reference_embedding

        # rounded to float16 here, as the metadata stores it, so `generate --from` repeats the pixels
        embedding = reference_embedding(face[None])[0].astype("<f2").astype(np.float32)
        return cls(name, hashlib.sha256(face.tobytes()).hexdigest()[:16], embedding, face)

    @classmethod
    def from_file(cls, path: str | Path) -> Reference:
        return cls.from_image(*_photo(path, "reference face"))

    def to_settings(self) -> dict:
        """What an image made from this reference records (PNG text and XMP; `from_settings` reads it)."""
        packed = base64.b64encode(self.embedding.astype("<f2").tobytes()).decode()
        return {"reference_face": f"{self.name} (sha256 {self.digest})", "reference_embedding": packed}

    @classmethod
    def from_settings(cls, settings: dict) -> Reference | None:
        """The reference an image's saved settings name, or None; InvalidInput when damaged."""
        label, packed = settings.get("reference_face"), settings.get("reference_embedding")
        if not label and not packed:
            return None
        try:
            embedding = np.frombuffer(base64.b64decode(str(packed), validate=True), "<f2").astype(np.float32)
        except ValueError:
            embedding = np.zeros(0)
        if embedding.shape != (EMBEDDING_DIM,) or not np.isfinite(embedding).all():
            raise InvalidInput(
                f"the image's reference face ({label}) is damaged: its embedding cannot be read"
            )
        name, _, rest = str(label).rpartition(" (sha256 ")
        return cls(name or str(label), rest.rstrip(")"), embedding)


@dataclass(frozen=True, eq=False)
class StartImage:
    """A photo a generation starts from (img2img / SDEdit): its one face, aligned at 64 px."""

    name: str
    digest: str  # SHA-256 of the aligned face, first 16 hex digits
    face: np.ndarray  # (64, 64, 3) uint8

    @classmethod
    def from_image(cls, image, name: str) -> StartImage:
        from .data.align import align_one_face

        face = align_one_face(np.asarray(image.convert("RGB") if hasattr(image, "convert") else image), name)
        return cls.from_aligned(face, name)

    @classmethod
    def from_aligned(cls, face: np.ndarray, name: str) -> StartImage:
        """From a 64x64 face already framed like the training faces (a generated one)."""
        return cls(name, hashlib.sha256(face.tobytes()).hexdigest()[:16], face)

    @classmethod
    def from_file(cls, path: str | Path) -> StartImage:
        return cls.from_image(*_photo(path, "start image"))

    def to_settings(self) -> dict:
        return {"init_image": f"{self.name} (sha256 {self.digest})"}


def _photo(path: str | Path, what: str):
    """A photo file's decoded image and its name; InvalidInput when missing or unreadable."""
    from .data.images import open_rgb

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{what} {path}: no such file")
    return open_rgb(path.read_bytes()), path.name
