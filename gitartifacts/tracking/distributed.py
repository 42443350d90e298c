"""Distributed artifacts (W&B's `upsert_artifact` / `finish_artifact`): many writers, one version.

Each writer's part waits as `<staging>/<name>/<distributed id>/<run id>.json` until a run
finishes the artifact. With a remote cache configured, the staging folder is on the remote
(`<remote>/staging/...`) and a part's objects are uploaded before it, so writers on many
machines share only the remote. With none, it is `.git/artifacts/staging/...` of this clone,
shared by its processes; the objects are in the clone's cache already. A part file appears
whole (a rename, or one PUT), so a reader never sees half of one.

`finish` merges the parts (the same path with different content in two parts is an error
naming both runs) and names the runs that wrote them, for the lineage; `clear` removes exactly
the parts merged, so a part upserted meanwhile waits for the next version.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import unlink_quiet, write_atomic
from gitartifacts.core.manifest_parse import entry_from_dict
from gitartifacts.core.names import validate_artifact_name, validate_artifact_type
from gitartifacts.errors import ConflictError, ManifestError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote.remotes import load as load_remotes
from gitartifacts.remote.remotes import origin_cache
from gitartifacts.remote.remotes import resolve as resolve_remote

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore

# A staged part comes from another process or machine: at most this many bytes are read.
MAX_PART_BYTES = 256 << 20


class Part(NamedTuple):
    """One writer's share of a distributed artifact (or, merged, the whole of it)."""

    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    entries: dict[str, mf.Entry]
    aliases: list[str]


class Staging(NamedTuple):
    """Where the parts of one distributed artifact wait: a folder of the remote cache, or
    (`store` None) a local folder; `parts` are the files `finish` merged."""

    store: RemoteStore | None
    folder: str
    parts: list[str]


class Finished(NamedTuple):
    part: Part  # every part merged into one
    writers: list[str]  # the runs whose parts went in, in file order
    staging: Staging


def upsert(project: Project, run_id: str, part: Part, distributed_id: str) -> None:
    """Stage this run's part; a run that upserts again adds to its part (new content wins)."""
    part = _checked(part)
    staging = _staging(project, part.name, distributed_id)
    mf.validate_name(run_id, "run id")
    final = f"{staging.folder}/{run_id}.json"
    earlier = _read_part(staging, final) if _exists(staging, final) else None
    if earlier is not None:
        part = Part(
            part.name,
            part.type,
            part.description or earlier.description,
            {**earlier.metadata, **part.metadata},
            {**earlier.entries, **part.entries},
            sorted({*earlier.aliases, *part.aliases}),
        )
    if staging.store is not None:
        stored = sorted({e.digest for e in part.entries.values() if e.ref is None})
        missing = staging.store.missing(stored)
        if missing:
            staging.store.upload(project.cache, missing)
    _write(staging, final, json.dumps(_to_record(run_id, part), sort_keys=True).encode())


def finish(project: Project, run_id: str, own: Part, distributed_id: str) -> Finished:
    """Every staged part plus the finishing run's `own` entries, merged into one part."""
    own = _checked(own)
    staging = _staging(project, own.name, distributed_id)
    # A part's file name is its writer's run id: listed from a shared folder, so a name that
    # is no run id is no part (it never reaches a run record or the lineage).
    files = [f for f in _part_files(staging) if mf.NAME_RE.match(_writer(f))]
    parts = [(_writer(f), _read_part(staging, f)) for f in files]
    if not parts and not own.entries:
        raise UsageError(
            f"no parts were upserted for {own.name} under {distributed_id!r}",
            "call run.upsert_artifact() in each writer first",
        )
    merged: dict[str, mf.Entry] = {}
    owner: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    aliases: set[str] = set(own.aliases)
    description = own.description
    for writer, part in [*parts, (run_id, own)]:
        if part.type != own.type and writer != run_id:
            raise UsageError(
                f"run {writer} upserted {own.name} as type {part.type!r}, not {own.type!r}",
                "use one type",
            )
        metadata.update(part.metadata)
        aliases.update(part.aliases)
        description = description or part.description
        for p, e in part.entries.items():
            if p in merged and merged[p] != e:
                raise ConflictError(
                    f"{own.name}: {p} differs between runs {owner[p]} and {writer}",
                    "give each writer its own paths, or the same content",
                )
            merged[p] = e
            owner.setdefault(p, writer)
    out = Part(
        own.name, own.type, description, metadata, dict(sorted(merged.items())), sorted(aliases)
    )
    writers = [w for w, _ in parts]
    return Finished(out, writers, staging._replace(parts=files))


def clear(staging: Staging) -> None:
    """Remove the parts merged into the version (not the folder: a part staged since then
    waits for the next version)."""
    for path in staging.parts:
        if staging.store is None:
            unlink_quiet(path)
        else:
            staging.store.fs.rm(path)


def staged_objects(project: Project, store: RemoteStore | None = None) -> set[str]:
    """The content objects every part waiting in a staging folder names: this clone's
    (`store` None) or the remote cache's. A malformed part is an error: what it names is
    unknown, so nothing may be collected."""
    if store is None:
        root = str(project.repo.common_dir / "artifacts" / "staging")
    else:
        root = f"{store.root}/staging"
    out: set[str] = set()
    for name in _part_files(Staging(store, root, []), recursive=True):
        part = _read_part(Staging(store, root, []), name)
        out.update(e.digest for e in part.entries.values() if e.ref is None)
    return out


def part_summary(part: Part, distributed_id: str) -> dict[str, Any]:
    """What a writer's run record says it upserted."""
    return {
        "name": part.name,
        "type": part.type,
        "distributed_id": distributed_id,
        "digest": mf.entries_digest(part.entries),
        "files": len(part.entries),
    }


# ---------------------------------------------------------------- staging folders


def _checked(part: Part) -> Part:
    return part._replace(aliases=[mf.validate_alias(a) for a in part.aliases])


def _staging(project: Project, name: str, distributed_id: str) -> Staging:
    validate_artifact_name(name)
    mf.validate_name(distributed_id, "distributed id")
    remotes, _ = load_remotes(project)
    if not remotes and origin_cache(project) is None:
        local = project.repo.common_dir / "artifacts" / "staging" / name / distributed_id
        return Staging(None, str(local), [])
    from gitartifacts.remote.transfer import open_store

    store = open_store(resolve_remote(project))
    return Staging(store, f"{store.root}/staging/{name}/{distributed_id}", [])


def _write(staging: Staging, final: str, data: bytes) -> None:
    if staging.store is None:
        write_atomic(Path(final), data)
        return
    store = staging.store
    if store.protocol in ("file", "local"):
        # Local folders: write beside, then rename, so a reader never sees half a part.
        tmp = f"{staging.folder}/.{uuid.uuid4().hex}.tmp"
        store.fs.makedirs(staging.folder, exist_ok=True)
        store.fs.pipe_file(tmp, data)
        store.fs.mv(tmp, final)
    else:
        store.fs.pipe_file(final, data)  # one PUT: atomic on object stores


def _exists(staging: Staging, path: str) -> bool:
    return Path(path).is_file() if staging.store is None else bool(staging.store.fs.exists(path))


def _writer(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".json")


def _part_files(staging: Staging, recursive: bool = False) -> list[str]:
    """The part files of the folder, or of every folder below it (temporary files start
    with '.')."""
    try:
        if staging.store is None:
            folder = Path(staging.folder)
            found = [str(p) for p in (folder.rglob("*") if recursive else folder.iterdir())]
        else:
            found = list(staging.store.fs.find(staging.folder))
    except FileNotFoundError:
        return []
    names = [p for p in found if p.endswith(".json") and not p.rsplit("/", 1)[-1].startswith(".")]
    return sorted(names)


def _read_part(staging: Staging, path: str) -> Part:
    """A staged part, checked: it was written by another process, maybe on another machine."""
    try:
        if staging.store is None:
            with open(path, "rb") as f:
                data = f.read(MAX_PART_BYTES + 1)
        else:
            data = staging.store.fs.cat_file(path, end=MAX_PART_BYTES + 1)
        if len(data) > MAX_PART_BYTES:
            raise ValueError(f"it is larger than {MAX_PART_BYTES} bytes")
        return _from_record(json.loads(data))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # UsageError too
        raise ManifestError(
            f"staged part {path.rsplit('/', 1)[-1]} of a distributed artifact is malformed "
            f"({str(exc)[:120]})",
            f"remove it: {path}",
        ) from None


def _to_record(run_id: str, part: Part) -> dict[str, Any]:
    return {
        "run": run_id,
        "name": part.name,
        "type": part.type,
        "description": part.description,
        "metadata": part.metadata,
        "aliases": part.aliases,
        "entries": {p: mf.entry_fields(e) for p, e in part.entries.items()},
    }


def _from_record(record: Any) -> Part:
    if not isinstance(record, dict) or not isinstance(record.get("entries"), dict):
        raise ValueError("not a part record")
    entries = {}
    for p, raw in record["entries"].items():
        if isinstance(raw, list):  # parts staged before entries were written as mappings
            raw = dict(zip(("digest", "size", "ref", "version_id"), raw, strict=False))
            raw = {k: v for k, v in raw.items() if v is not None}
        entries[mf.validate_entry_path(p)] = entry_from_dict(raw)
    description = record.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError("description is not text")
    aliases = record.get("aliases") or []
    if not isinstance(aliases, list):
        raise ValueError("aliases is not a list")
    return Part(
        validate_artifact_name(record.get("name")),
        validate_artifact_type(record.get("type")),
        description,
        mf.validate_metadata(record.get("metadata") or {}),
        entries,
        [mf.validate_alias(a) for a in aliases],
    )
