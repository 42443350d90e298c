"""Thin, batched git plumbing over subprocess.

One process per question, never one per object: blobs are read through a single
`git cat-file --batch`, refs are written in one `git update-ref --stdin` transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitartifacts.errors import GitError, UsageError
from gitartifacts.settings import git_bool, lock_timeout

ZERO = "0" * 40
# git commands that may change configuration: a cached `git config --list` is dropped.
_CONFIG_WRITERS = frozenset({"config", "remote", "init", "clone", "submodule", "worktree"})
# git commands that never move a ref: a ref snapshot (see `Repo.ref_snapshot`) survives them.
_REF_READERS = frozenset(
    {
        "cat-file",
        "check-ignore",
        "config",
        "diff",
        "for-each-ref",
        "hash-object",
        "log",
        "ls-files",
        "ls-remote",
        "ls-tree",
        "merge-base",
        "rev-list",
        "rev-parse",
        "show",
        "status",
    }
)
# The namespaces a ref snapshot holds: ours, and notes.
_SNAPSHOT_SPACES = ("refs/tags/artifacts", "refs/artifacts", "refs/tags/registry", "refs/notes")
# How git names a lock file it could not take (index.lock, <ref>.lock, packed-refs.lock, ...).
_LOCK_FAILED_RE = re.compile(r"Unable to create '([^'\n]+\.lock)': File exists")
# Seconds to wait for our own work-tree lock: only a live process holds it (flock dies with it).
_WORKTREE_LOCK_TIMEOUT = 120.0


class LockedError(GitError):
    """A lock file that git or another gitartifacts process holds did not come free in time."""


def held_lock_error(lock_file: str) -> LockedError:
    return LockedError(
        f"{lock_file} is held by another process or left by a killed one",
        "remove it if no git process is running",
    )


@dataclass
class Repo:
    root: Path  # the work tree
    git_dir: Path  # this work tree's git dir
    common_dir: Path  # shared by all work trees (holds refs, objects, the cache)
    # (key, value) pairs of `git config --list`, read once; cleared by any git call that may
    # write configuration.
    _config: list[tuple[str, str]] | None = field(default=None, repr=False, compare=False)
    # Within `ref_snapshot`: our namespaces' refs and HEAD, read once, dropped by any git
    # call of ours that may move a ref.
    _snapshots: int = field(default=0, repr=False, compare=False)
    _refs: dict[str, str] | None = field(default=None, repr=False, compare=False)
    _head: tuple[str | None] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Repo:
        cwd = Path(start or os.getcwd())
        try:
            out = subprocess.run(
                ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"],
                cwd=cwd,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed", "install git 2.30 or newer") from None
        if out.returncode != 0:
            raise UsageError(
                f"{cwd} is not inside a git repository",
                "run git init first, or cd into your repository",
            )
        top, git_dir, common = out.stdout.splitlines()[:3]
        if not top:
            raise UsageError("this is a bare repository", "run git artifacts inside a work tree")
        common_path = Path(common)
        if not common_path.is_absolute():
            common_path = (cwd / common_path).resolve()
        return cls(Path(top), Path(git_dir), common_path)

    # ------------------------------------------------------------------ running

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> str:
        proc = self.run_raw(args, input=input, env=env)
        if check and proc.returncode != 0:
            msg = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            raise GitError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
        return proc.stdout

    def ok(self, *args: str) -> bool:
        return self.run_raw(args).returncode == 0

    def run_raw(
        self, args: Sequence[str], input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run git; while it fails on a lock file of this repository (index.lock, a ref's
        .lock), wait and run it again, up to `lock_timeout` seconds in all. A command that
        could not take its lock changed nothing, so running it again is safe."""
        # `git status` refreshes the index under index.lock when it can: a reader must not
        # make a concurrent writer fail.
        argv = ["git", "--no-optional-locks", *args] if args[:1] == ("status",) else ["git", *args]
        deadline: float | None = None
        delay = 0.01
        while True:
            proc = subprocess.run(
                argv,
                cwd=self.root,
                input=input,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, **env} if env else None,
            )
            self._after(args)
            lock = self._own_lock(proc) if proc.returncode != 0 else None
            if lock is None:
                return proc
            now = time.monotonic()
            if deadline is None:
                deadline = now + lock_timeout(os.environ)
            if now >= deadline:
                raise held_lock_error(lock)
            time.sleep(min(delay * random.uniform(1.0, 1.5), deadline - now))
            delay = min(delay * 2, 0.25)

    def _own_lock(self, proc: subprocess.CompletedProcess[str]) -> str | None:
        """The lock file of this repository that made `proc` fail, if that is why it failed
        (a remote's lock, named by a push to a local path, is not ours to wait for)."""
        found = _LOCK_FAILED_RE.search(proc.stderr or "")
        if found is None:
            return None
        path = os.path.realpath(found.group(1))
        for d in {self.git_dir, self.common_dir}:
            if path.startswith(os.path.realpath(d) + os.sep):
                return found.group(1)
        return None

    @contextlib.contextmanager
    def worktree_lock(self) -> Iterator[None]:
        """Hold this work tree's lock: the index and the shared files of the work tree
        (.gitignore, .gitartifacts.yaml, .gitattributes) are read, changed and staged under
        it, so concurrent gitartifacts processes never lose each other's changes. Reentrant."""
        path = self.git_dir / "artifacts" / "locks" / "worktree"
        with _flock(path, _WORKTREE_LOCK_TIMEOUT):
            yield

    def _after(self, args: Sequence[str]) -> None:
        """Drop what git `args` may have made stale."""
        if args and args[0] in _CONFIG_WRITERS:
            self._config = None
        if not args or args[0] not in _REF_READERS:
            self.refs_moved()

    def refs_moved(self) -> None:
        """Refs may have moved (a git process not run through this object): read them anew."""
        self._refs = self._head = None

    @contextlib.contextmanager
    def ref_snapshot(self) -> Iterator[None]:
        """Within: `refs` of our namespaces and `head` answer from one read, renewed after any
        git call of ours that may move a ref. For spans with no user code in them (a push, a
        version sync): another process's ref changes meanwhile go unseen, as with any read."""
        self._snapshots += 1
        try:
            yield
        finally:
            self._snapshots -= 1
            if not self._snapshots:
                self._refs = self._head = None

    # ------------------------------------------------------------------ revisions and refs

    def rev_parse(self, rev: str) -> str | None:
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", rev],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def head(self) -> str | None:
        if not self._snapshots:
            return self.rev_parse("HEAD^{commit}")
        if self._head is None:
            self._head = (self.rev_parse("HEAD^{commit}"),)
        return self._head[0]

    def refs(self, *prefixes: str) -> dict[str, str]:
        """ref name -> object id for every ref under any of `prefixes` (as for-each-ref
        matches them: the whole name, or up to a slash)."""
        if not (self._snapshots and prefixes and all(map(_in_snapshot, prefixes))):
            return self._for_each_ref(*prefixes)
        if self._refs is None:
            self._refs = self._for_each_ref(*_SNAPSHOT_SPACES)
        return {
            ref: sha for ref, sha in self._refs.items() if any(_under(ref, p) for p in prefixes)
        }

    def _for_each_ref(self, *prefixes: str) -> dict[str, str]:
        out = self.run("for-each-ref", "--format=%(refname) %(objectname)", *prefixes)
        refs: dict[str, str] = {}
        for line in out.splitlines():
            name, _, sha = line.partition(" ")
            refs[name] = sha
        return refs

    def update_refs(self, updates: Sequence[tuple[str, str, str | None]]) -> None:
        """Atomically apply (ref, new, old) updates; new ZERO deletes, old None means any.
        Several updates of one ref fold into one (the last target, the first expected old
        value): git refuses a transaction that names a ref twice."""
        if not updates:
            return
        folded: dict[str, tuple[str, str | None]] = {}
        for ref, new, old in updates:
            folded[ref] = (new, folded[ref][1] if ref in folded else old)
        lines = ["start"]
        for ref, (new, old) in folded.items():
            if new == ZERO:
                lines.append(f"delete {ref}" + (f" {old}" if old else ""))
            else:
                lines.append(f"update {ref} {new}" + (f" {old}" if old is not None else ""))
        lines += ["prepare", "commit", ""]
        self.run("update-ref", "--stdin", input="\n".join(lines))

    # ------------------------------------------------------------------ trees and blobs

    def ls_tree(self, rev: str, path: str) -> dict[str, str]:
        """path -> blob id for the files directly in `path` at `rev`."""
        out = self.run("ls-tree", "-z", "--full-tree", rev, "--", path.rstrip("/") + "/")
        result: dict[str, str] = {}
        for rec in out.split("\0"):
            if not rec:
                continue
            meta, _, name = rec.partition("\t")
            _, kind, sha = meta.split()
            if kind == "blob":
                result[name] = sha
        return result

    def cat_blobs(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        """Read many objects (`<rev>:<path>` or ids) in one `git cat-file --batch` process."""
        specs = list(dict.fromkeys(specs))
        if not specs:
            return {}
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.root,
            input="".join(s + "\n" for s in specs).encode(),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git cat-file failed: {proc.stderr.decode(errors='replace').strip()}")
        data = proc.stdout
        out: dict[str, bytes | None] = {}
        pos = 0
        for spec in specs:
            nl = data.index(b"\n", pos)
            header = data[pos:nl]
            pos = nl + 1
            if header.endswith((b" missing", b" ambiguous")):
                out[spec] = None
                continue
            size = int(header.split()[2])
            out[spec] = data[pos : pos + size]
            pos += size + 1
        return out

    def show_file(self, rev: str, path: str) -> bytes | None:
        return self.cat_blobs([f"{rev}:{path}"])[f"{rev}:{path}"]

    def hash_object(self, path: str) -> str:
        return self.run("hash-object", "--", path).strip()

    def rev_list(self, *args: str) -> list[str]:
        return self.run("rev-list", *args).split()

    # ------------------------------------------------------------------ index and config

    def stage(self, paths: Sequence[str]) -> None:
        if paths:
            with self.worktree_lock():
                self.run("add", "--", *paths)

    def config_get(self, key: str) -> str | None:
        """The last value of `key`, as `git config --get` gives it."""
        key = _canonical_key(key)
        values = [v for k, v in self._config_list() if k == key]
        return values[-1] if values else None

    def config_bool(self, key: str) -> bool:
        """`key` as a git boolean: true, yes, on or 1 (any case) are true."""
        value = self.config_get(key)
        return value is not None and git_bool(value) is True

    def config_get_regexp(self, pattern: str) -> dict[str, str]:
        """key -> value for keys matching `pattern`, as `git config --get-regexp`."""
        rx = re.compile(pattern)
        return {k: v for k, v in self._config_list() if rx.search(k)}

    def remotes(self) -> list[str]:
        """The git remotes' names, as `git remote` lists them."""
        names: dict[str, None] = {}
        for key, _ in self._config_list():
            section, _, rest = key.partition(".")
            name, _, var = rest.rpartition(".")
            if section == "remote" and name and var in ("url", "fetch", "pushurl"):
                names[name] = None
        return sorted(names)

    def _config_list(self) -> list[tuple[str, str]]:
        if self._config is None:
            out = self.run("config", "--list", "-z", check=False)
            pairs = []
            for record in out.split("\0"):
                if record:
                    key, _, value = record.partition("\n")
                    pairs.append((key, value))
            self._config = pairs
        return self._config

    def config_set(self, key: str, value: str, add: bool = False) -> None:
        self.run("config", *(["--add"] if add else []), key, value)

    def commit_info(self, shas: Iterable[str]) -> dict[str, tuple[int, str]]:
        """commit -> (committer unix time, subject), in one process."""
        shas = list(dict.fromkeys(shas))
        if not shas:
            return {}
        out = self.run("show", "-s", "--no-walk=unsorted", "--format=%H %ct %s", *shas)
        info: dict[str, tuple[int, str]] = {}
        for line in out.splitlines():
            sha, ts, *subject = line.split(" ", 2)
            info[sha] = (int(ts), subject[0] if subject else "")
        return info

    def status_porcelain(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> two-letter porcelain status, for changed paths among `paths`."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
        result: dict[str, str] = {}
        recs = out.split("\0")
        i = 0
        while i < len(recs):
            rec = recs[i]
            i += 1
            if not rec:
                continue
            code, path = rec[:2], rec[3:]
            result[path] = code
            if code[0] in "RC":
                i += 1  # the rename source follows
        return result


# Per lock file, for this process: a thread lock (flock does not exclude threads sharing an
# open file), the open file holding the flock and how deep the owning thread has entered.
_held: dict[str, tuple[threading.RLock, list[int]]] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def _flock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive flock on `path` (made if missing), waited for up to `timeout` seconds;
    reentrant within a thread. The kernel drops it when the process dies: never stale."""
    key = str(path)
    with _held_guard:
        rlock, slot = _held.setdefault(key, (threading.RLock(), [-1, 0]))
    if not rlock.acquire(timeout=timeout):
        raise LockedError(
            f"{path} is held by another thread of this process", "wait for it to finish"
        )
    try:
        if slot[1] == 0:
            slot[0] = _take_flock(path, timeout)
        slot[1] += 1
        try:
            yield
        finally:
            slot[1] -= 1
            if slot[1] == 0:
                os.close(slot[0])  # closing the file releases the flock
                slot[0] = -1
    finally:
        rlock.release()


def _take_flock(path: Path, timeout: float) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockedError(
                    f"{path} is held by another gitartifacts process",
                    "wait for it to finish, or stop it",
                ) from None
            time.sleep(delay * random.uniform(1.0, 1.5))
            delay = min(delay * 2, 0.1)
        except BaseException:
            os.close(fd)
            raise


def _in_snapshot(prefix: str) -> bool:
    """Whether the refs under `prefix` (no glob) all lie in a snapshot's namespaces."""
    return not any(c in prefix for c in "*?[\\") and any(
        _under(prefix.rstrip("/"), space) for space in _SNAPSHOT_SPACES
    )


def _under(ref: str, prefix: str) -> bool:
    """Whether `ref` is under `prefix` as for-each-ref matches: the whole name, or up to a
    slash (a trailing slash on `prefix` changes nothing)."""
    p = prefix.rstrip("/")
    return ref == p or ref.startswith(p + "/")


def _canonical_key(key: str) -> str:
    """Section and variable names are case-insensitive, a subsection is not."""
    section, _, rest = key.partition(".")
    sub, dot, var = rest.rpartition(".")
    return (
        f"{section.lower()}.{sub}{dot}{var.lower()}" if dot else f"{section.lower()}.{var.lower()}"
    )
