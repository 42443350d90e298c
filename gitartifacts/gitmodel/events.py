"""Alias moves with their events in the notes (who moved what, when), and pending aliases."""

from __future__ import annotations

import getpass
import time
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import (
    LATEST,
    alias_ref,
    version_number,
)
from gitartifacts.gitmodel.repo import ZERO
from gitartifacts.gitmodel.versions import (
    History,
    digest_versions,
    histories,
)


class Settled(NamedTuple):
    """Where a manifest just written stands among the versions."""

    outcome: str  # "new", "unchanged" or "existing"
    version: int | None  # the version it is (or will be once committed)


def set_alias(project: Project, name: str, n: int, alias: str) -> None:
    mf.validate_alias(alias)
    h = histories(project).get(name)
    if h is None or n not in h.versions:
        raise NotFoundError(f"{name}:v{n} does not exist", f"see git artifacts log {name}")
    move_aliases(project, name, [(alias, h.versions[n])], h)


def move_aliases(
    project: Project,
    name: str,
    moves: list[tuple[str, str]],
    h: History | None = None,
    records: dict[str, list[dict[str, object]]] | None = None,
) -> None:
    """Point aliases at commits (ZERO deletes) in one transaction together with the events
    that record who moved what and when in the notes (a lightweight tag carries no author or
    date), and any other `records` (commit -> note lines): all happen or none. An alias named
    twice moves once, to its last commit."""
    h = h if h is not None else histories(project).get(name, History(name))
    wanted = dict(moves)
    changed = [(a, c) for a, c in wanted.items() if h.aliases.get(a) != (None if c == ZERO else c)]
    if not changed and not records:
        return
    lines = alias_events(name, [(a, h.aliases.get(a), c) for a, c in changed], h)
    for commit, recs in (records or {}).items():
        lines.setdefault(commit, []).extend(recs)
    run_notes.write(
        project.repo,
        lines,
        [(alias_ref(name, a), c, None if c != ZERO else h.aliases.get(a)) for a, c in changed],
    )
    for a, c in changed:
        if c == ZERO:
            h.aliases.pop(a, None)
        else:
            h.aliases[a] = c


def alias_events(
    name: str, moves: list[tuple[str, str | None, str]], h: History
) -> dict[str, list[dict[str, object]]]:
    """Events for (alias, old commit, new commit) moves, by the commit each now points at
    (a deleted alias: the commit it pointed at)."""
    by_commit: dict[str, list[dict[str, object]]] = {}
    user = who()
    for alias, old, new in moves:
        target = old if new == ZERO else new
        if not target:
            continue
        ev = {
            "ev": "alias", "name": name, "alias": alias, "t": time.time_ns(), "who": user,
            "from": _as_version(h, old), "to": None if new == ZERO else _as_version(h, new),
        }  # fmt: skip
        by_commit.setdefault(target, []).append(ev)
    return by_commit


def check_latest(h: History, n: int) -> None:
    """`latest` is the tool's (as in W&B): it names the newest version and moves there by
    itself. Putting it back on the newest version is fine (after a removal, say); anywhere
    else it is refused."""
    newest = max(h.versions, default=None)
    if n != newest:
        raise UsageError(
            "'latest' is kept by the tool: it points at the version logged last"
            + (f" (v{newest})" if newest is not None else ""),
            f"name v{n} with an alias of your own, e.g. production",
        )


def who() -> str | None:
    """The user an event names as its author."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def delete_alias(project: Project, name: str, alias: str) -> None:
    if version_number(alias) is not None:
        raise UsageError(f"{alias} is a version, not an alias", "version tags are never deleted")
    h = histories(project).get(name)
    if h is None or alias not in h.aliases:
        raise NotFoundError(f"{name} has no alias {alias!r}", f"see git artifacts log {name}")
    move_aliases(project, name, [(alias, ZERO)], h)


def settle_version(
    project: Project,
    m: mf.Manifest,
    h: History | None,
    existing: mf.Manifest | None,
    aliases: list[str],
) -> Settled:
    """Content already under a version: that version, its aliases moved now. New content: the
    next number, its aliases pending until the commit that makes the version."""
    known = digest_versions(project, h) if h else {}
    unchanged = existing is not None and existing.digest == m.digest
    if m.digest in known:
        n = known[m.digest]
        assert h is not None
        merged = dict.fromkeys([LATEST, *aliases])  # `latest` is the tool's, given or not
        move_aliases(project, m.name, [(a, h.versions[n]) for a in merged], h)
        return Settled("unchanged" if unchanged else "existing", n)
    for a in aliases:
        if a != LATEST:  # the sync points `latest` at every new version anyway
            project.state.add_pending_alias(m.name, m.digest, a)
    return Settled("unchanged" if unchanged else "new", h.next_number if h else 0)


def _as_version(h: History, commit: str | None) -> str | None:
    """`vN` for the commit of version N, else the commit itself."""
    n = h.version_of_commit(commit) if commit else None
    return f"v{n}" if n is not None else commit
