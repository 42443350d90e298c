"""Checking out: make an artifact's folder hold a version's files, in two passes over its
folders (decide, then apply), one folder's entries in memory at a time."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from gitartifacts.core.manifest_parse import entry_from_dict
from gitartifacts.core.objecterrors import NotCachedError
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.progress import Bar, Progress, phase
from gitartifacts.core.state import State, StatKey, stat_key
from gitartifacts.core.workspace.folders import Folders, prune_empty_dirs, remove, sweep_temps
from gitartifacts.core.workspace.plan import Checkout, Plan, RefFetcher
from gitartifacts.core.workspace.scan import Fingerprint, FolderWalk, shown
from gitartifacts.core.workspace.status import state_key
from gitartifacts.core.workspace.survey import Change, Survey
from gitartifacts.core.workspace.writer import FileWriter
from gitartifacts.errors import ConflictError

# Files written between two rounds of removals, at most (a group holds whole folders).
GROUP_FILES = 20_000


def materialize(
    state: State,
    store: ObjectStore,
    job: Checkout,
    *,
    progress: Progress | None = None,
    fetch_ref: RefFetcher | None = None,
) -> tuple[Plan, str]:
    """Make `base/<entry>` hold each entry's bytes; references come from `fetch_ref`.
    Returns what was done and the fingerprint of the work tree afterwards (see `Scan`).

    No write, delete or rename goes through a symlink: every folder on the way from `root`
    to a target is looked at without following links, and a symlink there refuses the whole
    checkout before anything is done, `force` or not. Every file appears whole: it is written
    under a temporary name beside it and renamed.

    Objects the cache lacks refuse the checkout (`NotCachedError`) before anything is done:
    the caller fetches them and asks again, so that a checkout from a whole cache walks its
    objects once.
    """
    folders = Folders(job.root or job.base, job.base, job.what)
    base_exists = folders.real("")  # refuses a symlink on the way to `base` before reading
    survey = Survey(state, store, job, folders, with_refs=fetch_ref is not None)
    try:
        survey.run(base_exists)
        if survey.missing:
            raise NotCachedError(
                f"{survey.missing} object(s) of {job.what or 'this artifact'} are not in the"
                f" local cache (first: {survey.first_missing})",
                "run git artifacts pull to download them",
            )
        if survey.conflicts and not job.force:
            raise _conflict_error(job, survey)
        if base_exists:
            sweep_temps(job.base, survey.temps)
        writer = FileWriter(state, store, job)
        # Into a folder that was not there, with copies: the files written are the whole
        # tree, and their stat data (taken as they were written) its fingerprint, with no
        # walk after (a tenth of a checkout of 1,000,000 files). A file another process puts
        # there meanwhile only makes the next status walk and compare, as any change does.
        fp = Fingerprint() if _writes_are_all(job, survey, base_exists) else None
        _apply(state, job, survey, writer, progress, fetch_ref, fp)
        plan = Plan(survey.files + survey.refs, survey.deletes, survey.conflicts)
        if fp is not None:
            return plan, fp.hexdigest()
        if plan.written or plan.deleted or not base_exists:
            return plan, _fingerprint(job, survey.owned)
        return plan, survey.fingerprint
    finally:
        survey.close()


def _apply(
    state: State,
    job: Checkout,
    survey: Survey,
    writer: FileWriter,
    progress: Progress | None,
    fetch_ref: RefFetcher | None,
    fp: Fingerprint | None,
) -> None:
    """Make the changes the survey spooled, a group of folders at a time: what is in the way
    and what goes away first, then the files written (their stat data into `fp`, given)."""
    with phase(progress, "Checking out", files=survey.files, bytes=survey.bytes) as bar:
        for group in _groups(survey.changes()):
            written = _apply_group(state, job, group, writer, bar, fetch_ref)
            if fp is not None:
                _fingerprint_group(job, group, written, fp)


def _apply_group(
    state: State,
    job: Checkout,
    group: list[Change],
    writer: FileWriter,
    bar: Bar,
    fetch_ref: RefFetcher | None,
) -> dict[str, StatKey]:
    """The group's changes made; the stat data of the files written, by path under base."""
    for change in group:
        gone = [_rel(change.folder, name) for name in change.deletes]
        for rel in [*change.clashes, *gone]:
            remove(os.path.join(job.base, rel))  # below a folder checked to be real
        prune_empty_dirs(job.base, gone)
    files = {
        _rel(c.folder, name): (digest, size, replaces)
        for c in group
        for name, digest, size, replaces in c.writes
    }
    written = writer.run(files, bar) if files else {}
    refs = [(_rel(c.folder, name), text) for c in group for name, text in c.refs]
    if refs:
        assert fetch_ref is not None
        _fetch_refs(state, job, refs, fetch_ref)
    return written


def _groups(changes: Iterator[Change]) -> Iterator[list[Change]]:
    group: list[Change] = []
    count = 0
    for change in changes:
        group.append(change)
        count += len(change.writes)
        if count >= GROUP_FILES:
            yield group
            group, count = [], 0
    if group:
        yield group


def _fetch_refs(
    state: State, job: Checkout, refs: list[tuple[str, str]], fetch_ref: RefFetcher
) -> None:
    rows = []
    for rel, text in refs:
        entry = entry_from_dict(json.loads(text))  # checked by the survey
        full = os.path.join(job.base, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        fetch_ref(rel, entry, full)
        rows.append((state_key(job.path, rel), stat_key(os.stat(full)), entry.digest))
    state.record(rows, started_ns=1 << 62)


def _writes_are_all(job: Checkout, survey: Survey, base_exists: bool) -> bool:
    """Whether the files this checkout writes will be all the tree holds, and the stat data
    taken as each was written still its data: not so for a link, whose target a walk
    stats (a symlink) or whose ctime the next link to the same object changes (a hardlink)."""
    return not base_exists and survey.refs == 0 and job.link in ("copy", "reflink")


def _fingerprint_group(
    job: Checkout, group: list[Change], written: dict[str, StatKey], fp: Fingerprint
) -> None:
    """Feed `fp` the group's folders as `FolderWalk` would: in folder order (a group holds
    whole folders), each one's rows sorted by name bytes, ignored files left out."""
    ignore = job.ignore
    for change in group:
        rows = [(name, *written[_rel(change.folder, name)]) for name, *_ in change.writes]
        if ignore is not None:
            rows = [row for row in rows if not ignore(_rel(change.folder, row[0]))]
        if rows:
            rows.sort(key=lambda row: row[0].encode())
            fp.update((change.folder, rows))


def _fingerprint(job: Checkout, owned: list[str]) -> str:
    walk = FolderWalk(job.base, owned, job.what, job.ignore)
    for _ in walk:
        pass
    return walk.fingerprint


def _rel(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _conflict_error(job: Checkout, survey: Survey) -> ConflictError:
    names = ", ".join(shown(job.what, c) for c in survey.conflicts)
    more = survey.conflict_count - len(survey.conflicts)
    return ConflictError(
        f"would overwrite or delete local changes not saved anywhere: {names}"
        + (f" and {more} more" if more > 0 else ""),
        job.conflict_fix,
    )
