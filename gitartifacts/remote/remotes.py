"""Which remote cache a command uses: the configured ones, the default, else the origin's."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote.urls import check_no_secrets
from gitartifacts.settings import (
    REMOTE_OPTIONS,
    Remote,
    RemoteSettings,
    read_committed,
    remote_settings,
)


class NoRemoteError(UsageError):
    """No remote is configured and no local `origin` has a cache."""


def load(project: Project) -> RemoteSettings:
    """All configured remotes and the default remote's name, read afresh (an edit by
    `remote add` in this process counts)."""
    config = project.repo.config_get_regexp(r"^artifacts\.(remote\.|defaultremote$)")
    return remote_settings(read_committed(project.root), config, project.root)


def resolve(project: Project, name: str | None = None) -> Remote:
    """The remote to use: the named one, else the default, else the only one, else one
    beside a local `origin` (zero setup)."""
    remotes, default = load(project)
    if name is not None:
        if name not in remotes:
            raise UsageError(f"no remote named {name!r}", "see git artifacts remote list")
        return _checked(remotes[name])
    if default and default in remotes:
        return _checked(remotes[default])
    if len(remotes) == 1:
        return _checked(next(iter(remotes.values())))
    if remotes:
        raise UsageError(
            f"several remotes ({', '.join(sorted(remotes))}) and none is the default",
            "pass --remote NAME, or run git artifacts remote add NAME URL --default",
        )
    origin = origin_cache(project)
    if origin is not None:
        return Remote("origin", origin, {}, "origin")
    raise NoRemoteError(
        "no remote cache is configured",
        "run git artifacts remote add storage s3://bucket/prefix --default (or a folder path)",
    )


def origin_cache(project: Project) -> str | None:
    """When `origin` is a repository on this machine, its own cache folder is the remote."""
    url = project.repo.config_get("remote.origin.url")
    if not url:
        return None
    path = url[7:] if url.startswith("file://") else url
    if "://" in path or (":" in path and not os.path.isabs(path)):
        return None
    path = os.path.join(str(project.root), path) if not os.path.isabs(path) else path
    if not os.path.isdir(path):
        return None
    git_dir = os.path.join(path, ".git") if os.path.isdir(os.path.join(path, ".git")) else path
    return os.path.join(os.path.abspath(git_dir), "artifacts", "objects")


def reference_options(project: Project, uri: str) -> dict[str, str]:
    """Options (an endpoint, a profile) for reading a reference: those of a configured remote
    on the same bucket, else of one with the same scheme."""
    parts = urlsplit(uri)
    remotes, default = load(project)
    same_scheme = [r for r in remotes.values() if urlsplit(r.url).scheme == parts.scheme]
    for r in same_scheme:
        if urlsplit(r.url).netloc == parts.netloc:
            return dict(r.options)
    for r in sorted(same_scheme, key=lambda r: r.name != default):
        return dict(r.options)
    return {}


def _checked(remote: Remote) -> Remote:
    """A remote about to be used: one holding credentials (edited by hand) is refused."""
    check_no_secrets(remote.url, {k: v for k, v in remote.options.items() if k in REMOTE_OPTIONS})
    return remote
