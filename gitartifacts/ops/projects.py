"""project add, list, remove, fetch; and the content of a source project's versions.

A source project's files come from the remote cache that its own `.gitartifacts.yaml` names
at the version's commit (its default remote, else its only one; for a project on this
machine with none, its own local cache), read with this clone's credentials. That remote
passes the same checks as one configured here; objects are verified against their digests
as they arrive, so a remote cannot pass off other bytes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.redaction import redact
from gitartifacts.errors import GitArtifactsError, NotFoundError, UsageError
from gitartifacts.gitmodel import projects
from gitartifacts.gitmodel.imported import IMPORT_KEY, record_of
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.projects import SourceProject
from gitartifacts.gitmodel.resolve import Resolved, resolve
from gitartifacts.remote import plan, transfer
from gitartifacts.remote.urls import check_location, check_no_secrets
from gitartifacts.settings import (
    CONFIG_FILE,
    REMOTE_OPTIONS,
    Remote,
    parse_committed,
    read_committed,
    remote_settings,
)


class ProjectRow(NamedTuple):
    name: str
    url: str
    mirrored: bool  # its mirror is here: specs of it resolve offline


def add(host: Project, name: str, url: str, *, force: bool = False) -> SourceProject:
    """Add (with `force`, replace) source project `name`; its mirror is fetched first, so an
    unreachable URL or one with no versions writes nothing."""
    projects.check_name(name)
    if name in host.repo.remotes():
        raise UsageError(
            f"{name!r} is a git remote here; `{name}/...` would read as one of its branches",
            "choose another project name",
        )
    project = SourceProject(name, projects.check_url(url, host.root))
    known = projects.configured(read_committed(host.root), host.root)
    if name in known and not force:
        raise UsageError(
            f"project {name!r} already exists, at {redact(known[name].url)}",
            f"pass --force to replace it, or git artifacts project remove {name}",
        )
    if name in known:
        shutil.rmtree(projects.mirror_dir(host, project), ignore_errors=True)
    projects.fetch(host, project)
    with host.repo.worktree_lock():  # read, change and write with no writer in between
        doc = read_committed(host.root)
        entries = dict(doc.get(projects.SECTION) or {})
        entries[name] = {"url": project.url}
        doc[projects.SECTION] = entries
        _write(host, doc)
    return project


def list_projects(host: Project) -> list[ProjectRow]:
    known = projects.configured(read_committed(host.root), host.root)
    return [
        ProjectRow(p.name, p.url, (projects.mirror_dir(host, p) / "HEAD").is_file())
        for p in sorted(known.values())
    ]


def remove(host: Project, name: str) -> None:
    """Remove a source project and its mirror (imports of it keep their recorded source)."""
    with host.repo.worktree_lock():
        doc = read_committed(host.root)
        entries = dict(doc.get(projects.SECTION) or {})
        found = entries.pop(name, None)
        if found is None:
            raise NotFoundError(f"no project named {name!r}", "see git artifacts project list")
        doc[projects.SECTION] = entries
        if not entries:
            doc.pop(projects.SECTION)
        _write(host, doc)
    shutil.rmtree(projects.mirror_dir(host, SourceProject(name, "")), ignore_errors=True)


def fetch(host: Project, names: list[str] | None = None) -> list[tuple[str, int]]:
    """Update the mirrors of these projects (default: all); (name, artifact refs) of each."""
    known = projects.configured(read_committed(host.root), host.root)
    for n in names or []:
        if n not in known:
            raise projects.unknown(f"{n}/x")
    wanted = names or sorted(known)
    return [(n, projects.fetch(host, known[n])) for n in wanted]


def fetch_content(host: Project, r: Resolved) -> None:
    """Bring the objects of a source project's version into the cache (none when all are
    here: then nothing goes over the network); its entries are loaded onto `r.manifest`."""
    if plan.lacking(host, [r.manifest]):
        transfer.fetch_manifests(host, source_remote(host, r), [r.manifest])
    host.load_entries(r.manifest)


def fetch_imported(host: Project, manifests: Sequence[mf.Manifest]) -> int:
    """Bring the objects of imported manifests from the remotes their sources name; returns
    how many. A source that cannot be reached is left to this repository's own remote (a
    push here copied the objects there), so this never fails a pull by itself."""
    count = 0
    for m in plan.lacking(host, [m for m in manifests if IMPORT_KEY in m.metadata]):
        try:
            rec = record_of(m)
            if rec is None:
                continue
            name = rec.spec.partition(":")[0]
            r = resolve(host, f"{rec.origin}{name}:{rec.version}", entries=False)
            if r.manifest.digest != rec.digest:
                continue  # the source renumbered: its digest is what the manifest holds
            count += transfer.fetch_manifests(host, source_remote(host, r), [m])
        except GitArtifactsError:
            continue
    return count


def source_remote(host: Project, r: Resolved) -> Remote:
    """The remote cache a source project's version names at its commit."""
    assert r.origin is not None and r.commit is not None
    project = projects.source_of(host.root, r.origin)
    mirror = projects.open_mirror(host, project)
    where = f"{project.name} at {r.commit[:10]}"
    data = mirror.repo.show_file(r.commit, CONFIG_FILE)
    committed = (
        parse_committed(data.decode("utf-8", "replace"), f"{CONFIG_FILE} of {where}")
        if data is not None
        else {}
    )
    local = _local_path(project.url)
    if local is None:
        _check_no_relative_folder(committed, where)
    remotes, default = remote_settings(committed, {}, Path(local or "/"))
    chosen = _chosen(remotes, default, local)
    if chosen is None:
        raise NotFoundError(
            f"project {where} names no remote cache",
            "its owners add one with git artifacts remote add NAME URL --default",
        )
    check_no_secrets(chosen.url, {k: v for k, v in chosen.options.items() if k in REMOTE_OPTIONS})
    check_location(chosen.url, chosen.options)
    return chosen


def _chosen(remotes: dict[str, Remote], default: str | None, local: str | None) -> Remote | None:
    if default in remotes:
        return remotes[default]
    if len(remotes) == 1:
        return next(iter(remotes.values()))
    if remotes or local is None:
        return None
    # As `remote.remotes.origin_cache` does for a local origin: its own cache folder.
    git_dir = os.path.join(local, ".git")
    folder = os.path.join(git_dir if os.path.isdir(git_dir) else local, "artifacts", "objects")
    return Remote("local", folder, {}, "origin") if os.path.isdir(folder) else None


def _check_no_relative_folder(committed: dict[str, Any], where: str) -> None:
    """A folder remote relative to the project's work tree exists only beside that tree."""
    raw = committed.get("remotes") or {}
    for spec in raw.values() if isinstance(raw, dict) else ():
        url = spec.get("url") if isinstance(spec, dict) else None
        if isinstance(url, str) and "://" not in url and not os.path.isabs(url):
            raise UsageError(
                f"project {where} keeps its files in {url!r}, a folder beside its work tree",
                "add the project by a path on this machine, or ask its owners for a shared remote",
            )


def _local_path(url: str) -> str | None:
    if url.startswith("file://"):
        return url[len("file://") :]
    return url if os.path.isabs(url) else None


def _write(host: Project, doc: dict[str, Any]) -> None:
    header = "# gitartifacts settings, committed with the repository. No secrets here.\n"
    text = header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    write_atomic(host.root / CONFIG_FILE, text.encode())
    host.repo.stage([CONFIG_FILE])
