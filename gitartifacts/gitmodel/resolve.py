"""Resolving a spec (`name:vN`, `name:alias`, a digest prefix, `<rev>:name`, a registry link).

A version comes back with its edits folded in (`gitmodel.edits`): the current description,
metadata, ttl and tags, for the price of one more git read. A deleted or expired version
(`gitmodel.lifecycle`) is an error saying so; `latest` and a bare name skip such versions.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.names import is_artifact_name, validate_artifact_name
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import edits, lifecycle, projects, registry
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import (
    LATEST,
    is_registry_spec,
    version_number,
)
from gitartifacts.gitmodel.versions import (
    History,
    digest_versions,
    histories,
)

_DIGEST_PREFIX_RE = re.compile(r"^(sha256:)?[0-9a-f]{8,64}\Z")


class Resolved(NamedTuple):
    manifest: mf.Manifest
    version: int | None  # None: not (yet) a version, e.g. an uncommitted manifest
    commit: str | None  # None: the work tree
    source: str  # what was asked for, for messages
    tags: tuple[str, ...] = ()  # a version's tags (edit events); none elsewhere
    # The source project as specs name it (`NAME/` or `<url>#`); None: this repository.
    # `commit` is then a commit of the project's mirror (`gitmodel.projects`).
    origin: str | None = None


def resolve(project: Project, spec: str, entries: bool = True) -> Resolved:
    """`name`, `name:vN`, `name:alias`, `name:<digest prefix>`, `<git rev>:name`, a registry
    link `registry/<collection>:<vN or alias>`, or any of these (but a rev) in another
    repository: `PROJECT/name:spec`, `ENTITY/PROJECT/name:spec`, `<url>#name:spec`."""
    foreign = projects.parse_spec(project.root, spec)
    if foreign is not None:
        return resolve_foreign(project, foreign, spec, entries)
    if is_registry_spec(spec):
        link = registry.resolve(project, spec)
        h = histories(project).get(link.source)
        n = digest_versions(project, h).get(link.digest) if h else None
        if n is None:
            raise NotFoundError(
                f"{spec} links {link.source} {link.digest[:19]}, which has no version here",
                "git artifacts fetch",
            )
        return resolve(project, f"{link.source}:v{n}", entries)
    name, _, selector = spec.partition(":")
    if not selector:
        return _resolve_worktree(project, spec, entries)
    name_ok = is_artifact_name(name)
    known = name_ok and (name in project.names() or name in histories(project))
    if known:
        try:
            return _resolve_selector(project, name, selector, spec, entries)
        except NotFoundError:
            if not is_artifact_name(selector) or project.repo.rev_parse(name + "^{commit}") is None:
                raise
    rev, _, art = spec.rpartition(":")
    if is_artifact_name(art):
        commit = project.repo.rev_parse(rev + "^{commit}")
        if commit is not None:
            return _resolve_at_commit(project, art, commit, spec, entries)
    if 1 <= name.count("/") <= 2 and not name.startswith("/"):
        raise projects.unknown(spec)
    if not name_ok:
        raise UsageError(
            f"cannot read artifact spec {spec!r}",
            "use name, name:vN, name:alias, name:<digest prefix> or <git rev>:name",
        )
    raise unknown_artifact(project, name)


def unknown_artifact(
    project: Project, name: str, fix: str = "see git artifacts ls for the artifacts here"
) -> NotFoundError:
    """`no artifact NAME`, with the names of this repository closest to it as the fix (as
    git suggests a verb), else `fix`."""
    import difflib

    known = sorted(set(project.names()) | set(histories(project)))
    near = difflib.get_close_matches(name, known, n=3)
    shown = name if is_artifact_name(name) else repr(name)
    if near:
        return NotFoundError(f"no artifact {shown}", f"did you mean {' or '.join(near)}?")
    return NotFoundError(f"no artifact {shown}", fix)


def resolve_foreign(
    project: Project, foreign: projects.ForeignSpec, spec: str, entries: bool = True
) -> Resolved:
    """A version of a source project, read from its mirror (fetched when it is missing, and
    once more when the mirror does not have what the spec names: it may be newer there)."""
    fetched = not (projects.mirror_dir(project, foreign.project) / "HEAD").is_file()
    mirror = projects.open_mirror(project, foreign.project)
    try:
        try:
            r = resolve(mirror, foreign.spec, entries)
        except NotFoundError:
            if fetched:
                raise
            projects.fetch(project, foreign.project)
            mirror.repo.refs_moved()
            r = resolve(mirror, foreign.spec, entries)
    except NotFoundError as exc:
        # The project's own listing of versions helps; advice about this repository does not.
        listing = exc.fix if exc.fix and "git artifacts" not in exc.fix else None
        raise NotFoundError(
            f"in project {foreign.project.name}: {exc.message}",
            listing or "check the artifact name and version; git artifacts fetch --projects",
        ) from None
    finally:
        mirror.close()
    return r._replace(source=spec, origin=foreign.prefix)


def _resolve_worktree(project: Project, name: str, entries: bool) -> Resolved:
    validate_artifact_name(name)
    m = project.read_manifest(name, entries=entries)
    if m is None:
        if name in histories(project):
            return _resolve_selector(project, name, LATEST, name, entries)
        raise unknown_artifact(
            project, name, "see git artifacts ls, or create it with git artifacts add"
        )
    h = histories(project).get(name)
    version = digest_versions(project, h).get(m.digest) if h else None
    commit = h.versions[version] if h and version is not None else None
    return Resolved(m, version, commit, name)


def _resolve_selector(
    project: Project, name: str, selector: str, spec: str, entries: bool
) -> Resolved:
    h = histories(project).get(name, History(name))
    n = version_number(selector)
    if n is not None:
        if n not in h.versions:
            raise NotFoundError(
                f"{name}:{selector} does not exist",
                f"versions of {name}: {_listing(h)}"
                if h.versions
                else f"{name} has no committed version yet; commit its manifest",
            )
        return _resolve_version(project, h, n, spec, entries)
    if selector in h.aliases:
        commit = h.aliases[selector]
        at = h.version_of_commit(commit)
        if at is not None and not (selector == LATEST and _gone(project, h, at)):
            return _resolve_version(project, h, at, spec, entries)
        if at is None:
            return _resolve_at_commit(project, name, commit, spec, entries)
    if _DIGEST_PREFIX_RE.match(selector):
        prefix = selector if selector.startswith("sha256:") else "sha256:" + selector
        matches = {n for d, n in digest_versions(project, h).items() if d.startswith(prefix)}
        if len(matches) == 1:
            return _resolve_version(project, h, matches.pop(), spec, entries)
        if len(matches) > 1:
            listed = ", ".join(f"v{n}" for n in sorted(matches))
            raise UsageError(
                f"digest prefix {selector!r} matches versions {listed} of {name}",
                "give more hex digits",
            )
    if selector == LATEST and h.versions:
        # `latest` was removed (by hand, or with its deleted version): as W&B does, the newest
        # version still there is the latest.
        gone = lifecycle.gone_of(project, h)
        live = [n for n in h.versions if n not in gone]
        if live:
            return _resolve_version(project, h, max(live), spec, entries)
        raise NotFoundError(
            f"every version of {name} was deleted or has expired",
            f"log a new version of {name}; see git artifacts log {name} --all",
        )
    if selector == LATEST:
        raise NotFoundError(
            f"{name} has no committed version yet",
            f"commit {mf.manifest_path(name)} with git commit, or use {name} for the work tree",
        )
    raise NotFoundError(
        f"{spec!r}: {name} has no version, alias or digest {selector!r}",
        f"see git artifacts log {name}",
    )


def _resolve_version(project: Project, h: History, n: int, spec: str, entries: bool) -> Resolved:
    lifecycle.check_live(project, h, n)
    commit = h.versions[n]
    r = _resolve_at_commit(project, h.name, commit, spec, entries)
    m, tags = edits.edited(project, r.manifest, commit)
    return Resolved(m, n, commit, spec, tuple(tags))


def _resolve_at_commit(
    project: Project, name: str, commit: str, spec: str, entries: bool
) -> Resolved:
    path = mf.manifest_path(name)
    data = project.repo.show_file(commit, path)
    if data is None:
        raise NotFoundError(
            f"{spec!r}: commit {commit[:10]} has no {path}", "check the revision and the name"
        )
    m = project.parse_manifest(data, f"{commit[:10]}:{path}", entries=entries)
    h = histories(project).get(name)
    version = digest_versions(project, h).get(m.digest) if h else None
    return Resolved(m, version, commit, spec)


def _gone(project: Project, h: History, n: int) -> bool:
    return n in lifecycle.gone_of(project, h, [n])


def _listing(h: History) -> str:
    nums = sorted(h.versions)
    shown = (
        ", ".join(f"v{n}" for n in nums)
        if len(nums) <= 8
        else f"v{nums[0]} to v{nums[-1]} ({len(nums)} versions)"
    )
    aliases = sorted(h.aliases)
    more = f" and {len(aliases) - 8} more" if len(aliases) > 8 else ""
    return shown + ("; aliases: " + ", ".join(aliases[:8]) + more if aliases else "")
