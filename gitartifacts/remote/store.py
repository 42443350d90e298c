"""The remote cache: content objects in an fsspec store, laid out as the local cache.

A transfer first asks which objects are missing, with batched existence checks, then moves
them in parallel. Uploads are conditional creates: of two writers racing on one object both
succeed and neither overwrites the other. Every downloaded byte is hashed before it enters
the local cache. Listings must reach the remote only after the objects they name, so push
with `upload_ordered([data_objects, listing_objects])`.

Credentials never come from here: s3fs and gcsfs find them in the environment and the usual
AWS and gcloud configuration. The options (endpoint_url, region, profile, ...) are the
non-secret ones a committed `.gitartifacts.yaml` may hold.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import math
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from gitartifacts.core.hashing import hex_of, sha256_file
from gitartifacts.core.objects import (
    SMALL,
    ObjectStore,
    copy_fd,
    create_only,
    not_cached,
    object_key,
    objects_present,
    open_new,
    read_small,
    temp_name,
    unlink_quiet,
    write_all,
)
from gitartifacts.core.redaction import redact
from gitartifacts.errors import CacheError, GitArtifactsError, UsageError
from gitartifacts.remote.urls import (
    check_options,
    is_connection_error,
    parse_url,
    storage_error,
    where,
)
from gitartifacts.remote.watchdog import Watch
from gitartifacts.settings import gcs_endpoint, network_timeout

if TYPE_CHECKING:
    from gitartifacts.remote.s3direct import S3Direct

ProgressFn = Callable[[int], object]

JOBS = 32
# Objects per listing page on S3 and GCS: the unit of cost when listing is compared with
# one existence check per object (DVC's heuristic).
PAGE = 1000
# Objects up to this size go in one request from memory; larger ones stream in parts.
SMALL_PUT = 1 << 20
S3_MIN_PART = 5 << 20
S3_MAX_PARTS = 10_000
# Resumable GCS uploads need a multiple of 256 KiB; this bounds the memory of one upload.
GCS_CHUNK = 8 << 20
# Per request; the stall watchdog (see watchdog.py) bounds a whole step.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
S3_CONFIG = {
    "retries": {"max_attempts": 3, "mode": "standard"},
    "max_pool_connections": 32,
}
PROBE_TIMEOUT = 5.0
# At a remote's root: {"format": 1, "id": "<32 hex>"}, written by the first push. A clone
# trusts its index of what a remote holds only while the remote shows the id it last saw.
IDENTITY = "gitartifacts-remote.json"
IDENTITY_FORMAT = 1
IDENTITY_LIMIT = 4096
_IDENTITY_RE = re.compile(r"^[0-9a-f]{32}$")
_OBJECT_RE = re.compile(r"(?:^|/)sha256/([0-9a-f]{2})/([0-9a-f]{62})$")
T = TypeVar("T")
R = TypeVar("R")


class RemoteStore:
    """Content objects at `<url>/sha256/<2 hex>/<62 hex>` in a local directory, S3, GCS, ..."""

    IDENTITY = IDENTITY

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
        return f"RemoteStore({redact(self.url)!r})"

    def _jobs(self, jobs: int) -> int:
        # A local folder is bound by creating files, which more than a few threads only slow.
        return min(jobs, 4) if self.protocol == "file" else jobs

    @property
    def fs(self) -> Any:
        """The fsspec file system, created on first use (importing s3fs/gcsfs is slow)."""
        with self._fs_lock:
            if self._fs is None:
                self._fs = filesystem(self.protocol, self.options, timeout=self.timeout)
            return self._fs

    def _step(self, what: str) -> contextlib.AbstractContextManager[None]:
        """A network step under the stall watchdog (a folder remote has none)."""
        return contextlib.nullcontext() if self.protocol == "file" else self.watch.step(what)

    def _beat(self, *_: object) -> None:
        self.watch.beat()

    def path(self, digest: str) -> str:
        """Where an object lives on the remote (a checked digest: see `cache.object_key`)."""
        return f"{self.root}/{object_key(digest)}"

    # ------------------------------------------------------------------ identity

    def identity(self, create: bool = False) -> str | None:
        """The id in this remote's identity object (`IDENTITY` at its root), None when there
        is none; with `create`, one is written first if absent (a conditional create, so
        two first pushes agree on one id)."""
        path = f"{self.root}/{IDENTITY}"
        with self._errors(), self._step(f"reading its {IDENTITY}"):
            if create:
                self._check_writable()
                data = json.dumps({"format": IDENTITY_FORMAT, "id": uuid.uuid4().hex}).encode()
                if self.protocol == "file":
                    self._make_root()
                    create_only(path, lambda fd: write_all(fd, data))
                else:
                    self._connect()
                    self._create(lambda mode: self.fs.pipe_file(path, data, mode=mode), path)
            try:
                if self.protocol == "file":
                    raw = read_small(path, IDENTITY_LIMIT)
                else:
                    self._connect()
                    raw = self.fs.cat_file(path)
            except FileNotFoundError as exc:
                if is_connection_error(exc):
                    raise
                return None
        return self._parse_identity(raw)

    def _parse_identity(self, raw: bytes | None) -> str:
        try:
            doc = json.loads(raw or b"")
        except ValueError:
            doc = None
        if (
            not isinstance(doc, dict)
            or doc.get("format") != IDENTITY_FORMAT
            or not isinstance(doc.get("id"), str)
            or not _IDENTITY_RE.match(doc["id"])
        ):
            raise CacheError(
                f"remote {redact(self.url)} has an unreadable {IDENTITY}",
                "delete it there: the next push writes a new one and checks every object",
            )
        return str(doc["id"])

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

    # ------------------------------------------------------------------ existence

    def missing(self, digests: Iterable[str], jobs: int = JOBS) -> list[str]:
        """The digests the remote lacks, in the order given, each once.

        A few objects are checked one by one in parallel; many are answered by listing the
        2-hex prefixes they fall in, or the whole tree when the remote is small.
        """
        wanted = list(dict.fromkeys(digests))
        if not wanted:
            return []
        with self._errors(), self._step(f"checking which of {len(wanted)} objects it has"):
            self._connect()
            present = self._present(wanted, max(1, jobs))
        return [d for d in wanted if d not in present]

    def _present(self, wanted: list[str], jobs: int) -> set[str]:
        if self.protocol == "file":
            return objects_present(f"{self.root}/sha256/", wanted)
        if len(wanted) <= jobs or self.protocol in ("http", "https"):
            return self._present_each(wanted, jobs)
        prefixes = sorted({hex_of(d)[:2] for d in wanted})
        sample = self._list_prefix(prefixes[0])
        strategy = choose_strategy(len(wanted), len(prefixes), len(sample) * 256, jobs)
        if strategy == "each":
            return self._present_each(wanted, jobs)
        if strategy == "tree":
            listed = self._list_tree()
        else:
            rest = parallel_map(self._list_prefix, prefixes[1:], jobs)
            listed = sample.union(*rest)
        return listed.intersection(wanted)

    def _present_each(self, wanted: list[str], jobs: int) -> set[str]:
        found = parallel_map(self._exists, wanted, jobs)
        return {d for d, ok in zip(wanted, found, strict=True) if ok}

    def _exists(self, digest: str) -> bool:
        self.watch.check()
        try:
            self.fs.info(self.path(digest))
        except FileNotFoundError as exc:
            cause = exc.__cause__
            if cause is not None and is_connection_error(cause):
                raise cause from None  # fsspec's HTTP file system reports it as not found
            return False
        finally:
            self._beat()
        return True

    def _list_prefix(self, prefix: str) -> set[str]:
        if self.protocol in ("s3", "gs"):
            # As a key prefix an empty folder costs one request; as a path, a list and a HEAD.
            return self._digests_under(f"{self.root}/sha256", prefix=f"{prefix}/")
        return self._digests_under(f"{self.root}/sha256/{prefix}")

    def _list_tree(self) -> set[str]:
        return self._digests_under(f"{self.root}/sha256")

    def _digests_under(self, path: str, **kwargs: str) -> set[str]:
        self.watch.check()
        try:
            names = self.fs.find(path, **kwargs)
        except FileNotFoundError:
            return set()
        finally:
            self._beat()
        found = set()
        for name in names:
            if m := _OBJECT_RE.search(name):
                found.add(f"sha256:{m.group(1)}{m.group(2)}")
        return found

    # ------------------------------------------------------------------ upload

    def upload(
        self,
        cache: ObjectStore,
        digests: Sequence[str],
        jobs: int = JOBS,
        progress: ProgressFn | None = None,
    ) -> None:
        """Copy these objects from the local cache, in parallel; present ones are kept as is.

        `progress` is called with the bytes of each object done, from worker threads.
        """
        self._check_writable()
        wanted = list(dict.fromkeys(digests))
        with self._errors(), self._step(f"uploading {len(wanted)} objects"):
            if self.protocol == "file":
                self._make_root()  # only here: a folder that vanishes later fails the upload
            self._connect()
            direct = self._direct_path()
            if direct is not None:

                def done(size: int) -> None:
                    self._beat()
                    if progress is not None:
                        progress(size)

                direct.upload(
                    wanted,
                    cache.read_checked,
                    max(1, jobs),
                    SMALL_PUT,
                    done,
                    lambda d: self._upload_one(cache, d, progress),
                )
                return
            parallel_map(lambda d: self._upload_one(cache, d, progress), wanted, self._jobs(jobs))

    def upload_ordered(
        self,
        cache: ObjectStore,
        batches: Sequence[Sequence[str]],
        jobs: int = JOBS,
        progress: ProgressFn | None = None,
    ) -> None:
        """Upload batch after batch: a batch starts only once every earlier one is complete.

        Pass `[data_objects, listing_objects]` so a listing on the remote implies its contents.
        """
        for batch in batches:
            self.upload(cache, batch, jobs, progress)

    def write_bytes(self, digest: str, data: bytes) -> None:
        """Store a small object (a listing) given as bytes; they must hash to `digest`."""
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"bytes do not hash to {digest}")
        self._check_writable()
        path = self.path(digest)
        with self._errors():
            if self.protocol == "file":
                self._make_root()
                _write_local(self.root, path, lambda fd: write_all(fd, data))
            else:
                self._create(lambda mode: self.fs.pipe_file(path, data, mode=mode), path)

    def _upload_one(self, cache: ObjectStore, digest: str, progress: ProgressFn | None) -> None:
        self.watch.check()
        src = cache.spath(digest)
        try:
            size = os.stat(src).st_size
        except FileNotFoundError:
            raise not_cached(digest, ", so it cannot be pushed") from None
        with self._errors():
            self._put(cache, digest, size)
        self._beat()
        if progress is not None:
            progress(size)

    def _put(self, cache: ObjectStore, digest: str, size: int) -> None:
        """Send one cache object, hashed on the way (`_checked_bytes`, `copy_checked`):
        a corrupt object is moved aside in the cache and never reaches the remote."""
        src, dest = cache.spath(digest), self.path(digest)
        if self.protocol == "file":
            _write_local(self.root, dest, lambda fd: cache.copy_checked(digest, fd), self._made)
        elif size <= SMALL_PUT and self.protocol in ("s3", "gs"):
            data = _checked_bytes(cache, digest, SMALL_PUT)
            self._create(lambda mode: self.fs.pipe_file(dest, data, mode=mode), dest)
        elif self.protocol in ("s3", "gs") and self._exists_path(dest):
            # A multipart or resumable create is refused only at its end: ask first. Some
            # GCS emulators also ignore the precondition on resumable uploads.
            return
        elif self.protocol == "s3":
            cache.check(digest)  # the client reads the file itself: hashed just before
            part = max(S3_MIN_PART, math.ceil(size / S3_MAX_PARTS))
            # s3fs reads a file whole below two parts and goes multipart above.
            put = self.fs.put_file
            beat = self._callback()
            self._create(
                lambda mode: put(
                    src, dest, mode=mode, chunksize=part, max_concurrency=4, callback=beat
                ),
                dest,
            )
        elif self.protocol == "gs":
            cache.check(digest)
            put = self.fs.put_file
            beat = self._callback()
            self._create(
                lambda mode: put(src, dest, mode=mode, chunksize=GCS_CHUNK, callback=beat), dest
            )
        else:
            cache.check(digest)
            self.fs.put_file(src, dest)

    def _callback(self) -> Any:
        """An fsspec callback that tells the watchdog a large transfer is moving."""
        from fsspec.callbacks import Callback

        return Callback(hooks={"beat": lambda *_, **__: self._beat()})

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

    # ------------------------------------------------------------------ download

    def download(
        self,
        cache: ObjectStore,
        digests: Sequence[str],
        jobs: int = JOBS,
        progress: ProgressFn | None = None,
    ) -> None:
        """Copy these objects into the local cache, in parallel, verifying every byte.

        An object enters the cache only under its own name and only if its bytes hash to
        that name; an interrupted download leaves at most a temporary file.
        """
        wanted = [d for d in dict.fromkeys(digests) if not cache.has(d)]
        if not wanted:
            return
        tmpdir = cache.tmp_dir()
        with self._errors(), self._step(f"downloading {len(wanted)} objects"):
            direct = self._direct_path()  # s3fs (its import and client) only if needed
            if direct is not None:

                def publish(digest: str, actual: str, tmp: Path, size: int) -> None:
                    self._beat()
                    self._check_digest(digest, actual)
                    cache.place(tmp, digest)
                    if progress is not None:
                        progress(size)

                direct.download(
                    wanted,
                    max(1, jobs),
                    tmpdir,
                    publish,
                    lambda d: self._download_one(cache, tmpdir, d, progress),
                )
                return
            self._connect()
            parallel_map(
                lambda d: self._download_one(cache, tmpdir, d, progress), wanted, self._jobs(jobs)
            )

    def read_bytes(self, digest: str) -> bytes:
        """A small object (a listing), verified against its name."""
        with self._errors(missing=digest), self._step("reading a listing"):
            if self.protocol == "file":
                data = Path(self.path(digest)).read_bytes()
            else:
                data = self.fs.cat_file(self.path(digest))
        self._check_digest(digest, "sha256:" + hashlib.sha256(data).hexdigest())
        return bytes(data)

    @property
    def is_folder(self) -> bool:
        """A folder remote: reading one object is as quick as reading it from the cache."""
        return self.protocol == "file"

    def read_whole(self, digest: str) -> bytes | None:
        """A small object of a folder remote, read whole and not yet verified; None when
        it is larger, or the remote is not a folder."""
        if not self.is_folder:
            return None
        with self._errors(missing=digest):
            # The cache's own limit: a checkout's read-ahead budget counts on it.
            return read_small(self.path(digest), SMALL)

    def fetch_one(self, cache: ObjectStore, digest: str, data: bytes | None = None) -> bytes | None:
        """Bring one object into the cache, verified, from `data` when given (see
        `read_whole`); its bytes when they were read whole (a small object of a folder
        remote), so that a checkout need not read them again."""
        self._connect()
        return self._download_one(cache, cache.tmp_dir(), digest, None, data)

    def _download_one(
        self,
        cache: ObjectStore,
        tmpdir: Path,
        digest: str,
        progress: ProgressFn | None,
        data: bytes | None = None,
    ) -> bytes | None:
        if self.protocol == "file":
            # A small object is read whole, checked in memory and written once.
            if data is None:
                data = self.read_whole(digest)
            if data is not None:
                self._check_digest(digest, "sha256:" + hashlib.sha256(data).hexdigest())
                cache.add_bytes(data, digest)
                if progress is not None:
                    progress(len(data))
                return data
        self.watch.check()
        tmp = tmpdir / f"{hex_of(digest)[:16]}-{temp_name()}"
        try:
            with self._errors(missing=digest):
                actual, size = self._fetch_hashing(self.path(digest), tmp)
            self._beat()
            self._check_digest(digest, actual)
            cache.place(tmp, digest)
        finally:
            unlink_quiet(tmp)
        if progress is not None:
            progress(size)
        return None

    def _fetch_hashing(self, src: str, tmp: Path) -> tuple[str, int]:
        if self.protocol == "file":
            with open_new(tmp) as out, open(src, "rb", buffering=0) as f:
                copy_fd(f.fileno(), out.fileno())
            return sha256_file(tmp)  # our private copy: what is hashed is what enters the cache
        self.fs.get_file(src, str(tmp), callback=self._callback())
        return sha256_file(tmp)

    def _check_digest(self, digest: str, actual: str) -> None:
        if actual != digest:
            raise CacheError(
                f"object {digest} on remote {redact(self.url)} is corrupt: its content hashes "
                f"to {actual}",
                "it was not stored; delete it on the remote, then run git artifacts push "
                "--check-remote in a clone that has it",
            )

    # ------------------------------------------------------------------ errors

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


# ---------------------------------------------------------------- URLs, options, file systems


def filesystem(
    protocol: str,
    options: Mapping[str, Any] | None = None,
    *,
    version_aware: bool = False,
    timeout: float | None = None,
) -> Any:
    """A fresh fsspec file system for `protocol` with these (non-secret) options, its
    requests under connect and read timeouts no longer than the stall limit `timeout`."""
    opts = check_options(protocol, options)
    limit = timeout or network_timeout({}, os.environ)
    connect, read = min(CONNECT_TIMEOUT, limit), min(READ_TIMEOUT, limit)
    if protocol == "s3":
        return _s3_filesystem(opts, version_aware, connect, read)
    if protocol == "gs":
        return _gcs_filesystem(opts, version_aware, read)
    import fsspec

    if protocol in ("http", "https"):
        import aiohttp

        client = dict(opts.pop("client_kwargs", None) or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(sock_connect=connect, sock_read=read))
        return fsspec.filesystem(protocol, skip_instance_cache=True, client_kwargs=client, **opts)
    return fsspec.filesystem(protocol, skip_instance_cache=True)


def choose_strategy(wanted: int, prefixes: int, remote_estimate: int, jobs: int) -> str:
    """How to learn which of `wanted` objects a remote of about `remote_estimate` objects has.

    "each": one check per object; "prefixes": list the `prefixes` 2-hex folders in parallel;
    "tree": one paginated listing of everything. Costs are in rounds of parallel requests.
    """
    jobs = max(1, jobs)
    each = math.ceil(wanted / jobs)
    pages_per_prefix = max(1, math.ceil(remote_estimate / 256 / PAGE))
    by_prefix = math.ceil(prefixes / jobs) * pages_per_prefix
    tree = max(1, math.ceil(remote_estimate / PAGE))
    best = min(each, by_prefix, tree)
    if tree == best:
        return "tree"
    return "prefixes" if by_prefix == best else "each"


def parallel_map(fn: Callable[[T], R], items: Sequence[T], jobs: int = JOBS) -> list[R]:
    """fn over items in up to `jobs` threads; the first failure cancels what has not started.

    Items travel in small batches and only a few batches are in flight at once, so 100,000
    objects cost neither 100,000 futures nor their memory.
    """
    if len(items) <= 1 or jobs <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

    size = max(1, min(64, len(items) // (jobs * 4)))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    results: list[list[R]] = [[] for _ in batches]

    def run(i: int) -> None:
        results[i] = [fn(item) for item in batches[i]]

    with ThreadPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        pending: set[Future[None]] = set()
        for i in range(len(batches)):
            pending.add(pool.submit(run, i))
            if len(pending) >= jobs * 2:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for f in done:
                    f.result()  # re-raises the first failure; the pool then stops
        for f in pending:
            f.result()
    return [r for rs in results for r in rs]


def _s3_filesystem(opts: dict[str, Any], version_aware: bool, connect: float, read: float) -> Any:
    import s3fs

    client_kwargs = dict(opts.pop("client_kwargs", None) or {})
    region = opts.pop("region", None) or opts.pop("region_name", None)
    # us-east-1 is the default, and naming it in client_kwargs breaks bucket creation.
    if region and region != "us-east-1":
        client_kwargs["region_name"] = region
    config = {
        **S3_CONFIG,
        "connect_timeout": connect,
        "read_timeout": read,
        **(opts.pop("config_kwargs", None) or {}),
    }
    return s3fs.S3FileSystem(
        skip_instance_cache=True,
        use_listings_cache=False,
        version_aware=version_aware,
        client_kwargs=client_kwargs,
        config_kwargs=config,
        **opts,
    )


def _gcs_filesystem(opts: dict[str, Any], version_aware: bool, read: float) -> Any:
    # Else gcsfs asks every bucket for its layout over gRPC, which hangs on emulators.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    import logging

    import gcsfs

    # gcsfs logs every exhausted retry with a traceback; our error says it in one line.
    logging.getLogger("gcsfs").addHandler(logging.NullHandler())
    endpoint = opts.get("endpoint_url") or gcs_endpoint(os.environ)
    if endpoint:
        # gcsfs retries a refused connection for half a minute; fail in seconds instead.
        _probe(endpoint)
    return gcsfs.GCSFileSystem(
        skip_instance_cache=True,
        use_listings_cache=False,
        version_aware=version_aware,
        requests_timeout=read,
        **opts,
    )


def _probe(endpoint: str) -> None:
    import socket

    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "localhost", port), PROBE_TIMEOUT).close()
    except OSError as exc:
        raise ConnectionError(f"cannot connect to {parts.hostname}:{port}") from exc


# ---------------------------------------------------------------- local files


def _write_local(
    root: str, final: str, fill: Callable[[int], object], made: set[str] | None = None
) -> None:
    """Create `final` only if absent, atomically (see `cache.create_only`), making its
    folders below `root` but never `root` itself: a remote folder deleted mid-push (or an
    unmounted volume) fails the push instead of being quietly re-created."""
    shard = os.path.dirname(final)
    if made is None or shard not in made:
        for folder in (f"{root}/sha256", shard):
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder)
        if made is not None:
            made.add(shard)
    create_only(final, fill)


def _checked_bytes(cache: ObjectStore, digest: str, limit: int) -> bytes:
    """A small object's bytes for an upload, verified against its name."""
    data = cache.read_checked(digest, limit)
    if data is None:
        raise not_cached(digest, ", so it cannot be pushed")
    return data
