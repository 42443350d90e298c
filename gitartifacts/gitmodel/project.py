"""A repository opened for gitartifacts: git, the local cache, machine-local state, manifests."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from gitartifacts.core import foldertree, listing
from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.objects import CorruptObjectError, ObjectStore
from gitartifacts.core.state import State
from gitartifacts.errors import CacheError, ManifestError, UsageError
from gitartifacts.gitmodel.repo import Repo
from gitartifacts.settings import load as load_settings

IGNORE_FILE = ".artifactignore"


class Project:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.root = repo.root
        base = repo.common_dir / "artifacts"
        self.settings = load_settings(repo.config_get_regexp(r"^artifacts\."), os.environ)
        self.cache = ObjectStore(
            self.settings.cache_dir or base / "objects",
            direct_writes=self.settings.direct_writes,
            pack_small=self.settings.link not in ("hardlink", "symlink"),
        )
        self._state: State | None = None
        self.state_path = base / "state.db"

    @classmethod
    def open(cls, start: str | os.PathLike[str] | None = None) -> Project:
        return cls(Repo.find(start))

    @property
    def state(self) -> State:
        if self._state is None:
            self._state = State(self.state_path)
        return self._state

    def close(self) -> None:
        self.cache.flush()
        if self._state is not None:
            self._state.close()
            self._state = None

    # ------------------------------------------------------------------ manifests in the work tree

    def manifest_file(self, name: str) -> Path:
        return self.root / mf.manifest_path(name)

    def names(self) -> list[str]:
        d = self.root / mf.MANIFEST_DIR
        if not d.is_dir():
            return []
        return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".yaml") and p.is_file())

    def read_manifest(self, name: str, entries: bool = True) -> mf.Manifest | None:
        path = self.manifest_file(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        m = mparse.loads(text, source=mf.manifest_path(name))
        if m.name != name:
            raise ManifestError(
                f"{mf.manifest_path(name)}: key 'name' is {m.name!r}, "
                f"but the file is named {name!r}",
                f"rename the file to {mf.manifest_path(m.name)} or fix the name",
            )
        if entries:
            self.load_entries(m)
        return m

    def parse_manifest(self, data: bytes, source: str, entries: bool = True) -> mf.Manifest:
        m = mparse.loads(data.decode("utf-8"), source=source)
        if entries:
            self.load_entries(m)
        return m

    def load_entries(self, m: mf.Manifest, keep: bool = True) -> dict[str, mf.Entry]:
        """Fill in the entries of a listing-form manifest from the cache; with `keep` false,
        return them without keeping them on `m` (a caller done with them after one pass
        lets them go, instead of holding a second copy of a large listing)."""
        if m.entries is not None:
            return m.entries
        if m.listing is None:
            raise ManifestError(f"manifest {m.name} has neither entries nor listing")
        entries = foldertree.read_entries(m.listing, self.listing_reader(m), m.files)
        try:
            mparse.check_totals(m, entries)
        except UsageError as exc:
            raise ManifestError(f"{mf.manifest_path(m.name)}: {exc.message}", exc.fix) from None
        if keep:
            m.entries = entries
        return entries

    def read_listing_object(self, hex_: str) -> bytes:
        return self.cache.read("sha256:" + hex_)

    def listing_reader(self, m: mf.Manifest) -> Callable[[str], bytes]:
        """`read_listing_object` for `m`'s listing, naming `m` when an object is corrupt or
        not in the cache."""

        def read(hex_: str) -> bytes:
            try:
                return self.read_listing_object(hex_)
            except CorruptObjectError as exc:
                raise CorruptObjectError(
                    f"corrupt listing of {m.name}: {exc.message}", exc.fix
                ) from None
            except CacheError:
                raise CacheError(
                    f"the listing of {m.name} ({(m.listing or '')[:19]}) is not in the local cache",
                    "run git artifacts fetch to download it",
                ) from None

        return read

    def write_manifest(self, m: mf.Manifest) -> str:
        """Store listing objects (when large) and write the manifest file atomically."""
        data = self.manifest_bytes(m)
        rel = mf.manifest_path(m.name)
        folder = self.root / os.path.dirname(rel)
        if folder.is_symlink():  # committed by someone else, it would take the write elsewhere
            raise UsageError(
                f"{os.path.dirname(rel)} is a symlink; refusing to write manifests through it",
                f"replace it with a real folder: git rm {os.path.dirname(rel)}",
            )
        write_atomic(self.root / rel, data)
        return rel

    def manifest_bytes(self, m: mf.Manifest) -> bytes:
        """The manifest file's bytes; a large manifest's listing objects go into the cache."""
        m, objects = listing.with_listing(m)
        for hex_, data in objects.items():
            self.cache.add_bytes(data, "sha256:" + hex_, pack=False)  # few, and read by gc
        self.cache.flush()
        return mf.dumps(m).encode()

    # ------------------------------------------------------------------ paths

    def ignore_for(self, base: str | None) -> Callable[[str], bool] | None:
        """Files to leave out of artifacts under `base`: `.artifactignore` at the repository
        root, in .gitignore syntax, matched against repository-relative paths."""
        try:
            lines = (self.root / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        import pathspec

        spec = pathspec.PathSpec.from_lines("gitwildmatch", lines)
        prefix = "" if base in (None, ".", "") else f"{base}/"
        return lambda rel: bool(spec.match_file(prefix + rel))

    def relpath(self, path: str | os.PathLike[str]) -> str:
        """Repository-relative POSIX path of a user-given path (lexical, symlinks kept)."""
        absolute = os.path.normpath(os.path.abspath(path))
        root = os.path.normpath(str(self.root))
        if absolute != root and not absolute.startswith(root + os.sep):
            raise UsageError(
                f"{path} is outside the repository {root}",
                "move the data into the repository, or reference it with add --ref file://",
            )
        rel = os.path.relpath(absolute, root).replace(os.sep, "/")
        first = rel.split("/")[0]
        if first == ".git":
            raise UsageError(f"{path} is inside .git", "add data from the work tree, not from .git")
        return rel


_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_ref_snapshot(
    fn: Callable[Concatenate[Project, _P], _R],
) -> Callable[Concatenate[Project, _P], _R]:
    """Run `fn(project, ...)` within `project.repo.ref_snapshot()` (for work that runs no
    user code: a push, a fetch, the version sync)."""

    @functools.wraps(fn)
    def wrapper(project: Project, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with project.repo.ref_snapshot():
            return fn(project, *args, **kwargs)

    return wrapper
