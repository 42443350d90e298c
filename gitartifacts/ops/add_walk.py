"""An add's files streamed folder by folder into the cache and a listing: digests from the
stat cache or hashed, entry paths checked, objects renewed and their use recorded a batch at
a time, so memory stays flat however many files there are."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import folder_key, merge_folders
from gitartifacts.core.listing_build import Built, ListingBuilder
from gitartifacts.core.progress import Progress
from gitartifacts.core.shards import objects_present
from gitartifacts.core.workspace.digest_walk import DigestWalk
from gitartifacts.core.workspace.scan import FolderWalk
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import reuse
from gitartifacts.ops.paths import Placement, join_path

_RENEW_EVERY = 5000  # objects renewed, and their use recorded, at once
# An add of at least this many files, of at most this mean size, hashes on two processes
# (see DigestWalk): fewer or larger files stay on threads, which large files keep busy (the
# hashing and copying let go of the interpreter lock), where a names-only walk could not
# cut batches by bytes.
SHARED_FILES = 2048
SHARED_MEAN = 64 * 1024
_SAMPLE_EVERY = 64  # files stat'ed by the name check, to guess the mean size

Files = list[tuple[str, mf.Entry]]  # one folder's entries: (name, entry) sorted by name bytes


class Snapshot(NamedTuple):
    built: Built
    fingerprint: str | None  # the work tree's, when the entries are exactly its files
    trusted: bool  # False when a file changed too recently to trust its stat next time


def snapshot(
    project: Project,
    where: Placement | None,
    refs: Mapping[str, mf.Entry],
    *,
    limit: int = mf.INLINE_LIMIT,
    progress: Progress | None = None,
    seen: Seen | None = None,
) -> Snapshot:
    """Store the files `where` names, merged with the reference entries `refs`, and build
    the artifact's listing (inline up to `limit` entries). `seen`: what `check_files`
    found (many small files are hashed on two processes)."""

    def put(hex_: str, data: bytes) -> None:
        project.cache.add_bytes(data, "sha256:" + hex_)

    builder = ListingBuilder(put, limit)
    if where is None:
        _feed(builder, merge_folders(iter(()), _grouped(refs)))
        return Snapshot(builder.finish(), None, True)
    source = where.source
    base = str(project.root / source)
    share = seen is not None and seen.files >= SHARED_FILES and seen.mean <= SHARED_MEAN
    # Many small files the stat cache knows nothing of are stat'ed as they are read.
    stat = not share or project.state.holds_under("" if source in ("", ".") else f"{source}/")
    walk = FolderWalk(base, where.tops, what=source, ignore=project.ignore_for(source), stat=stat)
    renew = _Renewer(project, base)
    digests = DigestWalk(
        walk,
        project.state,
        source,
        base,
        store=project.cache,
        progress=progress,
        held=renew.add,
        share=share,
    )
    local = _entries(digests, where.prefix)
    _feed(builder, merge_folders(local, _grouped(refs)))
    project.cache.flush()  # the objects on disk before anything names them
    renew.flush()
    same_view = where.path == where.source and not where.prefix and not refs
    fingerprint = digests.fingerprint if same_view and digests.trusted else None
    return Snapshot(builder.finish(), fingerprint, digests.trusted)


class Seen(NamedTuple):
    """What `check_files` saw: how many files, and their mean size guessed from a sample."""

    files: int
    mean: float


def check_files(project: Project, where: Placement) -> Seen:
    """Refuse, before anything is stored, a file whose path cannot be an entry and a named
    path holding no files: one walk of the names, a folder at a time, which also counts the
    files and stats one in `_SAMPLE_EVERY`."""
    source = where.source
    base = str(project.root / source)
    walk = FolderWalk(
        base,
        where.tops,
        what=source,
        ignore=project.ignore_for(source),
        stat=False,
    )
    seen: set[str] = set()
    what = f"file name under {source}"
    count = sampled = sampled_bytes = 0
    for folder, rows in walk:
        entry_folder = where.prefix + folder if folder else where.prefix.rstrip("/")
        if folder:
            seen.add(folder.split("/", 1)[0])
        else:
            seen.update(row[0] for row in rows)
        mf.validate_entry_names(entry_folder, [row[0] for row in rows], what)
        for row in rows[-count % _SAMPLE_EVERY :: _SAMPLE_EVERY]:
            with contextlib.suppress(OSError):  # gone since: the add will say so
                sampled_bytes += os.stat(os.path.join(base, folder, row[0])).st_size
                sampled += 1
        count += len(rows)
    _check_not_empty(where, seen)
    return Seen(count, sampled_bytes / sampled if sampled else 0.0)


def _feed(
    builder: ListingBuilder,
    folders: Iterator[tuple[str, Files | None, Files | None]],
) -> None:
    """Every entry into the builder, a folder's files and references merged by name."""
    for folder, local, refs in folders:
        files = local or []
        if refs:
            files = sorted(files + refs, key=lambda ne: ne[0].encode())
        for name, e in files:
            builder.add(folder, name, e)


def _entries(digests: DigestWalk, prefix: str) -> Iterator[tuple[str, Files]]:
    """The walk's folders as entry folders (under `prefix`)."""
    for folder, got in digests:
        entry_folder = prefix + folder if folder else prefix.rstrip("/")
        yield entry_folder, [(name, mf.Entry(d, s)) for name, d, s in got]


def _grouped(refs: Mapping[str, mf.Entry]) -> Iterator[tuple[str, Files]]:
    """Reference entries as folders in folder order."""
    split = sorted(
        ((p.rpartition("/")[0], p.rpartition("/")[2], e) for p, e in refs.items()),
        key=lambda r: (folder_key(r[0]), r[1].encode()),
    )
    folder: str | None = None
    files: Files = []
    for f, name, e in split:
        if f != folder and folder is not None:
            yield folder, files
            files = []
        folder = f
        files.append((name, e))
    if folder is not None:
        yield folder, files


def _check_not_empty(where: Placement, seen: set[str]) -> None:
    if where.folder:
        empty = [] if seen else [where.source]
    else:
        empty = [join_path(where.source, t) for t in where.tops if t not in seen]
    if empty:
        raise UsageError(
            f"{empty[0]} contains no files", "add files to it first; empty folders are not stored"
        )


class _Renewer:
    """Renews the objects an add names that the cache held already, a batch at a time,
    before the manifest names them: a gc running now may have listed one as garbage (see
    ops/reuse.py). The objects the add stored are new: a gc keeps them, and their use is
    their mtime (see ops/cachecap.py)."""

    def __init__(self, project: Project, base: str) -> None:
        self.project = project
        self.base = base
        self.digests: list[str] = []

    def add(self, digests: list[str]) -> None:
        self.digests += digests
        if len(self.digests) >= _RENEW_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.digests:
            reuse.renew_objects(
                self.project, self.digests, reuse.files_under([self.base]), seal=False
            )
            loose = objects_present(f"{self.project.cache.objects}/", self.digests)
            self.project.state.record_use(loose)  # the cache cap reads no other (see survey)
        self.digests = []
