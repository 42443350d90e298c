"""`du`: bytes per artifact and version: logical, unique, shared, in the local cache, on a remote.

Every version still there counts (deleted and expired ones do not). An object is unique to a
version when no other counted version, of any artifact, names it; the shared bytes are the
rest of the version's stored bytes. Two passes over the manifests: the first counts how many
versions name each object, the second adds up; a listing-form manifest's entries are read
from the cache in each pass and let go after it, never held beside a copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from gitartifacts.core import manifest as mf
from gitartifacts.errors import CacheError, NotFoundError, UsageError
from gitartifacts.gitmodel import lifecycle
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import resolve
from gitartifacts.remote import transfer
from gitartifacts.remote.remotes import resolve as resolve_remote


@dataclass
class Usage:
    """Bytes of one version, one artifact or all; None where the listing is not here (the
    objects it names are unknown: `git artifacts fetch` brings it)."""

    name: str  # the artifact; "" for the total
    version: int | None  # None: the artifact's (or the total's) row
    logical: int = 0  # the files' bytes, as the manifest counts them
    stored: int | None = 0  # the distinct objects' bytes
    unique: int | None = 0
    shared: int | None = 0
    local: int | None = 0
    remote: int | None = None  # with a remote only


@dataclass
class DuResult:
    remote: str | None
    versions: list[Usage] = field(default_factory=list)
    artifacts: list[Usage] = field(default_factory=list)
    total: Usage = field(default_factory=lambda: Usage("", None))


def du(project: Project, spec: str | None = None, remote_name: str | None = None) -> DuResult:
    """Sizes of every version still there (deleted and expired ones left out), or of one
    artifact (`NAME`) or version (`NAME:SPEC`); with `remote_name`, the bytes that remote
    holds too (one batched existence check)."""
    every = _versions(project)
    shown = _chosen(project, every, spec)
    counts: dict[str, int] = {}  # object -> how many versions name it
    owners: dict[str, str] = {}  # object -> its artifact, "" when several name it
    sizes: dict[str, int] = {}
    for (name, _), objects in _objects_of(project, every):
        for d, size in (objects or {}).items():
            counts[d] = counts.get(d, 0) + 1
            owners[d] = name if owners.get(d, name) == name else ""
            sizes[d] = size
    local = set(sizes) - set(project.cache.missing(sorted(sizes)))
    remote = None
    on_remote: set[str] = set()
    if remote_name is not None:
        r = resolve_remote(project, remote_name)
        remote = r.name
        store = transfer.open_store(r, project)
        on_remote = set(sizes) - set(store.missing(sorted(sizes)))
    out = DuResult(remote)
    tally = _Tally(counts, owners, local, on_remote if remote else None)
    for (name, n), objects in _objects_of(project, shown):
        out.versions.append(tally.version(name, n, every[(name, n)], objects))
    out.artifacts = tally.artifacts
    out.total = tally.total
    return out


class _Tally:
    """Adds versions up into their artifact's row and the total, each object once per row."""

    def __init__(
        self,
        counts: Mapping[str, int],
        owners: Mapping[str, str],
        local: set[str],
        on_remote: set[str] | None,
    ) -> None:
        self.counts, self.owners, self.local, self.on_remote = counts, owners, local, on_remote
        self.artifacts: list[Usage] = []
        self.total = self._empty("")
        self.seen: set[str] = set()  # objects of the total
        self.seen_here: set[str] = set()  # objects of the current artifact

    def version(self, name: str, n: int, m: mf.Manifest, objects: dict[str, int] | None) -> Usage:
        if not self.artifacts or self.artifacts[-1].name != name:
            self.artifacts.append(self._empty(name))
            self.seen_here = set()
        row = self._empty(name, n)
        art = self.artifacts[-1]
        for u in (row, art, self.total):
            u.logical += m.size
        if objects is None:
            for u in (row, art, self.total):
                u.stored = u.unique = u.shared = u.local = u.remote = None
            return row
        for d, size in objects.items():
            self._add(row, d, size, self.counts[d] == 1)
            if d not in self.seen_here:
                self.seen_here.add(d)
                self._add(art, d, size, self.owners[d] == name)
            if d not in self.seen:
                self.seen.add(d)
                self._add(self.total, d, size, True)
        return row

    def _add(self, u: Usage, d: str, size: int, unique: bool) -> None:
        if u.stored is None:
            return  # a version whose objects are unknown made this row unknown
        u.stored += size
        u.unique = (u.unique or 0) + (size if unique else 0)
        u.shared = u.stored - u.unique
        u.local = (u.local or 0) + (size if d in self.local else 0)
        if self.on_remote is not None:
            u.remote = (u.remote or 0) + (size if d in self.on_remote else 0)

    def _empty(self, name: str, n: int | None = None) -> Usage:
        return Usage(name, n, remote=None if self.on_remote is None else 0)


def _versions(project: Project) -> dict[tuple[str, int], mf.Manifest]:
    """(name, N) -> manifest (entries not loaded) of every version still there, in order."""
    gone = lifecycle.gone(project)
    wanted: list[tuple[str, int, str]] = []
    for name, h in sorted(ver.histories(project).items()):
        if not mf.NAME_RE.match(name):
            continue
        for n in sorted(h.versions):
            if (name, n) not in gone:
                wanted.append((name, n, f"{h.versions[n]}:{mf.manifest_path(name)}"))
    blobs = project.repo.cat_blobs([spec for _, _, spec in wanted])
    out: dict[tuple[str, int], mf.Manifest] = {}
    for name, n, spec in wanted:
        raw = blobs.get(spec)
        if raw is not None:
            out[(name, n)] = project.parse_manifest(raw, f"{name}:v{n}", entries=False)
    return out


def _chosen(
    project: Project, every: dict[tuple[str, int], mf.Manifest], spec: str | None
) -> dict[tuple[str, int], mf.Manifest]:
    """The versions `spec` names: all, an artifact's (`NAME`) or one (`NAME:SPEC`)."""
    if spec is None:
        return every
    if ":" not in spec:
        out = {k: m for k, m in every.items() if k[0] == spec}
        if not out:
            raise NotFoundError(f"no versions of {spec!r} here", "see git artifacts ls")
        return out
    r = resolve(project, spec, entries=False)
    if r.version is None:
        raise UsageError(f"{spec} is not a committed version", "name one: NAME:vN or an alias")
    key = (r.manifest.name, r.version)
    if key not in every:  # a tag whose commit holds no manifest of that name
        raise NotFoundError(f"{spec} has no manifest at its commit", "see git artifacts log")
    return {key: every[key]}


def _objects_of(
    project: Project, versions: dict[tuple[str, int], mf.Manifest]
) -> Iterator[tuple[tuple[str, int], dict[str, int] | None]]:
    """Each version's distinct stored objects with their sizes, one version at a time; None
    for a listing-form version whose listing this cache lacks."""
    for key, m in versions.items():
        try:
            entries = project.load_entries(m, keep=False)
        except CacheError:
            yield key, None
            continue
        objects = {e.digest: e.size for e in entries.values() if e.ref is None}
        del entries
        yield key, objects
