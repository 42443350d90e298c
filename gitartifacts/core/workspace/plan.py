"""What a checkout is asked to make and what it found to do: plain records, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import inline_tree

RefFetcher = Callable[[str, mf.Entry, str], None]


class Tree(NamedTuple):
    """A version's entries as a listing tree: its root listing object, how to read a listing
    object by hex digest, and the file count it may not pass (None: no bound)."""

    root: str
    fetch: Callable[[str], bytes]
    files: int | None = None


def entries_tree(entries: dict[str, mf.Entry]) -> Tree:
    """Entries held in memory (an inline manifest, a chosen few) as a tree."""
    root, fetch = inline_tree(entries)
    return Tree(root, fetch, len(entries))


class Checkout(NamedTuple):
    """What a checkout is to make: the entries of `tree` under `base` (`path` keys the stat
    cache).

    Files under the owned tops (those of the tree plus `manage`) that are not entries are
    deleted when `delete_extra`. A file is replaced or deleted only when its bytes are in the
    cache (nothing is lost) unless `force`. `root` (default `base`) is trusted: every folder
    from it to a target is checked not to be a link. `what` names the place in messages.
    """

    tree: Tree
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
    """What a checkout did: files written (references included) and deleted, and the files
    in the way that it replaced (with force) or refused to."""

    written: int
    deleted: int
    conflicts: list[str]
