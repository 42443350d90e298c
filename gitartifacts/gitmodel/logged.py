"""Recording a version as a commit made with plumbing: the user's branch, index and work tree
never move.

The commit's tree is its parent's tree (the code that made the version) with
`.artifacts/<name>.yaml` written in; the version tag is created pointing at it, with
compare-and-swap, in one ref transaction together with `latest`, the requested aliases and
their events in the notes. A number another process took meanwhile is skipped; content that
became a version meanwhile is that version.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import GitError, UsageError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.events import alias_events, move_aliases
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import LATEST, alias_ref, version_ref
from gitartifacts.gitmodel.repo import ZERO
from gitartifacts.gitmodel.runner import LockedError
from gitartifacts.gitmodel.versions import History, digest_versions, histories, type_from_history

# Numbers lost to other processes creating the same version tag before logging gives up.
ATTEMPTS = 50


class Logged(NamedTuple):
    """The version a manifest is, after logging it."""

    version: int
    commit: str  # what the version tag points at
    new: bool  # False: the content was already this version


def log_version(
    project: Project,
    m: mf.Manifest,
    parent: str | None,
    aliases: Sequence[str] = (),
    *,
    attempts: int = ATTEMPTS,
) -> Logged:
    """Make `m` a version off the branch, its commit's parent `parent` (None: a root commit).

    Content already a version of this artifact makes no commit: that version is returned and
    the aliases move to it (`latest` only when named). New content gets the next number,
    `latest` and the aliases. Raises UsageError for an invalid alias or a name of another
    type, before anything is written.
    """
    wanted = list(dict.fromkeys(mf.validate_alias(a) for a in aliases))
    _check_type(project, m)
    commit: str | None = None
    for _ in range(attempts):
        project.repo.refs_moved()
        h = histories(project).get(m.name, History(m.name))
        n = digest_versions(project, h).get(m.digest)
        if n is not None:
            move_aliases(project, m.name, [(a, h.versions[n]) for a in wanted], h)
            return Logged(n, h.versions[n], False)
        if commit is None:
            commit = version_commit(project, m, parent)
        if _create(project, m.name, h, commit, wanted):
            return Logged(h.next_number - 1, commit, True)
    raise GitError(
        f"could not number a version of {m.name}: other processes took {attempts} numbers "
        "meanwhile",
        "log it again",
    )


def version_commit(project: Project, m: mf.Manifest, parent: str | None) -> str:
    """A commit whose tree is `parent`'s with the manifest written in, made through a
    temporary index (never the user's); reachable from nothing until a tag points at it."""
    repo = project.repo
    blob = repo.run("hash-object", "-w", "--stdin", input=_text(project, m)).strip()
    index = repo.git_dir / "artifacts" / f"index-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    index.parent.mkdir(parents=True, exist_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        if parent is not None:
            repo.run("read-tree", parent, env=env)
        repo.run(
            "update-index",
            "--add",
            "--replace",
            "--cacheinfo",
            f"100644,{blob},{mf.manifest_path(m.name)}",
            env=env,
        )
        tree = repo.run("write-tree", env=env).strip()
    finally:
        index.unlink(missing_ok=True)
    message = f"gitartifacts: {m.name} {m.digest[:19]}"
    return repo.run("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).strip()


# ---------------------------------------------------------------- helpers


def _check_type(project: Project, m: mf.Manifest) -> None:
    """A name never changes type: neither its versions nor its work-tree manifest say another."""
    known = type_from_history(project, histories(project).get(m.name))
    if known is None:
        existing = project.read_manifest(m.name, entries=False)
        known = existing.type if existing is not None else None
    if known is not None and known != m.type:
        raise UsageError(
            f"artifact {m.name!r} is of type {known!r}, not {m.type!r}",
            "a name never changes type; choose another name",
        )


def _text(project: Project, m: mf.Manifest) -> str:
    """The manifest as `write_manifest` writes it (listing objects stored in the cache)."""
    return project.manifest_bytes(m).decode("utf-8")


def _create(project: Project, name: str, h: History, commit: str, aliases: list[str]) -> bool:
    """Create version `h.next_number` at `commit` (it must not exist yet) with `latest`, the
    aliases and their events, in one transaction; False when another process took the number.
    `h` then holds the new version."""
    n = h.next_number
    moves = [(a, h.aliases.get(a), commit) for a in dict.fromkeys([LATEST, *aliases])]
    h.versions[n] = commit
    updates: list[tuple[str, str, str | None]] = [(version_ref(name, n), commit, ZERO)]
    updates += [(alias_ref(name, a), c, None) for a, _, c in moves]
    try:
        run_notes.write(project.repo, alias_events(name, moves, h), updates)
    except LockedError:
        raise
    except GitError:
        del h.versions[n]
        if project.repo.rev_parse(version_ref(name, n)) is None:
            raise  # not a lost race: the transaction failed for another reason
        return False
    return True
