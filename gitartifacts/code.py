"""Code as an artifact by commit pinning (W&B's `log_code`, without copying the code).

A `code` artifact lists the included files by git blob id (`digest: git:<blob>`,
`ref: git:<commit>`), so nothing is uploaded for them; a dirty work tree is captured as a
patch content object (`metadata.patch`) that `push` uploads; the commit stays reachable
through `refs/artifacts/pins/<sha>`. `get` writes the files from git, then applies the patch,
and checks every file against its blob id.
"""

from __future__ import annotations

import inspect
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitartifacts import manifest as mf
from gitartifacts.errors import CacheError, GitError
from gitartifacts.project import Project

if TYPE_CHECKING:
    from gitartifacts.artifact import Artifact

PIN_PREFIX = "refs/artifacts/pins/"
EXCLUDED_DIRS = ("wandb", ".wandb", "artifacts")


def default_include(path: str, root: str = "") -> bool:
    base = os.path.basename(path)
    return base.endswith(".py") or base.startswith("Dockerfile") or base == "requirements.txt"


def default_exclude(path: str, root: str = "") -> bool:
    rel = os.path.relpath(path, root) if root else path
    return rel.split(os.sep)[0] in EXCLUDED_DIRS


def code_artifact(
    project: Project,
    root: str | os.PathLike[str],
    name: str,
    include_fn: Callable[..., bool] | None = None,
    exclude_fn: Callable[..., bool] | None = None,
) -> Artifact | None:
    """A draft `code` artifact of the tracked files under `root` at HEAD (None if no file)."""
    from gitartifacts.artifact import Artifact

    repo = project.repo
    head = repo.head()
    if head is None:
        raise GitError("the repository has no commit yet", "commit your code first")
    root_abs = Path(root).resolve()
    root_rel = project.relpath(root_abs)
    include = include_fn or default_include
    exclude = exclude_fn or default_exclude
    listed = repo.run("ls-files", "-z", "--", root_rel if root_rel != "." else ".").split("\0")
    chosen = []
    for rel in filter(None, listed):
        full = str(project.root / rel)
        if not os.path.isfile(full):
            continue  # deleted in the work tree: not part of this code
        if _call(include, full, str(root_abs)) and not _call(exclude, full, str(root_abs)):
            chosen.append(rel)
    if not chosen:
        return None
    blobs = _blob_ids(project, chosen)
    at_head = _blob_ids_at(project, head, chosen)
    dirty = sorted(p for p in chosen if blobs[p] != at_head.get(p))
    metadata: dict[str, Any] = {"commit": head, "root": root_rel, "dirty": bool(dirty)}
    if dirty:
        patch = repo.run("diff", "--binary", "--no-color", head, "--", *dirty)
        metadata["patch"] = project.cache.add_bytes(patch.encode())
    art = Artifact(
        mf.validate_name(_safe(name), "name"), "code", metadata=metadata, project=project
    )
    prefix = "" if root_rel == "." else root_rel + "/"
    for rel in chosen:
        entry_path = rel[len(prefix) :] if rel.startswith(prefix) else rel
        art._put(
            entry_path,
            mf.Entry("git:" + blobs[rel], os.path.getsize(project.root / rel), "git:" + head),
            False,
        )
    repo.update_refs([(PIN_PREFIX + head, head, None)])
    return art


def materialize(project: Project, m: mf.Manifest, target: str) -> int:
    """Write a code artifact's files into `target` from git, apply its patch, verify."""
    commit = str(m.metadata.get("commit", ""))
    root = str(m.metadata.get("root", "."))
    prefix = "" if root == "." else root + "/"
    entries = m.entries or {}
    data = project.repo.cat_blobs(f"{commit}:{prefix}{p}" for p in entries)
    for p in entries:
        blob = data.get(f"{commit}:{prefix}{p}")
        dest = Path(target) / p
        dest.parent.mkdir(parents=True, exist_ok=True)
        if blob is not None:
            dest.write_bytes(blob)
    patch = m.metadata.get("patch")
    if isinstance(patch, str):
        text = project.cache.read(patch)
        subprocess.run(
            ["git", "apply", "--unsafe-paths", f"-p{1 + prefix.count('/')}", "-"],
            cwd=target,
            input=text,
            check=True,
            capture_output=True,
        )
    got = _blob_ids(project, [str(Path(target) / p) for p in entries], absolute=True)
    bad = [
        p
        for p in entries
        if got.get(str(Path(target) / p)) != entries[p].digest.removeprefix("git:")
    ]
    if bad:
        raise CacheError(
            f"code artifact {m.name}: {bad[0]} does not match its blob id",
            "fetch the pinned commit (git fetch)",
        )
    return len(entries)


def is_code(m: mf.Manifest) -> bool:
    return m.type == "code" and "commit" in m.metadata


def _blob_ids(project: Project, paths: list[str], absolute: bool = False) -> dict[str, str]:
    """git blob id of each file's current content, in one process."""
    if not paths:
        return {}
    full = paths if absolute else [str(project.root / p) for p in paths]
    out = project.repo.run("hash-object", "--stdin-paths", input="\n".join(full) + "\n").split()
    return dict(zip(paths, out, strict=True))


def _blob_ids_at(project: Project, commit: str, paths: list[str]) -> dict[str, str]:
    out = project.repo.run("ls-tree", "-r", "-z", commit, "--", *paths)
    result = {}
    for rec in filter(None, out.split("\0")):
        meta, _, path = rec.partition("\t")
        result[path] = meta.split()[2]
    return result


def _call(fn: Callable[..., bool], path: str, root: str) -> bool:
    """W&B's include/exclude functions take (path) or (path, root)."""
    try:
        params = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = 2
    return bool(fn(path, root) if params >= 2 else fn(path))


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._-")[:128] or "source"
