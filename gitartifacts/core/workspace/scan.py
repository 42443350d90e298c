"""Scanning an artifact's files in the work tree: stat data grouped by folder, one
fingerprint over all of it, symlinks followed and their loops refused.

An artifact with `path: P` owns `P/<t>` for each first path segment `t` of its entries;
nothing else under P is touched or reported.
"""

from __future__ import annotations

import errno
import hashlib
import marshal
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence

from gitartifacts.core.fsio import WORK_TMP
from gitartifacts.core.state import StatKey, stat_key
from gitartifacts.errors import UsageError

# One folder's regular files as (name, inode, mtime_ns, size, ctime_ns), in file-system order.
Rows = list[tuple[str, int, int, int, int]]


class Scan:
    """Every file under an artifact's owned paths, as stat data grouped by folder (held
    whole: for callers that need it all at once; `FolderWalk` streams the same)."""

    def __init__(self, groups: list[tuple[str, Rows]], temps: Sequence[str] = ()) -> None:
        self.groups = groups
        self.temps = list(temps)  # our temporary files seen (left out of `groups`)
        fp = Fingerprint()
        for group in groups:
            fp.update(group)
        self.fingerprint = fp.hexdigest()
        self._files: dict[str, StatKey] | None = None

    @property
    def files(self) -> dict[str, StatKey]:
        if self._files is None:
            self._files = {
                (f"{d}/{name}" if d else name): (ino, mtime, size, ctime)
                for d, rows in self.groups
                for name, ino, mtime, size, ctime in rows
            }
        return self._files


class Fingerprint:
    """A digest of the scanned stat data, fed one folder at a time: equal digests mean the
    same files with the same inode, size and times (a no-op status compares only this)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, group: tuple[str, Rows]) -> None:
        # Version 2: later versions mark objects referenced twice, so their bytes would
        # depend on reference counts, not only on the values.
        self._h.update(marshal.dumps(group, 2))

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def tops(entries: Iterable[str]) -> list[str]:
    """First path segments: what an artifact owns under its `path`."""
    return sorted({p.split("/", 1)[0] for p in entries})


def scan(
    base: str, top_names: Sequence[str], what: str = "", ignore: Callable[[str], bool] | None = None
) -> Scan:
    """Stat every file under `base/<top>`; symlinks are followed, loops are an error.
    Files for which `ignore(path under base)` is true are left out."""
    walk = FolderWalk(base, top_names, what, ignore)
    groups = list(walk)
    return Scan(groups, walk.temps)


class FolderWalk:
    """The files under `base/<top>` for each top name, one folder at a time in folder order
    (`core/foldertree.py`), each folder's rows sorted by name bytes; only folders holding
    files are yielded. Memory is one folder's rows plus the folders still to visit.

    After the walk, `temps` lists our temporary files seen (left out of the rows) and
    `fingerprint` is the digest of all rows (see `Fingerprint`). Without `stat`, files are
    not stat'ed (a third of a walk's time): rows hold names and zeros, and `fingerprint`
    means nothing."""

    def __init__(
        self,
        base: str,
        top_names: Sequence[str],
        what: str = "",
        ignore: Callable[[str], bool] | None = None,
        stat: bool = True,
    ) -> None:
        self.base = base
        self.stat = stat
        self.top_names = top_names
        self.what = what
        self.ignore = ignore
        self.temps: list[str] = []
        self._fp = Fingerprint()
        self.fingerprint = ""

    def __iter__(self) -> Iterator[tuple[str, Rows]]:
        stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = []
        top_rows: Rows = []
        for top in self.top_names:
            _top(self.base, top, self.what, top_rows, stack)
        stack.sort(key=lambda s: (s[1] + "/").encode(), reverse=True)
        yield from self._emit("", top_rows)
        while stack:
            d, r, anc = stack.pop()
            rows: Rows = []
            subs: list[tuple[str, str, frozenset[tuple[int, int]]]] = []
            _list_dir(d, r, anc, self.what, rows, subs, self.stat)
            stack += sorted(subs, key=lambda s: (s[1] + "/").encode(), reverse=True)
            if any(row[0].startswith(WORK_TMP) for row in rows):
                self.temps += [f"{r}/{row[0]}" for row in rows if row[0].startswith(WORK_TMP)]
                rows = [row for row in rows if not row[0].startswith(WORK_TMP)]
            yield from self._emit(r, rows)
        self.fingerprint = self._fp.hexdigest()

    def _emit(self, folder: str, rows: Rows) -> Iterator[tuple[str, Rows]]:
        if self.ignore is not None:
            ignore = self.ignore
            rows = [row for row in rows if not ignore(f"{folder}/{row[0]}" if folder else row[0])]
        if rows:
            rows.sort(key=lambda row: row[0].encode())
            group = (folder, rows)
            if self.stat:  # without stat data, the rows are names and zeros
                self._fp.update(group)
            yield group


def _top(
    base: str,
    top: str,
    what: str,
    top_rows: Rows,
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]],
) -> None:
    """One owned top name: a file joins the root's rows, a folder the walk."""
    full = os.path.join(base, top)
    try:
        st = os.stat(full)
    except FileNotFoundError:
        if os.path.islink(full):
            raise _broken_link(what, top) from None
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop(what, top) from None
        raise
    if stat.S_ISDIR(st.st_mode):
        stack.append((full, top, frozenset({(st.st_dev, st.st_ino)})))  # sorted by the caller
    elif stat.S_ISREG(st.st_mode):
        top_rows.append((top, *stat_key(st)))


def shown(what: str, rel: str) -> str:
    """`rel` (a path under an artifact's folder `what`) as a user names it."""
    return rel if what in ("", ".") else f"{what}/{rel}"


def _list_dir(
    d: str,
    r: str,
    anc: frozenset[tuple[int, int]],
    what: str,
    rows: Rows,
    subs: list[tuple[str, str, frozenset[tuple[int, int]]]],
    with_stat: bool = True,
) -> None:
    # The hot loop of a no-op status: as little Python per file as possible.
    # Listing a folder by descriptor makes each stat one name lookup, not a whole path.
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(fd) as it:
            for e in it:
                try:
                    if e.is_file(follow_symlinks=False):
                        if not with_stat:
                            rows.append((e.name, 0, 0, 0, 0))
                            continue
                        st = e.stat(follow_symlinks=False)
                        rows.append((e.name, st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns))
                    elif e.is_dir(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        key = (st.st_dev, st.st_ino)
                        subs.append((f"{d}/{e.name}", f"{r}/{e.name}", anc | {key}))
                    elif e.is_symlink():
                        _follow(f"{d}/{e.name}", e.name, r, rows, subs, anc, what)
                except FileNotFoundError:
                    # Renamed or removed since the listing (a writer's temporary file
                    # becoming its final name): what is there now, the next scan sees.
                    continue
    finally:
        os.close(fd)


def _follow(
    full: str,
    name: str,
    r: str,
    rows: Rows,
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]],
    anc: frozenset[tuple[int, int]],
    what: str,
) -> None:
    p = f"{r}/{name}"
    try:
        st = os.stat(full)
    except FileNotFoundError:
        raise _broken_link(what, p) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop(what, p) from None
        raise
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if key in anc:
            raise _loop(what, p)
        stack.append((full, p, anc | {key}))
    elif stat.S_ISREG(st.st_mode):
        rows.append((name, *stat_key(st)))


def _loop(what: str, rel: str) -> UsageError:
    return UsageError(
        f"symlink loop at {shown(what, rel)}",
        "remove the link or point it outside its own folder",
    )


def _broken_link(what: str, rel: str) -> UsageError:
    return UsageError(f"broken symlink {shown(what, rel)}", "remove it or fix its target")
