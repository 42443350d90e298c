"""What a checkout is asked to make, and its plan: pure records and functions, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from gitartifacts.core import manifest as mf

RefFetcher = Callable[[str, mf.Entry, str], None]


class Checkout(NamedTuple):
    """What a checkout is to make: `entries` under `base` (`path` keys the stat cache).

    Files under the owned tops (those of `entries` plus `manage`) that are not entries are
    deleted when `delete_extra`. A file is replaced or deleted only when its bytes are in the
    cache (nothing is lost) unless `force`. `root` (default `base`) is trusted: every folder
    from it to a target is checked not to be a link. `what` names the place in messages.
    """

    entries: dict[str, mf.Entry]
    base: str
    path: str | None
    root: str | None = None
    manage: Sequence[str] = ()
    delete_extra: bool = True
    link: str = "copy"
    force: bool = False
    what: str = ""
    ignore: Callable[[str], bool] | None = None
    conflict_fix: str = "save them with git artifacts add, move them away, or pass --force"


class Plan(NamedTuple):
    write: list[str]
    delete: list[str]
    conflicts: list[str]


class Fetcher(Protocol):
    """Where a checkout gets the objects the cache lacks (a pull's remote)."""

    def read(self, digest: str) -> bytes | None:
        """This object's bytes as the remote has them, not yet verified; None when it is
        too large to read whole."""

    def one(self, digest: str, data: bytes | None = None) -> bytes | None:
        """Bring this object into the cache, from `data` when given (verified first);
        its verified bytes when they were read whole."""

    def many(self, digests: list[str], progress: Callable[[int, int], object]) -> None:
        """Bring these objects into the cache, in parallel; `progress(files, bytes)` as
        objects arrive."""


def plan_changes(
    job: Checkout, current: dict[str, str], *, with_refs: bool
) -> tuple[list[str], list[str], list[str]]:
    """(stored files to write, references to fetch, files to delete) to turn the files found
    (`current`: path -> digest) into the job's entries."""
    entries = job.entries
    write = [p for p, e in entries.items() if e.ref is None and current.get(p) != e.digest]
    refs = [p for p, e in entries.items() if e.ref is not None and current.get(p) != e.digest]
    delete = [p for p in current if p not in entries] if job.delete_extra else []
    return write, refs if with_refs else [], delete
