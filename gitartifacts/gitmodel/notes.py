"""Run records and events as JSON lines in git notes (`refs/notes/artifacts`).

A note holds one JSON object per line, so notes from different clones merge with
`git notes merge -s cat_sort_uniq` and never conflict. Writers append with compare-and-swap
on the notes ref and retry, so concurrent processes never lose a line.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from gitartifacts.errors import GitError
from gitartifacts.gitmodel.refs import NOTES_REF, notes_fetch_refspec, notes_tmp_ref
from gitartifacts.gitmodel.refs import notes_tracking_ref as tracking_ref
from gitartifacts.gitmodel.repo import ZERO, Repo
from gitartifacts.gitmodel.runner import LockedError

_OBJECT_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")  # what may become an object path


def encode(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def append(repo: Repo, target: str, records: Iterable[dict[str, Any]], attempts: int = 200) -> None:
    """Append records to the note on `target` (an object id), never losing a concurrent write."""
    write(repo, {target: list(records)}, attempts=attempts)


def write(
    repo: Repo,
    records: Mapping[str, Sequence[dict[str, Any]]],
    updates: Sequence[tuple[str, str, str | None]] = (),
    attempts: int = 200,
) -> None:
    """Append records to the notes on their targets (object ids) and apply the ref `updates`
    (as `Repo.update_refs`) in one transaction: both happen or neither, so an alias never
    moves without its event. A concurrent note writer makes it start over; a held lock file
    raises `LockedError` naming it."""
    texts = {t: "".join(encode(r) + "\n" for r in recs) for t, recs in records.items()}
    texts = {t: text for t, text in texts.items() if text}
    if not texts:
        repo.update_refs(updates)
        return
    tmp = notes_tmp_ref(f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        for attempt in range(attempts):
            tip = repo.rev_parse(NOTES_REF)
            if tip:
                repo.update_refs([(tmp, tip, None)])
            else:
                repo.run("update-ref", "-d", tmp, check=False)
            for target, text in texts.items():
                repo.run(
                    "notes",
                    f"--ref={tmp}",
                    "append",
                    "--allow-empty",
                    "-F",
                    "-",
                    target,
                    input=text,
                )
            new = repo.rev_parse(tmp)
            assert new is not None
            try:
                repo.update_refs([*updates, (NOTES_REF, new, tip or ZERO)])
                return
            except LockedError:
                raise
            except GitError:
                if repo.rev_parse(NOTES_REF) == tip:
                    raise  # not a concurrent note: one of `updates` was refused
            time.sleep(random.uniform(0.005, 0.02) * min(attempt + 1, 10))
        raise GitError(f"could not write to {NOTES_REF} after {attempts} attempts", "try again")
    finally:
        repo.run("update-ref", "-d", tmp, check=False)


def read_all(repo: Repo, ref: str = NOTES_REF) -> Iterator[tuple[str, dict[str, Any]]]:
    """(annotated object, record) for every line of every note, in one cat-file batch."""
    if repo.rev_parse(ref) is None:
        return
    listing = repo.run("notes", f"--ref={ref}", "list")
    pairs = [line.split() for line in listing.splitlines() if line.strip()]
    blobs = repo.cat_blobs(blob for blob, _ in pairs)
    for blob, obj in pairs:
        data = blobs.get(blob)
        if not data:
            continue
        lines = [
            ln for ln in data.decode("utf-8", errors="replace").splitlines() if ln.startswith("{")
        ]
        try:
            parsed = json.loads("[" + ",".join(lines) + "]")  # one decode per note, not per line
        except json.JSONDecodeError:
            parsed = []
            for ln in lines:
                try:
                    parsed.append(json.loads(ln))
                except json.JSONDecodeError:
                    continue  # a damaged line must not hide the others
        for rec in parsed:
            if isinstance(rec, dict):
                yield obj, rec


def record_objects(repo: Repo, remote: str | None = None) -> set[str]:
    """The content objects run records name: a run's history, its saved files and the
    patch of its dirty work tree. They travel with `push`, and gc must keep them. With
    `remote`: the records as last fetched from it too."""
    out: set[str] = set()
    refs = [NOTES_REF, *([tracking_ref(remote)] if remote else [])]
    for _, rec in (pair for ref in refs for pair in read_all(repo, ref)):
        code = rec.get("code")
        files = rec.get("files")
        named = [rec.get("history"), code.get("patch") if isinstance(code, dict) else None]
        if isinstance(files, list):
            named += [f.get("digest") for f in files if isinstance(f, dict)]
        out.update(d for d in named if isinstance(d, str) and _OBJECT_RE.match(d))
    return out


def tip(repo: Repo) -> str | None:
    return repo.refs(NOTES_REF).get(NOTES_REF)


def configure(repo: Repo) -> list[str]:
    """Merge strategy, rewrite rules and refspecs so records follow amend, rebase and clones."""
    done = []
    wanted = {
        "notes.artifacts.mergeStrategy": "cat_sort_uniq",
    }
    for key, value in wanted.items():
        if repo.config_get(key) != value:
            repo.config_set(key, value)
            done.append(f"set {key}")
    rewrite = repo.run("config", "--get-all", "notes.rewriteRef", check=False).split()
    if NOTES_REF not in rewrite:
        repo.config_set("notes.rewriteRef", NOTES_REF, add=True)
        done.append("run records now follow amend and rebase")
    for remote in repo.remotes():
        spec = notes_fetch_refspec(remote)
        if (
            spec
            not in repo.run("config", "--get-all", f"remote.{remote}.fetch", check=False).split()
        ):
            repo.config_set(f"remote.{remote}.fetch", spec, add=True)
            done.append(f"git fetch from {remote} now brings run records")
    return done


def fetch(repo: Repo, remote: str) -> None:
    """Fetch the remote's records and merge them into ours (never a conflict)."""
    listed = repo.run("ls-remote", remote, NOTES_REF).strip()
    if not listed:
        return  # the remote has no records yet
    repo.run("fetch", "--quiet", "--no-tags", remote, notes_fetch_refspec(remote))
    merge_tracking(repo, remote)


def merge_tracking(repo: Repo, remote: str) -> None:
    theirs = repo.rev_parse(tracking_ref(remote))
    if theirs is None:
        return
    ours = repo.rev_parse(NOTES_REF)
    if ours is None:
        try:
            repo.update_refs([(NOTES_REF, theirs, ZERO)])
            return
        except LockedError:
            raise
        except GitError:
            # Another process (a second pull, a run) made the ref meanwhile: merge into it.
            ours = repo.rev_parse(NOTES_REF)
            if ours is None:
                raise
    if ours == theirs or repo.ok("merge-base", "--is-ancestor", theirs, ours):
        return
    repo.run(
        "notes",
        f"--ref={NOTES_REF}",
        "merge",
        "--quiet",
        "-s",
        "cat_sort_uniq",
        tracking_ref(remote),
    )


def unpushed(repo: Repo, remote: str) -> bool:
    """Whether we hold records the remote did not have when we last fetched or pushed."""
    refs = repo.refs(NOTES_REF, tracking_ref(remote))
    ours = refs.get(NOTES_REF)
    return ours is not None and refs.get(tracking_ref(remote)) != ours


def push(repo: Repo, remote: str, attempts: int = 5) -> None:
    """Publish our records; when the remote has records we lack, merge them and try again."""
    for _ in range(attempts):
        ours = tip(repo)  # pushed by value: records added meanwhile wait for the next push
        if ours is None:
            return
        # Optimistic: git refuses anything but a fast-forward, and then we merge theirs first.
        if repo.ok("push", "--quiet", "--no-verify", remote, f"{ours}:{NOTES_REF}"):
            # The remote now has it: remember, as git does for branches.
            repo.update_refs([(tracking_ref(remote), ours, None)])
            return
        fetch(repo, remote)
    raise GitError(f"could not push run records to {remote}", "run git artifacts push again")


def read_lines(repo: Repo, targets: Iterable[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(line, record) of every JSON line in the note on each target (an object id), read in
    one `cat-file` batch without listing every note: where a note sits depends on the fan-out
    git chose for the notes tree, so each depth is asked for."""
    wanted = {t: _note_paths(t) for t in dict.fromkeys(targets)}
    blobs = repo.cat_blobs(p for paths in wanted.values() for p in paths)
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for target, paths in wanted.items():
        data = next((blobs[p] for p in paths if blobs.get(p)), b"")
        out[target] = []
        for ln in (data or b"").decode("utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(ln) if ln.startswith("{") else None
            except json.JSONDecodeError:
                continue  # a damaged line must not hide the others
            if isinstance(rec, dict):
                out[target].append((ln, rec))
    return out


def _note_paths(target: str) -> list[str]:
    """`<notes ref>:<path>` of the note on `target` at fan-out depths 0 to 3."""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", target):
        raise GitError(f"not an object id: {target[:80]!r}", "report this as a bug")
    return [
        f"{NOTES_REF}:"
        + "/".join([*(target[2 * i : 2 * i + 2] for i in range(d)), target[2 * d :]])
        for d in range(4)
    ]
