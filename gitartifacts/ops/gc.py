"""`gc`: remove the objects of the local cache, or of a remote cache, that nothing keeps alive.

What keeps an object alive is decided in `gc_live` from refs: this clone's refs, work tree
and index for the local cache; the git remote's published refs for a remote cache. An object
younger than the grace period is kept whatever names it (an `add` or a push in flight has
objects nothing names yet). Only unreferenced objects are removed, content objects before
listing objects, so a gc killed at any point loses nothing a ref needs; a rerun completes.
Packs of small objects are dropped or repacked whole (gc_localpacks).
Locally each removal happens under the cache's lock after a second look at the object's
mtime, which a writer reusing the object has renewed (see core/cachelock).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Collection, Iterable
from typing import NamedTuple

from gitartifacts.core import cachelock, sweep
from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import WORK_TMP, unlink_quiet
from gitartifacts.errors import ManifestError, UsageError
from gitartifacts.gitmodel import lifecycle
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import PIN_PREFIX
from gitartifacts.ops import gc_live, gc_localpacks
from gitartifacts.ops.gc_live import Live
from gitartifacts.remote import plan

LOCAL_GRACE = 3600.0
REMOTE_GRACE = 7 * 86400.0
_GRACE_RE = re.compile(r"^(0|[1-9][0-9]{0,9})([smhdw])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BATCH = 512  # removals per hold of the cache's lock: writers wait for one batch at most


class GcResult(NamedTuple):
    """What a gc removed (or, dry, would remove) and kept, in one cache."""

    remote: str | None  # None: the local cache
    dry_run: bool
    removed: int
    bytes: int
    kept: int
    temporaries: int


def parse_grace(text: str) -> float:
    """Seconds of a grace period written `90s`, `30m`, `1h`, `7d`, `2w` (`0s`: none)."""
    m = _GRACE_RE.match(text.strip())
    if m is None:
        raise UsageError(
            f"--grace {text!r} is not a duration", "write a number and a unit: 90s, 30m, 1h, 7d, 2w"
        )
    return float(int(m.group(1)) * _UNITS[m.group(2)])


def collect_local(
    project: Project,
    *,
    dry_run: bool = False,
    all_commits: bool = False,
    grace: float = LOCAL_GRACE,
    gone: Collection[tuple[str, int]] | None = None,
) -> GcResult:
    """Remove the local cache's objects that nothing keeps alive and that are older than
    `grace` seconds, then the temporary files as old. `gone`: versions deleted or expired,
    which keep nothing alive (default: as this clone's tags and notes say)."""
    if gone is None:
        gone = lifecycle.gone(project).keys()
    before = time.time() - grace
    live = _local_live(project, all_commits, gone)
    root = str(project.cache.root)
    found = list(sweep.objects(root))
    doomed = [o for o in found if o.digest not in live.keep and o.mtime < before]
    temps = sweep.old_temporaries(root, before, (str(project.cache.root / "tmp"),))
    temps += _work_temporaries(project, before)
    if not dry_run:
        removed = _remove(project, content_first(doomed, live.listings), before)
        doomed = [o for o in doomed if o.digest in removed]
        for path in temps:
            unlink_quiet(path)
    packed = gc_localpacks.collect(project.cache, live.keep, before, dry_run)
    size = sum(o.size for o in doomed) + packed.bytes
    kept = len(found) - len(doomed) + packed.kept
    return GcResult(None, dry_run, len(doomed) + packed.removed, size, kept, len(temps))


def local_refs(project: Project) -> dict[str, str]:
    """This clone's refs that keep objects alive: branches, tags (version tags, aliases and
    registry links among them), pins, and HEAD."""
    refs = project.repo.refs("refs/heads", "refs/tags", PIN_PREFIX.rstrip("/"))
    head = project.repo.head()
    if head is not None:
        refs["HEAD"] = head
    return refs


def _remove(project: Project, doomed: list[sweep.StoredObject], before: float) -> set[str]:
    """Remove `doomed` in order, a batch at a time under the cache's lock held exclusively,
    each only if its mtime is still older than `before`: a writer that reused it since it
    was listed renewed it (see core/cachelock). The digests removed."""
    root = str(project.cache.root)
    removed: set[str] = set()
    for start in range(0, len(doomed), _BATCH):
        with cachelock.held(project.cache.root, exclusive=True):
            for o in doomed[start : start + _BATCH]:
                if sweep.remove(root, o.digest, older_than=before, keep_linked=True):
                    removed.add(o.digest)
    return removed


def _local_live(project: Project, all_commits: bool, gone: Collection[tuple[str, int]]) -> Live:
    from gitartifacts.tracking.distributed import staged_objects

    refs = local_refs(project)
    specs = gc_live.manifest_specs(project, refs, gone)
    specs += index_blobs(project)
    if all_commits:
        specs += plan.manifest_blobs(project, [], None, True).values()
    manifests = plan.parse(project, specs) + work_tree_manifests(project)
    live = gc_live.live_objects(project, manifests)
    live.keep.update(staged_objects(project))
    live.keep.update(run_notes.record_objects(project.repo))  # histories, saved files, patches
    every = plan.parse(project, gc_live.manifest_specs(project, refs))
    return Live(live.keep, live.listings | gc_live.known_listings(project, every))


def index_blobs(project: Project) -> list[str]:
    """The manifest blobs in the index (staged, and every stage of an unmerged one)."""
    out = project.repo.run("ls-files", "-s", "-z", "--", mf.MANIFEST_DIR + "/")
    return [rec.split()[1] for rec in out.split("\0") if rec]


def work_tree_manifests(project: Project) -> list[mf.Manifest]:
    """The manifests in the work tree that parse (one being edited is left to the index)."""
    out = []
    for name in project.names():
        try:
            m = project.read_manifest(name, entries=False)
        except ManifestError:
            continue  # a broken one (being edited): the index still holds its blob
        if m is not None:
            out.append(m)
    return out


def _work_temporaries(project: Project, before: float) -> list[str]:
    """`.ga-tmp-*` files a killed checkout left in the folders of the work tree's artifacts."""
    out: list[str] = []
    root = os.path.realpath(project.root)
    for m in work_tree_manifests(project):
        if m.path is None:
            continue
        top = os.path.realpath(os.path.join(root, m.path))
        if not top.startswith(root + os.sep) or not os.path.isdir(top):
            continue  # a path from git that leads out of the work tree is not walked
        for folder, _, names in os.walk(top):
            for n in names:
                full = os.path.join(folder, n)
                if n.startswith(WORK_TMP) and _older(full, before):
                    out.append(full)
    return sorted(set(out))


def _older(path: str, before: float) -> bool:
    try:
        return os.lstat(path).st_mtime < before
    except FileNotFoundError:
        return False


def content_first(
    doomed: Iterable[sweep.StoredObject], listings: set[str]
) -> list[sweep.StoredObject]:
    """Content objects first, listing objects after: a listing goes only once the content
    it names is gone, so a gc killed midway never leaves content no listing names."""
    return sorted(doomed, key=lambda o: o.digest in listings)
