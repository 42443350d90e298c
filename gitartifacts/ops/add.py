"""`add`: snapshot files into the cache and stage a manifest (the branch flow); `add_code`;
`log_draft`: an artifact built in Python or by `run -o` made a version off the branch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import inline_tree, iter_tree
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.listing import ref_entry
from gitartifacts.core.listing_build import Built
from gitartifacts.core.names import (
    check_not_reserved,
    validate_artifact_name,
    validate_artifact_type,
)
from gitartifacts.core.progress import Progress
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.errors import GitArtifactsError, UsageError
from gitartifacts.gitmodel import events, logged
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import add_walk, reuse
from gitartifacts.ops.exclude import exclude_untracked
from gitartifacts.ops.init import ensure_init
from gitartifacts.ops.paths import (
    Placement,
    check_no_overlap,
    check_not_tracked,
    check_same_place,
    ensure_ignored,
    join_path,
    plan_paths,
)
from gitartifacts.ops.references import resolve_refs
from gitartifacts.ops.status import remember_workspace


class AddResult(NamedTuple):
    name: str
    digest: str
    files: int
    size: int
    outcome: str  # "new", "unchanged" or "existing"
    version: int | None  # the version it is (or will be once committed)
    manifest: str
    aliases: list[str]


def add(
    project: Project,
    paths: Sequence[str],
    *,
    name: str,
    type: str | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    aliases: Sequence[str] = (),
    ttl: str | None = None,
    refs: Sequence[str] = (),
    checksum: bool = True,
    max_objects: int | None = None,
    force: bool = False,
    prefix: str = "",
    progress: Progress | None = None,
    inline_limit: int = mf.INLINE_LIMIT,
) -> AddResult:
    """Snapshot files and folders into the cache and stage the artifact's manifest.

    One folder becomes the artifact (`path:` that folder, entries relative to it, as W&B's
    `add_dir`); several paths or single files are stored by their names under their folder
    (see gitartifacts.ops.paths). `prefix` puts the entries under `prefix/` (W&B's
    `add_dir(path, name=prefix)`); unless it is the folder's own name, the artifact then has
    no workspace path. `refs` are URIs (`s3://`, `gs://`, `http(s)://`, `file://`), optionally
    `NAME=URI`, tracked by their etag, version or checksum instead of being copied. Moving an
    existing artifact to another folder, or leaving out one of its folders, needs `force`.
    Over `inline_limit` entries, they go into listing objects instead of the manifest.
    """
    _check_input(name, type, aliases, metadata, ttl)
    existing = project.read_manifest(name, entries=False)
    hist = ver.histories(project)
    type = _settled_type(project, name, type, existing, hist.get(name))
    check_not_reserved(name, type)
    stored: list[str] = []
    if existing is not None and not paths:
        old_refs, stored = _refs_and_tops(project, existing)
        # Re-adding with no arguments re-checks the references too (like `dvc update`).
        refs = refs or old_refs
    ref_entries = resolve_refs(project, refs, checksum, max_objects)
    where: Placement | None = None
    seen: add_walk.Seen | None = None
    if paths or not refs:
        where, seen = _placed(project, name, paths, existing, stored, force, prefix, ref_entries)
    # Nothing has been written before this point: bad input leaves repo and cache untouched.
    ensure_init(project)
    snap = add_walk.snapshot(
        project, where, ref_entries, limit=inline_limit, progress=progress, seen=seen
    )
    m = _manifest(name, type, snap.built, where, existing, description, metadata, ttl)
    rel = _write_and_stage(project, m, where, snap.built.tops)
    remember_workspace(project, m, snap.fingerprint, snap.built.tops)
    return _settled(project, m, hist.get(name), existing, list(aliases), rel)


def add_code(project: Project, root: str, name: str, aliases: Sequence[str] = ()) -> mf.Manifest:
    """Stage a `code` artifact pinning HEAD (see gitartifacts.tracking.code)."""
    from gitartifacts.tracking import code

    draft = code.code_draft(project, root, name)
    if draft is None:
        raise UsageError(
            f"no code files under {root}",
            "code artifacts take .py, Dockerfile* and requirements.txt files tracked by git",
        )
    m = mf.build(draft.name, "code", draft.entries, metadata=draft.metadata)
    save_draft(project, m, aliases)
    return m


def save_draft(project: Project, m: mf.Manifest, aliases: Sequence[str] = ()) -> AddResult:
    """Write and stage the manifest of an artifact built in Python (`Artifact.save(stage=True)`,
    `add --code`); the result says which version it is, or will be once committed."""
    for a in aliases:
        mf.validate_alias(a)
    existing = project.read_manifest(m.name, entries=False)
    hist = ver.histories(project)
    known_type = existing.type if existing else ver.type_from_history(project, hist.get(m.name))
    if known_type is not None and known_type != m.type:
        raise UsageError(
            f"artifact {m.name!r} is of type {known_type!r}, not {m.type!r}",
            "a name never changes type; choose another name",
        )
    ensure_init(project)
    rel = project.write_manifest(m)
    project.repo.stage([rel])
    return _settled(project, m, hist.get(m.name), existing, list(aliases), rel)


def log_draft(
    project: Project,
    m: mf.Manifest,
    *,
    parent: str | None,
    aliases: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> logged.Logged:
    """Make a manifest built in Python or by `run -o` a version: a commit on `parent` (see
    gitmodel/logged.py), the branch, index and work tree left as they were. `sources`, the
    local files and folders the entries were read from, are kept out of `git status`
    (`.git/info/exclude`) when git does not track them: their bytes are in the cache now."""
    reuse.renew_objects(project, _stored(m.entries or {}), reuse.files_under(sources))
    result = logged.log_version(project, m, parent, aliases)
    ensure_init(project, stage=False)
    exclude_untracked(project, sources)
    return result


def entries_of(project: Project, path: str) -> dict[str, mf.Entry]:
    """A file (by its name) or every file of a folder (relative to it), stored in the cache
    now: what `log_artifact(path)` logs."""
    if os.path.isfile(path):
        digest, size = project.cache.add_file(path, os.path.getsize(path))
        return {mf.validate_entry_path(os.path.basename(path)): mf.Entry(digest, size)}
    if not os.path.isdir(path):
        raise UsageError(f"{path} does not exist", "write the output there, or fix the path")
    scan = wscan.scan(path, sorted(os.listdir(path)), what=path)
    if not scan.files:
        raise UsageError(f"{path} contains no files", "empty folders are not stored")
    out = {}
    for rel, st in scan.files.items():
        digest, size = project.cache.add_file(os.path.join(path, rel), st[2])
        out[mf.validate_entry_path(rel)] = mf.Entry(digest, size)
    return out


def _stored(entries: dict[str, mf.Entry]) -> list[str]:
    """The cache objects `entries` name (references are not stored)."""
    return [e.digest for e in entries.values() if e.ref is None]


def _check_input(
    name: str,
    type: str | None,
    aliases: Sequence[str],
    metadata: dict[str, Any] | None,
    ttl: str | None,
) -> None:
    validate_artifact_name(name)
    if type is not None:
        validate_artifact_type(type)
    for a in aliases:
        mf.validate_alias(a)
    if metadata is not None:
        mf.validate_metadata(metadata)
    if ttl is not None and not mf.TTL_RE.match(ttl):
        raise UsageError(
            f"invalid ttl {ttl!r}", "use a number and a unit s, m, h, d or w, e.g. 30d"
        )


def _settled_type(
    project: Project,
    name: str,
    type: str | None,
    existing: mf.Manifest | None,
    h: ver.History | None,
) -> str:
    """The type given, or the one the artifact already has; a name never changes type."""
    known_type = existing.type if existing else ver.type_from_history(project, h)
    if type is None:
        if known_type is None:
            raise UsageError(
                f"artifact {name!r} is new and needs a type", "pass --type, e.g. --type dataset"
            )
        return known_type
    if known_type is not None and known_type != type:
        raise UsageError(
            f"artifact {name!r} is of type {known_type!r}, not {type!r}",
            "a name never changes type; choose another name",
        )
    return type


def _refs_and_tops(project: Project, m: mf.Manifest) -> tuple[list[str], list[str]]:
    """The references of `m` as `NAME=URI`, and the first path segments of its stored
    files, read one listing object at a time."""
    if m.entries is not None:
        root, fetch = inline_tree(m.entries)
    elif m.listing is not None:
        root, fetch = m.listing, project.read_listing_object
    else:
        return [], []
    refs: list[str] = []
    tops: set[str] = set()
    for folder in iter_tree(root, fetch, m.files):
        for kind, name, rest in folder.lines:
            path = f"{folder.path}/{name}" if folder.path else name
            if kind == "r":
                refs.append(f"{path}={ref_entry(rest[0]).ref}")
            elif kind == "f":
                tops.add(path.split("/", 1)[0])
    return refs, sorted(tops)


def _placed(
    project: Project,
    name: str,
    paths: Sequence[str],
    existing: mf.Manifest | None,
    stored: list[str],
    force: bool,
    prefix: str,
    ref_entries: dict[str, mf.Entry],
) -> tuple[Placement, add_walk.Seen]:
    """Where the files go, after checking they may become this artifact; what the check
    saw of them."""
    where = plan_paths(project, paths, existing, prefix, stored_tops=stored)
    if paths and existing is not None and not force:
        check_same_place(project, existing, where)
    check_not_tracked(project, where)
    check_no_overlap(project, name, where)
    local_tops = {(where.prefix + t).split("/", 1)[0] for t in where.tops}
    clash = sorted(set(wscan.tops(ref_entries)) & local_tops)
    if clash:
        raise UsageError(
            f"reference entry {clash[0]!r} has the name of a local path",
            "name it: --ref NAME=URI",
        )
    return where, add_walk.check_files(project, where)


def _manifest(
    name: str,
    type: str,
    built: Built,
    where: Placement | None,
    existing: mf.Manifest | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    ttl: str | None,
) -> mf.Manifest:
    """The manifest of the entries built, the fields not given kept from `existing`."""
    fields: dict[str, Any] = {
        "description": description
        if description is not None
        else (existing.description if existing else None),
        "metadata": metadata if metadata is not None else (existing.metadata if existing else None),
        "path": where.path if where is not None else None,
        "ttl": ttl if ttl is not None else (existing.ttl if existing else None),
    }
    if built.entries is not None:
        return mf.build(name, type, built.entries, **fields)
    assert built.root is not None
    return mf.build_listed(
        name, type, built.root, digest=built.digest, size=built.size, files=built.files, **fields
    )


def _write_and_stage(
    project: Project, m: mf.Manifest, where: Placement | None, tops: list[str]
) -> str:
    """Write and stage the manifest (and .gitignore); a refused stage restores the old one."""
    manifest_file = project.root / mf.manifest_path(m.name)
    before = manifest_file.read_bytes() if manifest_file.is_file() else None
    rel = project.write_manifest(m)
    try:
        with project.repo.worktree_lock():
            ignored = _workspace_paths(where, tops)
            ignore_changed = bool(ignored) and ensure_ignored(
                project, ignored, whole_folder=where is not None and where.folder
            )
            project.repo.stage([rel, *([".gitignore"] if ignore_changed else [])])
    except GitArtifactsError:
        # A refused add (git's index lock held too long) leaves the manifest as it was.
        if before is None:
            manifest_file.unlink(missing_ok=True)
        else:
            write_atomic(manifest_file, before)
        raise
    return rel


def _workspace_paths(where: Placement | None, tops: list[str]) -> list[str]:
    """What the artifact holds in the work tree (its references included): to git-ignore."""
    if where is None or where.path is None:
        return []
    if where.folder:
        return [where.path]
    return [join_path(where.path, t) for t in tops]


def _settled(
    project: Project,
    m: mf.Manifest,
    h: ver.History | None,
    existing: mf.Manifest | None,
    aliases: list[str],
    rel: str,
) -> AddResult:
    s = events.settle_version(project, m, h, existing, aliases)
    return AddResult(m.name, m.digest, m.files, m.size, s.outcome, s.version, rel, aliases)
