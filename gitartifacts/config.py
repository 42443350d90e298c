"""Remote caches: the committed `.gitartifacts.yaml`, machine-local `git config` overrides.

Committed: remote name -> URL and non-secret options (endpoint_url, region, profile).
Machine-local: `git config artifacts.remote.<name>.<key>` overrides or adds.
Credentials: only the environment and the usual AWS/GCP profiles, never a file of ours.
"""

from __future__ import annotations

import os
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import yaml

from gitartifacts import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.project import CONFIG_FILE, Project, write_atomic

OPTION_KEYS = ("endpoint_url", "region", "profile")
_SECRET_RE = re.compile(r"(secret|password|token|credential|access_key|^key$)", re.I)


class Remote(NamedTuple):
    name: str
    url: str
    options: dict[str, str]
    source: str  # "committed", "local" (git config) or "origin" (zero-setup default)


def load(project: Project) -> tuple[dict[str, Remote], str | None]:
    """All configured remotes and the default remote's name."""
    doc = _read(project)
    remotes: dict[str, Remote] = {}
    for name, spec in (doc.get("remotes") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
            raise UsageError(
                f"{CONFIG_FILE}: remote {name!r} has no url",
                "fix it with git artifacts remote add NAME URL",
            )
        opts = {k: str(v) for k, v in spec.items() if k in OPTION_KEYS}
        remotes[name] = Remote(name, spec["url"], opts, "committed")
    default = doc.get("default_remote")
    local = project.repo.config_get_regexp(r"^artifacts\.remote\.")
    for key, value in local.items():
        _, _, rest = key.partition("artifacts.remote.")
        name, _, opt = rest.rpartition(".")
        if not name:
            continue
        r = remotes.get(name, Remote(name, "", {}, "local"))
        if opt == "url":
            r = r._replace(url=value)
        elif opt in OPTION_KEYS:
            r = r._replace(options={**r.options, opt: value})
        remotes[name] = r
    default = project.repo.config_get("artifacts.defaultremote") or default
    for n, r in remotes.items():
        if r.url and "://" not in r.url and not os.path.isabs(r.url):
            # A relative folder in the committed file means relative to the repository root.
            remotes[n] = r._replace(url=os.path.normpath(os.path.join(project.root, r.url)))
    return {n: r for n, r in remotes.items() if r.url}, default


def resolve(project: Project, name: str | None = None) -> Remote:
    """The remote to use: the named one, else the default, else the only one, else one
    beside a local `origin` (zero setup)."""
    remotes, default = load(project)
    if name is not None:
        if name not in remotes:
            raise UsageError(f"no remote named {name!r}", "see git artifacts remote list")
        return remotes[name]
    if default and default in remotes:
        return remotes[default]
    if len(remotes) == 1:
        return next(iter(remotes.values()))
    if remotes:
        raise UsageError(
            f"several remotes ({', '.join(sorted(remotes))}) and none is the default",
            "pass --remote NAME, or run git artifacts remote add NAME URL --default",
        )
    origin = origin_cache(project)
    if origin is not None:
        return Remote("origin", origin, {}, "origin")
    raise UsageError(
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


def add(
    project: Project,
    name: str,
    url: str,
    *,
    default: bool = False,
    options: dict[str, str] | None = None,
    local: bool = False,
) -> Remote:
    mf.validate_name(name, "remote name")
    options = {k: v for k, v in (options or {}).items() if v is not None}
    check_no_secrets(url, options)
    if local:
        project.repo.config_set(f"artifacts.remote.{name}.url", url)
        for k, v in options.items():
            project.repo.config_set(f"artifacts.remote.{name}.{k}", v)
        if default:
            project.repo.config_set("artifacts.defaultremote", name)
        return Remote(name, url, options, "local")
    with project.repo.worktree_lock():  # read, change and write with no writer in between
        doc = _read(project)
        remotes = dict(doc.get("remotes") or {})
        remotes[name] = {"url": url, **options}
        doc["remotes"] = remotes
        if default:
            doc["default_remote"] = name
        _write(project, doc)
    return Remote(name, url, options, "committed")


def remove(project: Project, name: str) -> None:
    with project.repo.worktree_lock():  # read, change and write with no writer in between
        doc = _read(project)
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


def check_no_secrets(url: str, options: dict[str, str]) -> None:
    parts = urlsplit(url)
    if parts.password or (parts.username and parts.scheme in ("s3", "gs", "gcs", "az", "abfs")):
        raise UsageError(
            "the remote URL carries credentials",
            "credentials go in the environment or an AWS/GCP profile, never in committed files",
        )
    for key in options:
        if _SECRET_RE.search(key):
            raise UsageError(
                f"option {key!r} looks like a credential",
                "use the environment or an AWS/GCP profile (--profile NAME) instead",
            )


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


def remote_id(remote: Remote) -> str:
    """A stable identity for local indexes of what a remote holds."""
    return remote.url.rstrip("/") + "|" + remote.options.get("endpoint_url", "")


def _read(project: Project) -> dict[str, Any]:
    path = project.root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    mf.check_yaml(text, CONFIG_FILE, 1 << 20)
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{CONFIG_FILE} is not valid YAML ({exc})", "fix or restore it with git checkout"
        ) from None
    if not isinstance(doc, dict):
        raise UsageError(f"{CONFIG_FILE} is not a mapping", "restore it with git checkout")
    return doc


def _write(project: Project, doc: dict[str, Any]) -> None:
    header = "# gitartifacts settings, committed with the repository. No secrets here.\n"
    text = header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    write_atomic(project.root / CONFIG_FILE, text.encode())
    project.repo.stage([CONFIG_FILE])
