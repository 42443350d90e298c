"""One remote's connection: its client (obstore for S3, see objstore.py; fsspec for the rest),
stall watchdog and error messages."""

from __future__ import annotations

import contextlib
import datetime
import errno
import functools
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gitartifacts.core.hashing import CHUNK
from gitartifacts.core.redaction import redact
from gitartifacts.core.shards import object_key
from gitartifacts.errors import CacheError, GitArtifactsError, UsageError
from gitartifacts.remote.filesystems import filesystem
from gitartifacts.remote.objstore import TooLargeError
from gitartifacts.remote.urls import (
    check_options,
    is_connection_error,
    parse_url,
    storage_error,
    where,
)
from gitartifacts.remote.watchdog import Watch
from gitartifacts.settings import network_timeout

if TYPE_CHECKING:
    from gitartifacts.remote.objstore import ObjectClient


class Connection:
    """A remote at `url` (a folder, S3, GCS, HTTP...): what every transfer step shares."""

    def __init__(
        self, url: str, options: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> None:
        self.url = url
        self.protocol, self.root = parse_url(url)
        self.options = check_options(self.protocol, options)
        self.timeout = timeout or network_timeout({}, os.environ)
        self.watch = Watch(where(url, self.options), self.timeout)
        self._made: set[str] = set()  # the root and folders known to exist (local remotes)
        self._fs: Any = None
        self._fs_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.url)!r})"

    def path(self, digest: str) -> str:
        """Where an object lives on the remote (a checked digest: see `cache.object_key`)."""
        return f"{self.root}/{object_key(digest)}"

    @property
    def fs(self) -> Any:
        """The fsspec file system, created on first use (importing s3fs/gcsfs is slow)."""
        with self._fs_lock:
            if self._fs is None:
                self._fs = filesystem(self.protocol, self.options, timeout=self.timeout)
            return self._fs

    def _jobs(self, jobs: int) -> int:
        # A local folder is bound by creating files, which more than a few threads only slow.
        return min(jobs, 4) if self.protocol == "file" else jobs

    def _step(self, what: str) -> contextlib.AbstractContextManager[None]:
        """A network step under the stall watchdog (a folder remote has none)."""
        return contextlib.nullcontext() if self.protocol == "file" else self.watch.step(what)

    def _beat(self, *_: object) -> None:
        self.watch.beat()

    def _connect(self) -> None:
        # Create the client once, before worker threads share it.
        if self.protocol != "file" and self._client is None:
            self.fs  # noqa: B018

    def _check_writable(self) -> None:
        if self.protocol in ("http", "https"):
            raise UsageError(
                f"remote {redact(self.url)} is read-only over HTTP",
                "push to its s3://, gs:// or file location instead",
            )

    def _make_root(self) -> None:
        """Make the remote folder, but never its parent (an unmounted volume's mount point),
        and only at the first write: a folder that vanishes later fails the writes after it
        instead of being quietly re-created."""
        if self.root in self._made:
            return
        if os.path.isdir(self.root):
            self._made.add(self.root)
            return
        if not os.path.isdir(os.path.dirname(self.root)):
            raise UsageError(
                f"the folder that would hold remote {self.root} does not exist",
                "mount or create it, or re-add the remote with --create",
            )
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.root)
        self._made.add(self.root)

    def _create(self, write: Callable[[str], object], path: str) -> None:
        """Write with create-only semantics; losing the race to another writer is success."""
        try:
            write("create")
        except FileExistsError:
            return
        except OSError as exc:
            # SeaweedFS answers a lost race with a 412 that s3fs turns into EINVAL.
            if exc.errno == errno.EINVAL and self._exists_path(path):
                return
            raise

    def _exists_path(self, path: str) -> bool:
        try:
            self.fs.info(path)
        except FileNotFoundError:
            return False
        return True

    def _callback(self) -> Any:
        """An fsspec callback that tells the watchdog a large transfer is moving."""
        from fsspec.callbacks import Callback

        return Callback(hooks={"beat": lambda *_, **__: self._beat()})

    @functools.cached_property
    def _client(self) -> ObjectClient | None:
        """obstore's client for this remote (see objstore.py); None where fsspec serves it."""
        from gitartifacts.remote.objstore import ObjectClient

        return ObjectClient.create(self.protocol, self.root, self.options, self.timeout, self._beat)

    def _key(self, path: str) -> str:
        """A remote path as a key below the root."""
        return path[len(self.root) + 1 :]

    def _read(self, path: str, limit: int | None = None) -> bytes:
        """A whole (small) object of an S3, GCS or HTTP remote; with a `limit`,
        TooLargeError once more than `limit` bytes arrive, whatever size the store stated
        (a hostile one may state a small size and send an endless body)."""
        if self._client is not None:
            return self._client.get(self._key(path), limit)
        if limit is None:
            return bytes(self.fs.cat_file(path))
        if self.protocol in ("http", "https"):
            data = self._http_range(path, 0, limit + 1)
        else:
            with self.fs.open(path, "rb") as f:
                data = bytes(f.read(limit + 1))
        if len(data) > limit:
            raise TooLargeError(f"{path} is larger than {limit} bytes")
        return data

    def _http_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes `start` to `end` (exclusive) of an object of a web server, of which at most
        `end + 1` bytes are read whatever the server sends. fsspec reads a ranged answer
        whole: a server that ignores Range would send the whole object, a hostile one a
        body without end. Here the answer is streamed and cut; a server that ignored Range
        shows itself by sending more than was asked."""
        parts: list[bytes] = []
        got = 0
        # `size` given: no HEAD first; `block_size=0`: a stream, read as it comes.
        rng = {"Range": f"bytes={start}-{end - 1}"}
        with self.fs.open(path, "rb", block_size=0, size=end, headers=rng) as f:
            while got <= end and (chunk := f.read(min(CHUNK, end + 1 - got))):
                parts.append(chunk)
                got += len(chunk)
                self._beat()
        data = b"".join(parts)
        return data[start:end] if len(data) > end - start else data

    def _write_new(self, path: str, data: bytes) -> None:
        """Create a small object; one already there is kept (a lost race is success)."""
        if self._client is not None:
            self._client.put(self._key(path), data)
        else:
            self._create(lambda mode: self.fs.pipe_file(path, data, mode=mode), path)

    def _listed(self, path: str, prefix: str = "") -> Iterator[tuple[str, int, float]]:
        """(name, size, mtime) of every object below `path`, then key `prefix`; an mtime
        the store does not give is infinity."""
        if self._client is not None:
            under = "/".join(p for p in (self._key(path), prefix) if p)
            for page in self._client.list(under):
                yield from ((f"{self.root}/{o.key}", o.size, o.mtime) for o in page)
            return
        try:
            found = self.fs.find(path, detail=True, **({"prefix": prefix} if prefix else {}))
        except FileNotFoundError:
            return
        for name, info in found.items():
            yield name, int(info.get("size") or 0), mtime_of(info)

    def _remove(self, paths: list[str]) -> None:
        """Delete these objects; absent ones are fine."""
        if self._client is not None:
            self._client.delete([self._key(p) for p in paths])
            return
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(paths)

    def _check_digest(self, digest: str, actual: str) -> None:
        if actual != digest:
            raise CacheError(
                f"object {digest} on remote {redact(self.url)} is corrupt: its content hashes "
                f"to {actual}",
                "it was not stored; delete it on the remote, then run git artifacts push "
                "--check-remote in a clone that has it",
            )

    @contextlib.contextmanager
    def _errors(self, missing: str | None = None) -> Iterator[None]:
        """Turn a file system's exception into a one-line error naming this remote.

        With `missing`, a FileNotFoundError means that object is not on the remote.
        """
        try:
            yield
        except GitArtifactsError:
            raise
        except FileNotFoundError as exc:
            if missing is None or is_connection_error(exc):
                raise storage_error(exc, self.url) from exc
            raise CacheError(
                f"object {missing} is missing from remote {redact(self.url)}",
                "run git artifacts push --check-remote in a clone that has it",
            ) from exc
        except Exception as exc:
            raise storage_error(exc, self.url) from exc


def mtime_of(info: Mapping[str, object]) -> float:
    """Seconds since the epoch of an fsspec listing entry's modification time; infinity if
    unknown, so an object whose time the store does not give is never old."""
    value = info.get("LastModified") or info.get("mtime") or info.get("updated")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return math.inf
