"""What `Artifact.add(obj, name)` stores and `get(name)` reads back: tables, partitioned
tables and images, each under its name with a suffix saying what it is."""

from __future__ import annotations

import functools
import json
from typing import Any

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError, own_errors
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk import tableformat
from gitartifacts.sdk.base import ArtifactPart
from gitartifacts.sdk.media import Image, is_reference
from gitartifacts.sdk.records import ArtifactEntry
from gitartifacts.sdk.tables import PartitionedTable, Table, plain_rows

PARTITIONED = ".partitioned-table.json"
IMAGE = ".image.json"
SUFFIXES = (*tableformat.SUFFIXES, PARTITIONED, IMAGE)
MEDIA_FOLDER = "media/images"  # where the PNGs of images in tables and `add(image)` go
MAX_REFERENCE_BYTES = 1 << 20  # a partitioned table's or an image's JSON is small


@own_errors
class Values(ArtifactPart):
    """`add` and `get` of `Artifact`, for W&B's media and table objects."""

    _entries: dict[str, mf.Entry]

    def _put(self, path: str, entry: mf.Entry, overwrite: bool) -> ArtifactEntry:
        raise NotImplementedError  # the artifact's

    def _ensure_draft(self) -> None:
        raise NotImplementedError  # the artifact's

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ArtifactEntry:
        """Store a `Table` as `<name>.table.parquet` (`.table.jsonl` without pyarrow), a
        `PartitionedTable` as `<name>.partitioned-table.json` and an `Image` as
        `<name>.image.json`; the PNGs of images go under `media/images/`."""
        self._ensure_draft()
        mf.validate_entry_path(name)
        pngs: dict[str, bytes] = {}
        path, data = _encoded(obj, _bare(name), pngs)
        entry = self._add_bytes(path, data, overwrite)  # first: when it refuses, nothing is added
        for p, png_bytes in pngs.items():
            self._add_bytes(p, png_bytes, True)
        return entry

    def get(self, name: str) -> Table | PartitionedTable | Image | None:
        """The table, partitioned table or image added under `name` (the bare name, or the
        entry path with its suffix); None when there is none."""
        for path in (name, *(name + s for s in SUFFIXES)):
            if path in self._entries:
                return self._value_at(path)
        return None

    # ---------------------------------------------------------------- reading

    def _value_at(self, path: str) -> Table | PartitionedTable | Image:
        if path.endswith(tableformat.SUFFIXES):
            return self._table_at(path)
        if path.endswith(PARTITIONED):
            head = self._json_at(path)
            parts_path = head.get("parts_path") if isinstance(head, dict) else None
            if not isinstance(parts_path, str):
                raise UsageError(f"{path!r} names no parts_path", "add the table again")
            return self._partitioned(mf.validate_entry_path(parts_path.strip("/"), "parts_path"))
        if path.endswith(IMAGE):
            return self._image(self._json_at(path), path)
        raise UsageError(
            f"{path!r} is a file, not a table or image",
            f"read it with get_entry({path!r}).download()",
        )

    def _table_at(self, path: str) -> Table:
        suffix = next(s for s in tableformat.SUFFIXES if path.endswith(s))
        stored = tableformat.decode(self._bytes_at(path), suffix, path)
        table = Table(columns=stored.columns)
        table.data = [
            [self._image(v, path) if is_reference(v) else v for v in row] for row in stored.rows
        ]
        return table

    def _partitioned(self, parts_path: str) -> PartitionedTable:
        prefix = parts_path + "/"
        parts = {
            p: functools.partial(self._table_at, p)
            for p in self._entries
            if p.startswith(prefix) and p.endswith(tableformat.SUFFIXES)
        }
        return PartitionedTable.of_parts(parts_path, parts)

    def _image(self, ref: Any, where: str) -> Image:
        """The image a reference names: an entry of this artifact with the digest it gives."""
        path, sha = (ref.get("path"), ref.get("sha256")) if isinstance(ref, dict) else (0, 0)
        if not isinstance(path, str) or not isinstance(sha, str):
            raise UsageError(f"{where!r} holds a bad image reference", "add it again")
        entry = self._entries.get(mf.validate_entry_path(path, "image path"))
        if entry is None or entry.digest != "sha256:" + sha:
            raise UsageError(
                f"{where!r} names image {path!r}, which the artifact does not hold",
                "add the table or image again",
            )
        caption = ref.get("caption")
        return Image.from_png(self._bytes_at(path), caption if isinstance(caption, str) else None)

    def _json_at(self, path: str) -> Any:
        data = self._bytes_at(path)
        if len(data) > MAX_REFERENCE_BYTES:
            raise UsageError(f"{path!r} is too large for what it should hold", "add it again")
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"{path!r} is no JSON", "add it again") from e

    def _bytes_at(self, path: str) -> bytes:
        """An entry's bytes: from the cache, or from the default remote."""
        digest = self._entries[path].digest
        if not mf.SHA256_RE.match(digest):
            raise UsageError(
                f"{path!r} is a reference, not a stored table or image",
                "add the object itself, not a reference to it",
            )
        if self.project.cache.has(digest):
            return self.project.cache.read(digest)
        return run_ops.read_object(self.project, digest)

    # ---------------------------------------------------------------- writing

    def _add_bytes(self, path: str, data: bytes, overwrite: bool) -> ArtifactEntry:
        digest = self.project.cache.add_bytes(data)
        return self._put(path, mf.Entry(digest, len(data)), overwrite)


# ---------------------------------------------------------------- helpers


def _encoded(obj: Any, name: str, pngs: dict[str, bytes]) -> tuple[str, bytes]:
    """The entry path and bytes of `obj` added as `name`; the PNGs of its images go in `pngs`
    by their paths."""

    def place(image: Image) -> str:
        path = f"{MEDIA_FOLDER}/{image.sha256[:32]}.png"
        pngs[path] = image.png
        return path

    if isinstance(obj, Table):
        data, suffix = tableformat.encode(obj.columns, plain_rows(obj, place))
        return name + suffix, data
    if isinstance(obj, PartitionedTable):
        mf.validate_entry_path(obj.parts_path, "parts_path")
        head = {"_type": "partitioned-table", "parts_path": obj.parts_path}
        return name + PARTITIONED, _dumps(head)
    if isinstance(obj, Image):
        return name + IMAGE, _dumps(obj.reference(place(obj)))
    raise TypeError(
        f"Artifact.add takes a Table, PartitionedTable or Image, not {type(obj).__name__}; "
        "use add_file or add_dir for files"
    )


def _bare(name: str) -> str:
    """`name` without a suffix `add` appends (so `add(t, "x.table.parquet")` is `x`)."""
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return name


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True) + "\n").encode("utf-8")
