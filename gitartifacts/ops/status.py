"""`status` and `verify`: how the work tree and the cache differ from the manifests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import TreeFolder, inline_tree, iter_tree
from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.progress import Progress
from gitartifacts.core.textsafe import count
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.core.workspace import status as wstatus
from gitartifacts.core.workspace.digest_walk import DigestWalk
from gitartifacts.errors import CacheError, ManifestError
from gitartifacts.gitmodel import imported
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import version_label
from gitartifacts.gitmodel.resolve import Resolved, resolve, unknown_artifact
from gitartifacts.ops import conflicts as ops_conflicts
from gitartifacts.ops.paths import folder_names, owns_folder

_UNMERGED = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}  # git status codes of an unmerged path


class ArtifactStatus(NamedTuple):
    name: str
    type: str
    path: str | None
    version: str | None  # `vN` of the work tree's manifest, None when not committed
    digest: str
    manifest: str  # "committed", "staged", "modified", "new", "deleted"
    added: list[str]
    modified: list[str]
    deleted: list[str]
    not_in_cache: int
    error: str | None = None
    conflict: list[str] | None = None  # an unmerged manifest: one line per conflict
    source_moved: str | None = None  # an import whose source names another version now
    latest: str | None = None  # the artifact's newest version, `vN`, if it has one

    @property
    def clean(self) -> bool:
        return (
            self.manifest == "committed"
            and not (self.added or self.modified or self.deleted)
            and not self.not_in_cache
            and self.error is None
        )


def status(
    project: Project, names: Sequence[str] = (), progress: Progress | None = None
) -> list[ArtifactStatus]:
    all_names = project.names()
    for n in names:
        if n not in all_names:
            raise unknown_artifact(project, n)
    porcelain = project.repo.status_porcelain([mf.MANIFEST_DIR])
    hist = ver.histories(project)
    unmerged = _unmerged(project, porcelain)
    out = []
    for name in names or all_names:
        rel = mf.manifest_path(name)
        manifest_state = _manifest_state(porcelain.get(rel))
        if name in unmerged:
            c = unmerged[name]
            lines = c.conflicts + ([c.problem] if c.problem else [])
            row = ArtifactStatus(name, c.type, None, None, "", "unmerged", [], [], [], 0)
            out.append(row._replace(conflict=lines))
            continue
        try:
            m = project.read_manifest(name, entries=False)
        except ManifestError as exc:
            out.append(
                ArtifactStatus(name, "?", None, None, "", manifest_state, [], [], [], 0, str(exc))
            )
            continue
        assert m is not None
        h = hist.get(name)
        version = version_label(ver.digest_versions(project, h).get(m.digest) if h else None)
        latest = version_label(max(h.versions)) if h and h.versions else None
        try:
            diff, not_in_cache = _workspace_status(project, m, progress)
        except CacheError:
            # Without its listing the entries are unknown: all of it counts as not in cache.
            diff, not_in_cache = wstatus.Diff([], [], []), m.files
        except ManifestError as exc:
            out.append(
                ArtifactStatus(
                    name, m.type, m.path, version, m.digest, manifest_state, [], [], [], 0, str(exc)
                )
            )
            continue
        out.append(
            ArtifactStatus(
                name,
                m.type,
                m.path,
                version,
                m.digest,
                manifest_state,
                diff.added,
                diff.modified,
                diff.deleted,
                not_in_cache,
                source_moved=imported.moved_on(project, m),
                latest=latest,
            )
        )
    return out


def pinned(project: Project, names: Sequence[str]) -> dict[str, str | None]:
    """The version (`vN`) the work tree's manifest of each named artifact pins; None when it
    pins content no version holds. Names that are not artifacts here are left out."""
    known = set(project.names())
    hist = ver.histories(project)
    out: dict[str, str | None] = {}
    for name in names:
        m = project.read_manifest(name, entries=False) if name in known else None
        if m is not None:
            h = hist.get(name)
            out[name] = version_label(ver.digest_versions(project, h).get(m.digest) if h else None)
    return out


def uncommitted(project: Project, names: Sequence[str]) -> set[str]:
    """The named artifacts whose work-tree manifest differs from the one HEAD holds."""
    paths = {mf.manifest_path(n): n for n in names}
    return {paths[p] for p in project.repo.status_porcelain(list(paths)) if p in paths}


def label(r: ArtifactStatus) -> str:
    """The version the work tree's manifest is, as status names it."""
    if r.version is not None:
        return r.version
    return f"not a version yet; latest {r.latest}" if r.latest else "no version yet"


def hints(r: ArtifactStatus) -> list[str]:
    """What to run next for an artifact that is not up to date. Never "save with add" for
    files that are only missing or content that is not here (a fresh clone, a stopped
    checkout): that would record a version without them."""
    edited = r.added or r.modified
    if r.not_in_cache:
        return [
            f"content not in cache: {count(r.not_in_cache, 'object')}"
            f" (get it with git artifacts pull {r.name})"
        ]
    if r.deleted and not edited:
        return [f"(restore the missing files with git artifacts checkout {r.name})"]
    if not edited:
        return []
    save = f"(save with git artifacts add --name {r.name}"
    out = [save + (", which also records the missing files as removed)" if r.deleted else ")")]
    if r.modified or r.deleted:
        # Files the version does not hold stay, as git keeps untracked files.
        out.append(
            f"(discard the changes to its files with git artifacts checkout {r.name} --force)"
        )
    return out


class Problem(NamedTuple):
    path: str
    problem: str  # "modified", "missing", "not a member", "corrupt object", "object missing"


def verify(project: Project, spec: str, root: str | None = None) -> tuple[Resolved, list[Problem]]:
    """Re-hash everything (no stat cache): the cache objects and the files at `root`
    (default: the artifact's workspace path)."""
    r = resolve(project, spec)
    m = r.manifest
    entries = m.entries or {}
    problems: list[Problem] = []
    for p, e in entries.items():
        if e.ref is not None:
            continue
        if not project.cache.has(e.digest):
            problems.append(Problem(p, "object missing"))
        elif not project.cache.verify_object(e.digest):
            problems.append(Problem(p, "corrupt object"))
    base = os.path.abspath(root) if root else (str(project.root / m.path) if m.path else None)
    if base is not None:
        if root:
            names = sorted(os.listdir(base)) if os.path.isdir(base) else []
        elif owns_folder(project, m.path):
            names = folder_names(project, m.path or "")
        else:
            names = wscan.tops(entries)
        scan = wscan.scan(
            base,
            names,
            what=root or m.path or "",
            ignore=None if root else project.ignore_for(m.path),
        )
        files = {p: sha256_file(os.path.join(base, p))[0] for p in scan.files}
        diff = wstatus.compare(entries, files)
        problems += [Problem(p, "modified") for p in diff.modified]
        problems += [Problem(p, "missing") for p in diff.deleted]
        problems += [Problem(p, "not a member") for p in diff.added]
    return r, problems


# ---------------------------------------------------------------- diff


def remember_workspace(
    project: Project, m: mf.Manifest, fp: str | None, tops: Sequence[str] | None = None
) -> None:
    """Note the work tree's fingerprint (None: forget it), the artifact's first path
    segments (`tops`, else from its entries) and that the cache holds all of it."""
    if fp is not None:
        project.state.set_snapshot(m.name, m.digest, fp)
    else:
        project.state.drop_snapshot(m.name)
    if tops is None:
        tops = wscan.tops(m.entries or {})
    project.state.tops.put(m.digest, "\n".join(tops))
    project.state.cache_complete.put(m.digest, _cache_identity(project))


def _unmerged(
    project: Project, porcelain: dict[str, str]
) -> dict[str, ops_conflicts.ManifestConflict]:
    """Manifests a merge left unmerged, by name (git asked only when it shows one)."""
    if not any(code in _UNMERGED for code in porcelain.values()):
        return {}
    return {c.name: c for c in ops_conflicts.unmerged(project)}


def _manifest_state(code: str | None) -> str:
    if code is None:
        return "committed"
    if code == "??":
        return "new"
    if "D" in code:
        return "deleted"
    if code[1] == " ":
        return "staged"
    return "modified"


def _workspace_status(
    project: Project, m: mf.Manifest, progress: Progress | None
) -> tuple[wstatus.Diff, int]:
    if m.path is None:
        return wstatus.Diff([], [], []), _not_in_cache(project, m)
    base = str(project.root / m.path)
    top_names = _owned_names(project, m, m.path)
    ignore = project.ignore_for(m.path)
    walk = wscan.FolderWalk(base, top_names, what=m.path, ignore=ignore)
    for _ in walk:
        pass  # only the fingerprint: a no-op status reads no file and no stat cache row
    if project.state.snapshot(m.name) == (m.digest, walk.fingerprint):
        return wstatus.Diff([], [], []), _not_in_cache(project, m)
    again = wscan.FolderWalk(base, top_names, what=m.path, ignore=ignore)
    files = DigestWalk(again, project.state, m.path, base, progress=progress)
    diff = wstatus.compare_tree(iter(files), _tree(project, m))
    if diff.clean and files.trusted:
        project.state.set_snapshot(m.name, m.digest, again.fingerprint)
    return diff, _not_in_cache(project, m)


def _tree(project: Project, m: mf.Manifest) -> Iterator[TreeFolder]:
    """The artifact's entries folder by folder, a listing object at a time."""
    if m.listing is not None and m.entries is None:
        return iter_tree(m.listing, project.read_listing_object, m.files)
    root, fetch = inline_tree(m.entries or {})
    return iter_tree(root, fetch)


def _owned_names(project: Project, m: mf.Manifest, path: str) -> list[str]:
    """The names under `path` that the artifact owns: all of a whole folder, else its tops."""
    if owns_folder(project, path):
        return folder_names(project, path)
    tops_text = project.state.tops.get(m.digest)
    if tops_text is None:
        tops = next(_tree(project, m)).lines
        tops_text = "\n".join(name for _, name, _ in tops)
        project.state.tops.put(m.digest, tops_text)
    return tops_text.split("\n") if tops_text else []


def _cache_identity(project: Project) -> str:
    """Changes whenever an object is added to or removed from the cache: one stat per shard
    folder, so "all objects present" can be remembered without re-checking 100,000 files."""
    objects = project.cache.objects
    try:
        shards = sorted(os.scandir(objects), key=lambda e: e.name)
    except FileNotFoundError:
        return "none"
    parts = [str(objects), project.cache.packs.stamp()]
    for e in shards:
        st = e.stat(follow_symlinks=False)
        parts.append(f"{e.name}:{st.st_ino}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _not_in_cache(project: Project, m: mf.Manifest) -> int:
    """How many stored entries lack their object in the local cache (0 is remembered)."""
    ident = _cache_identity(project)
    if project.state.cache_complete.get(m.digest) == ident:
        return 0
    missing: set[str] = set()
    try:
        for folder in _tree(project, m):
            stored = sorted({rest[0] for kind, _, rest in folder.lines if kind == "f"})
            missing.update(project.cache.missing(stored))
    except CacheError:
        return m.files
    if not missing:
        project.state.cache_complete.put(m.digest, ident)
    return len(missing)


# ---------------------------------------------------------------- ls, log, show
