"""The local cache's size cap: evict the least recently used objects a remote holds.

Use of loose objects is recorded in state.db (`State.record_use`), once per command, by the
commands that read or write a version's objects (add, checkout, get, pull); packs go whole,
the least recently written first. Not by file times: touching an
object's mtime would change the work-tree files hard-linked to it and renew gc's grace for
objects nothing names, and `relatime` atime moves at most once a day. An object with no
record counts as used when it was written into the cache (its mtime).

What may go: an object the remote holds (a pack: whole, when the remote holds all of it and
no object of it is held), checked with a batched existence check against the remote store
right before eviction (never the index of what this clone pushed), so an eviction never
removes the only copy. What never goes: the objects of the versions the work
tree and index hold, of pins and of staged parts, listing objects (they tell gc what a
version names), and what the running command used.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from gitartifacts.core import cachelock, sweep
from gitartifacts.core.fsio import unlink_quiet
from gitartifacts.core.sizes import human_bytes
from gitartifacts.core.textsafe import count
from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import PIN_PREFIX
from gitartifacts.ops import gc, gc_live
from gitartifacts.remote import plan
from gitartifacts.remote.remotes import resolve as resolve_remote
from gitartifacts.settings import CACHE_SIZE_KEY

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore


class CapResult(NamedTuple):
    """What one pass of the cap did (or, dry, would do) to the local cache."""

    limit: int
    before: int  # bytes in the cache before
    after: int  # bytes in the cache after (dry: would be)
    evicted: int  # objects
    evicted_bytes: int
    not_on_remote: int  # candidates kept because the remote lacks them
    remote: str | None  # None: the cache was under the cap, no remote asked
    dry_run: bool


def configured_limit(project: Project) -> int | None:
    """`git config artifacts.cacheSize` in bytes, None when unset; a bad value is refused
    (read before a command starts, so it fails with nothing done)."""
    return project.settings.cache_size


def evict_to(
    project: Project,
    limit: int,
    *,
    remote_name: str | None = None,
    dry_run: bool = False,
    since: float | None = None,
) -> CapResult:
    """Evict least recently used objects until the cache holds at most `limit` bytes, among
    those remote `remote_name` (default: the default remote) holds. `since`: objects used or
    written at or after this time (the running command's) stay."""
    project.cache.flush()  # what the command stored counts
    listed_at = time.time()
    objects = list(sweep.objects(str(project.cache.root)))
    packs = _packs(project)
    total = sum(o.size for o in objects) + sum(p.size for p in packs)
    if total <= limit:
        return CapResult(limit, total, total, 0, 0, 0, None, dry_run)
    remote = resolve_remote(project, remote_name)
    keep = _held(project)
    used = project.state.last_used([o.digest for o in objects])
    end = float("inf") if since is None else since
    ordered = sorted(
        ((max(used.get(o.digest, 0.0), o.mtime), o) for o in objects if o.digest not in keep),
        key=lambda pair: (pair[0], pair[1].digest),
    )
    candidates = [o for last, o in ordered if last < end]
    # Only an eviction needs the remote's client: every command that may grow the cache
    # imports this module, and the client's import is a fifth of their start-up.
    from gitartifacts.remote import transfer

    store = transfer.open_store(remote, project)
    absent = set(store.missing([o.digest for o in candidates]))
    size, evicted, skipped = total, 0, 0
    # Under the cache's lock, and only what no writer renewed since the listing: an object a
    # concurrent add or run is about to name stays (see core/cachelock).
    with cachelock.held(project.cache.root, exclusive=True):
        for o in candidates:
            if size <= limit:
                break
            if o.digest in absent:
                skipped += 1
                continue
            if not dry_run and not sweep.remove(
                str(project.cache.root), o.digest, older_than=listed_at, keep_linked=True
            ):
                continue
            size -= o.size
            evicted += 1
    if size > limit and not dry_run:
        for pack in packs:  # whole packs, the least recently written first
            if size <= limit:
                break
            if pack.mtime < min(end, listed_at) and _evict_pack(project, store, pack, keep):
                size -= pack.size
                evicted += len(pack.digests)
    return CapResult(limit, total, size, evicted, total - size, skipped, remote.name, dry_run)


@contextlib.contextmanager
def capped(project: Project) -> Iterator[list[str]]:
    """Around a command that grows the cache: the configured cap is read first (a bad value
    stops the command before it does anything) and applied at the end; the list yielded
    then holds the one line to print (none when under the cap or unset). The command's work
    is done by then, so a cap that cannot be applied (no remote, one that does not answer)
    is a warning, not a failure."""
    limit = configured_limit(project)
    since = time.time()
    said: list[str] = []
    yield said
    if limit is None:
        return
    try:
        done = evict_to(project, limit, since=since)
    except GitArtifactsError as exc:
        said.append(f"warning: {CACHE_SIZE_KEY}: nothing evicted: {exc}")
        return
    if done.remote is not None:
        said.append(describe(done, CACHE_SIZE_KEY))


def describe(done: CapResult, source: str) -> str:
    """One line on what a pass of the cap did."""
    if done.remote is None:
        return f"the local cache holds {human_bytes(done.before)}, under {human_bytes(done.limit)}"
    verb = "would evict" if done.dry_run else "evicted"
    line = (
        f"{verb} {count(done.evicted, 'object')} ({human_bytes(done.evicted_bytes)})"
        f" from the local cache, now {human_bytes(done.after)} of {human_bytes(done.limit)}"
        f" ({source})"
    )
    if done.after > done.limit:
        line += (
            f"; still over: what stays is in use (the work tree, index, pins, staged parts, "
            f"this command) or not on remote {done.remote} ({count(done.not_on_remote, 'object')})"
        )
    return line


class _Pack(NamedTuple):
    name: str
    size: int
    mtime: float
    digests: list[str]


def _packs(project: Project) -> list[_Pack]:
    """The cache's packs with their sizes and objects, the oldest first."""
    out = []
    cache = project.cache
    for name in cache.packs.names():
        index = cache.packs.index(name)
        try:
            st = os.stat(cache.packs.pack_path(name))
        except FileNotFoundError:
            continue
        if index is not None:
            out.append(_Pack(name, st.st_size, st.st_mtime, [d for d, _, _ in index]))
    return sorted(out, key=lambda p: (p.mtime, p.name))


def _evict_pack(project: Project, store: RemoteStore, pack: _Pack, keep: set[str]) -> bool:
    """Remove a whole pack when none of its objects is held and the remote has them all,
    under the cache's lock, unless a writer renewed it (its mtime). Whether it went."""
    if any(d in keep for d in pack.digests) or store.missing(pack.digests):
        return False
    packs = project.cache.packs
    with cachelock.held(project.cache.root, exclusive=True):
        try:
            if os.stat(packs.pack_path(pack.name)).st_mtime != pack.mtime:
                return False
        except FileNotFoundError:
            return False
        packs.forget(pack.name)
        unlink_quiet(packs.index_path(pack.name))
        unlink_quiet(packs.pack_path(pack.name))
    return True


def _held(project: Project) -> set[str]:
    """Objects the cap never evicts: those of the work tree's and index's manifests, of
    pins and staged parts, and every listing object this clone can tell."""
    from gitartifacts.tracking.distributed import staged_objects

    pins = project.repo.refs(PIN_PREFIX.rstrip("/"))
    specs = gc_live.manifest_specs(project, pins) + gc.index_blobs(project)
    held = plan.parse(project, specs) + gc.work_tree_manifests(project)
    live = gc_live.live_objects(project, held)
    every = plan.parse(project, gc_live.manifest_specs(project, gc.local_refs(project)))
    listings = gc_live.known_listings(project, every + held)
    return live.keep | live.listings | listings | staged_objects(project)
