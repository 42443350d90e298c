"""`gc --remote`: remove a remote cache's objects that no ref published on the git remote names.

The published refs are the git remote's own (`git ls-remote`, their objects fetched without
touching any ref here), never this clone's: what only this clone has is not published, and
what another clone published is. Safe against a concurrent push: every object younger than
the grace period stays (a push uploads before it publishes), the remote's identity is renewed
before anything is removed (a push then running fails before it publishes, and every clone's
record of what the remote holds stops counting), and the refs are read again after the
renewal, so a version published meanwhile keeps its content.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterable

from gitartifacts.core import sweep
from gitartifacts.core.fsio import unlink_quiet
from gitartifacts.errors import CacheError, UsageError
from gitartifacts.gitmodel import lifecycle
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import PIN_PREFIX
from gitartifacts.ops import gc_live, gc_packs
from gitartifacts.ops.gc import REMOTE_GRACE, GcResult, content_first
from gitartifacts.ops.gc_live import Live
from gitartifacts.remote import plan, transfer
from gitartifacts.remote.remotes import resolve as resolve_remote
from gitartifacts.remote.store import RemoteStore
from gitartifacts.remote.urls import remote_id
from gitartifacts.tracking.distributed import staged_objects

_SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?\Z")
_PUBLISHED = ("refs/heads/", "refs/tags/", PIN_PREFIX)


def collect_remote(
    project: Project,
    remote_name: str,
    *,
    dry_run: bool = False,
    grace: float = REMOTE_GRACE,
    gone: Collection[tuple[str, int]] | None = None,
    jobs: int = transfer.JOBS,
) -> GcResult:
    """Remove the objects of remote cache `remote_name` that no published ref names and
    that are older than `grace` seconds (by their time on the remote). `gone`: versions
    deleted or expired, which keep nothing alive; by default those this clone knows, but only
    when its notes are all published: a deletion not yet pushed is no one else's yet, so the
    content stays until it is."""
    remote = resolve_remote(project, remote_name)
    gremote = transfer.git_remote(project)
    if gremote is None:
        raise UsageError(
            "gc --remote reads the refs published on the git remote, and there is none",
            "git remote add origin URL",
        )
    if gone is None:
        published = not run_notes.unpushed(project.repo, gremote)
        gone = lifecycle.gone(project).keys() if published else ()
    store = transfer.open_store(remote, project)
    before = time.time() - grace
    live = _published_live(project, store, gremote, gone, jobs)
    found = store.list_objects()
    doomed = [o for o in found if o.digest not in live.keep and o.mtime < before]
    packed = gc_packs.plan(store, live.keep, before)
    temps = sweep.old_temporaries(store.root, before) if store.is_folder else []
    if not dry_run and (doomed or packed.work):
        store.renew_identity()
        live = _published_live(project, store, gremote, gone, jobs)
        doomed = [o for o in doomed if o.digest not in live.keep]
        ordered = [o.digest for o in content_first(doomed, live.listings)]
        store.delete([d for d in ordered if d not in live.listings], jobs)
        store.delete([d for d in ordered if d in live.listings], jobs)
        packed = gc_packs.plan(store, live.keep, before)
        gc_packs.apply(store, project.cache, packed, live.keep, jobs)
        project.state.forget_remote(remote_id(remote))
    if not dry_run:
        for path in temps:
            unlink_quiet(path)
    removed = len(doomed) + packed.removed
    size = sum(o.size for o in doomed) + packed.freed
    kept = len(found) - len(doomed) + packed.kept
    return GcResult(remote.name, dry_run, removed, size, kept, len(temps))


def published_refs(project: Project, gremote: str) -> dict[str, str]:
    """The git remote's branches, tags (versions, aliases, registry links) and pins, their
    objects fetched here when missing (no ref of this clone moves)."""
    refs: dict[str, str] = {}
    for line in project.repo.run("ls-remote", gremote).splitlines():
        sha, _, ref = line.partition("\t")
        wanted = ref == "HEAD" or (ref.startswith(_PUBLISHED) and not ref.endswith("^{}"))
        if wanted and _SHA_RE.match(sha):
            refs[ref] = sha
    missing = _absent(project, refs.values())
    if missing:
        project.repo.run(
            "fetch",
            "-q",
            "--no-tags",
            "--no-write-fetch-head",
            "--stdin",
            gremote,
            input="".join(f"{sha}\n" for sha in missing),
        )
        if _absent(project, missing):
            raise CacheError(
                f"could not read {len(missing)} refs of git remote {gremote}; nothing was removed",
                "check the git remote, then gc again",
            )
    return refs


def _published_live(
    project: Project,
    store: RemoteStore,
    gremote: str,
    gone: Collection[tuple[str, int]],
    jobs: int,
) -> Live:
    refs = published_refs(project, gremote)
    manifests = plan.parse(project, gc_live.manifest_specs(project, refs, gone))

    def fetch_listing(root: str) -> None:
        transfer.fetch_listing(project, store, root, jobs)

    live = gc_live.live_objects(project, manifests, fetch_listing)
    live.keep.update(staged_objects(project, store))
    live.keep.update(run_notes.record_objects(project.repo, gremote))  # run histories, files
    every = plan.parse(project, gc_live.manifest_specs(project, refs))
    return Live(live.keep, live.listings | gc_live.known_listings(project, every))


def _absent(project: Project, shas: Iterable[str]) -> list[str]:
    """The objects among `shas` this repository lacks."""
    wanted = sorted(set(shas))
    if not wanted:
        return []
    out = project.repo.run("cat-file", "--batch-check", input="".join(f"{s}\n" for s in wanted))
    return [line.split()[0] for line in out.splitlines() if line.endswith(" missing")]
