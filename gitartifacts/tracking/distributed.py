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
from typing import TYPE_CHECKING, Any

from gitartifacts.core import manifest as mf
from gitartifacts.errors import ConflictError, UsageError
from gitartifacts.remote.remotes import resolve as resolve_remote

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore
    from gitartifacts.sdk.artifact import Artifact
    from gitartifacts.sdk.run import Run


def upsert(run: Run, artifact: Artifact, distributed_id: str) -> None:
    store = _store(run)
    entries = {p: e for p, e in artifact._entries.items()}
    stored = sorted({e.digest for e in entries.values() if e.ref is None})
    missing = store.missing(stored)
    if missing:
        store.upload(run.project.cache, missing)
    part = {
        "run": run.id,
        "name": artifact.collection_name,
        "type": artifact.type,
        "description": artifact.description,
        "metadata": artifact.metadata,
        "entries": {p: list(e) for p, e in entries.items()},
    }
    folder = _folder(store, artifact.collection_name, distributed_id)
    final = f"{folder}/{run.id}.json"
    data = json.dumps(part, sort_keys=True).encode()
    if store.protocol in ("file", "local"):
        # Local folders: write beside, then rename, so a reader never sees half a part.
        tmp = f"{folder}/.{run.id}.{uuid.uuid4().hex}.tmp"
        store.fs.makedirs(folder, exist_ok=True)
        store.fs.pipe_file(tmp, data)
        store.fs.mv(tmp, final)
    else:
        store.fs.pipe_file(final, data)  # one PUT: atomic on object stores


def finish(run: Run, artifact: Artifact, distributed_id: str) -> Artifact:
    """One artifact holding every upserted part plus `artifact`'s own entries."""
    from gitartifacts.sdk.artifact import Artifact

    store = _store(run)
    name = artifact.collection_name
    folder = _folder(store, name, distributed_id)
    parts = _parts(store, folder)
    if not parts and not artifact._entries:
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
            "run": run.id,
            "entries": {p: list(e) for p, e in artifact._entries.items()},
            "metadata": artifact.metadata,
        },
    ]:
        if part.get("type") not in (None, artifact.type):
            raise UsageError(
                f"run {part['run']} upserted {name} as type {part['type']!r}, not {artifact.type!r}",
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
    out = Artifact(name, artifact.type, artifact.description, metadata, project=run.project)
    out._entries = dict(sorted(merged.items()))
    out._staging = (store, folder)  # type: ignore[attr-defined]
    return out


def clear(artifact: Artifact) -> None:
    """Remove the staging folder once the merged version is logged."""
    staging = getattr(artifact, "_staging", None)
    if staging is not None:
        store, folder = staging
        store.fs.rm(folder, recursive=True)


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


def _store(run: Run) -> RemoteStore:
    from gitartifacts.remote.transfer import open_store

    return open_store(resolve_remote(run.project))


def _folder(store: RemoteStore, name: str, distributed_id: str) -> str:
    mf.validate_name(distributed_id, "distributed id")
    return f"{store.root}/staging/{name}/{distributed_id}"
