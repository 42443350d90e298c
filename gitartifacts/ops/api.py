"""The one facade: every verb of the CLI is a function here, and so is the Python API's core.

Functions take an open Project and return plain records; the CLI formats them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from gitartifacts.core import diff as adiff
from gitartifacts.core import manifest as mf
from gitartifacts.core import workspace as ws
from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.progress import Progress
from gitartifacts.errors import (
    CacheError,
    ConflictError,
    GitArtifactsError,
    GitError,
    ManifestError,
    NotFoundError,
    UsageError,
)
from gitartifacts.gitmodel import events
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import CONFIG_FILE, Project, write_atomic
from gitartifacts.gitmodel.refs import LATEST, fetch_refspec
from gitartifacts.gitmodel.resolve import Resolved, resolve
from gitartifacts.remote import transfer

DEFAULT_CONFIG = (
    "# gitartifacts settings, committed with the repository. No secrets here.\nremotes: {}\n"
)


# ---------------------------------------------------------------- init


def init(project: Project) -> list[str]:
    """Set up the repository; idempotent. Returns what was done."""
    done = []
    cfg = project.root / CONFIG_FILE
    with project.repo.worktree_lock():
        if not cfg.exists():
            write_atomic(cfg, DEFAULT_CONFIG.encode())
            project.repo.stage([CONFIG_FILE])
            done.append(f"created {CONFIG_FILE}")
    for remote in project.repo.remotes():
        spec = fetch_refspec(remote)
        if (
            spec
            not in project.repo.run(
                "config", "--get-all", f"remote.{remote}.fetch", check=False
            ).split()
        ):
            project.repo.config_set(f"remote.{remote}.fetch", spec, add=True)
            done.append(f"git fetch from {remote} now brings published artifact versions")
    from gitartifacts.gitmodel import notes as run_notes

    done += run_notes.configure(project.repo)
    (project.root / mf.MANIFEST_DIR).mkdir(exist_ok=True)
    project.cache.objects.mkdir(parents=True, exist_ok=True)
    project.state  # noqa: B018 - creates the state database
    return done


def ensure_init(project: Project) -> None:
    if not (project.root / CONFIG_FILE).exists():
        init(project)  # creates the file under the work-tree lock, after looking again


# ---------------------------------------------------------------- add


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
    progress: Progress | None = None,
) -> AddResult:
    """Snapshot files and folders into the cache and stage the artifact's manifest.

    `refs` are URIs (`s3://`, `gs://`, `http(s)://`, `file://`), optionally `NAME=URI`, tracked
    by their etag, version or checksum instead of being copied. Moving an existing artifact
    to another folder, or leaving out one of its folders, needs `force`.
    """
    mf.validate_name(name, "name")
    if type is not None:
        mf.validate_name(type, "type")
    for a in aliases:
        mf.validate_alias(a)
    if metadata is not None:
        mf.validate_metadata(metadata)
    if ttl is not None and not mf.TTL_RE.match(ttl):
        raise UsageError(
            f"invalid ttl {ttl!r}", "use a number and a unit s, m, h, d or w, e.g. 30d"
        )
    existing = project.read_manifest(name, entries=not paths and not refs)
    hist = ver.histories(project)
    known_type = existing.type if existing else ver.type_from_history(project, hist.get(name))
    if type is None:
        if known_type is None:
            raise UsageError(
                f"artifact {name!r} is new and needs a type", "pass --type, e.g. --type dataset"
            )
        type = known_type
    elif known_type is not None and known_type != type:
        raise UsageError(
            f"artifact {name!r} is of type {known_type!r}, not {type!r}",
            "a name never changes type; choose another name",
        )
    if not paths and not refs and existing is not None and existing.entries:
        # Re-adding with no arguments re-checks the references too (like `dvc update`).
        refs = [f"{p}={e.ref}" for p, e in existing.entries.items() if e.ref is not None]
    ref_entries = _resolve_refs(project, refs, checksum, max_objects)
    entries: dict[str, mf.Entry] = {}
    base_rel: str | None = None
    top_names: list[str] = []
    scan: ws.Scan | None = None
    if paths or not refs:
        base_rel, top_names = _plan_paths(project, paths, existing)
        if paths and existing is not None and not force:
            _check_same_place(project, existing, base_rel, top_names)
        _check_not_tracked(project, base_rel, top_names)
        _check_no_overlap(project, name, base_rel, top_names)
        base = str(project.root / base_rel)
        scan = ws.scan(base, top_names, what=base_rel, ignore=project.ignore_for(base_rel))
        missing = [
            t for t in top_names if not any(p == t or p.startswith(t + "/") for p in scan.files)
        ]
        if missing:
            raise UsageError(
                f"{_join(base_rel, missing[0])} contains no files",
                "add files to it first; empty folders are not stored",
            )
        for rel in scan.files:
            mf.validate_entry_path(rel, what=f"file name under {base_rel}")
        clash = sorted(set(ws.tops(ref_entries)) & set(top_names))
        if clash:
            raise UsageError(
                f"reference entry {clash[0]!r} has the name of a local path",
                "name it: --ref NAME=URI",
            )
    # Nothing has been written before this point: bad input leaves repo and cache untouched.
    ensure_init(project)
    trusted = True
    fingerprint = scan.fingerprint if scan is not None else None
    if scan is not None and base_rel is not None:
        files = scan.files
        scan = None  # 100,000s of stat rows: let them go before the manifest is built
        found, trusted = ws.digests(
            project.state,
            base_rel,
            files,
            base=str(project.root / base_rel),
            store=project.cache,
            progress=progress,
        )
        del files
        entries = {rel: mf.Entry(d, s) for rel, (d, s) in found.items()}
        del found
    entries.update(ref_entries)
    m = mf.build(
        name,
        type,
        entries,
        description=description
        if description is not None
        else (existing.description if existing else None),
        metadata=metadata if metadata is not None else (existing.metadata if existing else None),
        path=base_rel,
        ttl=ttl if ttl is not None else (existing.ttl if existing else None),
    )
    manifest_file = project.root / mf.manifest_path(name)
    before = manifest_file.read_bytes() if manifest_file.is_file() else None
    rel = project.write_manifest(m)
    try:
        with project.repo.worktree_lock():
            ignore_changed = base_rel is not None and ensure_ignored(
                project, base_rel, ws.tops(entries)
            )
            project.repo.stage([rel, *([".gitignore"] if ignore_changed else [])])
    except GitArtifactsError:
        # A refused add (git's index lock held too long) leaves the manifest as it was.
        if before is None:
            manifest_file.unlink(missing_ok=True)
        else:
            write_atomic(manifest_file, before)
        raise
    _remember_workspace(project, m, fingerprint if trusted and not ref_entries else None)
    s = events.settle_version(project, m, hist.get(name), existing, list(aliases))
    return AddResult(m.name, m.digest, m.files, m.size, s.outcome, s.version, rel, list(aliases))


def _resolve_refs(
    project: Project, refs: Sequence[str], checksum: bool, max_objects: int | None
) -> dict[str, mf.Entry]:
    if not refs:
        return {}
    from gitartifacts.remote import config, references

    out: dict[str, mf.Entry] = {}
    for spec in refs:
        name, eq, uri = spec.partition("=")
        if not eq or "://" in name:
            name, uri = "", spec
        found = references.resolve(
            uri,
            name or None,
            checksum=checksum,
            max_objects=max_objects,
            options=config.reference_options(project, uri),
        )
        for p, e in found.items():
            if p in out and out[p] != e:
                raise UsageError(f"two references give entry {p!r}", "name them: --ref NAME=URI")
            out[p] = e
    return out


def ref_fetcher(project: Project, allow_changed: bool) -> Callable[[str, mf.Entry, str], None]:
    """Fetches one reference entry from its source, checking it has not changed."""
    from gitartifacts.remote import config, references

    def fetch(rel: str, entry: mf.Entry, dest: str) -> None:
        assert entry.ref is not None
        references.fetch(
            rel,
            entry,
            dest,
            allow_changed=allow_changed,
            options=config.reference_options(project, entry.ref),
        )

    return fetch


def add_code(project: Project, root: str, name: str, aliases: Sequence[str] = ()) -> Any:
    """Stage a `code` artifact pinning HEAD (see gitartifacts.tracking.code)."""
    from gitartifacts.tracking import code

    art = code.code_artifact(project, root, name)
    if art is None:
        raise UsageError(
            f"no code files under {root}",
            "code artifacts take .py, Dockerfile* and requirements.txt files tracked by git",
        )
    return art.save(list(aliases))


def _plan_paths(
    project: Project, paths: Sequence[str], existing: mf.Manifest | None
) -> tuple[str, list[str]]:
    """(artifact path relative to the root, the top names under it) for the given paths."""
    if not paths:
        stored = (
            [p for p, e in (existing.entries or {}).items() if e.ref is None] if existing else []
        )
        if existing is None or existing.path is None or not stored:
            raise UsageError("no paths given", "name the files or folders to add")
        return existing.path, ws.tops(stored)
    rels = list(dict.fromkeys(project.relpath(p) for p in paths))
    for r, p in zip(rels, paths, strict=False):
        if r == ".":
            raise UsageError("cannot add the whole repository", "add a folder or files inside it")
        if r.split("/")[0] in (mf.MANIFEST_DIR, CONFIG_FILE):
            raise UsageError(f"{p} is gitartifacts' own file", "add your data, not the manifests")
        if not os.path.lexists(project.root / r):
            raise UsageError(f"no such file or folder: {p}", "check the path")
    parents = {os.path.dirname(r) for r in rels}
    if len(parents) > 1:
        raise UsageError(
            f"the paths are in different folders ({', '.join(sorted(p or '.' for p in parents))})",
            "add paths from one folder into one artifact, or make one artifact per folder",
        )
    base = parents.pop() or "."
    mf.validate_workspace_path(base)
    return base, sorted(r.rsplit("/", 1)[-1] for r in rels)


def _check_same_place(project: Project, m: mf.Manifest, base: str, top_names: list[str]) -> None:
    """Refuse a re-add that would move artifact `m` to another folder or drop one of its
    folders (`add .` from inside one of them, say): a slip, not a new version."""
    if m.path is None:
        return
    given = ", ".join(_join(base, t) for t in top_names)
    if m.path != base:
        raise UsageError(
            f"{m.name} holds files under {m.path}/; adding {given} would move it to {base}/",
            f"add from {m.path} (git artifacts add --name {m.name} with no path re-adds it), "
            "or pass --force",
        )
    try:
        stored = [p for p, e in project.load_entries(m, keep=False).items() if e.ref is None]
    except CacheError:
        return  # its listing is not here: nothing to compare with
    dropped = sorted(set(ws.tops(stored)) - set(top_names))
    if dropped:
        gone = sum(1 for p in stored if p == dropped[0] or p.startswith(dropped[0] + "/"))
        raise UsageError(
            f"adding {given} would drop {_join(base, dropped[0])} ({gone} files) from {m.name}",
            f"name all its folders (git artifacts add --name {m.name} with no path re-adds "
            "them), or pass --force",
        )


def _check_not_tracked(project: Project, base: str, top_names: list[str]) -> None:
    specs = [_join(base, t) for t in top_names]
    out = project.repo.run("ls-files", "-z", "--", *specs)
    tracked = [p for p in out.split("\0") if p]
    if tracked:
        raise UsageError(
            f"{tracked[0]} is tracked by git",
            f"stop tracking it first: git rm -r --cached {specs[0]}",
        )


def _check_no_overlap(project: Project, name: str, base: str, top_names: list[str]) -> None:
    mine = [_join(base, t) for t in top_names]
    for other in project.names():
        if other == name:
            continue
        try:
            m = project.read_manifest(other)
        except (ManifestError, CacheError):
            continue
        if m is None or m.path is None or not m.entries:
            continue
        for theirs in (_join(m.path, t) for t in ws.tops(m.entries)):
            for p in mine:
                if p == theirs or p.startswith(theirs + "/") or theirs.startswith(p + "/"):
                    raise UsageError(
                        f"{p} overlaps {theirs}, which belongs to artifact {other!r}",
                        f"add it to {other!r} instead, or choose a folder of its own",
                    )


def _remember_workspace(project: Project, m: mf.Manifest, fp: str | None) -> None:
    if fp is not None:
        project.state.set_snapshot(m.name, m.digest, fp)
    else:
        project.state.drop_snapshot(m.name)
    project.state.put(f"tops:{m.digest}", "\n".join(ws.tops(m.entries or {})))
    project.state.put(f"complete:{m.digest}", _cache_identity(project))


def commit_only(project: Project, paths: Sequence[str], message: str) -> str:
    """Commit just these paths; what else is staged stays staged. Under the work-tree lock,
    and waiting (bounded) while another git process holds the index lock."""
    with project.repo.worktree_lock():
        proc = project.repo.run_raw(
            ["commit", "--quiet", "--no-verify", "--only", "-m", message, "--", *paths]
        )
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        raise GitError(
            f"git commit of {', '.join(paths)} failed: {err[-1] if err else proc.returncode}",
            "commit the manifest yourself, or pass commit=False",
        )
    head = project.repo.head()
    assert head is not None
    return head


def ensure_ignored(project: Project, base: str, top_names: Sequence[str]) -> bool:
    """Add `/<path>` lines for the workspace data to the root .gitignore. True if changed.
    Read and written under the work-tree lock: concurrent adds never drop each other's line."""
    path = project.root / ".gitignore"
    with project.repo.worktree_lock():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        lines = set(text.splitlines())
        new = [
            p
            for p in ("/" + _gitignore_escape(_join(base, t)) for t in top_names)
            if p not in lines
        ]
        if not new:
            return False
        if text and not text.endswith("\n"):
            text += "\n"
        write_atomic(path, (text + "".join(p + "\n" for p in new)).encode())
        return True


def _gitignore_escape(p: str) -> str:
    out = "".join("\\" + c if c in "*?[\\" else c for c in p)
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def _join(base: str | None, rel: str) -> str:
    return rel if base in (None, ".", "") else f"{base}/{rel}"


# ---------------------------------------------------------------- status


class ArtifactStatus(NamedTuple):
    name: str
    type: str
    path: str | None
    version: int | None
    digest: str
    manifest: str  # "committed", "staged", "modified", "new", "deleted"
    added: list[str]
    modified: list[str]
    deleted: list[str]
    not_in_cache: int
    error: str | None = None

    @property
    def clean(self) -> bool:
        return (
            self.manifest == "committed"
            and not (self.added or self.modified or self.deleted)
            and not self.not_in_cache
            and self.error is None
        )


def status(project: Project, names: Sequence[str] = ()) -> list[ArtifactStatus]:
    all_names = project.names()
    for n in names:
        if n not in all_names:
            raise NotFoundError(f"artifact {n!r} does not exist", "see git artifacts ls")
    porcelain = project.repo.status_porcelain([mf.MANIFEST_DIR])
    hist = ver.histories(project)
    out = []
    for name in names or all_names:
        rel = mf.manifest_path(name)
        manifest_state = _manifest_state(porcelain.get(rel))
        try:
            m = project.read_manifest(name, entries=False)
        except ManifestError as exc:
            out.append(
                ArtifactStatus(name, "?", None, None, "", manifest_state, [], [], [], 0, str(exc))
            )
            continue
        assert m is not None
        h = hist.get(name)
        version = ver.digest_versions(project, h).get(m.digest) if h else None
        try:
            diff, not_in_cache = _workspace_status(project, m)
        except CacheError:
            # Without its listing the entries are unknown: all of it counts as not in cache.
            diff, not_in_cache = ws.Diff([], [], []), m.files
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
            )
        )
    return out


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


def _workspace_status(project: Project, m: mf.Manifest) -> tuple[ws.Diff, int]:
    if m.path is None:
        return ws.Diff([], [], []), _not_in_cache(project, m)
    base = str(project.root / m.path)
    tops_text = project.state.get(f"tops:{m.digest}")
    if tops_text is None:
        project.load_entries(m)
        tops_text = "\n".join(ws.tops(m.entries or {}))
        project.state.put(f"tops:{m.digest}", tops_text)
    top_names = tops_text.split("\n") if tops_text else []
    scan = ws.scan(base, top_names, what=m.path, ignore=project.ignore_for(m.path))
    if project.state.snapshot(m.name) == (m.digest, scan.fingerprint):
        return ws.Diff([], [], []), _not_in_cache(project, m)
    entries = project.load_entries(m)
    found, trusted = ws.digests(project.state, m.path, scan.files, base=base)
    diff = ws.compare(entries, {p: d for p, (d, _) in found.items()})
    if diff.clean and trusted:
        project.state.set_snapshot(m.name, m.digest, scan.fingerprint)
    return diff, _not_in_cache(project, m)


def _cache_identity(project: Project) -> str:
    """Changes whenever an object is added to or removed from the cache: one stat per shard
    folder, so "all objects present" can be remembered without re-checking 100,000 files."""
    objects = project.cache.objects
    try:
        shards = sorted(os.scandir(objects), key=lambda e: e.name)
    except FileNotFoundError:
        return "none"
    parts = [str(objects)]
    for e in shards:
        st = e.stat(follow_symlinks=False)
        parts.append(f"{e.name}:{st.st_ino}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _not_in_cache(project: Project, m: mf.Manifest) -> int:
    """How many stored entries lack their object in the local cache (0 is remembered)."""
    ident = _cache_identity(project)
    if project.state.get(f"complete:{m.digest}") == ident:
        return 0
    try:
        entries = project.load_entries(m)
    except CacheError:
        return m.files
    n = len(project.cache.missing(sorted({e.digest for e in entries.values() if e.ref is None})))
    if n == 0:
        project.state.put(f"complete:{m.digest}", ident)
    return n


# ---------------------------------------------------------------- ls, log, show


class VersionInfo(NamedTuple):
    version: int
    commit: str
    digest: str
    size: int
    files: int
    date: str
    aliases: list[str]


def log(project: Project, name: str) -> list[VersionInfo]:
    mf.validate_name(name)
    h = ver.histories(project).get(name)
    if h is None or not h.versions:
        if project.manifest_file(name).exists():
            return []
        raise NotFoundError(f"artifact {name!r} does not exist", "see git artifacts ls")
    import datetime as dt

    commits = [h.versions[n] for n in sorted(h.versions, reverse=True)]
    sums = ver.summaries(project, name, commits)
    info = project.repo.commit_info(commits)
    out = []
    for n in sorted(h.versions, reverse=True):
        c = h.versions[n]
        s = sums[c]
        ts = info.get(c, (0, ""))[0]
        out.append(
            VersionInfo(
                n,
                c,
                s.digest if s else "?",
                s.size if s else 0,
                s.files if s else 0,
                dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds"),
                h.aliases_of(n),
            )
        )
    return out


class ListRow(NamedTuple):
    name: str
    type: str
    path: str | None
    version: int | None
    latest: int | None
    size: int
    files: int
    description: str | None


def ls(project: Project) -> list[ListRow]:
    hist = ver.histories(project)
    rows = []
    names = sorted(set(project.names()) | set(hist))
    for name in names:
        h = hist.get(name)
        m = project.read_manifest(name, entries=False)
        if m is None:
            assert h is not None
            latest = max(h.versions) if h.versions else None
            if latest is None:
                continue
            s = ver.summaries(project, name, [h.versions[latest]])[h.versions[latest]]
            if s is None:
                continue
            rows.append(ListRow(name, s.type, None, None, latest, s.size, s.files, None))
            continue
        version = ver.digest_versions(project, h).get(m.digest) if h else None
        latest_n = max(h.versions) if h and h.versions else None
        rows.append(
            ListRow(name, m.type, m.path, version, latest_n, m.size, m.files, m.description)
        )
    return rows


def show(project: Project, spec: str) -> dict[str, Any]:
    r = resolve(project, spec)
    m = r.manifest
    h = ver.histories(project).get(m.name)
    return {
        "name": m.name,
        "type": m.type,
        "version": f"v{r.version}" if r.version is not None else None,
        "aliases": h.aliases_of(r.version) if h and r.version is not None else [],
        "commit": r.commit,
        "digest": m.digest,
        "description": m.description,
        "metadata": m.metadata,
        "path": m.path,
        "size": m.size,
        "files": m.files,
        "ttl": m.ttl,
        "listing": m.listing,
        "entries": {p: e._asdict() for p, e in (m.entries or {}).items()},
    }


# ---------------------------------------------------------------- aliases


def alias(project: Project, spec: str, alias_name: str) -> str:
    """Point `alias_name` at the version `spec` resolves to. Returns a message."""
    mf.validate_alias(alias_name)
    r = resolve(project, spec, entries=False)
    name = r.manifest.name
    if r.version is None:
        if r.commit is not None:
            raise UsageError(
                f"{spec} is not a version of {name}",
                "aliases point at versions; see git artifacts log",
            )
        if alias_name != LATEST:  # the staged version gets `latest` when committed
            project.state.add_pending_alias(name, r.manifest.digest, alias_name)
        return f"{name}:{alias_name} will point at {name}'s staged version once it is committed"
    if alias_name == LATEST:
        _check_latest(project, name, r.version, spec)
    events.set_alias(project, name, r.version, alias_name)
    return f"{name}:{alias_name} -> v{r.version}"


def _check_latest(project: Project, name: str, n: int, spec: str) -> None:
    """`latest` is the tool's (as in W&B): it names the version logged last and moves by
    itself; naming it is fine where it already points, and refused elsewhere."""
    h = ver.histories(project).get(name, ver.History(name))
    at = h.aliases.get(LATEST)
    if at is not None and at == h.versions.get(n):
        return
    now = h.version_of_commit(at) if at is not None else None
    raise UsageError(
        "'latest' is kept by the tool: it points at the version logged last"
        + (f" (v{now})" if now is not None else ""),
        f"name v{n} with an alias of your own, e.g. git artifacts alias {spec} production",
    )


def delete_alias(project: Project, name: str, alias_name: str) -> str:
    if alias_name == LATEST:
        raise UsageError(
            "'latest' is kept by the tool", "point another alias instead, or delete a custom one"
        )
    events.delete_alias(project, name, alias_name)
    project.state.clear_pending_alias(name, alias_name)
    return f"deleted alias {name}:{alias_name}"


# ---------------------------------------------------------------- checkout and get


class CheckoutResult(NamedTuple):
    name: str
    version: int | None
    written: int
    deleted: int
    path: str


def checkout(
    project: Project,
    specs: Sequence[str] = (),
    *,
    link: str | None = None,
    force: bool = False,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
    fetcher: ws.Fetcher | None = None,
) -> list[CheckoutResult]:
    """Make the work tree hold these versions (default: what its manifests name); with a
    `fetcher`, objects the cache lacks are fetched (see `workspace.materialize`)."""
    link = link or project.repo.config_get("artifacts.link") or "copy"
    _check_link(link)
    targets: list[tuple[Resolved, mf.Manifest | None]] = []
    for spec in specs or project.names():
        r = resolve(project, spec)
        current = project.read_manifest(r.manifest.name, entries=False)
        if current is not None and current.digest == r.manifest.digest:
            current = r.manifest  # one copy of a large listing, not two
        elif current is not None:
            project.load_entries(current)
        if r.manifest.path is None and not specs:
            continue  # nothing of it lives in the workspace
        if r.manifest.path is None:
            raise UsageError(
                f"{r.manifest.name} has no workspace path",
                f"download it with git artifacts get {spec} -o DIR",
            )
        targets.append((r, current))
    out = []
    for r, current in targets:
        m = r.manifest
        assert m.path is not None and m.entries is not None
        manage = ws.tops(current.entries or {}) if current and current.path == m.path else []
        plan, after = ws.materialize(
            project.state,
            project.cache,
            m.entries,
            base=str(project.root / m.path),
            path=m.path,
            root=str(project.root),
            manage=manage,
            link=link,
            force=force,
            what=m.path,
            progress=progress,
            fetch_ref=ref_fetcher(project, allow_changed_references),
            fetcher=fetcher,
            ignore=project.ignore_for(m.path),
        )
        if current is None or current.digest != m.digest:
            rel = project.write_manifest(m)
            project.repo.stage([rel])
        ignore_changed = ensure_ignored(project, m.path, ws.tops(m.entries))
        if ignore_changed:
            project.repo.stage([".gitignore"])
        _remember_workspace(project, m, after.fingerprint if after else None)
        owned = ws.tops(m.entries)
        where = _join(m.path, owned[0]) if len(owned) == 1 else m.path
        out.append(CheckoutResult(m.name, r.version, len(plan.write), len(plan.delete), where))
    return out


def default_download_dir(r: Resolved) -> str:
    root = os.environ.get("GITARTIFACTS_DIR", "artifacts")
    label = f"v{r.version}" if r.version is not None else r.manifest.digest[7:15]
    return os.path.join(root, f"{r.manifest.name}-{label}")


def get(
    project: Project,
    spec: str,
    out: str | None = None,
    *,
    link: str = "copy",
    force: bool = False,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
) -> tuple[str, int]:
    """Download a version into a folder: never deletes, skips files that already match,
    replaces a changed file only when its bytes are in the cache (else only with `force`)."""
    _check_link(link)
    r, fetcher = _resolve_fetched(project, spec)
    target = os.path.abspath(out or default_download_dir(r))
    written = _into_folder(
        project,
        r,
        target,
        exact=False,
        link=link,
        force=force,
        allow_changed=allow_changed_references,
        progress=progress,
        fetcher=fetcher,
    )
    return target, written


def checkout_root(
    project: Project,
    spec: str,
    root: str,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
) -> str:
    """Make `root` hold exactly the version: files not in it are removed (W&B's checkout)."""
    r, fetcher = _resolve_fetched(project, spec)
    target = os.path.abspath(root)
    _into_folder(
        project,
        r,
        target,
        exact=True,
        force=True,  # W&B's checkout: `root` becomes the version, whatever was there
        allow_changed=allow_changed_references,
        progress=progress,
        fetcher=fetcher,
    )
    return target


def _resolve_fetched(project: Project, spec: str) -> tuple[Resolved, transfer.ObjectFetcher | None]:
    """A version with its entries, fetching what the local cache lacks (as W&B's download).
    From a folder remote the objects are left to the fetcher returned (see `ws.materialize`)."""
    from gitartifacts.tracking import code

    r = resolve(project, spec, entries=False)
    fetcher = transfer.fetch_for(project, [r.manifest], defer=not code.is_code(r.manifest))
    project.load_entries(r.manifest)
    return r, fetcher


def _into_folder(
    project: Project,
    r: Resolved,
    target: str,
    *,
    exact: bool,
    link: str = "copy",
    force: bool = False,
    allow_changed: bool = False,
    progress: Progress | None = None,
    fetcher: transfer.ObjectFetcher | None = None,
) -> int:
    """Files of a version into any folder; `exact` also removes what is not in it."""
    from gitartifacts.tracking import code

    if code.is_code(r.manifest):
        os.makedirs(target, exist_ok=True)
        return code.materialize(project, r.manifest, target)
    assert r.manifest.entries is not None
    plan, _ = ws.materialize(
        project.state,
        project.cache,
        r.manifest.entries,
        base=target,
        path=target,
        manage=_names_in(target) if exact else (),
        delete_extra=exact,
        link=link,
        force=force,
        what=target,
        progress=progress,
        fetch_ref=ref_fetcher(project, allow_changed),
        fetcher=fetcher,
        conflict_fix="choose another folder with -o, or pass --force to replace them",
    )
    os.makedirs(target, exist_ok=True)  # even for a version with no files
    if fetcher is not None:
        fetcher.record()
    return len(plan.write)


def _names_in(folder: str) -> list[str]:
    """What a folder holds, but for temporary files a checkout may be writing there."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if not n.startswith(ws.TMP_PREFIX))


def _check_link(link: str) -> None:
    if link not in ("copy", "reflink", "hardlink", "symlink"):
        raise UsageError(f"unknown link type {link!r}", "use copy, reflink, hardlink or symlink")


# ---------------------------------------------------------------- verify


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
        names = sorted(os.listdir(base)) if root and os.path.isdir(base) else ws.tops(entries)
        scan = ws.scan(
            base,
            names,
            what=root or m.path or "",
            ignore=None if root else project.ignore_for(m.path),
        )
        files = {p: sha256_file(os.path.join(base, p))[0] for p in scan.files}
        diff = ws.compare(entries, files)
        problems += [Problem(p, "modified") for p in diff.modified]
        problems += [Problem(p, "missing") for p in diff.deleted]
        problems += [Problem(p, "not a member") for p in diff.added]
    return r, problems


# ---------------------------------------------------------------- diff


def diff(project: Project, a: str | None = None, b: str | None = None) -> list[adiff.ArtifactDiff]:
    """Per-artifact changes from A to B: git revisions, ranges (`main...HEAD`) or name:spec.

    Default: HEAD against the work tree's manifests.
    """
    if a is not None and b is None and ".." in a and ":" not in a:
        left, _, right = a.partition("...") if "..." in a else a.partition("..")
        if "..." in a:
            base = project.repo.run("merge-base", left or "HEAD", right or "HEAD").strip()
            a, b = base, right or "HEAD"
        else:
            a, b = left or "HEAD", right or "HEAD"
    old = _diff_side(project, a or "HEAD")
    new = _diff_side(project, b)
    # Naming an artifact (name:spec) on either side restricts the diff to that artifact.
    focus = {name for side, spec in ((old, a), (new, b)) if spec and ":" in spec for name in side}
    out = []
    for name in sorted(focus or set(old) | set(new)):
        o, n = old.get(name), new.get(name)
        d = adiff.diff_manifests(
            o[0] if o else None, n[0] if n else None, o[1] if o else None, n[1] if n else None
        )
        if d.changed or focus:
            out.append(d)
    return out


def _diff_side(project: Project, spec: str | None) -> dict[str, tuple[mf.Manifest, str]]:
    hist = ver.histories(project)

    def label(m: mf.Manifest, where: str) -> str:
        h = hist.get(m.name)
        n = ver.digest_versions(project, h).get(m.digest) if h else None
        return f"v{n}" if n is not None else where

    if spec is None:
        out = {}
        for name in project.names():
            m = project.read_manifest(name)
            if m is not None:
                out[name] = (m, label(m, "work tree"))
        return out
    if ":" in spec:
        r = resolve(project, spec)
        return {r.manifest.name: (r.manifest, label(r.manifest, spec))}
    commit = project.repo.rev_parse(spec + "^{commit}")
    if commit is None:
        if project.manifest_file(spec).exists() or spec in hist:
            r = resolve(project, spec)
            return {r.manifest.name: (r.manifest, label(r.manifest, "work tree"))}
        raise NotFoundError(
            f"{spec!r} is neither a git revision nor an artifact",
            "use a revision, a range or name:spec",
        )
    blobs = project.repo.ls_tree(commit, mf.MANIFEST_DIR)
    data = project.repo.cat_blobs(blobs.values())
    out = {}
    for path, sha in blobs.items():
        raw = data.get(sha)
        if raw is None or not path.endswith(".yaml"):
            continue
        m = project.parse_manifest(raw, f"{spec}:{path}")
        out[m.name] = (m, label(m, spec))
    return out


# ---------------------------------------------------------------- pull


def pull(
    project: Project,
    specs: Sequence[str] = (),
    *,
    remote_name: str | None = None,
    jobs: int = transfer.JOBS,
    link: str | None = None,
    force: bool = False,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
) -> tuple[transfer.FetchResult, list[CheckoutResult]]:
    """fetch, then checkout.

    From a folder remote the two are one pass: the checkout fetches each object it lacks as
    it comes to it and writes the new file from the bytes it fetched, so that every object
    is read once, not twice (from the remote, then from the cache). What the checkout does
    not need (versions not in the work tree) is fetched after it, as by `fetch`.
    """
    plan = transfer.plan_fetch(project, specs, remote_name=remote_name)
    fetcher = transfer.ObjectFetcher.for_remote(project, plan.remote, plan.manifests, jobs)

    def fetch_rest() -> int:
        n = transfer.fetch_manifests(project, plan.remote, plan.manifests, jobs, progress)
        return n + (fetcher.record() if fetcher else 0)

    # Over the network, everything is fetched first (batched), as by `fetch`.
    downloaded = 0 if fetcher else fetch_rest()
    try:
        rows = checkout(
            project,
            specs,
            link=link,
            force=force,
            allow_changed_references=allow_changed_references,
            progress=progress,
            fetcher=fetcher,
        )
    except ConflictError:
        if fetcher:
            fetch_rest()  # the fetch half is done even when local changes stop the checkout
        raise
    if fetcher:
        downloaded = fetch_rest()
    fetched = transfer.FetchResult(plan.remote.name, len(plan.manifests), downloaded, plan.messages)
    return fetched, rows
