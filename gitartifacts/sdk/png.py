"""A small PNG writer and header reader in the standard library (zlib and struct).

The seeds log `Image`s made from numpy arrays, and they must run where Pillow is not
installed; 8-bit gray, RGB and RGBA are all they need, so this writes those and nothing else.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from gitartifacts.errors import UsageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types by channel count: gray, gray+alpha, RGB, RGBA.
COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


class Header(NamedTuple):
    """What a PNG's IHDR chunk says."""

    width: int
    height: int
    bit_depth: int
    color_type: int


def encode(pixels: bytes, width: int, height: int, channels: int) -> bytes:
    """PNG bytes of 8-bit pixels, row after row, `channels` bytes per pixel."""
    if channels not in COLOR_TYPES or width < 1 or height < 1:
        raise UsageError(
            f"cannot write a {width}x{height} PNG with {channels} channels",
            "pass an image of 1, 3 or 4 channels, at least 1x1",
        )
    stride = width * channels
    if len(pixels) != stride * height:
        raise UsageError(
            f"{len(pixels)} bytes are no {width}x{height}x{channels} image",
            "pass one byte per channel of every pixel",
        )
    # Each row starts with its filter type; 0 (none) keeps the writer short.
    raw = b"".join(b"\x00" + pixels[y * stride : (y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels], 0, 0, 0)
    return b"".join(
        [SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(b"IDAT", zlib.compress(raw, 6)), _chunk(b"IEND")]
    )


def header(data: bytes) -> Header:
    """The size and colour type of PNG bytes, checked enough to be shown or stored."""
    if len(data) < 33 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        raise UsageError("the image is no PNG file", "pass PNG bytes, a numpy array or a PIL image")
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31):
        raise UsageError(f"the PNG header gives a {width}x{height} image", "pass a valid PNG")
    return Header(width, height, depth, color)


def _chunk(kind: bytes, body: bytes = b"") -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
