"""Read-only views of versions: `log`, `ls`, `show`, `diff`."""

from __future__ import annotations

from typing import Any, NamedTuple

from gitartifacts.core import diff as adiff
from gitartifacts.core import manifest as mf
from gitartifacts.core.names import validate_artifact_name
from gitartifacts.errors import NotFoundError
from gitartifacts.gitmodel import edits, lifecycle
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import version_label
from gitartifacts.gitmodel.resolve import resolve, unknown_artifact


class VersionInfo(NamedTuple):
    version: str  # `vN`
    commit: str
    digest: str
    size: int
    files: int
    date: str
    aliases: list[str]
    tags: list[str]  # as the version's edit events left them
    gone: str | None = None  # "deleted" or "expired" (listed only by `log --all`)


def log(project: Project, name: str, all_versions: bool = False) -> list[VersionInfo]:
    """Versions of `name`, newest first; deleted and expired ones only with `all_versions`."""
    validate_artifact_name(name)
    h = ver.histories(project).get(name)
    if h is None or not h.versions:
        if project.manifest_file(name).exists():
            return []
        raise unknown_artifact(project, name)
    import datetime as dt

    gone = lifecycle.gone_of(project, h)
    numbers = sorted((n for n in h.versions if all_versions or n not in gone), reverse=True)
    commits = [h.versions[n] for n in numbers]
    sums = ver.summaries(project, name, commits)
    info = project.repo.commit_info(commits)
    tags = _tags(project, name, {c: s.digest for c, s in sums.items() if s is not None})
    out = []
    for n in numbers:
        c = h.versions[n]
        s = sums[c]
        ts = info.get(c, (0, ""))[0]
        out.append(
            VersionInfo(
                f"v{n}",
                c,
                s.digest if s else "?",
                s.size if s else 0,
                s.files if s else 0,
                dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds"),
                h.aliases_of(n),
                tags.get(c, []),
                gone[n].reason if n in gone else None,
            )
        )
    return out


class ListRow(NamedTuple):
    name: str
    type: str
    path: str | None
    version: str | None  # `vN` of the work tree's manifest, None when not committed
    latest: str | None  # `vN` of the newest version
    size: int
    files: int
    description: str | None


def ls(project: Project) -> list[ListRow]:
    """Every artifact; `latest` is its newest version that is neither deleted nor expired."""
    hist = ver.histories(project)
    gone = lifecycle.gone(project)
    rows = []
    names = sorted(set(project.names()) | set(hist))
    for name in names:
        h = hist.get(name)
        live = [n for n in (h.versions if h else ()) if (name, n) not in gone]
        m = project.read_manifest(name, entries=False)
        if m is None:
            latest = max(live, default=None)
            if h is None or latest is None:
                continue
            s = ver.summaries(project, name, [h.versions[latest]])[h.versions[latest]]
            if s is None:
                continue
            rows.append(
                ListRow(name, s.type, None, None, version_label(latest), s.size, s.files, None)
            )
            continue
        version = ver.digest_versions(project, h).get(m.digest) if h else None
        latest_n = max(live, default=None)
        rows.append(
            ListRow(
                name,
                m.type,
                m.path,
                version_label(version),
                version_label(latest_n),
                m.size,
                m.files,
                m.description,
            )
        )
    return rows


class Expiring(NamedTuple):
    name: str
    version: str  # `vN`
    expires: str  # ISO 8601, UTC
    ttl: str


def expiring(project: Project, within: str) -> list[Expiring]:
    """Versions (not deleted, not yet expired) whose TTL runs out within `within` (`7d`),
    soonest first."""
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    limit = now + dt.timedelta(seconds=lifecycle.duration_seconds(within, "--expiring"))
    rows = []
    for name, h in sorted(ver.histories(project).items()):
        for n, life in lifecycle.lives(project, h).items():
            if life.deleted is None and life.expires is not None and now < life.expires <= limit:
                when = life.expires.isoformat(timespec="seconds")
                rows.append(Expiring(name, f"v{n}", when, life.ttl or ""))
    return sorted(rows, key=lambda r: (r.expires, r.name, r.version))


def show(project: Project, spec: str) -> dict[str, Any]:
    r = resolve(project, spec)
    m = r.manifest
    h = ver.histories(project).get(m.name)
    return {
        "name": m.name,
        "type": m.type,
        "version": version_label(r.version),
        "aliases": h.aliases_of(r.version) if h and r.version is not None else [],
        "tags": list(r.tags),
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


def _tags(project: Project, name: str, versions: dict[str, str]) -> dict[str, list[str]]:
    """Tags of versions (commit -> digest) from their edit events, in one git read."""
    found = edits.histories_of(project, name, versions)
    none = edits.Values(None, {}, [], None)
    return {c: edits.fold(none, evs).tags for c, evs in found.items() if evs}
