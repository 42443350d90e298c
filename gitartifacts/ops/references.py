"""External references an artifact tracks: resolving `--ref` URIs, fetching them back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote.remotes import reference_options


def resolve_refs(
    project: Project, refs: Sequence[str], checksum: bool, max_objects: int | None
) -> dict[str, mf.Entry]:
    if not refs:
        return {}
    from gitartifacts.remote import references

    out: dict[str, mf.Entry] = {}
    for spec in refs:
        name, eq, uri = spec.partition("=")
        if not eq or "://" in name:
            name, uri = "", spec
        found = references.resolve(
            uri,
            name or None,
            checksum=checksum,
            max_objects=max_objects,
            options=reference_options(project, uri),
        )
        for p, e in found.items():
            if p in out and out[p] != e:
                raise UsageError(f"two references give entry {p!r}", "name them: --ref NAME=URI")
            out[p] = e
    return out


def ref_fetcher(project: Project, allow_changed: bool) -> Callable[[str, mf.Entry, str], None]:
    """Fetches one reference entry from its source, checking it has not changed."""
    from gitartifacts.remote import references

    def fetch(rel: str, entry: mf.Entry, dest: str) -> None:
        assert entry.ref is not None
        references.fetch(
            rel,
            entry,
            dest,
            allow_changed=allow_changed,
            options=reference_options(project, entry.ref),
        )

    return fetch
