"""The folders a checkout writes into, looked at without following links, and the removals
and clean-ups a checkout makes there (files, emptied folders, temporary files left behind)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable, Sequence

from gitartifacts.core.fsio import WORK_TMP, unlink_quiet
from gitartifacts.core.workspace.scan import shown
from gitartifacts.errors import ConflictError


class Folders:
    """What each folder on the way to a checkout's targets is, looked at once each with lstat
    (links never followed): from `root`, which is trusted (the work tree, a folder the user
    named), down through `base` to every file written or deleted. Only the folders of targets
    are looked at, and nothing below a folder that does not exist, so writing into an empty
    place costs one look per folder, not one per file."""

    def __init__(self, root: str, base: str, what: str) -> None:
        self.root = root
        self.base = base
        self.what = what
        self.known: dict[str, bool] = {}  # folder under base ("" is base) -> exists, real
        self.blocked: list[str] = []  # non-folders under base where a folder must go

    def real(self, folder: str) -> bool:
        """Whether `folder` (under base) is a real folder; False when it does not exist (or a
        file is in its place). A symlink on the way raises ConflictError."""
        known = self.known.get(folder)
        if known is None:
            if folder == "":
                known = self._base()
            else:
                known = self.real(os.path.dirname(folder)) and self._look(folder)
            self.known[folder] = known
        return known

    def check(
        self, write: Sequence[str], delete: Sequence[str], current: dict[str, str]
    ) -> tuple[list[str], list[str]]:
        """(clashes, unknown) for these targets: clashes are folders where a file goes and
        files where a folder goes; unknown are files where a file goes that the scan did not
        report (ignored ones, links to folders): local files all the same."""
        clashes: list[str] = []
        unknown: list[str] = []
        for rel in delete:
            self.real(os.path.dirname(rel))
        for rel in write:
            if rel in current or not self.real(os.path.dirname(rel)):
                continue
            try:
                mode = os.lstat(os.path.join(self.base, rel)).st_mode
            except FileNotFoundError:
                continue
            (clashes if stat.S_ISDIR(mode) else unknown).append(rel)
        return [*self.blocked, *clashes], unknown

    def _look(self, folder: str) -> bool:
        try:
            mode = os.lstat(os.path.join(self.base, folder)).st_mode
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(mode):
            return True
        if stat.S_ISLNK(mode):
            raise _through_link(shown(self.what, folder))
        self.blocked.append(folder)
        return False

    def _base(self) -> bool:
        """Whether `base` exists; each folder from `root` to it must be a real one."""
        if not os.path.isdir(self.root):  # the root is trusted, a link to it too
            if os.path.lexists(self.root):
                raise _not_a_folder(self.root)
            return False
        rel = os.path.relpath(self.base, self.root)
        if rel == ".":
            return True
        walked = self.root
        for i, part in enumerate(rel.split(os.sep)):
            walked = os.path.join(walked, part)
            name = "/".join(rel.split(os.sep)[: i + 1])
            try:
                mode = os.lstat(walked).st_mode
            except FileNotFoundError:
                return False
            if stat.S_ISLNK(mode):
                raise _through_link(name)
            if not stat.S_ISDIR(mode):
                raise _not_a_folder(name)
        return True


def sweep_temps(base: str, seen: Sequence[str]) -> None:
    """Remove temporary files that a killed checkout left (in `base` and the folders the scan
    saw), those of processes no longer running."""
    try:
        with os.scandir(base) as it:
            top = [e.name for e in it if e.name.startswith(WORK_TMP)]
    except OSError:
        top = []
    for rel in [*top, *seen]:
        full = os.path.join(base, rel)
        if not _alive(full):
            unlink_quiet(full)


def remove(full: str) -> None:
    try:
        os.unlink(full)
    except IsADirectoryError:
        shutil.rmtree(full)
    except (FileNotFoundError, NotADirectoryError):
        pass  # gone, or a file now stands where its folder was
    except PermissionError:
        os.chmod(os.path.dirname(full), 0o755)
        os.unlink(full)


def first_missing_dir(folder: str) -> str | None:
    """The outermost of `folder` and its parents that does not exist yet, if any."""
    first = None
    while not os.path.lexists(folder):
        first = folder
        folder = os.path.dirname(folder)
    return first


def remove_empty_up_to(folder: str, top: str | None) -> None:
    """Remove `folder` and its parents up to `top` while they are empty."""
    if top is None:
        return
    while True:
        try:
            os.rmdir(folder)
        except OSError:
            return
        if folder == top:
            return
        folder = os.path.dirname(folder)


def prune_empty_dirs(base: str, removed: Iterable[str]) -> None:
    dirs = sorted({os.path.dirname(p) for p in removed if "/" in p}, key=len, reverse=True)
    for d in dirs:
        while d:
            try:
                os.rmdir(os.path.join(base, d))
            except OSError:
                break
            d = os.path.dirname(d)


def _through_link(name: str) -> ConflictError:
    return ConflictError(
        f"{name} is a symlink; refusing to write or delete through it, even with --force",
        "remove the link (git rm it if it is committed) or check out elsewhere with git artifacts"
        " get",
    )


def _not_a_folder(name: str) -> ConflictError:
    return ConflictError(
        f"{name} is a file where a folder must go", "move it away, then run the command again"
    )


def _alive(full: str) -> bool:
    """Whether the process that named this temporary file (`temp_name`) may still run; true
    for names not of that form, which are not ours to remove."""
    parts = os.path.basename(full)[len(WORK_TMP) :].split("-")
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    pid = int(parts[1])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return not _dead_or_newer(pid, full)


def _dead_or_newer(pid: int, full: str) -> bool:
    """A killed writer whose parent has not reaped it yet still answers kill(0) (a zombie),
    and a pid may have been reused by a process started after the file was written."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as f:
            boot = next(int(ln.split()[1]) for ln in f if ln.startswith(b"btime "))
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return fields[0] in (b"Z", b"X") or started > os.lstat(full).st_mtime + 1
    except (OSError, IndexError, ValueError, StopIteration):
        return False  # no /proc here: trust kill(0)
