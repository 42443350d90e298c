"""sha256 of files and bytes, streamed in 1 MiB chunks (the size that stays in CPU cache)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable

from gitartifacts.errors import ManifestError

CHUNK = 1 << 20
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


def sha256_file(
    path: str | os.PathLike[str], sink: Callable[[memoryview], object] | None = None
) -> tuple[str, int]:
    """Digest and size of a file, streaming; each chunk also goes to `sink` when given."""
    with open(path, "rb", buffering=0) as f:
        return sha256_fd(f.fileno(), sink)


def sha256_fd(fd: int, sink: Callable[[memoryview], object] | None = None) -> tuple[str, int]:
    """`sha256_file` of an open descriptor, from its current offset to its end."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := os.readv(fd, [buf]):
        chunk = view[:n]
        h.update(chunk)
        if sink is not None:
            sink(chunk)
        size += n
    return "sha256:" + h.hexdigest(), size


def is_digest(value: object) -> bool:
    """Whether `value` names a content object: `sha256:` and 64 lowercase hex digits."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def hex_of(digest: str) -> str:
    """The 64 hex digits of a content digest, the only way a digest becomes a path or key:
    anything else (`sha256:../../x`, upper case, a suffix) is refused here."""
    if not is_digest(digest):
        shown = repr(digest)
        shown = shown if len(shown) <= 90 else shown[:87] + "..."
        raise ManifestError(
            f"malformed object digest {shown}",
            "a content digest is sha256: and 64 lowercase hex digits; restore the manifest, "
            "listing or reference that names it",
        )
    return digest[7:]
