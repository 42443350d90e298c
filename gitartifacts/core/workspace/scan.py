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
from collections.abc import Callable, Iterable, Sequence

from gitartifacts.core.fsio import WORK_TMP
from gitartifacts.core.state import StatKey, stat_key
from gitartifacts.errors import UsageError

# One folder's regular files as (name, inode, mtime_ns, size, ctime_ns), in file-system order.
Rows = list[tuple[str, int, int, int, int]]


class Scan:
    """Every file under an artifact's owned paths, as stat data grouped by folder.

    The fingerprint comes straight from the grouped rows; the flat `files` mapping is built
    only when a caller needs it (a no-op status never does).
    """

    def __init__(self, groups: list[tuple[str, Rows]], temps: Sequence[str] = ()) -> None:
        self.groups = groups
        self.temps = list(temps)  # our temporary files seen (left out of `groups`)
        self.fingerprint = hashlib.sha256(marshal.dumps(groups)).hexdigest()
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


def tops(entries: Iterable[str]) -> list[str]:
    """First path segments: what an artifact owns under its `path`."""
    return sorted({p.split("/", 1)[0] for p in entries})


def scan(
    base: str, top_names: Sequence[str], what: str = "", ignore: Callable[[str], bool] | None = None
) -> Scan:
    """Stat every file under `base/<top>`; symlinks are followed, loops are an error.
    Files for which `ignore(path under base)` is true are left out."""
    groups: list[tuple[str, Rows]] = []
    temps: list[str] = []
    top_rows: Rows = []
    for top in sorted(top_names):
        full = os.path.join(base, top)
        try:
            st = os.stat(full)
        except FileNotFoundError:
            if os.path.islink(full):
                raise _broken_link(what, top) from None
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _loop(what, top) from None
            raise
        if stat.S_ISDIR(st.st_mode):
            _walk(full, top, groups, temps, what, frozenset({(st.st_dev, st.st_ino)}))
        elif stat.S_ISREG(st.st_mode):
            top_rows.append((top, *stat_key(st)))
    if top_rows:
        groups.append(("", top_rows))
    if ignore is not None:
        groups = [
            (d, kept)
            for d, rows in groups
            if (kept := [row for row in rows if not ignore(f"{d}/{row[0]}" if d else row[0])])
        ]
    return Scan(groups, temps)


def shown(what: str, rel: str) -> str:
    """`rel` (a path under an artifact's folder `what`) as a user names it."""
    return rel if what in ("", ".") else f"{what}/{rel}"


def _walk(
    root: str,
    rel: str,
    groups: list[tuple[str, Rows]],
    temps: list[str],
    what: str,
    ancestors: frozenset[tuple[int, int]],
) -> None:
    # The hot loop of a no-op status: as little Python per file as possible. Directory
    # order is the file system's, which is stable while a folder is unchanged.
    stack = [(root, rel, ancestors)]
    while stack:
        d, r, anc = stack.pop()
        rows: Rows = []
        # Listing a folder by descriptor makes each stat one name lookup, not a whole path.
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with os.scandir(fd) as it:
                for e in it:
                    try:
                        if e.is_file(follow_symlinks=False):
                            st = e.stat(follow_symlinks=False)
                            rows.append(
                                (e.name, st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)
                            )
                        elif e.is_dir(follow_symlinks=False):
                            st = e.stat(follow_symlinks=False)
                            key = (st.st_dev, st.st_ino)
                            stack.append((f"{d}/{e.name}", f"{r}/{e.name}", anc | {key}))
                        elif e.is_symlink():
                            _follow(f"{d}/{e.name}", e.name, r, rows, stack, anc, what)
                    except FileNotFoundError:
                        # Renamed or removed since the listing (a writer's temporary file
                        # becoming its final name): what is there now, the next scan sees.
                        continue
        finally:
            os.close(fd)
        if rows:
            if any(row[0].startswith(WORK_TMP) for row in rows):
                temps += [f"{r}/{row[0]}" for row in rows if row[0].startswith(WORK_TMP)]
                rows = [row for row in rows if not row[0].startswith(WORK_TMP)]
            groups.append((r, rows))


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
