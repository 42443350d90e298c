"""Key-level I/O on a remote: put, get, read a byte range, list and delete keys below its root.

A key is a path relative to the remote's root (`packs/<hex>.pack`), built by our code from
checked names only. A folder remote is read and written with system calls, other remotes
through fsspec. Callers wrap these in `_errors()` and `_step()` (see connection.py).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import NamedTuple

from gitartifacts.core.fsio import copy_fd, create_only, unlink_quiet, write_all, write_atomic
from gitartifacts.core.hashing import CHUNK
from gitartifacts.remote.connection import Connection, mtime_of
from gitartifacts.remote.objstore import TooLargeError

# Resumable GCS uploads need a multiple of 256 KiB; this bounds the memory of one upload.
GCS_CHUNK = 8 << 20
S3_PART = 8 << 20


class KeyInfo(NamedTuple):
    """A key below a remote's root, its size in bytes and mtime (seconds; inf if unknown)."""

    key: str
    size: int
    mtime: float


class KeyIO(Connection):
    """The primitives pack transfers are built from."""

    def _put_key(self, key: str, data: bytes | str, create: bool = True) -> None:
        """Write `data` (bytes, or the path of a local file) at `key`, whole or not at all;
        with `create`, a key already there is kept (losing that race is success)."""
        self.watch.check()
        dest = f"{self.root}/{key}"
        if self.protocol == "file":
            self._make_root()
            self._make_folders(key)
            if not create:
                write_atomic(
                    Path(dest), data if isinstance(data, bytes) else Path(data).read_bytes()
                )
            else:
                create_only(dest, lambda fd: _fill(fd, data))
            return
        if self._client is not None:
            self._client.put(key, data if isinstance(data, bytes) else Path(data), create)
            self._beat()
            return
        if isinstance(data, bytes):
            if create:
                self._create(lambda mode: self.fs.pipe_file(dest, data, mode=mode), dest)
            else:
                self.fs.pipe_file(dest, data)
            self._beat()
            return
        kwargs: dict[str, object] = {"callback": self._callback()}
        if self.protocol == "s3":
            kwargs.update(chunksize=S3_PART, max_concurrency=4)
        elif self.protocol == "gs":
            kwargs.update(chunksize=GCS_CHUNK)
        if create and self.protocol in ("s3", "gs"):
            self._create(lambda mode: self.fs.put_file(data, dest, mode=mode, **kwargs), dest)
        else:
            self.fs.put_file(data, dest, **kwargs)
        self._beat()

    def _get_key(self, key: str, limit: int | None = None) -> bytes:
        """The whole object at `key` (FileNotFoundError when absent; TooLargeError past a
        `limit`, see `_read`)."""
        self.watch.check()
        path = f"{self.root}/{key}"
        try:
            if self.protocol != "file":
                return self._read(path, limit)
            with open(path, "rb") as f:
                data = f.read() if limit is None else f.read(limit + 1)
            if limit is not None and len(data) > limit:
                raise TooLargeError(f"{path} is larger than {limit} bytes")
            return data
        finally:
            self._beat()

    def _get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes `start` to `end` (exclusive) of the object at `key`; shorter when it is."""
        self.watch.check()
        path = f"{self.root}/{key}"
        try:
            if self.protocol == "file":
                fd = os.open(path, os.O_RDONLY)
                try:
                    return _pread_all(fd, end - start, start)
                finally:
                    os.close(fd)
            if self._client is not None:
                return self._client.get_range(key, start, end)
            if self.protocol in ("http", "https"):
                return self._http_range(path, start, end)
            return bytes(self.fs.cat_file(path, start=start, end=end))
        finally:
            self._beat()

    def _get_file(self, key: str, dest: str, limit: int | None = None) -> None:
        """Stream the object at `key` into the local file `dest` (created or truncated);
        with a `limit`, TooLargeError once more than `limit` bytes arrive (a pack's size is
        known: a hostile store's endless body must not fill the disk)."""
        self.watch.check()
        path = f"{self.root}/{key}"
        if self._client is not None:
            unlink_quiet(dest)  # the client creates the file anew
            self._client.download_to(key, Path(dest), limit)
        elif self.protocol == "file" and limit is None:
            with open(path, "rb", buffering=0) as f, open(dest, "wb", buffering=0) as out:
                copy_fd(f.fileno(), out.fileno())
        elif limit is None:
            self.fs.get_file(path, dest, callback=self._callback())
        else:
            self._copy_capped(path, dest, limit)
        self._beat()

    def _copy_capped(self, path: str, dest: str, limit: int) -> None:
        """`_get_file` with a limit: the bytes copied as they come, at most `limit + 1`."""
        if self.protocol == "file":
            src = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
        else:  # a web server's answer as a stream (no HEAD first); other stores by blocks
            http = self.protocol in ("http", "https")
            src = self.fs.open(path, "rb", **({"block_size": 0, "size": 1} if http else {}))
        with src, open(dest, "wb", buffering=0) as out:
            left = limit + 1
            while left > 0 and (chunk := src.read(min(CHUNK, left))):
                write_all(out.fileno(), chunk)
                left -= len(chunk)
                self._beat()
        if left == 0:
            raise TooLargeError(f"{path} is larger than {limit} bytes")

    def _list_keys(self, prefix: str) -> list[KeyInfo]:
        """Every object whose key starts with `prefix` (a folder, ending in `/`), with its
        size and mtime; none when the folder is absent."""
        self.watch.check()
        top = f"{self.root}/{prefix.rstrip('/')}"
        try:
            if self.protocol == "file":
                return _list_folder(top, prefix)
            if self._client is not None:
                return [
                    KeyInfo(o.key, o.size, o.mtime)
                    for page in self._client.list(prefix)
                    for o in page
                    if o.key.startswith(prefix)
                ]
            if self.protocol in ("s3", "gs"):
                # As a key prefix an empty folder costs one request; as a path, a list and a HEAD.
                found = self.fs.find(self.root, prefix=prefix, detail=True)
            elif self.protocol in ("http", "https"):
                # One directory page, its links not followed further: a page's links are the
                # server's to choose, and could lead on without end.
                found = {e["name"]: e for e in self.fs.ls(top, detail=True)}
            else:
                found = self.fs.find(top, detail=True)
        except FileNotFoundError:
            return []
        finally:
            self._beat()
        out = []
        root = self.root.strip("/") + "/"
        for name, info in found.items():
            key = str(name).strip("/").removeprefix(root)
            if key.startswith(prefix) and info.get("type", "file") != "directory":
                out.append(KeyInfo(key, int(info.get("size") or 0), mtime_of(info)))
        return out

    def _size_of(self, key: str) -> int:
        """The size of the object at `key` (a HEAD request): what a web server's directory
        page does not say."""
        self.watch.check()
        try:
            return int(self.fs.info(f"{self.root}/{key}").get("size") or 0)
        finally:
            self._beat()

    def _delete_keys(self, keys: list[str]) -> None:
        """Remove these objects; absent ones are fine."""
        if not keys:
            return
        self.watch.check()
        try:
            if self.protocol == "file":
                for key in keys:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.root}/{key}")
                return
            if self._client is not None:
                self._client.delete(keys)
                return
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm([f"{self.root}/{k}" for k in keys])
        finally:
            self._beat()

    def _make_folders(self, key: str) -> None:
        """The folders of `key` below the root (never the root itself: see `_make_root`)."""
        folder = self.root
        for part in key.split("/")[:-1]:
            folder = f"{folder}/{part}"
            if folder not in self._made:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(folder)
                self._made.add(folder)


def _fill(fd: int, data: bytes | str) -> None:
    if isinstance(data, bytes):
        write_all(fd, data)
        return
    with open(data, "rb", buffering=0) as f:
        copy_fd(f.fileno(), fd)


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _list_folder(top: str, prefix: str) -> list[KeyInfo]:
    out = []
    with os.scandir(top) as it:
        for e in it:
            if e.name.startswith(".tmp-"):
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if e.is_file(follow_symlinks=False):
                out.append(KeyInfo(prefix + e.name, st.st_size, st.st_mtime))
    return out
