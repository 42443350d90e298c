"""`edit` and the save of an edited logged version: description, metadata, tags, ttl and
aliases change through events (see `gitmodel.edits`); the digest and the version stay."""

from __future__ import annotations

from typing import Any, NamedTuple

from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import edits, events, lifecycle
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import LATEST
from gitartifacts.gitmodel.resolve import Resolved, resolve


class Change(NamedTuple):
    """What an `edit` asks for; None or empty leaves a field as it is."""

    description: str | None = None  # "" clears it
    metadata: dict[str, Any] | None = None  # replaces every key
    set_metadata: dict[str, Any] | None = None  # sets these keys
    unset_metadata: tuple[str, ...] = ()  # removes these keys (each must be there)
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()  # each must be there
    ttl: str | None = None  # "none" clears it


class Edited(NamedTuple):
    """A version after an edit, and the event written (None: nothing changed)."""

    name: str
    version: int
    values: edits.Values
    event: dict[str, Any] | None


def edit(project: Project, spec: str, change: Change) -> Edited:
    """Apply `change` to the version `spec` names as one edit event; nothing when it changes
    nothing. Bad input raises before anything is written."""
    r = version(project, spec)
    assert r.version is not None
    old = current(r)
    new = edits.check(_applied(old, change, spec))
    _check_ttl(project, r.manifest.digest, old, new)
    line = edits.edit_line(r.manifest.name, r.version, r.manifest.digest, old, new)
    h = ver.histories(project)[r.manifest.name]
    edits.write(project, h, r.version, line)
    return Edited(r.manifest.name, r.version, new, line)


def save_version(
    project: Project,
    name: str,
    n: int,
    digest: str,
    old: tuple[edits.Values, list[str]],
    new: tuple[edits.Values, list[str]],
) -> bool:
    """Write what differs between `old` and `new` (values, aliases) of version `n` of `name`
    as events, alias moves included, in one transaction. Returns whether anything changed."""
    values = edits.check(new[0])
    h = ver.histories(project).get(name)
    if h is None or n not in h.versions:
        raise NotFoundError(f"{name}:v{n} does not exist", f"see git artifacts log {name}")
    _check_ttl(project, digest, old[0], values)
    line = edits.edit_line(name, n, digest, old[0], values)
    added = [a for a in dict.fromkeys(new[1]) if a not in old[1]]
    removed = [a for a in old[1] if a not in new[1]]
    if LATEST in added:
        events.check_latest(h, n)
    moves = [*((a, True) for a in added), *((a, False) for a in removed)]
    return edits.write(project, h, n, line, moves)


def version(project: Project, spec: str) -> Resolved:
    """The version `spec` names, with its edits folded in; `NotFoundError` if it is none."""
    r = resolve(project, spec, entries=False)
    if r.version is None:
        raise NotFoundError(
            f"{spec} is not a version of {r.manifest.name}",
            "edits apply to logged versions; see git artifacts log",
        )
    if r.source != f"{r.manifest.name}:v{r.version}":
        r = resolve(project, f"{r.manifest.name}:v{r.version}", entries=False)
    return r


def current(r: Resolved) -> edits.Values:
    """A resolved version's values as they stand, edits included."""
    m = r.manifest
    return edits.Values(m.description, dict(m.metadata), list(r.tags), m.ttl)


def history(project: Project, spec: str) -> list[edits.Event]:
    """The edits and alias moves of the version `spec` names, in order."""
    r = version(project, spec)
    assert r.commit is not None
    return edits.history(project, r.manifest.name, r.commit, r.manifest.digest)


def _check_ttl(project: Project, digest: str, old: edits.Values, new: edits.Values) -> None:
    """A version linked in the registry carries no TTL (W&B: linking disables it)."""
    if new.ttl is not None and new.ttl != old.ttl and lifecycle.linked(project, digest):
        raise UsageError(*lifecycle.LINKED_TTL)


def _applied(old: edits.Values, change: Change, spec: str) -> edits.Values:
    meta = dict(old.metadata if change.metadata is None else change.metadata)
    meta.update(change.set_metadata or {})
    for key in change.unset_metadata:
        if key not in meta:
            raise UsageError(f"{spec} has no metadata key {key!r}", "see git artifacts show")
        del meta[key]
    tags = list(old.tags)
    for tag in change.remove_tags:
        if tag not in tags:
            raise UsageError(f"{spec} has no tag {tag!r}", "see git artifacts show")
        tags.remove(tag)
    tags += [t for t in change.add_tags if t not in tags]
    description = old.description
    if change.description is not None:
        description = change.description or None
    ttl = old.ttl
    if change.ttl is not None:
        ttl = None if change.ttl.lower() == "none" else change.ttl
    return edits.Values(description, meta, tags, ttl)
