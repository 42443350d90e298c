"""A listing tree and the artifact digest built from entries streamed folder by folder, so a
million entries are never held at once: each folder's listing object is written as soon as
the folder is complete (see `core/foldertree.py` for the order the entries come in).

The result is byte-identical to `listing.build_listing` and `manifest.canonical_digest` over
the same entries; up to `limit` entries the listing objects are only held, and the entries
are returned for an inline manifest instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from itertools import pairwise
from typing import NamedTuple

from gitartifacts.core.foldertree import folder_key
from gitartifacts.core.manifest import DIGEST_HEADER, INLINE_LIMIT, Entry, entry_fields
from gitartifacts.errors import UsageError

_LISTING_HEADER = b"gitartifacts-listing 1\n"
_DIGEST_SLICE = 4096  # digest lines hashed at once: never one big byte string


class Built(NamedTuple):
    """What a streamed listing came to."""

    digest: str  # the artifact digest (`manifest.canonical_digest` of the entries)
    size: int
    files: int
    tops: list[str]  # first path segments, sorted
    root: str | None  # "sha256:<hex>" of the root listing object; None when inline
    entries: dict[str, Entry] | None  # the entries when there are at most `limit`


class ListingBuilder:
    """Takes entries with `add(folder, name, entry)` in folder order (names sorted by bytes
    within a folder; one folder's entries may come in several runs, one after the other)
    and hands each folder's listing object to `put(hex, bytes)` once the folder is done."""

    def __init__(self, put: Callable[[str, bytes], None], limit: int = INLINE_LIMIT) -> None:
        self._put = put
        self._limit = limit
        self._held: dict[str, bytes] | None = {}  # objects kept back while still inline
        self._inline: dict[str, Entry] | None = {}
        self._open: list[_Folder] = []  # the root down to the folder being filled
        self._folder: str | None = None
        self._hash = hashlib.sha256(DIGEST_HEADER)
        self._lines: list[str] = []
        self._root: tuple[str, int, int] | None = None
        self._tops: list[str] = []
        self.size = 0
        self.files = 0

    def add(self, folder: str, name: str, entry: Entry) -> None:
        if folder != self._folder:
            self._enter(folder)
        top = self._open[-1]
        key = name.encode()
        if "/" in name or (top.entries and key <= top.entries[-1][0]):
            raise ValueError(f"entry {folder}/{name} is out of order")
        top.entries.append((key, name, entry))
        self.size += entry.size
        self.files += 1
        if self._inline is not None:
            self._inline[f"{folder}/{name}" if folder else name] = entry
            if self.files > self._limit:
                self._go_out()

    def finish(self) -> Built:
        """Close every folder; the digest, totals and root (or inline entries)."""
        if self._folder is None:
            self._enter("")
        while self._open:
            self._close()
        self._hash.update("".join(self._lines).encode())
        assert self._root is not None
        hex_, size, files = self._root
        digest = "sha256:" + self._hash.hexdigest()
        if self._inline is not None:
            inline = {p: self._inline[p] for p in sorted(self._inline, key=str.encode)}
            return Built(digest, size, files, self._tops, None, inline)
        return Built(digest, size, files, self._tops, "sha256:" + hex_, None)

    def _go_out(self) -> None:
        """Past the limit: write the objects held so far, and from now on at once."""
        for hex_, data in (self._held or {}).items():
            self._put(hex_, data)
        self._held = self._inline = None

    def _enter(self, folder: str) -> None:
        if self._folder is not None and folder_key(folder) <= folder_key(self._folder):
            raise ValueError(f"folder {folder!r} is out of order")
        self._folder = folder
        parts = folder.split("/") if folder else []
        if not self._open:
            self._open.append(_Folder([]))
        while self._open[-1].parts != parts[: len(self._open[-1].parts)]:
            self._close()
        while len(self._open[-1].parts) < len(parts):
            child = parts[len(self._open[-1].parts)]
            self._emit(self._open[-1], (child + "/").encode())
            self._open.append(_Folder(parts[: len(self._open[-1].parts) + 1]))

    def _emit(self, f: _Folder, below: bytes | None) -> None:
        """Feed the digest `f`'s files that sort before `below` (all of them: None)."""
        prefix = "/".join(f.parts) + "/" if f.parts else ""
        while f.done < len(f.entries) and (below is None or f.entries[f.done][0] < below):
            _, name, e = f.entries[f.done]
            self._lines.append(f"{prefix}{name}\t{e.digest}\n")
            f.done += 1
            if len(self._lines) >= _DIGEST_SLICE:
                self._hash.update("".join(self._lines).encode())
                self._lines = []

    def _close(self) -> None:
        f = self._open.pop()
        self._emit(f, None)
        lines = [(key, _file_line(name, e)) for key, name, e in f.entries]
        lines += [(name.encode(), line) for name, line in f.subs]
        lines.sort(key=lambda kl: kl[0])
        for (a, _), (b, _) in pairwise(lines):
            if a == b:
                where = "/".join([*f.parts, a.decode()])
                raise UsageError(
                    f"entry {where!r} is a file and also a folder", "rename one of them"
                )
        data = _LISTING_HEADER + "".join(line for _, line in lines).encode()
        hex_ = hashlib.sha256(data).hexdigest()
        if self._held is None:
            self._put(hex_, data)
        else:
            self._held[hex_] = data
        size = sum(e.size for _, _, e in f.entries) + f.sub_size
        files = len(f.entries) + f.sub_files
        if not self._open:
            self._root = (hex_, size, files)
            self._tops = [k.decode() for k, _ in lines]
            return
        parent = self._open[-1]
        name = f.parts[-1]
        parent.subs.append((name, f"t\t{name}\t{hex_}\t{size}\t{files}\n"))
        parent.sub_size += size
        parent.sub_files += files


class _Folder:
    """One open folder: its entries (with how many went into the digest) and the lines of
    its finished subfolders."""

    __slots__ = ("done", "entries", "parts", "sub_files", "sub_size", "subs")

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self.entries: list[tuple[bytes, str, Entry]] = []
        self.done = 0
        self.subs: list[tuple[str, str]] = []
        self.sub_size = 0
        self.sub_files = 0


def _file_line(name: str, e: Entry) -> str:
    if e.ref is None:
        return f"f\t{name}\t{e.digest}\t{e.size}\n"
    return f"r\t{name}\t{json.dumps(entry_fields(e), sort_keys=True)}\n"
