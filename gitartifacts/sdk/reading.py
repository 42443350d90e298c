"""What an `Artifact` lets you read: its entries and manifest, `download`, `file`, `checkout`
and `verify` (W&B's readers)."""

from __future__ import annotations

import os

from gitartifacts.core import manifest as mf
from gitartifacts.errors import NotFoundError, UsageError, own_errors
from gitartifacts.gitmodel.resolve import resolve
from gitartifacts.ops import checkout as ops_checkout
from gitartifacts.ops import status as ops_status
from gitartifacts.sdk.base import ArtifactPart
from gitartifacts.sdk.records import ArtifactEntry, RefURI


class ArtifactManifest:
    """W&B's `artifact.manifest`: the entries by path."""

    def __init__(self, entries: dict[str, ArtifactEntry]) -> None:
        self.entries = entries

    def get_entry_by_path(self, path: str) -> ArtifactEntry | None:
        return self.entries.get(path)


@own_errors
class Readable(ArtifactPart):
    """The readers of an artifact; `download`, `file` and an entry's `download` need it logged."""

    _name: str
    _entries: dict[str, mf.Entry]
    _final: bool

    # ------------------------------------------------------------------ entries

    def get_entry(self, name: str) -> ArtifactEntry:
        e = self._entries.get(name)
        if e is None:
            raise NotFoundError(f"Path not contained in artifact: {name}", "see Artifact.files()")
        return self._entry(name, e)

    def get_path(self, name: str) -> ArtifactEntry:
        """W&B's older name of `get_entry`."""
        return self.get_entry(name)

    def files(self) -> list[ArtifactEntry]:
        return [self._entry(p, e) for p, e in self._entries.items()]

    @property
    def manifest(self) -> ArtifactManifest:
        """`manifest.entries[path]`, each with `extra` (`etag`, `versionID`) for references."""
        return ArtifactManifest({p: self._entry(p, e) for p, e in self._entries.items()})

    def _entry(self, path: str, e: mf.Entry) -> ArtifactEntry:
        ref = RefURI(e.ref) if e.ref is not None else None
        fetch = self._download_entry if self._final else None
        return ArtifactEntry(path, e.digest, e.size, ref, e.version_id, fetch)

    # ------------------------------------------------------------------ files on disk

    def download(self, root: str | os.PathLike[str] | None = None, *, force: bool = False) -> str:
        """Files of this version into `root`; never deletes, skips files that already match,
        and replaces a changed file only when its bytes are in the cache, unless `force`."""
        self._ensure_logged()
        target, _ = ops_checkout.get(
            self.project, self.name, os.fspath(root) if root else None, force=force
        )
        return target

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """The path of the one file of a single-file artifact, downloaded into `root`."""
        self._ensure_logged()
        if len(self._entries) != 1:
            raise UsageError(
                "This artifact contains more than one file, call `.download()` to get all files "
                'or call .get_entry("filename").download()'
                if self._entries
                else "This artifact contains no files",
                f"{self.name} has {len(self._entries)} files",
            )
        (path,) = self._entries
        return self._download_entry(path, os.fspath(root) if root else None)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make `root` hold exactly this version: files that are not in it are removed."""
        self._ensure_logged()
        target = (
            os.fspath(root) if root else ops_checkout.downloads_folder(self.project, self._name)
        )
        return ops_checkout.checkout_root(self.project, self.name, target)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Raise ValueError when `root` does not hold exactly this version's bytes."""
        self._ensure_logged()
        target = (
            os.fspath(root)
            if root
            else ops_checkout.default_download_dir(self.project, resolve(self.project, self.name))
        )
        _, problems = ops_status.verify(self.project, self.name, target)
        for p in problems:
            if p.problem == "not a member":
                full = os.path.join(target, p.path)
                raise ValueError(
                    f"Found file {full} which is not a member of artifact {self._name}"
                )
            if p.problem in ("modified", "missing"):
                raise ValueError(f"Digest mismatch for file: {p.path}")
            raise ValueError(f"{p.problem}: {p.path}")

    def _download_entry(self, path: str, root: str | None) -> str:
        target, _ = ops_checkout.get(self.project, self.name, root, paths={path})
        return os.path.join(target, *path.split("/"))
