"""Machine-local state in SQLite (stdlib): the stat cache and small per-repository indexes.

The stat cache maps (path, inode, mtime_ns, size, ctime_ns) to a digest, so unchanged files are
never hashed twice. The ctime is in the key as in git: an edit that keeps the size and puts the
mtime back (`rsync --inplace -t`) still moves the ctime, which no user call can set. A
workspace *snapshot* records one fingerprint over every file of an artifact's workspace for a
manifest digest: a no-op `status` compares one string. Small remembered values live in one
`kv` table, one family of keys per kind of value, each behind its own accessor.

Every SQLite failure leaves this module as a `StateError` naming the file and the fix.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from gitartifacts.errors import StateError, from_os_error

# Files modified this close to the moment they were hashed may change again within the
# file system's timestamp granularity without their stat changing: never trust those.
RACY_NS = 50_000_000
_BATCH = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY, ino INTEGER, mtime_ns INTEGER, size INTEGER, ctime_ns INTEGER,
    digest TEXT);
CREATE TABLE IF NOT EXISTS snapshots (
    artifact TEXT PRIMARY KEY, digest TEXT, fingerprint TEXT);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS on_remote (
    remote TEXT, digest TEXT, PRIMARY KEY (remote, digest)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_aliases (
    name TEXT, digest TEXT, alias TEXT, PRIMARY KEY (name, alias));
CREATE TABLE IF NOT EXISTS used (digest TEXT PRIMARY KEY, t REAL) WITHOUT ROWID;
"""


# The layout of the tables above; a state.db of an older layout is a cache and starts over.
_LAYOUT = 2

# (inode, mtime_ns, size, ctime_ns): plain tuples, because the no-op status builds 100,000s.
StatKey = tuple[int, int, int, int]
INO, MTIME, SIZE, CTIME = 0, 1, 2, 3


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = _Db(path, _open(path))
        # The `kv` families; the key strings are on disk: never change them.
        self.tops = Keyed(self.db, "tops:")  # manifest digest -> its top names, one a line
        self.cache_complete = Keyed(self.db, "complete:")  # manifest digest -> cache identity
        self.sync_marker = Value(self.db, "synced")  # HEAD and artifact refs last synced
        self.synced_head = Value(self.db, "synced_head")  # HEAD last synced
        self.tracking_url = Keyed(self.db, "tracking-url:")  # remote -> URL last fetched
        self.remote_identity = Keyed(self.db, "remote-identity:")  # remote id -> identity
        self.blob_summaries = Keyed(self.db, "blob:")  # manifest blob -> summary JSON

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ kv families by owner

    def seen_tags(self, remote: str) -> Keyed:
        """Tag ref -> the commit it had on `remote` when this clone last saw it."""
        return Keyed(self.db, f"seen:{remote}:")

    def pushed(self, remote_id: str) -> Keyed:
        """Manifest digest -> "1" once its content was pushed to the remote `remote_id`."""
        return Keyed(self.db, f"pushed:{remote_id}:")

    def summaries_of(self, name: str) -> Keyed:
        """Commit -> summary JSON of artifact `name`'s manifest at that commit."""
        return Keyed(self.db, "at:", f":{name}")

    # ------------------------------------------------------------------ stat cache

    def lookup_prefix(self, prefixes: Iterable[str]) -> dict[str, tuple[StatKey, str]]:
        """Every row under these workspace paths (files or folders)."""
        out: dict[str, tuple[StatKey, str]] = {}
        for prefix in prefixes:
            rows = self.db.rows(
                "SELECT path, ino, mtime_ns, size, ctime_ns, digest FROM hashes WHERE path = ? "
                "OR (path >= ? AND path < ?)",
                (prefix, prefix + "/", prefix + "0"),
            )
            for path, ino, mtime_ns, size, ctime_ns, digest in rows:
                out[path] = ((ino, mtime_ns, size, ctime_ns), digest)
        return out

    def holds_under(self, prefix: str) -> bool:
        """Whether some row's path starts with `prefix` ("": whether there is any row)."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"
        rows = self.db.rows(
            "SELECT 1 FROM hashes WHERE path >= ? AND path < ? LIMIT 1", (prefix, end)
        )
        return bool(rows)

    def lookup_paths(self, paths: Sequence[str]) -> dict[str, tuple[StatKey, str]]:
        """The rows of exactly these workspace paths (one folder's files, say)."""
        out: dict[str, tuple[StatKey, str]] = {}
        for i in range(0, len(paths), _BATCH):
            chunk = paths[i : i + _BATCH]
            marks = ",".join("?" * len(chunk))
            q = (
                "SELECT path, ino, mtime_ns, size, ctime_ns, digest FROM hashes "
                f"WHERE path IN ({marks})"
            )
            for path, ino, mtime_ns, size, ctime_ns, digest in self.db.rows(q, chunk):
                out[path] = ((ino, mtime_ns, size, ctime_ns), digest)
        return out

    def record(
        self, rows: Iterable[tuple[str, StatKey, str]], started_ns: int | None = None
    ) -> bool:
        """Remember digests; returns False when some row was racy and so not trusted."""
        limit = (started_ns if started_ns is not None else time.time_ns()) - RACY_NS
        trusted = True
        good = []
        for path, key, digest in rows:
            # Racy: a change within the timestamp granularity would leave the stat as it is.
            if key[MTIME] >= limit or key[CTIME] >= limit:
                trusted = False
                continue
            good.append((path, key[INO], key[MTIME], key[SIZE], key[CTIME], digest))
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)", good)
        return trusted

    # ------------------------------------------------------------------ snapshots

    def snapshot(self, artifact: str) -> tuple[str, str] | None:
        rows = self.db.rows(
            "SELECT digest, fingerprint FROM snapshots WHERE artifact = ?", (artifact,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def set_snapshot(self, artifact: str, digest: str, fingerprint: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", (artifact, digest, fingerprint)
        )

    def drop_snapshot(self, artifact: str) -> None:
        self.db.execute("DELETE FROM snapshots WHERE artifact = ?", (artifact,))

    # ------------------------------------------------------------------ remote index

    def known_on_remote(self, remote: str, digests: list[str]) -> set[str]:
        """Objects this machine has seen on (or put on) `remote`."""
        out: set[str] = set()
        for i in range(0, len(digests), _BATCH):
            chunk = digests[i : i + _BATCH]
            marks = ",".join("?" * len(chunk))
            q = f"SELECT digest FROM on_remote WHERE remote = ? AND digest IN ({marks})"
            out.update(row[0] for row in self.db.rows(q, [remote, *chunk]))
        return out

    def mark_on_remote(self, remote: str, digests: Iterable[str]) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO on_remote VALUES (?, ?)",
                ((remote, d) for d in sorted(digests)),  # in key order, as `record_use`
            )

    def forget_remote(self, remote: str) -> None:
        """Drop all this clone knew of `remote`'s objects and pushed versions."""
        self.db.execute("DELETE FROM on_remote WHERE remote = ?", (remote,))
        self.pushed(remote).clear()

    # ------------------------------------------------------------------ cache use

    def record_use(self, digests: Iterable[str], when: float | None = None) -> None:
        """Note that a command used these cache objects (the cache cap evicts the least
        recently used first); one transaction for all of them."""
        t = time.time() if when is None else when
        # In key order: digests are random, and sorted inserts walk the table's pages in
        # order rather than at random (100,000 rows in a checkout: 0.3 s, not 0.6 s).
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO used VALUES (?, ?)", ((d, t) for d in sorted(set(digests)))
            )

    def last_used(self, digests: list[str]) -> dict[str, float]:
        """digest -> when a command last used it, for those with a record."""
        out: dict[str, float] = {}
        for i in range(0, len(digests), _BATCH):
            chunk = digests[i : i + _BATCH]
            marks = ",".join("?" * len(chunk))
            q = f"SELECT digest, t FROM used WHERE digest IN ({marks})"
            out.update((d, float(t)) for d, t in self.db.rows(q, chunk))
        return out

    # ------------------------------------------------------------------ pending aliases

    def add_pending_alias(self, name: str, digest: str, alias: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO pending_aliases VALUES (?, ?, ?)", (name, digest, alias)
        )

    def pending_aliases(self, name: str) -> list[tuple[str, str]]:
        q = "SELECT digest, alias FROM pending_aliases WHERE name = ?"
        return [(d, a) for d, a in self.db.rows(q, (name,))]

    def clear_pending_alias(self, name: str, alias: str) -> None:
        self.db.execute("DELETE FROM pending_aliases WHERE name = ? AND alias = ?", (name, alias))

    def transaction(self) -> _Tx:
        return _Tx(self.db)


class Keyed:
    """One family of rows of the `kv` table: the row of key `k` is `<prefix>k<suffix>`."""

    def __init__(self, db: _Db, prefix: str, suffix: str = "") -> None:
        self.db = db
        self.prefix = prefix
        self.suffix = suffix

    def get(self, key: str) -> str | None:
        rows = self.db.rows("SELECT value FROM kv WHERE key = ?", (self._full(key),))
        return rows[0][0] if rows else None

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The keys that have a row, with their values."""
        full = {self._full(k): k for k in keys}
        wanted = list(full)
        out: dict[str, str] = {}
        for i in range(0, len(wanted), _BATCH):
            chunk = wanted[i : i + _BATCH]
            marks = ",".join("?" * len(chunk))
            q = f"SELECT key, value FROM kv WHERE key IN ({marks})"
            out.update((full[k], v) for k, v in self.db.rows(q, chunk))
        return out

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (self._full(key), value))

    def put_many(self, items: Iterable[tuple[str, str]]) -> None:
        rows = ((self._full(k), v) for k, v in items)
        with _Tx(self.db):
            self.db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", rows)

    def clear(self) -> None:
        """Delete every row of a family that has no suffix."""
        assert not self.suffix
        self.db.execute(
            "DELETE FROM kv WHERE key >= ? AND key < ?", (self.prefix, self.prefix + "\uffff")
        )

    def _full(self, key: str) -> str:
        return f"{self.prefix}{key}{self.suffix}"


class Value:
    """One row of the `kv` table."""

    def __init__(self, db: _Db, key: str) -> None:
        self.row = Keyed(db, key)

    def get(self) -> str | None:
        return self.row.get("")

    def put(self, value: str) -> None:
        self.row.put("", value)


class _Db:
    """The connection, turning every SQLite failure into a `StateError`."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.conn = db

    def execute(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, tuple(args))
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from exc

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from exc

    def executemany(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from exc

    def close(self) -> None:
        self.conn.close()


def _open(path: Path) -> sqlite3.Connection:
    """Open (or create) the state file; a damaged one is set aside and started over."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _connect(path)
    except OSError as exc:
        raise from_os_error(exc, str(path)) from None
    except sqlite3.DatabaseError as exc:
        if not _damaged(exc):
            raise _state_error(path, exc) from None
        # Only a cache: keep the damaged file for a post-mortem and start a new one.
        aside = path.with_name(f"{path.name}.damaged")
        try:
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{path}{suffix}")
            os.replace(path, aside)
            db = _connect(path)
        except (OSError, sqlite3.Error) as again:
            raise _state_error(path, again) from None
        print(
            f"warning: {path} was damaged ({exc}); moved it to {aside.name} and started a"
            " new one (it is a cache: nothing is lost)",
            file=sys.stderr,
            flush=True,
        )
        return db


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] != _LAYOUT:
            # An older layout: its stat rows and fingerprints mean nothing now.
            db.executescript("DROP TABLE IF EXISTS hashes; DROP TABLE IF EXISTS snapshots;")
            db.execute(f"PRAGMA user_version = {_LAYOUT}")
        db.executescript(_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def _damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file is not a database, or a damaged one."""
    name = getattr(exc, "sqlite_errorname", "")
    if name:
        return name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
    return type(exc) is sqlite3.DatabaseError


def _state_error(path: Path, exc: sqlite3.Error | OSError) -> StateError:
    """One line for a state.db SQLite (or the file system) will not let us use."""
    if isinstance(exc, OSError):
        return StateError(str(from_os_error(exc, str(path))))
    if _damaged(exc):
        fix = f"remove it (rm {path}); it is a cache of this clone and is rebuilt"
    else:
        fix = f"check that {path.parent} is writable and has free space"
    return StateError(f"cannot use the local state {path}: {exc}", fix)


class _Tx:
    def __init__(self, db: _Db) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
