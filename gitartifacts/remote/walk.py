"""The objects of manifests in batches, walked folder by folder through their listing trees.

A transfer of a million files holds one batch of digests at a time, never the whole list:
each listing object is read once, checked as `listing.read_listing` checks it (its bytes
against its name, the depth, the `files` bound), and its files join the current batch. A
listing object comes out with the batch that completes its folder, after the batches of
everything below it, so a push that sends each batch's content before its listings never
leaves a listing on the remote whose contents are not there. A subtree whose listing object
`skip` reports (known on the remote: the Merkle property says all below it is there too)
is not read. An inline manifest is walked the same way, through the listing objects
`listing.build_listing` makes of its entries in memory (they are not sent: git holds them).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from gitartifacts.core import listing
from gitartifacts.core import manifest as mf
from gitartifacts.core.hashing import hex_of
from gitartifacts.gitmodel.project import Project

# Objects in one batch; the environment variable sets another (tests use a few).
BATCH = 20_000
BATCH_ENV = "GITARTIFACTS_TRANSFER_BATCH"

# Of these listing objects (hex names), those whose whole subtree is on the remote.
SkipFn = Callable[[list[str]], set[str]]
# On the walk's stack: a listing object (hex), its depth, and whether all below it is done.
Entry = tuple[str, int, bool]


class Batch(NamedTuple):
    data: list[tuple[str, int]]  # (digest, size) of content objects, possibly repeated
    listings: list[str]  # "sha256:<hex>" of complete listing objects, children first
    skipped: tuple[int, int]  # (files, bytes) below the subtrees skipped


def batch_size() -> int:
    """The batch size: `BATCH`, or a positive number from `GITARTIFACTS_TRANSFER_BATCH`."""
    text = os.environ.get(BATCH_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else BATCH


def batches(
    project: Project,
    manifests: Sequence[mf.Manifest],
    size: int,
    skip: SkipFn | None = None,
    extra: Iterable[tuple[str, int]] = (),
) -> Iterator[Batch]:
    """The objects these manifests name (content, a code artifact's patch, and the listing
    objects of listing-form ones) and then `extra`, in batches of about `size` objects."""
    walk = _Walk(project, max(1, size), skip)
    for m in manifests:
        yield from walk.manifest(m)
    for item in extra:
        hex_of(item[0])  # a run record's object, from git notes: checked as a patch is
        yield from walk.add(item)
    yield walk.take()


def totals(manifests: Sequence[mf.Manifest]) -> tuple[int, int]:
    """(files, bytes) the manifests name in all: the totals of a transfer's progress bar."""
    return sum(m.files for m in manifests), sum(m.size for m in manifests)


class _Walk:
    """One walk's current batch and the listing objects already gone through."""

    def __init__(self, project: Project, size: int, skip: SkipFn | None) -> None:
        self.project = project
        self.size = size
        self.skip = skip
        self.done: set[str] = set()  # listing objects (hex) gone through: one per folder
        self.data: list[tuple[str, int]] = []
        self.listings: list[str] = []
        self.skipped = [0, 0]

    def take(self) -> Batch:
        out = Batch(self.data, self.listings, (self.skipped[0], self.skipped[1]))
        self.data, self.listings, self.skipped = [], [], [0, 0]
        return out

    def add(self, item: tuple[str, int]) -> Iterator[Batch]:
        self.data.append(item)
        if len(self.data) >= self.size:
            yield self.take()

    def manifest(self, m: mf.Manifest) -> Iterator[Batch]:
        patch = m.metadata.get("patch") if m.type == "code" else None
        if isinstance(patch, str):
            hex_of(patch)  # from the manifest, unchecked by the listing walk: refused here
            yield from self.add((patch, 0))
        if m.listing is not None and m.entries is None:
            yield from self.tree(m.listing, m, self.project.listing_reader(m), True)
        elif m.entries:
            built = listing.build_listing(m.entries)
            yield from self.tree(built.root, m, built.objects.__getitem__, False)

    def tree(
        self, root: str, m: mf.Manifest, read: Callable[[str], bytes], send: bool
    ) -> Iterator[Batch]:
        """Post-order: a listing object is given once all below it has been. A subfolder
        object shared by identical subfolders is read once (the first time it completes)."""
        top = hex_of(root)
        done = self.done if send else set()  # in-memory listings are not on any remote
        if top in done:
            return
        if send and self._skipped([top]):
            self.skipped[0] += m.files
            self.skipped[1] += m.size
            return
        count = 0
        stack: list[Entry] = [(top, 0, False)]
        while stack:
            hex_, depth, complete = stack.pop()
            if complete:
                done.add(hex_)
                if send:
                    self.listings.append("sha256:" + hex_)
                continue
            if hex_ in done:  # a copy of a subfolder gone through since this one was queued
                continue
            stack.append((hex_, depth, True))
            lines = _checked(hex_, read(hex_), depth)
            stack += self._below(lines, depth + 1, done)
            for kind, _, rest in lines:
                if kind == "t":
                    continue
                count += 1
                if count > m.files:
                    raise listing.corrupt_listing(
                        root, f"it holds more than the {m.files} files declared"
                    )
                if kind == "f":
                    yield from self.add((rest[0], int(rest[1])))
                else:  # a reference: its bytes stay where it points
                    self.skipped[0] += 1

    def _below(
        self, lines: list[tuple[str, str, list[str]]], depth: int, done: set[str]
    ) -> list[Entry]:
        """The subfolders of one listing object still to go through (not done, not known
        on the remote)."""
        children = [(rest[0], rest) for kind, _, rest in lines if kind == "t"]
        gone = self._skipped([h for h, _ in children if h not in done])
        out: list[Entry] = []
        for h, rest in children:
            if h in gone:
                self.skipped[0] += int(rest[2])
                self.skipped[1] += int(rest[1])
            elif h not in done:
                out.append((h, depth, False))
        return out

    def _skipped(self, hexes: list[str]) -> set[str]:
        return self.skip(hexes) if self.skip is not None and hexes else set()


def _checked(hex_: str, data: bytes, depth: int) -> list[tuple[str, str, list[str]]]:
    """One listing object's lines, after the checks `listing.read_listing` makes."""
    if depth > listing.MAX_LISTING_DEPTH:
        raise listing.corrupt_listing(
            hex_, f"folders nest more than {listing.MAX_LISTING_DEPTH} deep"
        )
    if hashlib.sha256(data).hexdigest() != hex_:
        raise listing.corrupt_listing(hex_, "its bytes do not match its digest")
    return listing.parse_listing_object(data, hex_)
