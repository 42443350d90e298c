"""An artifact's entries folder by folder, in one order shared by the work tree scan and the
listing tree, so the two can be walked side by side holding one folder at a time.

The order: a folder before its subfolders, subfolders by the bytes of `name + "/"`; that is
every folder sorted by the bytes of `path + "/"` (the root, "", first). A file's full path
sorts among its folder's subfolders by the same bytes, which is what a streamed artifact
digest needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple, TypeVar

from gitartifacts.core.hashing import hex_of
from gitartifacts.core.listing import (
    LISTING_SHARE_FACTOR,
    MAX_LISTING_DEPTH,
    build_listing,
    corrupt_listing,
    parse_listing_object,
    ref_entry,
)
from gitartifacts.core.manifest import Entry

L = TypeVar("L")
R = TypeVar("R")
# One parsed listing line: ("t", name, [hex, size, files]), ("f", name, [digest, size]) or
# ("r", name, [json]).
Line = tuple[str, str, list[str]]


class TreeFolder(NamedTuple):
    """One folder of a listing tree: its path ("" for the root) and its checked lines."""

    path: str
    hex: str
    lines: list[Line]


def folder_key(folder: str) -> bytes:
    """The sort key of a folder path in the shared order."""
    return (folder + "/").encode() if folder else b""


def iter_tree(
    root: str, fetch: Callable[[str], bytes], files: int | None = None
) -> Iterator[TreeFolder]:
    """Every folder of a listing tree, one listing object read at a time, in folder order.

    Listing objects are untrusted: each is checked against its name and parsed strictly;
    the file count may not pass `files` (when given); nesting is bounded; and a subfolder
    object shared by identical subfolders may be walked again only while the whole costs at
    most `LISTING_SHARE_FACTOR` times the distinct objects read."""
    seen: set[str] = set()
    base = work = count = 0
    stack = [("", hex_of(root), 0)]
    while stack:
        path, hex_, depth = stack.pop()
        if depth > MAX_LISTING_DEPTH:
            raise corrupt_listing(hex_, f"folders nest more than {MAX_LISTING_DEPTH} deep")
        data = fetch(hex_)
        if hashlib.sha256(data).hexdigest() != hex_:
            raise corrupt_listing(hex_, "its bytes do not match its digest")
        lines = parse_listing_object(data, hex_)
        work += 1 + len(lines)
        if hex_ not in seen:
            seen.add(hex_)
            base += 1 + len(lines)
        if work > LISTING_SHARE_FACTOR * base:
            raise corrupt_listing(root, "its shared subfolders expand too far")
        count += sum(1 for kind, _, _ in lines if kind != "t")
        if files is not None and count > files:
            raise corrupt_listing(root, f"it holds more than the {files} files declared")
        subs = sorted(
            ((name, rest[0]) for kind, name, rest in lines if kind == "t"),
            key=lambda s: (s[0] + "/").encode(),
            reverse=True,
        )
        for name, child in subs:
            stack.append((f"{path}/{name}" if path else name, child, depth + 1))
        yield TreeFolder(path, hex_, lines)


def read_entries(
    root: str, fetch: Callable[[str], bytes], files: int | None = None
) -> dict[str, Entry]:
    """All entries of a listing tree, checked as `iter_tree` checks them (for the callers
    that need them whole: a version's files listed, validated or reviewed)."""
    entries: dict[str, Entry] = {}
    for folder in iter_tree(root, fetch, files):
        prefix = folder.path + "/" if folder.path else ""
        for kind, name, rest in folder.lines:
            if kind == "f":
                entries[prefix + name] = Entry(rest[0], int(rest[1]))
            elif kind != "t":
                entries[prefix + name] = ref_entry(rest[0])
    return entries


def inline_tree(entries: Mapping[str, Entry]) -> tuple[str, Callable[[str], bytes]]:
    """A small manifest's inline entries as a listing tree held in memory (root, fetch), so
    inline and listing manifests go through the same folder walk."""
    built = build_listing(entries)
    return built.root, built.objects.__getitem__


def merge_folders(
    left: Iterator[tuple[str, L]], right: Iterator[tuple[str, R]]
) -> Iterator[tuple[str, L | None, R | None]]:
    """Walk two folder streams, each in folder order, side by side: (folder, left item or
    None, right item or None) for every folder in either."""
    a = next(left, None)
    b = next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and folder_key(a[0]) < folder_key(b[0])):
            assert a is not None
            yield a[0], a[1], None
            a = next(left, None)
        elif a is None or folder_key(b[0]) < folder_key(a[0]):
            yield b[0], None, b[1]
            b = next(right, None)
        else:
            yield a[0], a[1], b[1]
            a = next(left, None)
            b = next(right, None)
