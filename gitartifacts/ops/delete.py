"""`delete`: versions removed by an event in the notes (see `gitmodel.lifecycle`); the version
tag stays, so the number is never used again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import lifecycle
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import resolve


class Deleted(NamedTuple):
    """A version deleted (or, on a dry run, that would be) and the aliases that go with it."""

    name: str
    version: int
    aliases: list[str]


def delete(
    project: Project, specs: Sequence[str], delete_aliases: bool = False, dry_run: bool = False
) -> list[Deleted]:
    """Delete the versions `specs` name (`NAME:vN`, `NAME:ALIAS`, ...). Every spec is checked
    first (it names a version still there; it has no aliases unless `delete_aliases`), so
    bad input writes nothing; then each deletion is its own transaction."""
    if not specs:
        raise UsageError("which version?", "git artifacts delete NAME:vN")
    planned: dict[tuple[str, int], Deleted] = {}
    for spec in specs:
        r = resolve(project, spec, entries=False)
        if r.version is None:
            raise NotFoundError(
                f"{spec} is not a version of {r.manifest.name}",
                f"name a version, e.g. {r.manifest.name}:v0; see git artifacts log",
            )
        h = ver.histories(project)[r.manifest.name]
        lifecycle.check_deletable(h, r.version, delete_aliases)
        planned[(h.name, r.version)] = Deleted(h.name, r.version, h.aliases_of(r.version))
    if dry_run:
        return list(planned.values())
    done = []
    for name, n in planned:
        h = ver.histories(project)[name]
        done.append(Deleted(name, n, lifecycle.delete(project, h, n, delete_aliases)))
    return done
