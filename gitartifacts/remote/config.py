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

from gitartifacts.core import manifest as mf
from gitartifacts.core import safeyaml
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.redaction import credential_in_url, redact
from gitartifacts.errors import UsageError
from gitartifacts.project import CONFIG_FILE, Project

OPTION_KEYS = ("endpoint_url", "region", "profile")
# git config variable names allow no underscore: `artifacts.remote.<name>.endpointUrl`.
_GIT_KEYS = {k: k.replace("_", "") for k in OPTION_KEYS}
_SECRET_RE = re.compile(r"(secret|password|token|credential|access_key|^key$)", re.I)
# Values of region and profile: plain names, never a place for a key.
_PLAIN_VALUE_RE = re.compile(r"^[A-Za-z0-9_.+@=,\-]{1,128}$")


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
        option = next((k for k, g in _GIT_KEYS.items() if g == opt.lower()), None)
        if opt == "url":
            r = r._replace(url=value)
        elif option is not None:
            r = r._replace(options={**r.options, option: value})
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
    existing, _ = load(project)
    if name in existing and not force:
        raise UsageError(
            f"remote {name!r} already exists, at {redact(existing[name].url)}",
            f"pass --force to replace it, or git artifacts remote remove {name}",
        )
    folder = _folder(url)
    if folder is not None:
        _check_folder(folder, create)
    if local:
        section = f"artifacts.remote.{name}"
        if project.repo.config_get(f"{section}.url") is not None:
            project.repo.run("config", "--remove-section", section, check=False)
        try:
            project.repo.config_set(f"{section}.url", url)
            for k, v in options.items():
                project.repo.config_set(f"{section}.{_GIT_KEYS[k]}", v)
        except Exception:
            # Half a remote (a URL without its endpoint) would send data elsewhere.
            project.repo.run("config", "--remove-section", section, check=False)
            raise
        if default:
            project.repo.config_set("artifacts.defaultremote", name)
        return Remote(name, url, options, "local")
    if force and project.repo.config_get(f"artifacts.remote.{name}.url") is not None:
        # Else the machine-local remote of that name would still win over the new one.
        project.repo.run("config", "--remove-section", f"artifacts.remote.{name}", check=False)
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
    """Refuse a URL or option that would store a credential in configuration."""
    why = credential_in_url(url)
    if why is not None:
        raise UsageError(
            f"the remote URL carries a credential, as {why}",
            "credentials go in the environment or an AWS/GCP profile, never in configuration",
        )
    for key, value in options.items():
        if key not in OPTION_KEYS or _SECRET_RE.search(key):
            raise UsageError(
                f"option {key!r} looks like a credential"
                if _SECRET_RE.search(key)
                else f"unknown remote option {key!r}",
                "use the environment or an AWS/GCP profile (--profile NAME) instead",
            )
        why = credential_in_url(value) if "://" in value else None
        if why is None and key != "endpoint_url" and not _PLAIN_VALUE_RE.match(value):
            why = "it is not a plain name"
        if why is None and redact(value) != value:
            why = "it holds a key-like string"
        if why is not None:
            raise UsageError(
                f"remote option {key.replace('_', '-')} carries a credential, as {why}",
                "credentials go in the environment or an AWS/GCP profile, never in configuration",
            )


def check_location(url: str, options: dict[str, str]) -> None:
    """Refuse a URL that names no place a remote can be: relative paths, unknown schemes,
    S3/GCS URLs without a bucket, query strings; and an endpoint that is not http(s)."""
    from gitartifacts.remote.store import parse_url

    if "://" not in url and not os.path.isabs(url):
        raise UsageError(
            f"remote URL {redact(url)!r} is a relative path",
            f"write an absolute path, e.g. {os.path.abspath(url)}",
        )
    parse_url(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise UsageError(
            f"remote URL {redact(url)!r} has a query string or fragment",
            "a remote URL names a location only: scheme://bucket/prefix or a folder",
        )
    endpoint = options.get("endpoint_url")
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.query or ep.fragment:
            raise UsageError(
                f"endpoint URL {redact(endpoint)!r} is not an http(s) server address",
                "write it as http://host:port or https://host",
            )


def _folder(url: str) -> str | None:
    """The local folder a folder remote's URL names, else None."""
    from gitartifacts.remote.store import parse_url

    protocol, root = parse_url(url)
    return root if protocol == "file" else None


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


def _checked(remote: Remote) -> Remote:
    """A remote about to be used: one holding credentials (edited by hand) is refused."""
    check_no_secrets(remote.url, {k: v for k, v in remote.options.items() if k in OPTION_KEYS})
    return remote


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


def network_timeout(project: Project) -> float:
    """The stall limit of network steps, in seconds: the environment, else git config."""
    from gitartifacts.remote import watchdog

    env = watchdog.parse_limit(os.environ.get(watchdog.ENV), watchdog.ENV)
    if env is not None:
        return env
    key = "artifacts.networkTimeout"
    return watchdog.parse_limit(project.repo.config_get(key), key) or watchdog.DEFAULT_LIMIT


def remote_id(remote: Remote) -> str:
    """A stable identity for local indexes of what a remote holds."""
    return remote.url.rstrip("/") + "|" + remote.options.get("endpoint_url", "")


def _read(project: Project) -> dict[str, Any]:
    path = project.root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    safeyaml.check_yaml(text, CONFIG_FILE, 1 << 20)
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
