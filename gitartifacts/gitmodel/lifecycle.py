"""Deletion and expiry of versions: delete events in the notes, TTLs measured from a version's
commit, and `gone`, the versions whose content nothing needs any more.

A deletion is a line `{"ev": "delete", "name", "version", "digest", "t", "who"}` in the note on
the version's commit. The version tag stays, so the number is never used again and the
deletion travels with the notes on push and fetch; there is no undelete line, so a deleted
version never comes back from another clone. A version expires when its TTL (the manifest's,
then its edit events folded in order) has passed since its commit's committer time; a version
linked in the registry never expires (linking disables the TTL, as in W&B).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.errors import ManifestError, NotFoundError, UsageError
from gitartifacts.gitmodel import edits, events, registry
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import REGISTRY_PREFIX, version_number
from gitartifacts.gitmodel.repo import ZERO
from gitartifacts.gitmodel.versions import History, histories, summaries

DELETE = "delete"
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# W&B's words (and a fix) for a TTL on a version linked in the registry.
LINKED_TTL = (
    "Cannot set TTL for link artifact. Unlink the artifact first then set the TTL for the "
    "source artifact",
    "a version linked in the registry never expires",
)


class Gone(NamedTuple):
    """Why a version is no longer there, since when, and (for a deletion) who did it."""

    reason: str  # "deleted" or "expired"
    when: dt.datetime  # UTC
    who: str | None
    digest: str


class Life(NamedTuple):
    """What decides the end of one version: its deletion, else its expiry."""

    deleted: tuple[int, str | None] | None  # (t in nanoseconds, who) of the first deletion
    expires: dt.datetime | None  # None: no TTL, or linked in the registry
    digest: str
    ttl: str | None  # as it stands, edits folded in


def gone(project: Project) -> dict[tuple[str, int], Gone]:
    """Every deleted or expired version of every artifact, from the tags and notes read once
    (one notes read, one commit read and one manifest read for all versions together)."""
    return _gone_of(project, list(histories(project).values()))


def gone_of(project: Project, h: History, numbers: Iterable[int] | None = None) -> dict[int, Gone]:
    """The deleted or expired versions of one artifact among `numbers` (default: all)."""
    found = _gone_of(project, [h], numbers)
    return {n: g for (_, n), g in found.items()}


def check_live(project: Project, h: History, n: int) -> None:
    """Raise `NotFoundError` saying when and by whom version `n` was deleted, or when it
    expired; nothing for a live version."""
    g = gone_of(project, h, [n]).get(n)
    if g is not None:
        raise gone_error(h.name, n, g)


def gone_error(name: str, n: int, g: Gone) -> NotFoundError:
    when = g.when.isoformat(timespec="seconds")
    if g.reason == "deleted":
        return NotFoundError(
            f"{name}:v{n} was deleted on {when} by {g.who or 'an unknown user'}",
            f"its number is not reused; see git artifacts log {name} for the others",
        )
    return NotFoundError(
        f"{name}:v{n} expired on {when}",
        f"its TTL ran out; see git artifacts log {name} for the others",
    )


def delete(project: Project, h: History, n: int, delete_aliases: bool) -> list[str]:
    """Record the deletion of version `n` (and remove its aliases, when allowed) in one
    transaction. A version with aliases is refused unless `delete_aliases` (W&B's rule).
    Returns the aliases removed."""
    check_deletable(h, n, delete_aliases)
    aliases = h.aliases_of(n)
    commit = h.versions[n]
    digest = summaries(project, h.name, [commit])[commit]
    line: dict[str, object] = {
        "ev": DELETE,
        "name": h.name,
        "version": f"v{n}",
        "digest": digest.digest if digest else None,
        "t": time.time_ns(),
        "who": events.who(),
    }
    events.move_aliases(project, h.name, [(a, ZERO) for a in aliases], h, {commit: [line]})
    return aliases


def check_deletable(h: History, n: int, delete_aliases: bool) -> None:
    """W&B's rule: a version with aliases is deleted only with `delete_aliases`."""
    aliases = h.aliases_of(n)
    if aliases and not delete_aliases:
        raise UsageError(
            f"cannot delete {h.name}:v{n}: it has aliases ({', '.join(aliases)})",
            "remove them first, or pass delete_aliases=True or --delete-aliases to remove them too",
        )


def ttl_seconds(ttl: str) -> int:
    """Seconds of a TTL in the manifest's format (`30d`, `12h`, `2w`)."""
    return duration_seconds(ttl, "ttl")


def duration_seconds(text: str, what: str) -> int:
    """Seconds of a duration `30d`, `12h`, `2w`; a `UsageError` naming `what` otherwise."""
    if not isinstance(text, str) or not mf.TTL_RE.match(text):
        raise UsageError(
            f"invalid {what} {text!r}", "use a number and a unit s, m, h, d or w, e.g. 30d"
        )
    return int(text[:-1]) * _SECONDS[text[-1]]


def ttl_text(seconds: int) -> str:
    """The manifest's spelling of a TTL of `seconds` (the largest unit that divides it)."""
    if seconds <= 0:
        raise UsageError(
            f"Artifact TTL Duration has to be positive. ttl: {seconds}", "e.g. timedelta(days=30)"
        )
    unit = next(u for u in "wdhms" if seconds % _SECONDS[u] == 0)
    return f"{seconds // _SECONDS[unit]}{unit}"


def lives(project: Project, h: History, numbers: Iterable[int] | None = None) -> dict[int, Life]:
    """Deletion and expiry of the versions `numbers` of one artifact (default: all)."""
    return {n: life for (_, n), life in _lives(project, [h], numbers).items()}


def linked(project: Project, digest: str) -> bool:
    """Whether a version with this digest is linked in the registry."""
    return digest in _linked_digests(project)


# ---------------------------------------------------------------- helpers


def _gone_of(
    project: Project, hs: list[History], numbers: Iterable[int] | None = None
) -> dict[tuple[str, int], Gone]:
    now = dt.datetime.now(dt.timezone.utc)
    out: dict[tuple[str, int], Gone] = {}
    for key, life in _lives(project, hs, numbers).items():
        if life.deleted is not None:
            t, who = life.deleted
            out[key] = Gone("deleted", _utc(t / 1e9), who, life.digest)
        elif life.expires is not None and life.expires <= now:
            out[key] = Gone("expired", life.expires, None, life.digest)
    return out


def _lives(
    project: Project, hs: list[History], numbers: Iterable[int] | None = None
) -> dict[tuple[str, int], Life]:
    """`Life` of versions of several artifacts: one notes read, one manifest read and one
    commit read for all of them (digests come from the summary cache)."""
    only = None if numbers is None else set(numbers)
    versions: dict[tuple[str, int], tuple[str, str]] = {}  # (name, N) -> (commit, digest)
    for h in hs:
        wanted = [n for n in h.versions if only is None or n in only]
        sums = summaries(project, h.name, [h.versions[n] for n in wanted])
        for n in wanted:
            s = sums[h.versions[n]]
            if s is not None:
                versions[(h.name, n)] = (h.versions[n], s.digest)
    notes = run_notes.read_lines(project.repo, (c for c, _ in versions.values()))
    ttls = _ttls(project, versions, notes)
    born = project.repo.commit_info(versions[k][0] for k in ttls) if ttls else {}
    linked = _linked_digests(project) if ttls else set()
    out: dict[tuple[str, int], Life] = {}
    for (name, n), (c, d) in versions.items():
        ttl, expires = ttls.get((name, n)), None
        if ttl and c in born and d not in linked:
            expires = _utc(born[c][0] + ttl_seconds(ttl))
        out[(name, n)] = Life(_deletion(notes[c], name, d), expires, d, ttl)
    return out


def _deletion(
    lines: list[tuple[str, dict[str, Any]]], name: str, digest: str
) -> tuple[int, str | None] | None:
    """(t, who) of the first valid delete line of `name` at `digest` among a note's lines."""
    found = []
    for _, rec in lines:
        t, who = rec.get("t"), rec.get("who")
        if rec.get("ev") != DELETE or rec.get("name") != name or rec.get("digest") != digest:
            continue
        if type(t) is not int or t < 0 or not (who is None or isinstance(who, str)):
            continue  # notes come from other clones: a damaged line deletes nothing
        found.append((t, who))
    return min(found, key=lambda f: f[0]) if found else None


def _ttls(
    project: Project,
    versions: dict[tuple[str, int], tuple[str, str]],
    notes: dict[str, list[tuple[str, dict[str, Any]]]],
) -> dict[tuple[str, int], str]:
    """(name, N) -> TTL as it stands (the manifest's, then the edit events) of the versions
    that have one; only manifests that name a TTL, or whose edits do, are parsed."""
    paths = {k: f"{c}:{mf.manifest_path(k[0])}" for k, (c, _) in versions.items()}
    blobs = project.repo.cat_blobs(paths.values())
    out: dict[tuple[str, int], str] = {}
    for (name, n), (c, d) in versions.items():
        data = blobs.get(paths[(name, n)])
        edited = any("ttl" in rec for _, rec in notes[c])
        if data is None or (b"\nttl:" not in data and not edited):
            continue
        try:
            m = mparse.loads(data.decode("utf-8"), source=paths[(name, n)][:10])
        except (ManifestError, UnicodeDecodeError):
            continue  # a manifest no reader accepts has no TTL to honour
        ttl = edits.fold(edits.values_of(m), edits.events_in(notes[c], name, d)).ttl
        if ttl:
            out[(name, n)] = ttl
    return out


def _linked_digests(project: Project) -> set[str]:
    """Digests of every version linked in any registry collection."""
    colls = {ref[len(REGISTRY_PREFIX) :].rpartition("/")[0] for ref in _registry_refs(project)}
    return {lk.digest for c in colls if c for lk in registry.collection(project, c).values()}


def _registry_refs(project: Project) -> list[str]:
    refs = project.repo.refs(REGISTRY_PREFIX.rstrip("/"))
    return [r for r in refs if version_number(r.rpartition("/")[2]) is not None]


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
