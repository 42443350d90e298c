"""`git artifacts validate --data-not-committed`: staged files that belong in the artifact cache."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Sequence

from gitartifacts.core import listing
from gitartifacts.core import manifest as mf
from gitartifacts.core.diff import human_size
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.errors import CacheError, GitArtifactsError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.review.checks import Finding

DEFAULT_MAX_SIZE = 5_000_000


def data_not_committed(
    project: Project, files: Sequence[str] = (), max_size: int = DEFAULT_MAX_SIZE
) -> list[Finding]:
    """Staged files that belong in the artifact cache: under an artifact's owned paths
    (`<path>/<first segment of each entry>`), or larger than `max_size` bytes."""
    repo = project.repo
    if files:
        paths = [project.relpath(f) for f in files]
    else:
        out = repo.run("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR")
        paths = [p for p in out.split("\0") if p]
    if not paths:
        return []
    owners = _owned_paths(project)
    sizes = _staged_sizes(project, paths)
    findings = []
    for p in paths:
        owner = _owner(owners, p)
        if owner is not None:
            name, folder = owner
            findings.append(
                Finding(
                    p,
                    None,
                    f"belongs to artifact {name!r} ({folder}): its bytes go in the artifact "
                    f"cache, not in git (git rm --cached {_quote(p)}, then git artifacts add "
                    f"--name {name})",
                )
            )
            continue
        size = sizes.get(p)
        if size is not None and size > max_size:
            findings.append(
                Finding(
                    p,
                    None,
                    f"{human_size(size)} is over the {human_size(max_size)} limit for files in git "
                    f"(git rm --cached {_quote(p)}, then git artifacts add {_quote(p)} "
                    "--name NAME --type TYPE)",
                )
            )
    return findings


def parse_size(text: str) -> int:
    """`5MB`, `500k`, `1MiB`, `123` -> bytes (k, M, G are powers of 1000; Ki, Mi, Gi of 1024)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]?)(i?)[bB]?\s*", text)
    if not m:
        raise UsageError(f"invalid size {text!r}", "write bytes or a unit, e.g. 5MB, 500k, 1MiB")
    number, unit, binary = m.groups()
    power = " kmg".index(unit.lower() or " ")
    return int(float(number) * (1024 if binary else 1000) ** power)


def _owned_paths(project: Project) -> dict[str, str]:
    """Repository path -> artifact name, for every folder or file an artifact owns."""
    owned: dict[str, str] = {}
    for name in project.names():
        try:
            m = project.read_manifest(name, entries=False)
        except GitArtifactsError:
            continue  # the manifest check reports it
        if m is None or m.path is None:
            continue
        for top in _tops(project, m):
            owned[top if m.path == "." else f"{m.path}/{top}"] = name
    return owned


def _tops(project: Project, m: mf.Manifest) -> list[str]:
    if m.entries is not None:
        # Code artifacts pin files that git tracks (`git:` references): those stay in git.
        return wscan.tops(p for p, e in m.entries.items() if not (e.ref or "").startswith("git:"))
    assert m.listing is not None
    try:
        return sorted(
            name for _, name, _ in listing.parse_listing_object(project.cache.read(m.listing))
        )
    except CacheError:
        known = project.state.tops.get(m.digest)
        return known.split("\n") if known else []


def _owner(owners: dict[str, str], path: str) -> tuple[str, str] | None:
    cut = len(path)
    while cut > 0:
        prefix = path[:cut]
        if prefix in owners:
            return owners[prefix], prefix
        cut = prefix.rfind("/")
    return None


def _staged_sizes(project: Project, paths: Sequence[str]) -> dict[str, int]:
    """Size of each path's staged blob (the index), else of the file in the work tree."""
    out = project.repo.run("ls-files", "-s", "-z", "--", *paths)
    blobs: dict[str, str] = {}
    for rec in out.split("\0"):
        meta, _, p = rec.partition("\t")
        if p and meta.split()[0] != "160000":  # submodules are not files
            blobs[p] = meta.split()[1]
    sizes = _blob_sizes(project, blobs.values())
    out_sizes = {p: sizes[b] for p, b in blobs.items() if b in sizes}
    for p in paths:
        if p not in out_sizes:
            with contextlib.suppress(OSError):
                out_sizes[p] = os.stat(project.root / p).st_size
    return out_sizes


def _blob_sizes(project: Project, blobs: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(blobs))
    if not wanted:
        return {}
    out = project.repo.run(
        "cat-file", "--batch-check=%(objectname) %(objectsize)", input="\n".join(wanted) + "\n"
    )
    sizes = {}
    for line in out.splitlines():
        sha, _, size = line.partition(" ")
        if size.isdigit():
            sizes[sha] = int(size)
    return sizes


def _quote(path: str) -> str:
    return f"'{path}'" if re.search(r"[^A-Za-z0-9_./@%+=:,-]", path) else path
