"""Workspace data: scanning, hashing into the cache, comparing with a manifest, materialising.

An artifact with `path: P` owns `P/<t>` for each first path segment `t` of its entries;
nothing else under P is touched or reported.
"""

from __future__ import annotations

import errno
import hashlib
import marshal
import math
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol, TypeVar

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import WORK_TMP, unlink_quiet
from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.objects import SMALL, ObjectStore
from gitartifacts.core.progress import Progress
from gitartifacts.core.state import SIZE, State, StatKey, stat_key
from gitartifacts.errors import CacheError, ConflictError, UsageError

JOBS = max(2, min(8, (os.cpu_count() or 2) * 2))
TMP_PREFIX = WORK_TMP
_BATCH_BYTES = 4 << 20
# Object reads waiting on the disk at once during a checkout, at most.
READERS = 8
# Object bytes read ahead and not yet written during a checkout, at most (beyond one batch).
_READ_AHEAD_BYTES = 24 << 20
T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")


class Fetcher(Protocol):
    """Where a checkout gets the objects the cache lacks (a pull's remote)."""

    def read(self, digest: str) -> bytes | None:
        """This object's bytes as the remote has them, not yet verified; None when it is
        too large to read whole."""

    def one(self, digest: str, data: bytes | None = None) -> bytes | None:
        """Bring this object into the cache, from `data` when given (verified first);
        its verified bytes when they were read whole."""

    def many(self, digests: list[str]) -> None:
        """Bring these objects into the cache, in parallel."""


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


class Diff(NamedTuple):
    added: list[str]
    modified: list[str]
    deleted: list[str]

    @property
    def clean(self) -> bool:
        return not (self.added or self.modified or self.deleted)


def tops(entries: Iterable[str]) -> list[str]:
    """First path segments: what an artifact owns under its `path`."""
    return sorted({p.split("/", 1)[0] for p in entries})


def state_key(path: str | None, rel: str) -> str:
    return rel if path in (None, ".", "") else f"{path}/{rel}"


# ---------------------------------------------------------------- scanning


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
                    if e.is_file(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        rows.append((e.name, st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns))
                    elif e.is_dir(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        key = (st.st_dev, st.st_ino)
                        stack.append((f"{d}/{e.name}", f"{r}/{e.name}", anc | {key}))
                    elif e.is_symlink():
                        _follow(f"{d}/{e.name}", e.name, r, rows, stack, anc, what)
        finally:
            os.close(fd)
        if rows:
            if any(row[0].startswith(TMP_PREFIX) for row in rows):
                temps += [f"{r}/{row[0]}" for row in rows if row[0].startswith(TMP_PREFIX)]
                rows = [row for row in rows if not row[0].startswith(TMP_PREFIX)]
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
        f"symlink loop at {_join(what, rel)}",
        "remove the link or point it outside its own folder",
    )


def _broken_link(what: str, rel: str) -> UsageError:
    return UsageError(f"broken symlink {_join(what, rel)}", "remove it or fix its target")


def _join(a: str, b: str) -> str:
    return b if a in ("", ".") else f"{a}/{b}"


# ---------------------------------------------------------------- hashing


def digests(
    state: State,
    path: str | None,
    files: dict[str, StatKey],
    *,
    base: str,
    store: ObjectStore | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, tuple[str, int]], bool]:
    """Digest of every scanned file: from the stat cache, else hashed (and stored when
    `store` is given). Returns (digests, trusted): trusted is False when a file changed too
    recently for its stat to be trusted next time.
    """
    started = time.time_ns()
    known = (
        state.lookup_prefix(tops(files))
        if path in (None, ".", "")
        else state.lookup_prefix([state_key(path, t) for t in tops(files)])
    )
    out: dict[str, tuple[str, int]] = {}
    todo: list[str] = []
    for rel, st in files.items():
        hit = known.get(state_key(path, rel))
        if hit is not None and hit[0] == st and (store is None or store.has(hit[1])):
            out[rel] = (hit[1], st[SIZE])
        else:
            todo.append(rel)
    if not todo:
        return out, True
    if progress is not None:
        progress.start(sum(files[r][SIZE] for r in todo), "hashing")

    def work(batch: list[str]) -> list[tuple[str, str, int]]:
        res = []
        for rel in batch:
            full = os.path.join(base, rel)
            if store is not None:
                digest, size = store.add_file(full, files[rel][SIZE])
            else:
                digest, size = sha256_file(full)
            res.append((rel, digest, size))
        if progress is not None:
            progress.update(sum(files[r][SIZE] for r in batch))
        return res

    rows = []
    for rel, digest, size in parallel(work, _batches(todo, lambda r: files[r][SIZE])):
        out[rel] = (digest, size)
        if size == files[rel][SIZE]:
            rows.append((state_key(path, rel), files[rel], digest))
    trusted = state.record(rows, started)
    if progress is not None:
        progress.close()
    return out, trusted


def _batches(paths: list[str], size_of: Callable[[str], int]) -> list[list[str]]:
    """Group small files so a thread task is worth its overhead; big files go alone."""
    out: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for rel in paths:
        cur.append(rel)
        size += size_of(rel) + 4096
        if size >= _BATCH_BYTES or len(cur) >= 256:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def parallel(fn: Callable[[T], list[R]], batches: Sequence[T], jobs: int = JOBS) -> list[R]:
    if len(batches) <= 1:
        return [r for b in batches for r in fn(b)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return [r for rs in pool.map(fn, batches) for r in rs]


def read_ahead_chunks(
    read: Callable[[T], P],
    write: Callable[[T, P], list[R]],
    batches: Sequence[T],
    *,
    readers: int,
    writers: int,
    weight: Callable[[T], int],
    budget: int,
    per_chunk: int = 20_000,
) -> Iterator[list[R]]:
    """`write(b, read(b))` for each batch `b`; the results come in chunks of about
    `per_chunk` as they complete, so that 100,000 of them need not be held at once.
    Reads beyond the next batch start only while the batches read and not yet written weigh
    at most `budget` (bytes in memory, say), so at most that plus `writers + 2` batches are
    held at once.

    The reads run ahead of the writes on threads of their own, as many at once as it takes
    to keep `writers` threads busy (at most `readers`): one when the data is in memory and
    reading is quick, many when each read waits on the disk. Idle readers would only
    contend with the writers for the interpreter.
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    took = [0.0, 0.0]  # seconds the last read, and the last write, took

    def timed_read(batch: T) -> P:
        start = time.perf_counter()
        out = read(batch)
        took[0] = time.perf_counter() - start
        return out

    def timed_write(batch: T, data: P) -> list[R]:
        start = time.perf_counter()
        out = write(batch, data)
        took[1] = time.perf_counter() - start
        return out

    def depth() -> int:
        read_s, write_s = took
        if write_s <= 0:
            return 2
        return max(1, min(readers, math.ceil(writers * read_s / write_s)))

    weights = [weight(b) for b in batches]
    reads: deque[Future[P]] = deque()
    writes: deque[tuple[Future[list[R]], int]] = deque()  # with the weight each holds
    pending: list[R] = []
    ahead = 0
    with (
        ThreadPoolExecutor(max_workers=readers) as read_pool,
        ThreadPoolExecutor(max_workers=writers) as write_pool,
    ):
        held = 0
        for i, batch in enumerate(batches):
            while ahead < len(batches) and (
                ahead == i or (ahead - i < depth() + writers and held + weights[ahead] <= budget)
            ):
                reads.append(read_pool.submit(timed_read, batches[ahead]))
                held += weights[ahead]
                ahead += 1
            data = reads.popleft().result()
            writes.append((write_pool.submit(timed_write, batch, data), weights[i]))
            while writes and (len(writes) > writers or i == len(batches) - 1):
                done, w = writes.popleft()
                pending += done.result()
                held -= w
                if len(pending) >= per_chunk:
                    yield pending
                    pending = []
    if pending:
        yield pending


def compare(entries: dict[str, mf.Entry], current: dict[str, str]) -> Diff:
    added = [p for p in current if p not in entries]
    deleted = [p for p, e in entries.items() if p not in current and e.ref is None]
    modified = [p for p, d in current.items() if p in entries and entries[p].digest != d]
    return Diff(sorted(added), sorted(modified), sorted(deleted))


# ---------------------------------------------------------------- materialising


class Plan(NamedTuple):
    write: list[str]
    delete: list[str]
    conflicts: list[str]


def materialize(
    state: State,
    store: ObjectStore,
    entries: dict[str, mf.Entry],
    *,
    base: str,
    path: str | None,
    root: str | None = None,
    manage: Sequence[str] = (),
    delete_extra: bool = True,
    link: str = "copy",
    force: bool = False,
    what: str = "",
    progress: Progress | None = None,
    fetch_ref: Callable[[str, mf.Entry, str], None] | None = None,
    fetcher: Fetcher | None = None,
    ignore: Callable[[str], bool] | None = None,
    conflict_fix: str = "save them with git artifacts add, move them away, or pass --force",
) -> tuple[Plan, Scan | None]:
    """Make `base/<entry>` hold each entry's bytes; references come from `fetch_ref`.

    Files under the owned tops (those of `entries` plus `manage`) that are not entries are
    deleted when `delete_extra`. A file is replaced or deleted only when its bytes are in
    the cache (nothing is lost) unless `force`. Returns the plan and the scan afterwards.

    No write, delete or rename goes through a symlink: every folder on the way from `root`
    (trusted, default `base`) to a target is looked at without following links, and a
    symlink there refuses the whole checkout before anything is done, `force` or not.
    Every file appears whole: it is written under a temporary name beside it and renamed.

    With a `fetcher`, objects the cache lacks are fetched. When the checkout only creates
    files (a fresh clone), each is fetched as its file is written, and the file is written
    from the bytes fetched: one read of each object, not two. Should a fetch fail, the
    files this checkout created are removed again. When the checkout replaces or deletes
    files, the objects are all fetched first, so that a failed fetch changes nothing.
    """
    stored = {p: e for p, e in entries.items() if e.ref is None}
    missing = store.missing(sorted({e.digest for e in stored.values()}))
    if missing and fetcher is None:
        raise CacheError(
            f"{len(missing)} object(s) of {what or 'this artifact'} are not in the local cache"
            f" (first: {missing[0]})",
            "run git artifacts pull to download them",
        )
    owned = sorted(set(tops(entries)) | set(manage))
    folders = Folders(root or base, base, what)
    base_exists = folders.real("")  # refuses a symlink on the way to `base` before reading
    before = scan(base, owned, what, ignore) if base_exists else Scan([])
    found, _ = digests(state, path, before.files, base=base)
    current = {p: d for p, (d, _) in found.items()}
    write = [p for p, e in stored.items() if current.get(p) != e.digest]
    refs = [p for p, e in entries.items() if e.ref is not None and current.get(p) != e.digest]
    if fetch_ref is None:
        refs = []
    delete = [p for p in current if p not in entries] if delete_extra else []
    # What is in the way: folders where files go, files where folders go, files the scan
    # left out (ignored ones); any symlink on the way refuses the checkout here.
    clashes, unknown = folders.check([*write, *refs], delete, current)
    conflicts = [p for p in [*write, *refs, *delete] if p in current and not store.has(current[p])]
    conflicts += [c for c in clashes if c not in conflicts]
    conflicts += [u for u in unknown if not _saved(store, os.path.join(base, u))]
    plan = Plan([*write, *refs], delete, conflicts)
    if conflicts and not force:
        shown = ", ".join(_join(what, c) for c in conflicts[:5])
        more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        raise ConflictError(
            f"would overwrite or delete local changes not saved anywhere: {shown}{more}",
            conflict_fix,
        )
    if base_exists:
        _sweep_temps(base, before.temps)
    only_creates = not (delete or clashes or unknown or any(p in current for p in write))
    if missing and not only_creates:
        assert fetcher is not None
        fetcher.many(missing)
    absent = set(missing) if only_creates else set()  # fetched as their files are written
    fused = bool(absent)
    for c in clashes:
        _remove(os.path.join(base, c))  # below a folder checked to be real: never followed
    for p in delete:
        _remove(os.path.join(base, p))
    _prune_empty_dirs(base, delete)
    if progress is not None:
        progress.start(sum(stored[p].size for p in write), "checkout")
    made: set[str] = set()
    created: list[str] = []  # new files, removed again should a fetch fail
    new_dirs: list[tuple[str, str | None]] = []  # folders made: (folder, outermost new one)
    first_new = _first_missing_dir(base)
    if write:
        os.makedirs(base, exist_ok=True)

    def work(
        batch: list[str], data: list[tuple[bytes | None, bool]]
    ) -> list[tuple[str, StatKey, str]]:
        res = []
        for rel, (content, unverified) in zip(batch, data, strict=True):
            parent = os.path.dirname(rel)
            if parent and parent not in made:
                full = os.path.join(base, parent)
                if fused:  # what a failed fetch must take back, even with no file in it
                    new_dirs.append((full, _first_missing_dir(full)))
                os.makedirs(full, exist_ok=True)
                made.add(parent)
            digest = stored[rel].digest
            if unverified or digest in absent:
                assert fetcher is not None
                got = fetcher.one(digest, content if unverified else None)  # hashed here
                absent.discard(digest)  # only now: a copy of it elsewhere may read the cache
                content = store.bytes_to_copy(digest, stored[rel].size, got) if copying else None
            dst = os.path.join(base, rel)
            st = store.materialize(digest, dst, link, data=content)
            if fused:
                created.append(rel)
            res.append((state_key(path, rel), stat_key(st), digest))
        if progress is not None:
            progress.update(sum(stored[r].size for r in batch))
        return res

    copying = link in ("copy", "reflink")

    def read(batch: list[str]) -> list[tuple[bytes | None, bool]]:
        """The bytes of the objects to be written into new files, read ahead (many reads
        wait on the disk at once): from the cache, or from the remote for an object still
        to be fetched (True: not yet verified; `work` hashes them, stores them in the cache
        and writes the file from them, so that each object is read once)."""
        out: list[tuple[bytes | None, bool]] = []
        for rel in batch:
            e = stored[rel]
            if e.digest in absent:
                assert fetcher is not None
                raw = fetcher.read(e.digest)
                out.append((raw, raw is not None))
            elif copying and rel not in current:
                out.append((store.bytes_to_copy(e.digest, e.size), False))
            else:
                out.append((None, False))
        return out

    def in_memory(batch: list[str]) -> int:
        """At most the bytes `read` holds for this batch (none of objects over SMALL)."""
        held = [r for r in batch if stored[r].digest in absent or (copying and r not in current)]
        return sum(stored[r].size for r in held if stored[r].size <= SMALL)

    # Creating files is the kernel's work: two threads overlap it with ours; more only contend.
    # Reading the objects waits on the disk when they are not in memory (after a while, or
    # on a busy machine), so many reads run at once, ahead of the writes.
    rows_in = read_ahead_chunks(
        read,
        work,
        _batches(write, lambda r: stored[r].size),
        readers=READERS,
        writers=2,
        weight=in_memory,
        budget=_READ_AHEAD_BYTES,
    )
    try:
        for rows in rows_in:
            # We wrote these bytes ourselves from verified objects: their stat is trustworthy.
            state.record(rows, started_ns=1 << 62)
    except Exception:
        if fused:  # a fetch failed: take back what this checkout made
            for rel in created:
                unlink_quiet(os.path.join(base, rel))
            for folder, top in sorted(new_dirs, key=lambda d: len(d[0]), reverse=True):
                _remove_empty_up_to(folder, top)
            _remove_empty_up_to(base, first_new)
        raise
    rows = []
    if progress is not None:
        progress.close()
    for rel in refs:
        assert fetch_ref is not None
        full = os.path.join(base, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        fetch_ref(rel, entries[rel], full)
        st = os.stat(full)
        rows.append((state_key(path, rel), stat_key(st), entries[rel].digest))
    state.record(rows, started_ns=1 << 62)
    after = scan(base, owned, what, ignore) if (write or refs or delete) else before
    return plan, after


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
            raise _through_link(_join(self.what, folder))
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
            shown = "/".join(rel.split(os.sep)[: i + 1])
            try:
                mode = os.lstat(walked).st_mode
            except FileNotFoundError:
                return False
            if stat.S_ISLNK(mode):
                raise _through_link(shown)
            if not stat.S_ISDIR(mode):
                raise _not_a_folder(shown)
        return True


def _through_link(shown: str) -> ConflictError:
    return ConflictError(
        f"{shown} is a symlink; refusing to write or delete through it, even with --force",
        "remove the link (git rm it if it is committed) or check out elsewhere with git artifacts"
        " get",
    )


def _not_a_folder(shown: str) -> ConflictError:
    return ConflictError(
        f"{shown} is a file where a folder must go", "move it away, then run the command again"
    )


def _saved(store: ObjectStore, full: str) -> bool:
    """Whether the regular file at `full` holds bytes the cache has (a link never counts)."""
    try:
        if not stat.S_ISREG(os.lstat(full).st_mode):
            return False
        return store.has(sha256_file(full)[0])
    except OSError:
        return False


def _sweep_temps(base: str, seen: Sequence[str]) -> None:
    """Remove temporary files that a killed checkout left (in `base` and the folders the scan
    saw), those of processes no longer running."""
    try:
        with os.scandir(base) as it:
            top = [e.name for e in it if e.name.startswith(TMP_PREFIX)]
    except OSError:
        top = []
    for rel in [*top, *seen]:
        full = os.path.join(base, rel)
        if not _alive(full):
            unlink_quiet(full)


def _alive(full: str) -> bool:
    """Whether the process that named this temporary file (`temp_name`) may still run; true
    for names not of that form, which are not ours to remove."""
    parts = os.path.basename(full)[len(TMP_PREFIX) :].split("-")
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


def _remove(full: str) -> None:
    try:
        os.unlink(full)
    except IsADirectoryError:
        shutil.rmtree(full)
    except FileNotFoundError:
        pass
    except PermissionError:
        os.chmod(os.path.dirname(full), 0o755)
        os.unlink(full)


def _first_missing_dir(folder: str) -> str | None:
    """The outermost of `folder` and its parents that does not exist yet, if any."""
    first = None
    while not os.path.lexists(folder):
        first = folder
        folder = os.path.dirname(folder)
    return first


def _remove_empty_up_to(folder: str, top: str | None) -> None:
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


def _prune_empty_dirs(base: str, removed: Iterable[str]) -> None:
    dirs = sorted({os.path.dirname(p) for p in removed if "/" in p}, key=len, reverse=True)
    for d in dirs:
        while d:
            try:
                os.rmdir(os.path.join(base, d))
            except OSError:
                break
            d = os.path.dirname(d)
