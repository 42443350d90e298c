"""import and update: another project's version as an artifact of this repository.

An import is a manifest of our own, with the source version's entries (so its digest) and
an import record (`gitmodel.imported`); its files are materialised at its path from the
remote cache the source names. `update` moves it to what the recorded spec names now; both
leave a staged manifest change to review and commit, as `add` does.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import projects
from gitartifacts.gitmodel.imported import IMPORT_KEY, ImportRecord, record_of
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import Resolved, resolve, unknown_artifact
from gitartifacts.ops import checkout as ops_checkout
from gitartifacts.ops import projects as project_ops


class Imported(NamedTuple):
    name: str  # the local artifact
    path: str
    record: ImportRecord
    previous: str | None  # `vN` it held before an update; None for an import
    changed: bool  # False: an update found nothing new


def import_artifact(
    project: Project,
    spec: str,
    *,
    path: str | None = None,
    as_name: str | None = None,
    refresh: bool = False,
) -> Imported:
    """Import a source project's version as artifact `as_name` (default: its own name) at
    `path` (default: its path there, else its name)."""
    r, inner = _resolve_source(project, spec, refresh)
    name = as_name or r.manifest.name
    mf.validate_name(name, "artifact name")
    if project.read_manifest(name, entries=False) is not None:
        raise UsageError(
            f"artifact {name!r} exists here already",
            f"move it with git artifacts update {name}, or import under another name with --as",
        )
    where = project.relpath(project.root / (path or r.manifest.path or name))
    if where == ".":
        raise UsageError("an import needs a folder of its own", "pass --path DIR")
    rec = _record(project, r, inner)
    _write(project, r, name, where, rec)
    return Imported(name, where, rec, None, True)


def update(project: Project, name: str, to: str | None = None) -> Imported:
    """Move import `name` to what its recorded spec names now (refreshing the project's
    mirror first), or to `to`: a version or alias (`v3`, `prod`) or `artifact:spec` of the
    same project. A pinned `vN` stays unless `to` names another."""
    current = project.read_manifest(name, entries=False)
    if current is None:
        raise unknown_artifact(project, name)
    rec = record_of(current)
    if rec is None:
        raise UsageError(f"{name} was not imported", "update moves imports only")
    inner = rec.spec
    if to is not None:
        inner = to if ":" in to else f"{rec.spec.partition(':')[0]}:{to}"
    r, inner = _resolve_source(project, rec.origin + inner, refresh=True)
    if r.manifest.digest == current.digest and inner == rec.spec:
        return Imported(name, current.path or name, rec, rec.version, False)
    new = _record(project, r, inner)
    _write(project, r, name, current.path or name, new)
    return Imported(name, current.path or name, new, rec.version, True)


def _resolve_source(project: Project, spec: str, refresh: bool) -> tuple[Resolved, str]:
    """The version a source spec names, and the spec inside the project (`artifact:sel`)."""
    foreign = projects.parse_spec(project.root, spec)
    if foreign is None:
        raise UsageError(
            f"{spec!r} names no other project",
            "import takes PROJECT/artifact:spec (see git artifacts project list)",
        )
    if refresh:
        projects.fetch(project, foreign.project)
    r = resolve(project, spec, entries=False)
    if r.version is None:
        raise UsageError(f"{spec} is no published version", "import a version: NAME:vN or alias")
    return r, foreign.spec


def _record(project: Project, r: Resolved, inner: str) -> ImportRecord:
    assert r.origin is not None and r.version is not None
    source = projects.source_of(project.root, r.origin)
    return ImportRecord(source.name, source.url, inner, f"v{r.version}", r.manifest.digest)


def _write(project: Project, r: Resolved, name: str, where: str, rec: ImportRecord) -> None:
    """The source's files at `where` and the manifest naming them, staged; on failure the
    manifest is left as it was."""
    project_ops.fetch_content(project, r)
    m = dataclasses.replace(
        r.manifest,
        name=name,
        path=where,
        ttl=None,
        listing=None,
        metadata={**r.manifest.metadata, IMPORT_KEY: rec.as_metadata()},
    )
    manifest_file = project.manifest_file(name)
    before = manifest_file.read_bytes() if manifest_file.is_file() else None
    previous = project.read_manifest(name, entries=False) if before is not None else None
    rel = project.write_manifest(m)
    try:
        ops_checkout.checkout(project, [name], previous=previous)
        project.repo.stage([rel])
    except BaseException:
        if before is None:
            manifest_file.unlink(missing_ok=True)
        else:
            write_atomic(manifest_file, before)
        raise
