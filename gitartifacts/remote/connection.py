"""One remote's connection: its fsspec file system, stall watchdog and error messages."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gitartifacts.core.redaction import redact
from gitartifacts.core.shards import object_key
from gitartifacts.errors import CacheError, GitArtifactsError, UsageError
from gitartifacts.remote.filesystems import filesystem
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
    from gitartifacts.remote.s3direct import S3Direct


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
        self._made: set[str] = set()  # shard folders known to exist (local remotes)
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
        # Create the file system once, before worker threads share it.
        if self.protocol != "file":
            self.fs  # noqa: B018

    def _check_writable(self) -> None:
        if self.protocol in ("http", "https"):
            raise UsageError(
                f"remote {redact(self.url)} is read-only over HTTP",
                "push to its s3://, gs:// or file location instead",
            )

    def _make_root(self) -> None:
        """Make the remote folder, but never its parent (an unmounted volume's mount point)."""
        if os.path.isdir(self.root):
            return
        if not os.path.isdir(os.path.dirname(self.root)):
            raise UsageError(
                f"the folder that would hold remote {self.root} does not exist",
                "mount or create it, or re-add the remote with --create",
            )
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.root)

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
    def _direct(self) -> S3Direct | None:
        """Direct signed requests for S3-compatible servers (see s3direct), when they apply."""
        if self.protocol != "s3":
            return None
        from gitartifacts.remote.s3direct import S3Direct  # asyncio: only S3 needs it

        return S3Direct.create(self.root, self.options, self.timeout)

    def _direct_path(self) -> S3Direct | None:
        """`_direct` until a refusal turned it off."""
        direct = self._direct
        return None if direct is None or direct.broken else direct

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
