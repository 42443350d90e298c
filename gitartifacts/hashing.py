"""sha256 of files and bytes, streamed in 1 MiB chunks (the size that stays in CPU cache)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(
    path: str | os.PathLike[str], sink: Callable[[memoryview], object] | None = None
) -> tuple[str, int]:
    """Digest and size of a file, streaming; each chunk also goes to `sink` when given."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            chunk = view[:n]
            h.update(chunk)
            if sink is not None:
                sink(chunk)
            size += n
    return "sha256:" + h.hexdigest(), size


def hex_of(digest: str) -> str:
    return digest.removeprefix("sha256:")
