"""Histories (versions and aliases, from the tags), numbering, and summaries of version commits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core.names import is_artifact_name
from gitartifacts.errors import ManifestError
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import (
    TAG_PREFIX,
    parse_ref,
    version_number,
)
from gitartifacts.gitmodel.repo import ZERO


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
        n = version_number(label)
        if n is not None:
            h.versions[n] = sha
        else:
            h.aliases[label] = sha
    return out


def summaries(project: Project, name: str, commits: list[str]) -> dict[str, Summary | None]:
    """Summary of `name`'s manifest at each commit; cached, so each blob is parsed once."""
    cached = project.state.summaries_of(name).get_many(commits)
    out: dict[str, Summary | None] = {}
    missing = []
    for c in commits:
        if c in cached:
            raw = json.loads(cached[c])
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
                    m = mparse.loads(data.decode("utf-8"), source=f"{c[:8]}:{path}")
                    s = Summary(m.name, m.type, m.digest, m.size, m.files)
                except ManifestError:
                    s = None
            out[c] = s
            new.append((c, json.dumps(list(s) if s else None)))
        project.state.summaries_of(name).put_many(new)
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


def type_from_history(project: Project, h: History | None) -> str | None:
    """The type of an artifact's newest version, or None if it has no version."""
    if h is None or not h.versions:
        return None
    newest = h.versions[max(h.versions)]
    s = summaries(project, h.name, [newest])[newest]
    return s.type if s else None


def manifest_changes(
    project: Project, since: str | None, head: str
) -> list[tuple[str, str, Summary]]:
    """(commit, name, summary) for every manifest change in commits reachable from HEAD and
    not from `since`, oldest first."""
    repo = project.repo
    rng = [head, "--not", since] if since and repo.rev_parse(since + "^{commit}") else [head]
    out = repo.run(
        "log",
        "--reverse",
        "--format=%x00%H",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--diff-merges=first-parent",
        *rng,
        "--",
        mf.MANIFEST_DIR + "/",
    )
    changes: list[tuple[str, str, str]] = []
    commit = ""
    for line in out.splitlines():
        if line.startswith("\0"):
            commit = line[1:]
        elif line.startswith(":") and commit:
            meta, _, path = line.partition("\t")
            blob = meta.split()[3]
            name = path[len(mf.MANIFEST_DIR) + 1 : -len(".yaml")]
            if blob != ZERO and path.endswith(".yaml") and is_artifact_name(name):
                changes.append((commit, name, blob))
    sums = blob_summaries(project, [blob for _, _, blob in changes])
    return [(c, n, sums[b]) for c, n, b in changes if sums.get(b) is not None]  # type: ignore[misc]


def blob_summaries(project: Project, blobs: list[str]) -> dict[str, Summary | None]:
    """Summary of each manifest blob; cached, so each blob is parsed once per machine."""
    keys = list(dict.fromkeys(blobs))
    cached = project.state.blob_summaries.get_many(keys)
    out: dict[str, Summary | None] = {}
    for k, v in cached.items():
        raw = json.loads(v)
        out[k] = Summary(*raw) if raw else None
    missing = [k for k in keys if k not in cached]
    if missing:
        data = project.repo.cat_blobs(missing)
        new = []
        for b in missing:
            s = None
            raw_bytes = data.get(b)
            if raw_bytes is not None:
                try:
                    m = mparse.loads(raw_bytes.decode("utf-8"), source=f"blob {b[:10]}")
                    s = Summary(m.name, m.type, m.digest, m.size, m.files)
                except (ManifestError, UnicodeDecodeError):
                    s = None
            out[b] = s
            new.append((b, json.dumps(list(s) if s else None)))
        project.state.blob_summaries.put_many(new)
    return out
