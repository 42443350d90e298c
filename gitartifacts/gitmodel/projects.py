"""Source projects: other git repositories whose artifacts this one uses, and their mirrors.

A source project is a name and a git URL under `projects:` in `.gitartifacts.yaml`. Its
artifact tags, registry links and notes are fetched into a bare mirror at
`.git/artifacts/projects/<name>` with `--depth=1`: each tag brings its own commit (the
manifest and the project's `.gitartifacts.yaml` at that version) and no history. A spec names
a project's artifact as `NAME/artifact:spec`, `ENTITY/NAME/artifact:spec` or
`<url>#artifact:spec`. The URL and everything fetched are untrusted: a URL with a password or
an option-like or command-running form is refused, and the mirror is read with the same
checks as this repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from gitartifacts.core import manifest as mf
from gitartifacts.core import textsafe
from gitartifacts.core.redaction import redact
from gitartifacts.errors import GitError, NotFoundError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import (
    LATEST,
    NOTES_REF,
    REGISTRY_PREFIX,
    REGISTRY_SPEC_PREFIX,
    TAG_PREFIX,
)
from gitartifacts.gitmodel.repo import Repo
from gitartifacts.gitmodel.runner import git_network
from gitartifacts.settings import CONFIG_FILE, read_committed

SECTION = "projects"
# The git transports a project URL may use; `ext::` and the like would run a command.
URL_SCHEMES = ("file", "ssh", "git", "http", "https")
_FETCHED = (f"{TAG_PREFIX}*", f"{REGISTRY_PREFIX}*")
# (entity, project) pairs whose entity was noted as ignored, so a note is printed once.
_NOTED: set[tuple[str, str]] = set()
_ADD_FIX = "add it with git artifacts project add NAME URL; see git artifacts project list"


class SourceProject(NamedTuple):
    """Another repository: its name here (its URL, when a spec gave the URL) and URL."""

    name: str
    url: str


class ForeignSpec(NamedTuple):
    """A spec that names an artifact of a source project."""

    project: SourceProject
    spec: str  # `artifact:selector` inside the project
    prefix: str  # how the spec named the project: `NAME/` or `<url>#`


def configured(committed: Mapping[str, Any], root: Path) -> dict[str, SourceProject]:
    """The source projects of the committed settings; a bad entry is refused."""
    raw = committed.get(SECTION) or {}
    if not isinstance(raw, dict):
        raise UsageError(f"{CONFIG_FILE}: {SECTION} is not a mapping", "fix it by hand")
    out: dict[str, SourceProject] = {}
    for name, entry in raw.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(url, str):
            raise UsageError(
                f"{CONFIG_FILE}: project {name!r} has no url",
                "fix it with git artifacts project add NAME URL --force",
            )
        check_name(name)
        out[name] = SourceProject(name, check_url(url, root))
    return out


def check_name(name: str) -> None:
    """A project name: an artifact-like name that no other spec form claims."""
    mf.validate_name(name, "project name")
    if name + "/" == REGISTRY_SPEC_PREFIX:
        raise UsageError("'registry' names the registry in specs", "choose another project name")


def check_url(url: str, root: Path) -> str:
    """The URL to fetch from: a local path (made absolute against `root`), an scp-like
    `host:path`, or a URL of a git transport without a password; a user name is kept only
    for ssh (where it is the login, not a secret)."""
    if not url or url.startswith("-") or any(c in url for c in "\n\r\0"):
        raise UsageError(
            f"project URL {redact(url)!r} is not a URL or a path", "give a git URL or a path"
        )
    if "://" not in url:
        if "::" in url:
            raise UsageError(
                f"project URL {redact(url)!r} names a git helper", "give a git URL or a path"
            )
        host, sep, _ = url.partition(":")
        if sep and "/" not in host and not os.path.exists(url):
            return url  # scp-like ssh: [user@]host:path
        return os.path.normpath(os.path.join(root, os.path.expanduser(url)))
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise UsageError(
            f"project URL {redact(url)!r} uses {parts.scheme}://",
            "use a path, ssh://, https:// or git@host:path",
        )
    if parts.password is not None:
        raise UsageError(
            f"project URL {redact(url)!r} carries a password",
            "remove it and let a git credential helper give it (git config credential.helper)",
        )
    if parts.username is not None and parts.scheme != "ssh":
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=host))
    return url


def parse_spec(root: Path, spec: str) -> ForeignSpec | None:
    """The source project a spec names, or None when it names none (a spec of this
    repository). A missing selector means `latest`."""
    if "#" in spec:
        url, _, inner = spec.rpartition("#")
        checked = check_url(url, root)  # named by its URL, which no project name can be
        return ForeignSpec(SourceProject(checked, checked), _latest(inner), url + "#")
    head, _, selector = spec.partition(":")
    parts = head.split("/")
    if len(parts) not in (2, 3) or spec.startswith(REGISTRY_SPEC_PREFIX):
        return None
    project = configured(read_committed(root), root).get(parts[-2])
    if project is None:
        return None
    if len(parts) == 3:
        check_entity(parts[0], project)
    return ForeignSpec(project, _latest(f"{parts[-1]}:{selector}"), f"{parts[-2]}/")


def source_of(root: Path, origin: str) -> SourceProject:
    """The source project of a resolved version's `origin` (`NAME/` or `<url>#`)."""
    found = parse_spec(root, origin + "x:latest")
    if found is None:
        raise NotFoundError(f"no project named {origin[:-1]!r}", _ADD_FIX)
    return found.project


def origin_of(name: str) -> str | None:
    """The origin (`NAME/` or `<url>#`) of a qualified artifact name such as a run record's
    `vision/bike-model`; None for a name of this repository."""
    if "#" in name:
        return name.rpartition("#")[0] + "#"
    head, sep, _ = name.rpartition("/")
    return head + "/" if sep and head else None


def record_fields(root: Path, name: str) -> dict[str, str]:
    """What a run record says of an input's source project: its name and URL (none for an
    artifact of this repository)."""
    origin = origin_of(name)
    if origin is None:
        return {}
    source = source_of(root, origin)
    return {"project": source.name, "url": source.url}


def unknown(spec: str) -> NotFoundError:
    """The error for `NAME/artifact:spec` when NAME is no project here."""
    head = spec.partition(":")[0].split("/")
    name = head[-2] if len(head) >= 2 else head[0]
    return NotFoundError(f"no project named {name!r} in {CONFIG_FILE}", _ADD_FIX)


def check_entity(entity: str, project: SourceProject) -> None:
    """`ENTITY/NAME/...`: the entity must be the URL's owner when the URL has one; for a
    URL with no owner (a path) it is ignored, with a note (once per process)."""
    owner = url_owner(project.url)
    if owner is None and (entity, project.name) not in _NOTED:
        _NOTED.add((entity, project.name))
        note = f"note: {entity}/ is ignored: project {project.name} is a path, with no owner"
        print(textsafe.line(note), file=sys.stderr)
    if owner is not None and owner != entity:
        raise UsageError(
            f"project {project.name} belongs to {owner}, not {entity}",
            f"write {owner}/{project.name}/... or {project.name}/...",
        )


def url_owner(url: str) -> str | None:
    """The owner part of a hosted URL (`github.com/OWNER/repo`), None for a path."""
    if url.startswith("file:"):
        return None
    if "://" in url:
        path = urlsplit(url).path
    elif ":" in url and not url.startswith("/"):
        path = url.partition(":")[2]
    else:
        return None
    parts = [p for p in path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else None


def _latest(inner: str) -> str:
    name, _, selector = inner.partition(":")
    return f"{name}:{selector or LATEST}"


def mirror_dir(host: Project, project: SourceProject) -> Path:
    """Where the project's mirror lives; one named by its URL gets a folder of its own."""
    base = host.repo.common_dir / "artifacts" / "projects"
    if mf.NAME_RE.match(project.name):
        return base / project.name
    return base / ("url-" + hashlib.sha256(project.url.encode()).hexdigest()[:16])


def open_mirror(host: Project, project: SourceProject, refresh: bool = False) -> Project:
    """The project's mirror opened for reading, fetched first when missing or asked to;
    it shares this repository's object cache (content is content, whoever logged it)."""
    path = mirror_dir(host, project)
    if refresh or not (path / "HEAD").is_file():
        fetch(host, project)
    mirror = Project(Repo(path, path, path))
    mirror.cache = host.cache
    return mirror


def fetch(host: Project, project: SourceProject) -> int:
    """Bring the project's artifact tags, registry links and notes into its mirror (made if
    missing); returns how many artifact refs it has. Each step has the network deadline."""
    path = mirror_dir(host, project)
    timeout = host.settings.network_timeout
    listed = _ls_remote(host, project, timeout)
    if not any(ref.startswith(TAG_PREFIX) for ref in listed):
        raise NotFoundError(
            f"project {project.name} ({redact(project.url)}) has no artifact versions",
            "check the URL; its owners publish versions with git artifacts push",
        )
    fresh = not (path / "HEAD").is_file()
    if fresh:
        path.mkdir(parents=True, exist_ok=True)
        init = ["init", "-q", "--bare", "--template=", str(path)]  # no sample hooks
        _checked(git_network(init, path, timeout), project)
    specs = [f"+{p}:{p}" for p in _FETCHED]
    if NOTES_REF in listed:
        specs.append(f"+{NOTES_REF}:{NOTES_REF}")
    args = ["fetch", "--quiet", "--no-tags", "--prune", "--depth=1", "--", project.url, *specs]
    try:
        _checked(git_network(args, path, timeout, git_dir=path), project)
    except GitError:
        if fresh:  # nothing half-made is left behind
            shutil.rmtree(path, ignore_errors=True)
        raise
    return sum(1 for ref in listed if ref.startswith(TAG_PREFIX))


def _ls_remote(host: Project, project: SourceProject, timeout: float) -> set[str]:
    args = ["ls-remote", "--", project.url, *_FETCHED, NOTES_REF]
    proc = _checked(git_network(args, host.root, timeout), project)
    return {line.partition("\t")[2] for line in proc.stdout.splitlines()}


def _checked(
    proc: subprocess.CompletedProcess[str], project: SourceProject
) -> subprocess.CompletedProcess[str]:
    if proc.returncode != 0:
        # What the other side says is untrusted text: one line, no control characters.
        lines = [textsafe.line(redact(x)) for x in proc.stderr.strip().splitlines() if x.strip()]
        why = lines[-1] if lines else f"exit code {proc.returncode}"
        raise GitError(
            f"cannot reach project {project.name} at {redact(project.url)}: {why[:200]}",
            "check the URL and your access to it (git ls-remote URL)",
        )
    return proc
