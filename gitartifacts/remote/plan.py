"""What a transfer concerns: the manifests of commits and versions, the objects they name."""

from __future__ import annotations

from collections.abc import Sequence

from gitartifacts.core import listing
from gitartifacts.core import manifest as mf
from gitartifacts.core.hashing import hex_of
from gitartifacts.errors import CacheError, ManifestError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote import walk


def manifests_in_commits(
    project: Project, revs: Sequence[str], gremote: str | None, all_commits: bool
) -> list[mf.Manifest]:
    """Manifests at the tips of `revs` and in every commit the git remote does not have."""
    return parse(project, list(manifest_blobs(project, revs, gremote, all_commits).values()))


def manifest_blobs(
    project: Project, revs: Sequence[str], gremote: str | None, all_commits: bool
) -> dict[str, str]:
    """Manifest digest -> its blob, for the manifests `manifests_in_commits` reads. Decided
    from the cached blob summaries, so a push with nothing new parses no manifest."""
    repo = project.repo
    blobs: set[str] = set()
    tips = [c for c in (_commit(project, r) for r in revs) if c]
    for tip in tips:
        blobs.update(repo.ls_tree(tip, mf.MANIFEST_DIR).values())
    if all_commits:
        log_args = ["--all"]
    elif tips:
        log_args = [*tips, "--not", f"--remotes={gremote}"] if gremote else tips
    else:
        log_args = []
    if log_args:
        out = repo.run(
            "log",
            "--format=",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            *log_args,
            "--",
            mf.MANIFEST_DIR,
        )
        for line in out.splitlines():
            if line.startswith(":"):
                new = line.split()[3]
                if new != "0" * 40:
                    blobs.add(new)
    sums = ver.blob_summaries(project, sorted(blobs))
    return {s.digest: b for b, s in sums.items() if s is not None}


def unpushed_versions(project: Project, rid: str) -> dict[str, str]:
    """Manifest digest -> `commit:path` of every version tag whose content this clone has
    not yet pushed to the remote: a published version must never point at data the remote
    lacks."""
    out: dict[str, str] = {}
    for name, h in ver.histories(project).items():
        sums = ver.summaries(project, name, list(h.versions.values()))
        digests = {c: s.digest for c, s in sums.items() if s is not None}
        done = project.state.pushed(rid).get_many(digests.values())
        for c, d in digests.items():
            if d not in done:
                out.setdefault(d, f"{c}:{mf.manifest_path(name)}")
    return out


def _commit(project: Project, rev: str) -> str | None:
    return project.repo.head() if rev == "HEAD" else project.repo.rev_parse(rev + "^{commit}")


def run_objects(project: Project, rid: str, check_remote: bool) -> list[str]:
    """The objects run records name (history, saved files, patches) that are in the local
    cache and not known to be on remote `rid`: they travel with the runs' records."""
    named = sorted(d for d in run_notes.record_objects(project.repo) if project.cache.has(d))
    known = set() if check_remote else project.state.known_on_remote(rid, named)
    return [d for d in named if d not in known]


def lacking(project: Project, manifests: Sequence[mf.Manifest]) -> list[mf.Manifest]:
    """The manifests whose listing or objects the local cache lacks, listings first."""
    need_listing = [
        m for m in manifests if m.listing is not None and not project.cache.has(m.listing)
    ]
    need_objects = []
    for m in manifests:
        if m in need_listing:
            continue
        try:
            if _lacks_objects(project, m):
                need_objects.append(m)
        except CacheError:  # a listing object below the root is gone
            need_listing.append(m)
    return need_listing + need_objects


def _lacks_objects(project: Project, m: mf.Manifest) -> bool:
    for batch in walk.batches(project, [m], walk.batch_size()):
        if project.cache.missing(sorted({d for d, _ in batch.data})):
            return True
    return False


def listing_objects(project: Project, root: str) -> list[str]:
    """Hex names of a listing's objects, root first, each once (identical subfolders
    share one object)."""
    order = [hex_of(root)]
    seen = set(order)
    i = 0
    while i < len(order):
        for child in listing.listing_children(project.read_listing_object(order[i]), order[i]):
            if child not in seen:
                seen.add(child)
                order.append(child)
        i += 1
    return order


def parse(project: Project, names: Sequence[str]) -> list[mf.Manifest]:
    """The manifests in these git objects (blobs or `commit:path`), each digest once; an
    old, broken manifest in history is skipped: it is not ours to push."""
    data = project.repo.cat_blobs(list(names))
    seen: set[str] = set()
    out = []
    for sha, raw in data.items():
        if raw is None:
            continue
        try:
            m = project.parse_manifest(raw, f"blob {sha[:10]}", entries=False)
        except ManifestError:
            continue
        if m.digest not in seen:
            seen.add(m.digest)
            out.append(m)
    return out
