"""remote add, remove, default, modify: edit the committed `.gitartifacts.yaml` or, with
`local`, this clone's git config (which wins over the committed file)."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import yaml

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.redaction import redact
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote.remotes import load
from gitartifacts.remote.urls import SECRET_OPTIONS, check_location, check_no_secrets, folder_of
from gitartifacts.settings import (
    CONFIG_FILE,
    GIT_OPTION_NAMES,
    REMOTE_OPTIONS,
    Remote,
    read_committed,
)

_SEE_LIST = "see git artifacts remote list"
# What `remote modify` may set: the URL and the non-secret options.
MODIFIABLE = ("url", *REMOTE_OPTIONS)


class DefaultRemote(NamedTuple):
    """Which remote is the default: its name (None: none) and where that is set ("local":
    this clone's git config, else "committed")."""

    name: str | None
    source: str


def add(
    project: Project,
    name: str,
    url: str,
    *,
    default: bool = False,
    options: dict[str, str] | None = None,
    local: bool = False,
    force: bool = False,
    create: bool = False,
) -> Remote:
    """Add (with `force`, replace) remote `name`; nothing is written unless all is valid.

    A folder remote must lie in an existing folder; with `create` its folders are made.
    """
    mf.validate_name(name, "remote name")
    options = {k: v for k, v in (options or {}).items() if v is not None}
    check_no_secrets(url, options)
    check_location(url, options)
    existing = load(project).remotes
    if name in existing and not force:
        raise UsageError(
            f"remote {name!r} already exists, at {redact(existing[name].url)}",
            f"pass --force to replace it, or git artifacts remote remove {name}",
        )
    folder = folder_of(url)
    if folder is not None:
        _check_folder(folder, create)
    if local:
        _add_local(project, name, url, options, default)
        return Remote(name, url, options, "local")
    if force and project.repo.config_get(f"artifacts.remote.{name}.url") is not None:
        # Else the machine-local remote of that name would still win over the new one.
        project.repo.run("config", "--remove-section", f"artifacts.remote.{name}", check=False)
    with project.repo.worktree_lock():  # read, change and write with no writer in between
        doc = read_committed(project.root)
        remotes = dict(doc.get("remotes") or {})
        remotes[name] = {"url": url, **options}
        doc["remotes"] = remotes
        if default:
            doc["default_remote"] = name
        _write(project, doc)
    return Remote(name, url, options, "committed")


def remove(project: Project, name: str) -> None:
    with project.repo.worktree_lock():  # read, change and write with no writer in between
        doc = read_committed(project.root)
        remotes = dict(doc.get("remotes") or {})
        found = remotes.pop(name, None) is not None
        if found:
            doc["remotes"] = remotes
            if doc.get("default_remote") == name:
                doc.pop("default_remote")
            _write(project, doc)
    if project.repo.config_get(f"artifacts.remote.{name}.url") is not None:
        project.repo.run("config", "--remove-section", f"artifacts.remote.{name}", check=False)
        found = True
    if project.repo.config_get("artifacts.defaultremote") == name:
        project.repo.run("config", "--unset", "artifacts.defaultremote", check=False)
    if not found:
        raise UsageError(f"no remote named {name!r}", "see git artifacts remote list")


def set_default(
    project: Project, name: str | None, *, local: bool = False, unset: bool = False
) -> DefaultRemote:
    """Make `name` the default remote, or with `unset` make none the default, in the
    committed file or with `local` in this clone's git config; then say which is the default."""
    if unset:
        _write_default(project, None, local)
    elif name is not None:
        _check_default(project, name, local)
        _write_default(project, name, local)
    return default_remote(project)


def default_remote(project: Project) -> DefaultRemote:
    """The default remote and where it is set: this clone's git config wins."""
    here = project.repo.config_get("artifacts.defaultremote")
    committed = read_committed(project.root).get("default_remote")
    if here:
        return DefaultRemote(here, "local")
    return DefaultRemote(committed, "committed")


def modify(
    project: Project,
    name: str,
    key: str,
    value: str | None,
    *,
    local: bool = False,
) -> Remote:
    """Set option `key` (or the URL) of remote `name` to `value`, or remove the option when
    `value` is None; in the committed file, or with `local` in this clone's git config.
    Nothing is written unless the remote it makes is valid."""
    key = _option_key(key)
    remotes = load(project).remotes
    if name not in remotes:
        raise NotFoundError(f"no remote named {name!r}", "see git artifacts remote list")
    if value is None and key == "url":
        raise UsageError("a remote cannot be without a URL", f"git artifacts remote remove {name}")
    current = remotes[name]
    options = {k: v for k, v in current.options.items() if k != key}
    url = value if key == "url" and value is not None else current.url
    if key != "url" and value is not None:
        options[key] = value
    check_no_secrets(url, options)
    check_location(url, options)
    folder = folder_of(url)
    if key == "url" and folder is not None:
        _check_folder(folder, create=False)
    if local:
        _modify_local(project, name, key, value)
        return Remote(name, url, options, "local")
    _modify_committed(project, current, key, value)
    return Remote(name, url, options, "committed")


def _add_local(
    project: Project, name: str, url: str, options: dict[str, str], default: bool
) -> None:
    section = f"artifacts.remote.{name}"
    if project.repo.config_get(f"{section}.url") is not None:
        project.repo.run("config", "--remove-section", section, check=False)
    try:
        project.repo.config_set(f"{section}.url", url)
        for k, v in options.items():
            project.repo.config_set(f"{section}.{GIT_OPTION_NAMES[k]}", v)
    except Exception:
        # Half a remote (a URL without its endpoint) would send data elsewhere.
        project.repo.run("config", "--remove-section", section, check=False)
        raise
    if default:
        project.repo.config_set("artifacts.defaultremote", name)


def _check_folder(folder: str, create: bool) -> None:
    if os.path.isdir(folder):
        return
    if os.path.lexists(folder):
        raise UsageError(f"remote folder {folder} is not a folder", "name a folder")
    if create:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"cannot create remote folder {folder}: {exc.strerror}", "check the path"
            ) from None
        return
    parent = os.path.dirname(folder)
    if not os.path.isdir(parent):
        # An unmounted volume looks exactly like this: never fill the mount point instead.
        raise UsageError(
            f"folder {parent}, which would hold remote {folder}, does not exist",
            "mount or create it, or pass --create to make the folders",
        )


def _write(project: Project, doc: dict[str, Any]) -> None:
    header = "# gitartifacts settings, committed with the repository. No secrets here.\n"
    text = header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    write_atomic(project.root / CONFIG_FILE, text.encode())
    project.repo.stage([CONFIG_FILE])


def _check_default(project: Project, name: str, local: bool) -> None:
    remotes = load(project).remotes
    if name not in remotes:
        raise NotFoundError(f"no remote named {name!r}", "see git artifacts remote list")
    if not local and name not in (read_committed(project.root).get("remotes") or {}):
        # Other clones would name a remote they do not have.
        raise UsageError(
            f"remote {name!r} is only in this clone's git config",
            f"pass --local, or add it to .gitartifacts.yaml with git artifacts remote add {name}",
        )


def _write_default(project: Project, name: str | None, local: bool) -> None:
    if local and name is not None:
        project.repo.config_set("artifacts.defaultremote", name)
    elif local:
        project.repo.run("config", "--unset", "artifacts.defaultremote", check=False)
    else:
        with project.repo.worktree_lock():  # read, change and write with no writer in between
            doc = read_committed(project.root)
            doc.pop("default_remote", None)
            if name is not None:
                doc["default_remote"] = name
            _write(project, doc)


def _option_key(key: str) -> str:
    option = key.replace("-", "_").lower()
    if option in MODIFIABLE:
        return option
    if option in SECRET_OPTIONS or any(w in option for w in ("secret", "token", "password")):
        raise UsageError(
            f"option {key!r} is a credential and is never stored in configuration",
            "credentials come from the environment or an AWS/GCP profile: set option profile",
        )
    raise UsageError(f"unknown remote option {key!r}", f"use one of: {', '.join(MODIFIABLE)}")


def _modify_local(project: Project, name: str, key: str, value: str | None) -> None:
    variable = f"artifacts.remote.{name}.{'url' if key == 'url' else GIT_OPTION_NAMES[key]}"
    if value is None:
        if project.repo.config_get(variable) is None:
            raise UsageError(f"remote {name!r} has no {key} in git config", _SEE_LIST)
        project.repo.run("config", "--unset", variable, check=False)
    else:
        project.repo.config_set(variable, value)


def _modify_committed(project: Project, current: Remote, key: str, value: str | None) -> None:
    with project.repo.worktree_lock():  # read, change and write with no writer in between
        doc = read_committed(project.root)
        remotes = dict(doc.get("remotes") or {})
        entry = remotes.get(current.name)
        if not isinstance(entry, dict):
            raise UsageError(
                f"remote {current.name!r} is only in this clone's git config",
                "pass --local to change it there",
            )
        entry = dict(entry)
        if value is None:
            if key not in entry:
                raise UsageError(
                    f"remote {current.name!r} has no {key} in .gitartifacts.yaml", _SEE_LIST
                )
            entry.pop(key)
        else:
            entry[key] = value
        remotes[current.name] = entry
        doc["remotes"] = remotes
        _write(project, doc)
