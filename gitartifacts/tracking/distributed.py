"""Distributed artifacts (W&B's `upsert_artifact` / `finish_artifact`): many writers, one version.

Each writer uploads its part's objects to the remote cache and then a part file to
`<remote>/staging/<name>/<distributed id>/<run id>.json`, so writers share no work tree, only
the remote. `finish` merges every part into one artifact; the same path with different content
in two parts is an error naming both runs. The staging folder is cleared once the version is
logged, so a later upsert starts the next version.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import ConflictError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote.remotes import resolve as resolve_remote

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore


class Part(NamedTuple):
    """One writer's share of a distributed artifact (or, merged, the whole of it)."""

    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    entries: dict[str, mf.Entry]


class Staging(NamedTuple):
    """Where the parts of one distributed artifact wait on the remote."""

    store: RemoteStore
    folder: str


def upsert(project: Project, run_id: str, part: Part, distributed_id: str) -> None:
    store = _store(project)
    entries = dict(part.entries)
    stored = sorted({e.digest for e in entries.values() if e.ref is None})
    missing = store.missing(stored)
    if missing:
        store.upload(project.cache, missing)
    record = {
        "run": run_id,
        "name": part.name,
        "type": part.type,
        "description": part.description,
        "metadata": part.metadata,
        "entries": {p: list(e) for p, e in entries.items()},
    }
    folder = _folder(store, part.name, distributed_id)
    final = f"{folder}/{run_id}.json"
    data = json.dumps(record, sort_keys=True).encode()
    if store.protocol in ("file", "local"):
        # Local folders: write beside, then rename, so a reader never sees half a part.
        tmp = f"{folder}/.{run_id}.{uuid.uuid4().hex}.tmp"
        store.fs.makedirs(folder, exist_ok=True)
        store.fs.pipe_file(tmp, data)
        store.fs.mv(tmp, final)
    else:
        store.fs.pipe_file(final, data)  # one PUT: atomic on object stores


def finish(project: Project, run_id: str, own: Part, distributed_id: str) -> tuple[Part, Staging]:
    """Every upserted part plus the finishing writer's `own` entries, merged into one part,
    and the staging folder to clear once it is logged."""
    store = _store(project)
    name = own.name
    folder = _folder(store, name, distributed_id)
    parts = _parts(store, folder)
    if not parts and not own.entries:
        raise UsageError(
            f"no parts were upserted for {name} under {distributed_id!r}",
            "call run.upsert_artifact() in each writer first",
        )
    merged: dict[str, mf.Entry] = {}
    owner: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    for part in [
        *parts,
        {
            "run": run_id,
            "entries": {p: list(e) for p, e in own.entries.items()},
            "metadata": own.metadata,
        },
    ]:
        if part.get("type") not in (None, own.type):
            raise UsageError(
                f"run {part['run']} upserted {name} as type {part['type']!r}, not {own.type!r}",
                "use one type",
            )
        metadata.update(part.get("metadata") or {})
        for p, raw in part["entries"].items():
            e = mf.Entry(*raw)
            if p in merged and merged[p] != e:
                raise ConflictError(
                    f"{name}: {p} differs between runs {owner[p]} and {part['run']}",
                    "give each writer its own paths, or the same content",
                )
            merged[p] = e
            owner.setdefault(p, str(part["run"]))
    out = Part(name, own.type, own.description, metadata, dict(sorted(merged.items())))
    return out, Staging(store, folder)


def clear(staging: Staging) -> None:
    """Remove the staging folder once the merged version is logged."""
    staging.store.fs.rm(staging.folder, recursive=True)


def _parts(store: RemoteStore, folder: str) -> list[dict[str, Any]]:
    try:
        paths = [
            p
            for p in store.fs.find(folder)
            if p.endswith(".json") and not p.rsplit("/", 1)[-1].startswith(".")
        ]
    except FileNotFoundError:
        return []
    out = []
    for path in sorted(paths):
        out.append(json.loads(store.fs.cat_file(path)))
    return out


def _store(project: Project) -> RemoteStore:
    from gitartifacts.remote.transfer import open_store

    return open_store(resolve_remote(project))


def _folder(store: RemoteStore, name: str, distributed_id: str) -> str:
    mf.validate_name(distributed_id, "distributed id")
    return f"{store.root}/staging/{name}/{distributed_id}"
