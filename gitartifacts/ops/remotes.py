"""remote add, remove: edit the committed `.gitartifacts.yaml` or this clone's git config."""

from __future__ import annotations

import os
from typing import Any

import yaml

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.redaction import redact
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote.remotes import load
from gitartifacts.remote.urls import check_location, check_no_secrets, folder_of
from gitartifacts.settings import CONFIG_FILE, GIT_OPTION_NAMES, Remote, read_committed


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
