"""Versions and aliases as lightweight git tags, and resolving `name:spec`.

Tag grammar (the only place it is spelled out):
  refs/tags/artifacts/<name>/v<N>      version N: the commit that first held a digest
  refs/tags/artifacts/<name>/<alias>   alias: moved on re-alias; `latest` kept by the tool
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from gitartifacts import manifest as mf
from gitartifacts.errors import GitError, ManifestError, NotFoundError, UsageError
from gitartifacts.git import ZERO
from gitartifacts.project import Project

TAG_PREFIX = "refs/tags/artifacts/"
LATEST = "latest"
_DIGEST_PREFIX_RE = re.compile(r"^(sha256:)?[0-9a-f]{8,64}$")


def version_ref(name: str, n: int) -> str:
    return f"{TAG_PREFIX}{name}/v{n}"


def alias_ref(name: str, alias: str) -> str:
    return f"{TAG_PREFIX}{name}/{alias}"


def parse_ref(ref: str) -> tuple[str, str] | None:
    """(name, 'vN' or alias) of an artifact tag, or None."""
    if not ref.startswith(TAG_PREFIX):
        return None
    name, _, label = ref[len(TAG_PREFIX) :].rpartition("/")
    return (name, label) if name and label else None


class Summary(NamedTuple):
    """What the log needs of one manifest, without its entries."""

    name: str
    type: str
    digest: str
    size: int
    files: int


@dataclass
class History:
    """Versions and aliases of one artifact, from its tags."""

    name: str
    versions: dict[int, str] = field(default_factory=dict)  # N -> commit
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> commit

    def version_of_commit(self, commit: str) -> int | None:
        for n, c in self.versions.items():
            if c == commit:
                return n
        return None

    def aliases_of(self, n: int) -> list[str]:
        commit = self.versions[n]
        return sorted(a for a, c in self.aliases.items() if c == commit)

    @property
    def next_number(self) -> int:
        return max(self.versions, default=-1) + 1


class Resolved(NamedTuple):
    manifest: mf.Manifest
    version: int | None  # None: not (yet) a version, e.g. an uncommitted manifest
    commit: str | None  # None: the work tree
    source: str  # what was asked for, for messages


# ---------------------------------------------------------------- reading tags


def histories(project: Project, refs: dict[str, str] | None = None) -> dict[str, History]:
    if refs is None:
        refs = project.repo.refs(TAG_PREFIX.rstrip("/"))
    out: dict[str, History] = {}
    for ref, sha in refs.items():
        parsed = parse_ref(ref)
        if parsed is None:
            continue
        name, label = parsed
        h = out.setdefault(name, History(name))
        if mf.VERSION_RE.match(label):
            h.versions[int(label[1:])] = sha
        else:
            h.aliases[label] = sha
    return out


def summaries(project: Project, name: str, commits: list[str]) -> dict[str, Summary | None]:
    """Summary of `name`'s manifest at each commit; cached, so each blob is parsed once."""
    keys = [f"at:{c}:{name}" for c in commits]
    cached = project.state.get_many(keys)
    out: dict[str, Summary | None] = {}
    missing = []
    for c, k in zip(commits, keys, strict=True):
        if k in cached:
            raw = json.loads(cached[k])
            out[c] = Summary(*raw) if raw else None
        else:
            missing.append(c)
    if missing:
        path = mf.manifest_path(name)
        blobs = project.repo.cat_blobs(f"{c}:{path}" for c in missing)
        new = []
        for c in missing:
            data = blobs[f"{c}:{path}"]
            s = None
            if data is not None:
                try:
                    m = mf.loads(data.decode("utf-8"), source=f"{c[:8]}:{path}")
                    s = Summary(m.name, m.type, m.digest, m.size, m.files)
                except ManifestError:
                    s = None
            out[c] = s
            new.append((f"at:{c}:{name}", json.dumps(list(s) if s else None)))
        project.state.put_many(new)
    return out


def digest_versions(project: Project, h: History) -> dict[str, int]:
    """digest -> version number for one artifact."""
    sums = summaries(project, h.name, list(h.versions.values()))
    out: dict[str, int] = {}
    for n in sorted(h.versions):
        s = sums[h.versions[n]]
        if s is not None:
            out.setdefault(s.digest, n)
    return out


# ---------------------------------------------------------------- creating version tags


def sync(project: Project) -> list[tuple[str, int]]:
    """Tag every digest that HEAD's manifests hold and that has no version yet.

    Runs at the start of every command (and from the post-commit hook), so versions appear
    after a plain `git commit` too. Returns the (name, N) created.
    """
    repo = project.repo
    head = repo.head()
    if head is None:
        return []
    refs = repo.refs(TAG_PREFIX.rstrip("/"))
    marker = _marker(head, refs)
    if project.state.get("synced") == marker:
        return []
    manifests = repo.ls_tree(head, mf.MANIFEST_DIR)
    hist = histories(project, refs)
    created: list[tuple[str, int]] = []
    updates: list[tuple[str, str, str | None]] = []
    for path in sorted(manifests):
        name = path[len(mf.MANIFEST_DIR) + 1 : -len(".yaml")] if path.endswith(".yaml") else None
        if not name or not mf.NAME_RE.match(name):
            continue
        current = summaries(project, name, [head])[head]
        if current is None:
            continue
        h = hist.setdefault(name, History(name))
        known = digest_versions(project, h)
        if current.digest in known:
            continue
        first = _first_commit_with(project, name, head, current.digest)
        n = h.next_number
        h.versions[n] = first
        updates.append((version_ref(name, n), first, ZERO))
        updates.append((alias_ref(name, LATEST), first, None))
        for digest, alias in project.state.pending_aliases(name):
            if digest == current.digest:
                updates.append((alias_ref(name, alias), first, None))
                project.state.clear_pending_alias(name, alias)
        created.append((name, n))
    if updates:
        try:
            repo.update_refs(updates)
        except GitError:
            # Another process tagged at the same moment: start over from its tags.
            project.state.put("synced", "")
            return sync(project)
        marker = _marker(head, repo.refs(TAG_PREFIX.rstrip("/")))
    project.state.put("synced", marker)
    return created


def _marker(head: str, refs: dict[str, str]) -> str:
    """Identifies HEAD plus the state of every artifact tag."""
    h = hashlib.sha1(head.encode())
    for ref in sorted(refs):
        h.update(f"{ref} {refs[ref]}\n".encode())
    return h.hexdigest()


def _first_commit_with(project: Project, name: str, head: str, digest: str) -> str:
    """The oldest commit in HEAD's history, on the run back from HEAD, holding `digest`."""
    commits = project.repo.rev_list("--first-parent", head, "--", mf.manifest_path(name))
    first = head
    for i in range(0, len(commits), 64):
        batch = commits[i : i + 64]
        sums = summaries(project, name, batch)
        for c in batch:
            s = sums[c]
            if s is None or s.digest != digest:
                return first
            first = c
    return first


# ---------------------------------------------------------------- aliases


def set_alias(project: Project, name: str, n: int, alias: str) -> None:
    mf.validate_alias(alias)
    h = histories(project).get(name)
    if h is None or n not in h.versions:
        raise NotFoundError(f"{name}:v{n} does not exist", f"see git artifacts log {name}")
    project.repo.update_refs([(alias_ref(name, alias), h.versions[n], None)])


def delete_alias(project: Project, name: str, alias: str) -> None:
    if mf.VERSION_RE.match(alias):
        raise UsageError(f"{alias} is a version, not an alias", "version tags are never deleted")
    h = histories(project).get(name)
    if h is None or alias not in h.aliases:
        raise NotFoundError(f"{name} has no alias {alias!r}", f"see git artifacts log {name}")
    project.repo.update_refs([(alias_ref(name, alias), ZERO, h.aliases[alias])])


# ---------------------------------------------------------------- resolving specs


def resolve(project: Project, spec: str, entries: bool = True) -> Resolved:
    """`name`, `name:vN`, `name:alias`, `name:<digest prefix>` or `<git rev>:name`."""
    name, _, selector = spec.partition(":")
    if not selector:
        return _resolve_worktree(project, spec, entries)
    name_ok = bool(mf.NAME_RE.match(name))
    known = name_ok and (name in project.names() or name in histories(project))
    if known:
        try:
            return _resolve_selector(project, name, selector, spec, entries)
        except NotFoundError:
            if not mf.NAME_RE.match(selector) or project.repo.rev_parse(name + "^{commit}") is None:
                raise
    rev, _, art = spec.rpartition(":")
    if mf.NAME_RE.match(art):
        commit = project.repo.rev_parse(rev + "^{commit}")
        if commit is not None:
            return _resolve_at_commit(project, art, commit, spec, entries)
    if not name_ok:
        raise UsageError(
            f"cannot read artifact spec {spec!r}",
            "use name, name:vN, name:alias, name:<digest prefix> or <git rev>:name",
        )
    raise NotFoundError(
        f"artifact {name!r} does not exist",
        "see git artifacts ls for the artifacts of this repository",
    )


def _resolve_worktree(project: Project, name: str, entries: bool) -> Resolved:
    mf.validate_name(name)
    m = project.read_manifest(name, entries=entries)
    if m is None:
        if name in histories(project):
            return _resolve_selector(project, name, LATEST, name, entries)
        raise NotFoundError(
            f"artifact {name!r} does not exist",
            "see git artifacts ls, or create it with git artifacts add",
        )
    h = histories(project).get(name)
    version = digest_versions(project, h).get(m.digest) if h else None
    commit = h.versions[version] if h and version is not None else None
    return Resolved(m, version, commit, name)


def _resolve_selector(
    project: Project, name: str, selector: str, spec: str, entries: bool
) -> Resolved:
    h = histories(project).get(name, History(name))
    if mf.VERSION_RE.match(selector):
        n = int(selector[1:])
        if n not in h.versions:
            raise NotFoundError(
                f"{name}:{selector} does not exist",
                f"versions of {name}: {_listing(h)}"
                if h.versions
                else f"{name} has no committed version yet; commit its manifest",
            )
        return _resolve_version(project, h, n, spec, entries)
    if selector in h.aliases:
        commit = h.aliases[selector]
        at = h.version_of_commit(commit)
        if at is not None:
            return _resolve_version(project, h, at, spec, entries)
        return _resolve_at_commit(project, name, commit, spec, entries)
    if _DIGEST_PREFIX_RE.match(selector):
        prefix = selector if selector.startswith("sha256:") else "sha256:" + selector
        matches = {n for d, n in digest_versions(project, h).items() if d.startswith(prefix)}
        if len(matches) == 1:
            return _resolve_version(project, h, matches.pop(), spec, entries)
        if len(matches) > 1:
            raise UsageError(
                f"digest prefix {selector!r} matches versions {', '.join(f'v{n}' for n in sorted(matches))} of {name}",
                "give more hex digits",
            )
    if selector == LATEST and not h.versions:
        raise NotFoundError(
            f"{name} has no committed version yet",
            f"commit {mf.manifest_path(name)} with git commit, or use {name} for the work tree",
        )
    raise NotFoundError(
        f"{spec!r}: {name} has no version, alias or digest {selector!r}",
        f"see git artifacts log {name}",
    )


def _resolve_version(project: Project, h: History, n: int, spec: str, entries: bool) -> Resolved:
    commit = h.versions[n]
    r = _resolve_at_commit(project, h.name, commit, spec, entries)
    return Resolved(r.manifest, n, commit, spec)


def _resolve_at_commit(
    project: Project, name: str, commit: str, spec: str, entries: bool
) -> Resolved:
    path = mf.manifest_path(name)
    data = project.repo.show_file(commit, path)
    if data is None:
        raise NotFoundError(
            f"{spec!r}: commit {commit[:10]} has no {path}", "check the revision and the name"
        )
    m = project.parse_manifest(data, f"{commit[:10]}:{path}", entries=entries)
    h = histories(project).get(name)
    version = digest_versions(project, h).get(m.digest) if h else None
    return Resolved(m, version, commit, spec)


def _listing(h: History) -> str:
    return ", ".join(f"v{n}" for n in sorted(h.versions)) + (
        "; aliases: " + ", ".join(sorted(h.aliases)) if h.aliases else ""
    )
