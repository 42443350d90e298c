"""Checking out: make an artifact's folder hold its entries' bytes, planned first (what to
write and delete, what is in the way), then applied, taken back should a fetch fail."""

from __future__ import annotations

import os
import stat

from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.progress import Progress, phase
from gitartifacts.core.state import State, stat_key
from gitartifacts.core.workspace.folders import Folders, prune_empty_dirs, remove, sweep_temps
from gitartifacts.core.workspace.plan import Checkout, Fetcher, Plan, RefFetcher, plan_changes
from gitartifacts.core.workspace.scan import Scan, scan, shown, tops
from gitartifacts.core.workspace.status import digests, state_key
from gitartifacts.core.workspace.writer import FileWriter
from gitartifacts.errors import CacheError, ConflictError


def materialize(
    state: State,
    store: ObjectStore,
    job: Checkout,
    *,
    progress: Progress | None = None,
    fetch_ref: RefFetcher | None = None,
    fetcher: Fetcher | None = None,
) -> tuple[Plan, Scan | None]:
    """Make `base/<entry>` hold each entry's bytes; references come from `fetch_ref`.
    Returns the plan and the scan afterwards.

    No write, delete or rename goes through a symlink: every folder on the way from `root`
    to a target is looked at without following links, and a symlink there refuses the whole
    checkout before anything is done, `force` or not. Every file appears whole: it is written
    under a temporary name beside it and renamed.

    With a `fetcher`, objects the cache lacks are fetched. When the checkout only creates
    files (a fresh clone), each is fetched as its file is written, and the file is written
    from the bytes fetched: one read of each object, not two. Should a fetch fail, the
    files this checkout created are removed again. When the checkout replaces or deletes
    files, the objects are all fetched first, so that a failed fetch changes nothing.
    """
    stored = {p: e for p, e in job.entries.items() if e.ref is None}
    missing = store.missing(sorted({e.digest for e in stored.values()}))
    if missing and fetcher is None:
        raise CacheError(
            f"{len(missing)} object(s) of {job.what or 'this artifact'} are not in the local"
            f" cache (first: {missing[0]})",
            "run git artifacts pull to download them",
        )
    owned = sorted(set(tops(job.entries)) | set(job.manage))
    folders = Folders(job.root or job.base, job.base, job.what)
    base_exists = folders.real("")  # refuses a symlink on the way to `base` before reading
    before = scan(job.base, owned, job.what, job.ignore) if base_exists else Scan([])
    found, _ = digests(state, job.path, before.files, base=job.base, progress=progress)
    current = {p: d for p, (d, _) in found.items()}
    write, refs, delete = plan_changes(job, current, with_refs=fetch_ref is not None)
    # What is in the way: folders where files go, files where folders go, files the scan
    # left out (ignored ones); any symlink on the way refuses the checkout here.
    clashes, unknown = folders.check([*write, *refs], delete, current)
    conflicts = [p for p in [*write, *refs, *delete] if p in current and not store.has(current[p])]
    conflicts += [c for c in clashes if c not in conflicts]
    conflicts += [u for u in unknown if not _saved(store, os.path.join(job.base, u))]
    plan = Plan([*write, *refs], delete, conflicts)
    if conflicts and not job.force:
        raise _conflict_error(job, conflicts)
    if base_exists:
        sweep_temps(job.base, before.temps)
    only_creates = not (delete or clashes or unknown or any(p in current for p in write))
    if missing and not only_creates:
        assert fetcher is not None
        sizes = {e.digest: e.size for e in stored.values()}
        total = sum(sizes[d] for d in missing)
        with phase(progress, "Downloading", files=len(missing), bytes=total) as bar:
            fetcher.many(missing, bar.advance)
    for rel in [*clashes, *delete]:
        remove(os.path.join(job.base, rel))  # below a folder checked to be real: never followed
    prune_empty_dirs(job.base, delete)
    absent = set(missing) if only_creates else set()  # fetched as their files are written
    FileWriter(state, store, job, current, absent, fetcher, progress).run(write)
    _fetch_refs(state, job, refs, fetch_ref)
    after = scan(job.base, owned, job.what, job.ignore) if (write or refs or delete) else before
    return plan, after


def _fetch_refs(state: State, job: Checkout, refs: list[str], fetch_ref: RefFetcher | None) -> None:
    rows = []
    for rel in refs:
        assert fetch_ref is not None
        full = os.path.join(job.base, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        fetch_ref(rel, job.entries[rel], full)
        st = os.stat(full)
        rows.append((state_key(job.path, rel), stat_key(st), job.entries[rel].digest))
    state.record(rows, started_ns=1 << 62)


def _conflict_error(job: Checkout, conflicts: list[str]) -> ConflictError:
    names = ", ".join(shown(job.what, c) for c in conflicts[:5])
    more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
    return ConflictError(
        f"would overwrite or delete local changes not saved anywhere: {names}{more}",
        job.conflict_fix,
    )


def _saved(store: ObjectStore, full: str) -> bool:
    """Whether the regular file at `full` holds bytes the cache has (a link never counts)."""
    try:
        if not stat.S_ISREG(os.lstat(full).st_mode):
            return False
        return store.has(sha256_file(full)[0])
    except OSError:
        return False
