"""Writers renewing the cache objects they are about to name, so a concurrent gc keeps them.

`add` and a run logging a version store their files, then, before the manifest or version
naming them is written, renew every object they name (see core/cachelock): one a gc removed
meanwhile is stored again from the files it came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from gitartifacts.core import cachelock
from gitartifacts.gitmodel.project import Project


def renew_objects(
    project: Project, digests: Iterable[str], files: Iterable[str], seal: bool = True
) -> None:
    """Renew the cache objects `digests` (holding the cache's lock shared); any the cache
    lacks is stored again from `files`, read until all are back (a lazy iterable: it is
    read only when something is missing, which is rare). What none of the files holds
    stays missing: a version may name content that lives only on a remote (a part another
    writer pushed, a file of a version fetched by its listing).

    With `seal` the cache's pending pack is written out at the end, so what is named next
    is on disk; a caller renewing in batches seals once, after the last (objects still
    pending need no renewal: a gc cannot see them, and their pack is new when sealed)."""
    with cachelock.held(project.cache.root, exclusive=False):
        missing = set(cachelock.renew(project.cache, sorted(set(digests))))
        for path in files if missing else ():
            digest, _ = project.cache.add_file(path)
            missing.discard(digest)
            if not missing:
                break
        if seal:
            project.cache.flush()


def files_under(paths: Iterable[str]) -> Iterator[str]:
    """Every regular file of `paths` (files, or folders walked without following links)."""
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for folder, _, names in os.walk(path):
            for n in sorted(names):
                full = os.path.join(folder, n)
                if os.path.isfile(full) and not os.path.islink(full):
                    yield full
