"""Images and tables a run logs, and the files kept with a run. Each image or table is a
content object listed with the run's files (so `push` carries it, as it does `save`d files);
the history row holds a small reference to it."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.workspace.folders import Folders
from gitartifacts.errors import ConflictError, NotFoundError, UsageError, own_errors
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk import tableformat
from gitartifacts.sdk.media import Image
from gitartifacts.sdk.tables import Table, plain_rows

TABLE_TYPE = "table-file"  # the `_type` of a table reference in a history row
IMAGES, TABLES = "media/images", "media/table"


def for_history(project: Project, data: Any, step: int) -> tuple[Any, list[dict[str, Any]]]:
    """`data` with each `Image` and `Table` (alone or in a list) stored and replaced by its
    reference, and the `{path, digest, size}` of the files stored."""
    if not isinstance(data, dict):
        return data, []
    kept: dict[str, dict[str, Any]] = {}
    out = {k: _logged(project, _key_name(k), v, step, kept) for k, v in data.items()}
    return out, list(kept.values())


@own_errors
class RunFile:
    """A file kept with a run (saved, or an image or table it logged): W&B's `run.file`."""

    def __init__(self, project: Project, name: str, digest: str, size: int) -> None:
        self.project = project
        self.name = name
        self.digest = digest
        self.size = size

    def read(self) -> bytes:
        """The file's bytes: from the cache, or from the default remote (a fresh clone)."""
        return run_ops.read_object(self.project, self.digest)

    def download(self, root: str | os.PathLike[str] = ".", replace: bool = False) -> str:
        """Write the file to `root/<name>` and return that path; an existing file stays
        unless `replace`."""
        target = Path(root, *self.name.split("/"))
        # The name comes from a run's record (any clone's): never write through a link that
        # sits in `root`, as a checkout never does.
        Folders(str(root), str(root), str(root)).real(os.path.dirname(self.name))
        if target.is_symlink():
            raise ConflictError(
                f"{target} is a symlink; refusing to write through it", "remove the link"
            )
        if target.exists() and not replace:
            raise UsageError(f"File already exists: {target}", "pass replace=True to overwrite")
        write_atomic(target, self.read())
        return str(target)

    def __repr__(self) -> str:
        return f"<RunFile {self.name} ({self.size} B)>"


def run_file(project: Project, files: list[dict[str, Any]], name: str) -> RunFile:
    """The file `name` of a run's record; the record may come from any clone, so it is
    checked before it names a path or an object."""
    for f in files:
        if isinstance(f, dict) and f.get("path") == name:
            digest, size = f.get("digest"), f.get("size")
            if not isinstance(digest, str) or not mf.SHA256_RE.match(digest):
                raise UsageError(
                    f"the run record names a bad object for {name!r}", "report this run"
                )
            mf.validate_entry_path(name, "run file")
            return RunFile(project, name, digest, size if isinstance(size, int) else 0)
    raise NotFoundError(f"the run has no file {name!r}", "see run.files")


# ---------------------------------------------------------------- helpers


def _logged(
    project: Project, key: str, value: Any, step: int, kept: dict[str, dict[str, Any]]
) -> Any:
    if isinstance(value, Image):
        path = f"{IMAGES}/{key}_{step}_{value.sha256[:20]}.png"
        return value.reference(_keep(project, path, value.png, kept))
    if isinstance(value, Table):
        return _table(project, key, value, step, kept)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Image, Table)) for v in value):
        return [_logged(project, key, v, step, kept) for v in value]
    return value


def _table(
    project: Project, key: str, table: Table, step: int, kept: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    def place(img: Image) -> str:
        return _keep(project, f"{IMAGES}/{img.sha256[:32]}.png", img.png, kept)

    data, suffix = tableformat.encode(table.columns, plain_rows(table, place))
    sha = hashlib.sha256(data).hexdigest()
    path = _keep(project, f"{TABLES}/{key}_{step}_{sha[:20]}{suffix}", data, kept)
    return {
        "_type": TABLE_TYPE,
        "path": path,
        "sha256": sha,
        "ncols": len(table.columns),
        "nrows": len(table.data),
    }


def _keep(project: Project, path: str, data: bytes, kept: dict[str, dict[str, Any]]) -> str:
    digest = project.cache.add_bytes(data)
    kept[path] = {"path": path, "digest": digest, "size": len(data)}
    return path


def _key_name(key: str) -> str:
    """A logged key as part of a file name: `train/examples` is `train_examples`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:64] or "_"
