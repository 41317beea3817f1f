"""Every kind of awkward image file either decodes to 64x64 RGB or fails with a named reason."""

import io

import numpy as np
import pytest
from conftest import jpeg_bytes, png_bytes, synthetic_face
from PIL import Image

from portraitist.data import ImageDecodeError, decode_image


@pytest.fixture
def face():
    return synthetic_face(np.random.default_rng(1), size=96)


def test_plain_jpeg_is_resized_to_square_rgb(face):
    out = decode_image(jpeg_bytes(face), 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8


def test_non_square_image_is_centre_cropped():
    wide = np.zeros((64, 128, 3), np.uint8)
    wide[:, 32:96] = 255  # the centre square is white, the sides black
    out = decode_image(png_bytes(Image.fromarray(wide)), 64)
    assert out.min() > 240


@pytest.mark.parametrize("reason,data", [("empty", b""), ("corrupt", b"this is not an image at all")])
def test_garbage_fails_with_reason(reason, data):
    with pytest.raises(ImageDecodeError) as e:
        decode_image(data, 64)
    assert e.value.reason == reason


def test_truncated_jpeg_fails_instead_of_decoding_half(face):
    data = jpeg_bytes(face)
    with pytest.raises(ImageDecodeError) as e:
        decode_image(data[: len(data) // 2], 64)
    assert e.value.reason in ("truncated", "corrupt")


def test_grayscale_becomes_three_equal_channels(face):
    grey = Image.fromarray(face).convert("L")
    out = decode_image(png_bytes(grey), 64)
    assert out.shape == (64, 64, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_cmyk_jpeg_converts_to_rgb(face):
    buf = io.BytesIO()
    Image.fromarray(face).convert("CMYK").save(buf, format="JPEG")
    out = decode_image(buf.getvalue(), 64)
    ref = decode_image(jpeg_bytes(face), 64)
    assert out.shape == (64, 64, 3)
    assert np.abs(out.astype(int) - ref.astype(int)).mean() < 25


def test_rgba_is_composited_on_grey(face):
    rgba = np.dstack([face, np.zeros(face.shape[:2], np.uint8)])  # fully transparent
    out = decode_image(png_bytes(Image.fromarray(rgba, "RGBA")), 64)
    assert np.all(np.abs(out.astype(int) - 128) <= 1)


def test_sixteen_bit_png_scales_to_eight_bits():
    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    img = Image.fromarray(ramp)
    assert img.mode.startswith("I;16")
    out = decode_image(png_bytes(img), 64)
    assert out[0, 0, 0] < 5 and out[-1, -1, 0] > 250


def test_palette_image_converts(face):
    out = decode_image(png_bytes(Image.fromarray(face).convert("P")), 64)
    assert out.shape == (64, 64, 3)


def test_tiny_image_is_refused(face):
    tiny = Image.fromarray(face).resize((12, 12))
    with pytest.raises(ImageDecodeError) as e:
        decode_image(png_bytes(tiny), 64)
    assert e.value.reason == "too_small"


def test_crop_box_outside_image_is_refused(face):
    with pytest.raises(ImageDecodeError) as e:
        decode_image(jpeg_bytes(face), 64, crop_box=(0, 0, 200, 200))
    assert e.value.reason == "wrong_shape"


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    """A PNG whose header claims 30000 x 30000 pixels (900 M) in a few dozen bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    assert len(bomb) < 100
    with pytest.raises(ImageDecodeError) as e:
        decode_image(bomb, 64)
    assert e.value.reason == "too_large"
