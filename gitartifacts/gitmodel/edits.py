"""Edit events of logged versions: description, metadata, tags and ttl changed without a new
version, as JSON lines in the note on the version's commit, folded in order by readers.

One line per edit, carrying only what it changed (metadata key by key), so the notes of two
clones merge with `cat_sort_uniq` and both edits survive. Readers take the lines of one
version in the order (t, the line's bytes), the same in every clone, and skip a line that does
not validate: notes arrive from other clones and are untrusted.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import events
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.repo import ZERO
from gitartifacts.gitmodel.versions import History

EDIT = "edit"
ALIAS = "alias"
MAX_TAGS = 100
# What an edit line may carry besides who, when and which version.
FIELDS = ("description", "metadata", "tags", "ttl")


class Values(NamedTuple):
    """What an edit can change of a version."""

    description: str | None
    metadata: dict[str, Any]
    tags: list[str]
    ttl: str | None


class Event(NamedTuple):
    """One validated line of a version's history: an edit or an alias move."""

    t: int  # nanoseconds since the epoch, as the writer's clock had it
    who: str | None
    record: dict[str, Any]  # the line as written


def values_of(m: mf.Manifest) -> Values:
    """A manifest's own values, before any edit (a manifest holds no tags)."""
    return Values(m.description, copy.deepcopy(m.metadata), [], m.ttl)


def check(v: Values) -> Values:
    """New values as a manifest would accept them; raises `UsageError` naming the problem."""
    if v.description is not None and not isinstance(v.description, str):
        raise UsageError(f"description {v.description!r} is not text", "pass a string or None")
    meta = mf.validate_metadata(dict(v.metadata) if isinstance(v.metadata, dict) else v.metadata)
    if v.ttl is not None and (not isinstance(v.ttl, str) or not mf.TTL_RE.match(v.ttl)):
        raise UsageError(
            f"invalid ttl {v.ttl!r}", "use a number and a unit s, m, h, d or w, e.g. 30d; or None"
        )
    return Values(v.description, meta, check_tags(v.tags), v.ttl)


def check_tags(tags: object) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise UsageError(f"tags must be a list of strings, not {tags!r}", "e.g. ['raw', 'v2']")
    out = list(dict.fromkeys(mf.validate_name(t, "tag") for t in tags))
    if len(out) > MAX_TAGS:
        raise UsageError(f"{len(out)} tags", f"keep at most {MAX_TAGS}")
    return out


def edit_line(name: str, n: int, digest: str, old: Values, new: Values) -> dict[str, Any] | None:
    """The event that takes a version from `old` to `new` (only what differs), or None."""
    ev: dict[str, Any] = {}
    if new.description != old.description:
        ev["description"] = new.description
    unset = sorted(k for k in old.metadata if k not in new.metadata)
    put = {k: v for k, v in new.metadata.items() if k not in old.metadata or old.metadata[k] != v}
    if unset or put:
        ev["metadata"] = {"set": put, "unset": unset}
    if new.tags != old.tags:
        ev["tags"] = list(new.tags)
    if new.ttl != old.ttl:
        ev["ttl"] = new.ttl
    if not ev:
        return None
    head = {"ev": EDIT, "name": name, "version": f"v{n}", "digest": digest}
    return {**head, "t": time.time_ns(), "who": events.who(), **ev}


def write(
    project: Project,
    h: History,
    n: int,
    line: dict[str, Any] | None,
    aliases: Iterable[tuple[str, bool]] = (),
) -> bool:
    """Record an edit line and alias changes ((alias, True) adds, False removes) of version
    `n` of `h` in one transaction: the line, the alias refs and their events all land or none.
    Returns whether anything was written."""
    commit = h.versions[n]
    # An alias that left this version meanwhile is not this version's to remove.
    moves = [
        (a, commit if add else ZERO) for a, add in aliases if add or h.aliases.get(a) == commit
    ]
    moves = [(a, c) for a, c in moves if h.aliases.get(a) != c]
    if line is None and not moves:
        return False
    events.move_aliases(project, h.name, moves, h, {commit: [line]} if line else None)
    return True


def history(project: Project, name: str, commit: str, digest: str) -> list[Event]:
    """The edits and alias moves of one version, in folding order; one git read."""
    lines = run_notes.read_lines(project.repo, [commit])[commit]
    return events_in(lines, name, digest)


def histories_of(project: Project, name: str, versions: dict[str, str]) -> dict[str, list[Event]]:
    """`history` of many versions (commit -> digest) in one git read."""
    notes = run_notes.read_lines(project.repo, versions)
    return {c: events_in(notes[c], name, d) for c, d in versions.items()}


def fold(base: Values, history: Iterable[Event]) -> Values:
    """The values after every edit of `history`, in order, over `base`. An edit that would
    leave metadata a manifest refuses (more than 100 keys, say) is skipped as a whole."""
    description, metadata, tags, ttl = base.description, dict(base.metadata), base.tags, base.ttl
    for e in history:
        rec = e.record
        if rec.get("ev") != EDIT:
            continue
        if "metadata" in rec:
            trial = {k: v for k, v in metadata.items() if k not in rec["metadata"]["unset"]}
            trial.update(rec["metadata"]["set"])
            if len(trial) > mf.MAX_METADATA_KEYS:
                continue
            metadata = trial
        description = rec.get("description", description)
        tags = list(rec.get("tags", tags))
        ttl = rec.get("ttl", ttl)
    return Values(description, metadata, tags, ttl)


def edited(project: Project, m: mf.Manifest, commit: str) -> tuple[mf.Manifest, list[str]]:
    """Version manifest `m` (held by `commit`) with its edits folded in, and its tags."""
    v = fold(values_of(m), history(project, m.name, commit, m.digest))
    return dataclasses.replace(m, description=v.description, metadata=v.metadata, ttl=v.ttl), v.tags


def events_in(lines: list[tuple[str, dict[str, Any]]], name: str, digest: str) -> list[Event]:
    """The valid events of `name` (edits: of `digest`) among a note's lines, by (t, bytes)."""
    keyed = []
    for text, rec in lines:
        if rec.get("name") != name or not _valid(rec, digest):
            continue
        keyed.append(((rec["t"], text.encode()), Event(rec["t"], rec.get("who"), rec)))
    return [e for _, e in sorted(keyed, key=lambda k: k[0])]


def _valid(rec: dict[str, Any], digest: str) -> bool:
    t, who = rec.get("t"), rec.get("who")
    if type(t) is not int or t < 0 or not (who is None or isinstance(who, str)):
        return False
    if rec.get("ev") == ALIAS:
        return isinstance(rec.get("alias"), str) and all(
            rec.get(k) is None or isinstance(rec.get(k), str) for k in ("from", "to")
        )
    if rec.get("ev") != EDIT or rec.get("digest") != digest:
        return False
    if not isinstance(rec.get("version"), str):
        return False
    return all(_valid_field(k, rec[k]) for k in FIELDS if k in rec)


def _valid_field(key: str, value: Any) -> bool:
    if key == "description":
        return value is None or isinstance(value, str)
    if key == "ttl":
        return value is None or (isinstance(value, str) and bool(mf.TTL_RE.match(value)))
    try:
        if key == "tags":
            check_tags(value)
            return True
        put, unset = value["set"], value["unset"]
        mf.validate_metadata(put)
        return isinstance(unset, list) and all(isinstance(k, str) for k in unset)
    except (UsageError, TypeError, KeyError):
        return False
