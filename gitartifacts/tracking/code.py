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
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.names import validate_artifact_name
from gitartifacts.errors import CacheError, ConflictError, GitError, ManifestError, UsageError
from gitartifacts.gitmodel import refs
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.runner import apply_in_folder

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
# A mode line of a patch's header that makes, keeps or turns a file into a symbolic link.
_LINK_MODE_RE = re.compile(
    rb"^(?:new file mode|new mode|old mode|deleted file mode|index \S+) 120000$", re.M
)
_DAMAGED = "the manifest or its patch is damaged or hostile; nothing of it was applied"
EXCLUDED_DIRS = ("wandb", ".wandb", "artifacts")


class CodeDraft(NamedTuple):
    """A `code` artifact not yet saved: its name, metadata and entries (by git blob id)."""

    name: str
    metadata: dict[str, Any]
    entries: dict[str, mf.Entry]


def default_include(path: str, root: str = "") -> bool:
    base = os.path.basename(path)
    return base.endswith(".py") or base.startswith("Dockerfile") or base == "requirements.txt"


def default_exclude(path: str, root: str = "") -> bool:
    rel = os.path.relpath(path, root) if root else path
    return rel.split(os.sep)[0] in EXCLUDED_DIRS


def code_draft(
    project: Project,
    root: str | os.PathLike[str],
    name: str,
    include_fn: Callable[..., bool] | None = None,
    exclude_fn: Callable[..., bool] | None = None,
) -> CodeDraft | None:
    """A draft `code` artifact of the tracked files under `root` at HEAD (None if no file)."""
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
    draft = CodeDraft(validate_artifact_name(_safe(name)), metadata, {})
    prefix = "" if root_rel == "." else root_rel + "/"
    for rel in chosen:
        entry_path = rel[len(prefix) :] if rel.startswith(prefix) else rel
        size = os.path.getsize(project.root / rel)
        draft.entries[entry_path] = mf.Entry("git:" + blobs[rel], size, "git:" + head)
    repo.update_refs([(refs.pin_ref(head), head, None)])
    return draft


def materialize(project: Project, m: mf.Manifest, target: str) -> int:
    """Write a code artifact's files into `target` from git, apply its patch, verify.

    The manifest and the patch arrive through git and a remote: the patch is read and
    checked before any file is written, and may touch only the artifact's own files."""
    commit, root, patch_digest = check_fields(m)
    prefix = "" if root == "." else root + "/"
    entries = m.entries or {}
    patch = project.cache.read(patch_digest) if patch_digest is not None else None
    if patch is not None:
        check_patch(m, patch, patch_strip(root))
    for p in entries:
        _refuse_links(target, p)
    data = project.repo.cat_blobs(f"{commit}:{prefix}{p}" for p in entries)
    for p in entries:
        blob = data.get(f"{commit}:{prefix}{p}")
        dest = Path(target) / p
        dest.parent.mkdir(parents=True, exist_ok=True)
        if blob is not None:
            dest.write_bytes(blob)
    if patch is not None:
        # No --unsafe-paths: git itself also refuses a path that leaves the target.
        _git_apply(target, patch, f"-p{patch_strip(root)}", what=f"code artifact {m.name}")
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


def check_fields(m: mf.Manifest) -> tuple[str, str, str | None]:
    """(commit, root, patch digest or None) of a code artifact, each checked."""
    commit, root, patch = m.metadata.get("commit"), m.metadata.get("root", "."), None
    if not isinstance(commit, str) or not _COMMIT_RE.match(commit):
        raise ManifestError(f"code artifact {m.name}: metadata.commit is not a commit id", _DAMAGED)
    try:
        root = mf.validate_workspace_path(root)
    except UsageError:
        raise ManifestError(
            f"code artifact {m.name}: metadata.root is not a safe relative path", _DAMAGED
        ) from None
    if "patch" in m.metadata:
        patch = m.metadata["patch"]
        if not isinstance(patch, str) or not mf.SHA256_RE.match(patch):
            raise ManifestError(
                f"code artifact {m.name}: metadata.patch is not a sha256 digest", _DAMAGED
            )
    return commit, root, patch


def patch_strip(root: str) -> int:
    """The patch names repository paths (`a/<root>/<entry>`): components to strip."""
    return 1 if root == "." else 2 + root.count("/")


def check_patch(m: mf.Manifest, patch: bytes, strip: int) -> None:
    """Refuse a patch that touches anything but the artifact's own files, or makes a link."""
    entries = m.entries or {}
    if _LINK_MODE_RE.search(patch):
        raise ManifestError(f"code artifact {m.name}: its patch makes a symbolic link", _DAMAGED)
    with tempfile.TemporaryDirectory() as empty:
        # git's own parser names the paths it would write, after -p stripping.
        out = _git_apply(
            empty, patch, f"-p{strip}", "--numstat", "-z", what=f"code artifact {m.name}"
        )
    fields = out.split(b"\0")
    paths: list[bytes] = []
    i = 0
    while i < len(fields) - 1:
        added_deleted_path = fields[i].split(b"\t", 2)
        if len(added_deleted_path) == 3 and added_deleted_path[2]:
            paths.append(added_deleted_path[2])
            i += 1
        else:  # a rename or copy: an empty path, then the old and the new path
            paths += fields[i + 1 : i + 3]
            i += 3
    for raw in paths:
        path = raw.decode("utf-8", "replace")
        if path not in entries:
            raise ManifestError(
                f"code artifact {m.name}: its patch writes {path!r}, which is not one of its files",
                _DAMAGED,
            )


def _git_apply(cwd: str, patch: bytes, *args: str, what: str) -> bytes:
    """`git apply ARGS` in `cwd` as a plain folder: no repository above it, none from the
    environment (a hook sets GIT_DIR), so every path is relative to `cwd`."""
    code, out, err = apply_in_folder(cwd, patch, args)
    if code != 0:
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        raise GitError(
            f"{what}: git apply refused its patch: {first[0] if first else 'no reason given'}",
            _DAMAGED,
        )
    return out


def _refuse_links(target: str, rel: str) -> None:
    """A file is written only where no symbolic link in the target leads elsewhere."""
    cur = Path(target)
    for part in rel.split("/"):
        cur = cur / part
        if cur.is_symlink():
            raise ConflictError(
                f"{cur} is a symbolic link; a code artifact is not written through it",
                "choose an empty folder with -o",
            )


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
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._-")[:128] or "source"
