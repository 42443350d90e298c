"""`Repo`: thin, batched git plumbing (the processes are started by `runner`).

One process per question, never one per object: blobs are read through a single
`git cat-file --batch`, refs are written in one `git update-ref --stdin` transaction.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitartifacts.errors import GitError, UsageError
from gitartifacts.gitmodel.refs import SNAPSHOT_SPACES
from gitartifacts.gitmodel.runner import flock, git, run_waiting
from gitartifacts.settings import git_bool

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
# Seconds to wait for our own work-tree lock: only a live process holds it (flock dies with it).
_WORKTREE_LOCK_TIMEOUT = 120.0


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
        out = git(["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"], cwd)
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
        """Run git, waiting out lock files of this repository (see `runner.run_waiting`)."""
        dirs = (self.git_dir, self.common_dir)
        return run_waiting(args, self.root, dirs, lambda: self._after(args), input, env)

    @contextlib.contextmanager
    def worktree_lock(self) -> Iterator[None]:
        """Hold this work tree's lock: the index and the shared files of the work tree
        (.gitignore, .gitartifacts.yaml, .gitattributes) are read, changed and staged under
        it, so concurrent gitartifacts processes never lose each other's changes. Reentrant."""
        path = self.git_dir / "artifacts" / "locks" / "worktree"
        with flock(path, _WORKTREE_LOCK_TIMEOUT):
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
        proc = git(["rev-parse", "--verify", "--quiet", "--end-of-options", rev], self.root)
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
            self._refs = self._for_each_ref(*SNAPSHOT_SPACES)
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
        proc = git(
            ["cat-file", "--batch"], self.root, input="".join(s + "\n" for s in specs).encode()
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


def _in_snapshot(prefix: str) -> bool:
    """Whether the refs under `prefix` (no glob) all lie in a snapshot's namespaces."""
    return not any(c in prefix for c in "*?[\\") and any(
        _under(prefix.rstrip("/"), space) for space in SNAPSHOT_SPACES
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
