"""push, fetch, pull: move content between the local cache and a remote cache.

A transfer walks the manifests of the commits concerned in batches of objects (walk.py);
per batch, this clone's record of what the remote holds and one batched existence check
give what is missing, which then moves in parallel. Listing objects travel after the
objects they name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from gitartifacts.core import cachelock, listing
from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import inline_tree, iter_tree
from gitartifacts.core.progress import Progress, phase
from gitartifacts.errors import CacheError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project, in_ref_snapshot
from gitartifacts.gitmodel.resolve import resolve
from gitartifacts.remote import plan, pushing, walk
from gitartifacts.remote.packfetch import CorruptPackError
from gitartifacts.remote.remotes import NoRemoteError
from gitartifacts.remote.remotes import resolve as resolve_remote
from gitartifacts.remote.urls import folder_of, remote_id
from gitartifacts.settings import Remote

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore

JOBS = 16
# Listing objects of one level of folders fetched in one call (each ~100 bytes a file).
LISTING_PART = 256
# state key/value: the identity a remote showed at this clone's last push (see remote.IDENTITY).


class PushResult(NamedTuple):
    remote: str
    manifests: int
    uploaded: int
    already: int
    messages: list[str]


class FetchResult(NamedTuple):
    remote: str
    manifests: int
    downloaded: int
    messages: list[str]


def open_store(remote: Remote, project: Project | None = None) -> RemoteStore:
    from gitartifacts.remote.store import RemoteStore

    timeout = project.settings.network_timeout if project is not None else None
    store = RemoteStore(remote.url, remote.options, timeout)
    if project is not None:
        # Pack indexes never change: each is kept once read, per remote.
        key = hashlib.sha256(remote_id(remote).encode()).hexdigest()[:16]
        store.packs.index_dir = project.repo.common_dir / "artifacts" / "packidx" / key
    return store


def git_remote(project: Project, name: str | None = None) -> str | None:
    """The git remote that carries tags and notes: the named one, else `origin` if any."""
    remotes = project.repo.remotes()
    if name is not None:
        if name not in remotes:
            raise CacheError(f"no git remote named {name!r}", "see git remote -v")
        return name
    return "origin" if "origin" in remotes else (remotes[0] if len(remotes) == 1 else None)


# ---------------------------------------------------------------- push


@in_ref_snapshot
def push(
    project: Project,
    *,
    remote_name: str | None = None,
    revs: Sequence[str] = ("HEAD",),
    all_commits: bool = False,
    jobs: int = JOBS,
    tags: bool = True,
    git_remote_name: str | None = None,
    progress: Progress | None = None,
    check_remote: bool = False,
) -> PushResult:
    """Upload what the manifests of the commits being pushed need, then publish the tags.

    What this clone knows the remote to hold is not asked about again, unless
    `check_remote`: then every object is (after objects were lost or deleted there).
    """
    remote = resolve_remote(project, remote_name)
    gremote = git_remote(project, git_remote_name)
    rid = remote_id(remote)
    names = plan.manifest_blobs(project, revs, gremote, all_commits)
    if tags:
        for digest, name in plan.unpushed_versions(project, rid).items():
            names.setdefault(digest, name)
    if check_remote:  # nothing this clone noted of the remote counts: it is asked again
        project.state.forget_remote(rid)
    done = {} if check_remote else project.state.pushed(rid).get_many(names)
    todo = plan.parse(project, [n for d, n in names.items() if d not in done])
    runs = plan.run_objects(project, rid, check_remote)
    uploaded = already = 0
    known = project.state.remote_identity.get(rid)
    # Everything already pushed to a cloud remote whose identity is on record: nothing to
    # ask it, so a no-op push opens no connection (`--check-remote` asks anyway). A folder's
    # identity file is one local read, so a folder remote is always checked.
    if todo or runs or known is None or folder_of(remote.url) is not None:
        store = open_store(remote, project)
        if remote.source == "origin":
            os.makedirs(remote.url, exist_ok=True)  # inside the origin's own .git folder
        identity = store.identity(create=True)
        if identity is None:  # written a moment ago: a remote that keeps nothing
            identity = pushing.check_same_remote(store, None)
        if known != identity:
            # Another remote now answers at this URL (or one emptied and re-created):
            # nothing this clone saw there counts any more.
            project.state.forget_remote(rid)
            check_remote, todo = True, plan.parse(project, list(names.values()))
            runs = plan.run_objects(project, rid, check_remote)
        if todo or runs:
            uploaded, already = pushing.send(
                project, store, rid, todo, runs, identity, check_remote, jobs, progress
            )
        else:
            project.state.remote_identity.put(rid, identity)
    messages = _publish(project, gremote) if tags and gremote else []
    return PushResult(remote.name, len(names), uploaded, already, messages)


def _publish(project: Project, gremote: str) -> list[str]:
    """Publish version tags and run notes, when what we last saw of the git remote says
    there is anything to publish."""
    messages: list[str] = []
    fresh = publish.tracking_current(project, gremote)
    if not fresh or publish.has_unpublished(project, gremote):
        messages = publish.publish(project, gremote)
    if not fresh or run_notes.unpushed(project.repo, gremote):
        run_notes.push(project.repo, gremote)
    return messages


# ---------------------------------------------------------------- fetch and pull


@in_ref_snapshot
def fetch(
    project: Project,
    specs: Sequence[str] = (),
    *,
    remote_name: str | None = None,
    jobs: int = JOBS,
    tags: bool = True,
    git_remote_name: str | None = None,
    progress: Progress | None = None,
) -> FetchResult:
    """Bring tags and the objects of the named versions (default: the work tree's) into
    the cache."""
    plan = plan_fetch(
        project, specs, remote_name=remote_name, tags=tags, git_remote_name=git_remote_name
    )
    downloaded = fetch_manifests(project, plan.remote, plan.manifests, jobs=jobs, progress=progress)
    return FetchResult(plan.remote.name, len(plan.manifests), downloaded, plan.messages)


class FetchPlan(NamedTuple):
    remote: Remote
    manifests: list[mf.Manifest]
    messages: list[str]


@in_ref_snapshot
def plan_fetch(
    project: Project,
    specs: Sequence[str] = (),
    *,
    remote_name: str | None = None,
    tags: bool = True,
    git_remote_name: str | None = None,
) -> FetchPlan:
    """A fetch's first half: tags and notes from the git remote, then the manifests whose
    objects are wanted (default: the work tree's)."""
    gremote = git_remote(project, git_remote_name)
    # Tags and notes alike: fetch_tags fetches the notes first.
    messages = publish.fetch_tags(project, gremote) if tags and gremote else []
    publish.sync(project)
    remote = resolve_remote(project, remote_name)
    wanted = (
        [resolve(project, s, entries=False).manifest for s in specs]
        if specs
        else [
            m
            for m in (project.read_manifest(n, entries=False) for n in project.names())
            if m is not None
        ]
    )
    return FetchPlan(remote, wanted, messages)


def fetch_manifests(
    project: Project,
    remote: Remote,
    manifests: Sequence[mf.Manifest],
    jobs: int = JOBS,
    progress: Progress | None = None,
) -> int:
    """Download every object these manifests name that the local cache lacks: their
    listings first, then their content batch after batch (walk.py)."""
    store: RemoteStore | None = None
    rid = remote_id(remote)
    count = 0
    for m in manifests:
        if m.listing is not None and m.entries is None:
            store = store or open_store(remote, project)
            count += fetch_listing(project, store, m.listing, jobs)
    files, size = walk.totals(manifests)
    corrupt: CorruptPackError | None = None
    with phase(progress, "Downloading", files=files, bytes=size) as bar:
        for batch in walk.batches(project, manifests, walk.batch_size()):
            sizes = dict(batch.data)
            # Renewed, not only looked for: a gc running now keeps what this fetch relies on.
            with cachelock.held(project.cache.root, exclusive=False):
                # In the walk's order: the remote's packs hold objects in that order too.
                missing = cachelock.renew(project.cache, list(sizes))
            lacking = set(missing)
            bar.advance(batch.skipped[0], batch.skipped[1])
            bar.advance(
                len(sizes) - len(lacking), sum(n for d, n in sizes.items() if d not in lacking)
            )
            if missing:
                store = store or open_store(remote, project)
                loose: list[str] = []
                try:
                    loose = store.download(
                        project.cache, missing, jobs=jobs, progress=bar.advance, lacking=True
                    )
                except CorruptPackError as exc:  # the other batches are still fetched
                    corrupt = (
                        exc if corrupt is None else CorruptPackError(exc.url, corrupt.bad + exc.bad)
                    )
                    lost = {d for d, _ in exc.bad}
                    missing = [d for d in missing if d not in lost]
                # Only what came loose is recorded as on the remote: for what came in packs,
                # the remote's indexes (kept in the clone, read by a push anyway) answer as
                # fast as the state, whose million rows cost a fetch of a million objects 9 s.
                project.state.mark_on_remote(rid, loose)
                count += len(missing)
    if corrupt is not None:
        raise corrupt.naming(_entry_names(project, manifests, {d for d, _ in corrupt.bad}))
    return count


def _entry_names(
    project: Project, manifests: Sequence[mf.Manifest], digests: set[str], limit: int = 5
) -> list[str]:
    """`<artifact>/<path>` of the first entries holding these objects (a walk of the
    manifests, on the way to an error only)."""
    names: list[str] = []
    for m in manifests:
        if m.listing is not None:
            root, fetch = m.listing, project.listing_reader(m)
        elif m.entries is not None:
            root, fetch = inline_tree(m.entries)
        else:
            continue
        for folder in iter_tree(root, fetch):
            prefix = f"{m.name}/{folder.path}/" if folder.path else f"{m.name}/"
            for kind, name, rest in folder.lines:
                if kind == "f" and rest[0] in digests:
                    names.append(prefix + name)
                    if len(names) >= limit:
                        return names
    return names


def fetch_listing(project: Project, store: RemoteStore, root: str, jobs: int) -> int:
    """Fetch a listing's objects level by level (each level in one parallel batch), each
    object once: a listing is a graph whose shared nodes are fetched and read once."""
    count = 0
    level = [root]
    seen = {root}
    while level:
        missing = project.cache.missing(level)
        # In parts: a level of 10,000 folders is 100 MB of listings, read in parallel.
        for i in range(0, len(missing), LISTING_PART):
            part = missing[i : i + LISTING_PART]
            store.download(project.cache, part, jobs=jobs, lacking=True)
        count += len(missing)
        nxt: list[str] = []
        for d in level:
            for h in listing.subfolder_listings(project.cache.read(d)):
                if "sha256:" + h not in seen:
                    seen.add("sha256:" + h)
                    nxt.append("sha256:" + h)
        level = nxt
    return count


def fetch_for(
    project: Project,
    manifests: Sequence[mf.Manifest],
    *,
    progress: Progress | None = None,
) -> None:
    """Fetch what these manifests lack, from the default remote (nothing when nothing is
    missing, or no remote is set: the caller names what the cache lacks)."""
    todo = plan.lacking(project, manifests)
    if not todo:
        return
    try:
        remote = resolve_remote(project)
    except NoRemoteError:
        return
    fetch_manifests(project, remote, todo, progress=progress)
