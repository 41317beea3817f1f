"""Decoding one image file into a square RGB uint8 array, or a clear reason why not."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageFile, ImageOps

from ..errors import InvalidInput

# A truncated JPEG must fail, not decode into a half-grey face.
ImageFile.LOAD_TRUNCATED_IMAGES = False

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


class ImageDecodeError(InvalidInput):
    """An image that cannot become a training face; `reason` is a short category for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: 16-bit and float scaled, alpha composited on mid-grey, CMYK converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        if img.mode == "F" and arr.max() <= 1.0:
            hi = 1.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        grey = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return Image.alpha_composite(grey, rgba).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def open_rgb(data: bytes) -> Image.Image:
    """Encoded bytes as an upright RGB image at full resolution; ImageDecodeError (with its reason)
    for empty, corrupt, truncated files and decompression bombs (refused before decoding)."""
    if not data:
        raise ImageDecodeError("empty", "file has no bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageDecodeError("too_large", str(e)) from e
    except OSError as e:
        text = str(e)
        reason = "truncated" if "truncated" in text else "corrupt"
        raise ImageDecodeError(reason, text) from e
    except (ValueError, SyntaxError) as e:
        raise ImageDecodeError("corrupt", str(e)) from e
    return to_rgb(ImageOps.exif_transpose(img))


def decode_image(
    data: bytes,
    size: int,
    crop_box: tuple[int, int, int, int] | None = None,
    min_side: int | None = None,
) -> np.ndarray:
    """Decode bytes to a `size` x `size` x 3 uint8 array.

    `crop_box` (left, top, right, bottom) is applied first (CelebA's official crop); otherwise the
    image is centre-cropped to a square. Images whose short side is under `min_side` (default
    size // 2: upscaling more than 2x only makes blur) are refused.
    """
    img = open_rgb(data)
    if crop_box is not None:
        left, top, right, bottom = crop_box
        if left < 0 or top < 0 or right > img.width or bottom > img.height:
            raise ImageDecodeError(
                "wrong_shape", f"{img.width}x{img.height} image cannot hold crop box {crop_box}"
            )
        img = img.crop(crop_box)
    else:
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    floor = size // 2 if min_side is None else min_side
    if min(img.size) < floor:
        raise ImageDecodeError("too_small", f"{img.width}x{img.height} is under the {floor}px minimum")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8).copy()
