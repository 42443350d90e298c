"""Data for `git artifacts review`: listings from the remote cache, remote-cache changes.

Manifests in listing form need their listing objects, never the files' content: a
`ReviewProject` reads a listing object missing from the local cache from the remote cache
(verified on arrival, kept in the local cache), nothing else.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.repo import Repo
from gitartifacts.review import checks
from gitartifacts.settings import CONFIG_FILE

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore


class ReviewProject(Project):
    """A Project that fetches listing objects it lacks from the default remote cache."""

    _store: RemoteStore | None = None

    @classmethod
    def open(cls, start: str | os.PathLike[str] | None = None) -> ReviewProject:
        return cls(Repo.find(start))

    def read_listing_object(self, hex_: str) -> bytes:
        digest = "sha256:" + hex_
        if not self.cache.has(digest):
            self.fetch_listing(digest)
        return super().read_listing_object(hex_)

    def fetch_listing(self, digest: str) -> None:
        from gitartifacts.remote import transfer
        from gitartifacts.remote.remotes import resolve as resolve_remote

        try:
            if self._store is None:
                self._store = transfer.open_store(resolve_remote(self))
            # The whole tree under it, a level per batch: read_listing asks for all of it.
            transfer.fetch_listing(self, self._store, digest, transfer.JOBS)
        except GitArtifactsError as exc:
            # Not a CacheError: load_entries would call it "not in the local cache".
            raise GitArtifactsError(
                f"listing object {digest[:19]} is neither in the local cache nor readable "
                f"from the remote cache: {exc.message}",
                exc.fix,
            ) from None


def remote_changes(project: Project, a: str | None, b: str | None) -> list[checks.RemoteChange]:
    """Changes of the remote caches in `.gitartifacts.yaml` between the sides `inspect.diff`
    compares (revisions, a range, or HEAD and the work tree); none when a side is an
    artifact spec rather than a revision."""
    repo = project.repo
    if a is not None and b is None and ".." in a and ":" not in a:
        left, _, right = a.partition("...") if "..." in a else a.partition("..")
        if "..." in a:
            a, b = repo.run("merge-base", left or "HEAD", right or "HEAD").strip(), right or "HEAD"
        else:
            a, b = left or "HEAD", right or "HEAD"
    texts: list[bytes | None] = []
    for spec in (a or "HEAD", b):
        if spec is None:
            try:
                texts.append((project.root / CONFIG_FILE).read_bytes())
            except FileNotFoundError:
                texts.append(None)
            continue
        commit = repo.rev_parse(spec + "^{commit}") if ":" not in spec else None
        if commit is None:
            return []
        texts.append(repo.show_file(commit, CONFIG_FILE))
    return checks.remote_changes(texts[0], texts[1])
