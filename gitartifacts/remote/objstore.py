"""S3 remotes through obstore (Rust's object_store): one maintained, fast client per remote.

A push or pull of many small objects is a stream of small requests, and Python's S3 stack
(botocore under s3fs) spends as much CPU on each as the server does; object_store signs and
sends them from Rust, many in flight from one event loop. The client works in keys below the
remote's root, under connect, read and retry limits derived from the stall limit (see
watchdog.py), and turns obstore's exceptions into the built-in ones (`FileNotFoundError`,
`PermissionError`, `ConnectionError`, `OSError`) that connection.py names in one line.

Credentials: the AWS environment variables when they hold a key pair and no profile is named;
otherwise botocore's resolver (profiles, SSO, config files, instance roles). Served by fsspec
instead: gs:// (the GCS emulator the tests run cannot serve object_store's XML API), http(s)
and memory://, and S3 on AWS itself when no region is configured (s3fs finds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gitartifacts.core.hashing import CHUNK
from gitartifacts.core.redaction import redact
from gitartifacts.settings import s3_endpoint

if TYPE_CHECKING:
    from obstore.store import S3Config, S3Credential, S3Store

PROTOCOLS = frozenset({"s3"})
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
MAX_RETRIES = 3
# A silent server is reported by the stall watchdog, which says what was awaited: a request
# times out this much after the stall limit, never before it.
WATCHDOG_FIRST = 1.0
# Objects up to this size travel in one request and in memory; larger ones stream in parts.
SMALL = 1 << 20
S3_MIN_PART = 5 << 20
S3_MAX_PARTS = 10_000
LIST_PAGE = 1000
RECHECK_CREDENTIALS = dt.timedelta(minutes=5)
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# obstore reports a failure to reach the server in the words of its HTTP client.
_CONNECTION_WORDS = ("error sending request", "connect", "timed out", "timeout", "dns error")
_REFUSED_WORDS = ("403 forbidden", "401 unauthorized", "signaturedoesnotmatch", "accessdenied")


class TooLargeError(OSError):
    """An object that came larger than its reader's limit."""


class Listed(NamedTuple):
    """One object of a listing: its key below the root, size and modification time."""

    key: str
    size: int
    mtime: float


class ObjectClient:
    """Requests for the objects below one S3 remote's root; `beat()` when bytes move."""

    def __init__(self, store: S3Store, beat: Callable[[], object]) -> None:
        self.store = store
        self.beat = beat

    @classmethod
    def create(
        cls,
        protocol: str,
        root: str,
        options: Mapping[str, Any],
        limit: float,
        beat: Callable[[], object] = lambda: None,
    ) -> ObjectClient | None:
        """The client for `protocol://root` with these options, or None to stay on fsspec."""
        if protocol not in PROTOCOLS:
            return None
        bucket, _, prefix = root.partition("/")
        profile = options.get("profile")
        endpoint = options.get("endpoint_url") or s3_endpoint(os.environ)
        region = options.get("region") or options.get("region_name")
        if not endpoint and not region:
            region = _configured_region(profile)
        if not _BUCKET_RE.match(bucket) or not (endpoint or region):
            return None
        from obstore.store import S3Store

        seconds = dt.timedelta(seconds=1)
        config: S3Config = {"region": str(region or "us-east-1")}
        if endpoint:
            config["endpoint"] = str(endpoint)
        store = S3Store(
            bucket,
            prefix=prefix.strip("/") or None,
            config=config,
            client_options={
                "allow_http": str(endpoint).startswith("http://"),
                "connect_timeout": seconds * min(CONNECT_TIMEOUT, limit),
                "read_timeout": seconds * (min(READ_TIMEOUT, limit) + WATCHDOG_FIRST),
                # A whole request, body included: the read timeout already catches a stall.
                "timeout": dt.timedelta(days=1),
            },
            retry_config={"max_retries": MAX_RETRIES, "retry_timeout": seconds * limit},
            credential_provider=_credentials(profile),
        )
        return cls(store, beat)

    # ------------------------------------------------------------------ one object

    def put(self, key: str, data: bytes | Path, create: bool = True) -> bool:
        """Store `data` (bytes, or a file's path) at `key`; False when `create` and an object
        is there already (content-addressed: the same bytes, so a lost race is success)."""
        import obstore

        with _translated():
            if isinstance(data, Path) and data.stat().st_size > SMALL:
                if create and self.exists(key):
                    return False  # a multipart create is refused only at its end: ask first
                size = data.stat().st_size
                part = max(S3_MIN_PART, -(-size // S3_MAX_PARTS))
                obstore.put(self.store, key, self._chunks(data, part), chunk_size=part)
                return True
            body = data.read_bytes() if isinstance(data, Path) else data
            try:
                obstore.put(self.store, key, body, mode="create" if create else "overwrite")
            except Exception as exc:
                if not _lost_race(exc):
                    raise
                return False
            finally:
                self.beat()
        return True

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The object at `key`, whole; TooLargeError past `limit` bytes, as they arrive."""
        import obstore

        with _translated():
            result = obstore.get(self.store, key)
            if limit is None:
                data = bytes(result.bytes())
            else:  # counted as the bytes come, not trusting the size the server states
                parts, got = [], 0
                for chunk in result.stream():
                    got += len(chunk)
                    if got > limit:
                        raise TooLargeError(f"{key} is larger than {limit} bytes")
                    parts.append(bytes(chunk))
                data = b"".join(parts)
        self.beat()
        return data

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes `start` to `end` (exclusive) of the object at `key`."""
        import obstore

        with _translated():
            data = bytes(obstore.get_range(self.store, key, start=start, end=end))
        self.beat()
        return data

    def get_ranges(self, key: str, starts: Sequence[int], ends: Sequence[int]) -> list[bytes]:
        """Several ranges of one object; near ones are fetched in one request."""
        import obstore

        with _translated():
            found = obstore.get_ranges(self.store, key, starts=starts, ends=ends)
        self.beat()
        return [bytes(b) for b in found]

    def exists(self, key: str) -> bool:
        import obstore

        with _translated():
            try:
                obstore.head(self.store, key)
            except FileNotFoundError:
                return False
            finally:
                self.beat()
        return True

    def download_to(self, key: str, path: Path, limit: int | None = None) -> tuple[str, int]:
        """Stream the object at `key` into the new file `path`; ("sha256:<hex>", size).
        TooLargeError once more than `limit` bytes arrive."""
        import obstore

        h = hashlib.sha256()
        size = 0
        with _translated():
            result = obstore.get(self.store, key)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with open(fd, "wb", buffering=0) as out:
                for chunk in result.stream(min_chunk_size=CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLargeError(f"{key} is larger than {limit} bytes")
                    h.update(chunk)
                    out.write(chunk)
                    self.beat()
        return "sha256:" + h.hexdigest(), size

    # ------------------------------------------------------------------ many objects

    def list(self, prefix: str = "") -> Iterator[list[Listed]]:
        """The objects whose keys start with the folder `prefix`, a page at a time."""
        import obstore

        with _translated():
            for page in obstore.list(self.store, prefix.strip("/") or None, chunk_size=LIST_PAGE):
                self.beat()
                yield [
                    Listed(m["path"], int(m["size"]), m["last_modified"].timestamp()) for m in page
                ]

    def delete(self, keys: Sequence[str]) -> None:
        """Remove these objects; absent ones are fine. Batched: 1000 keys a request."""
        import obstore

        with _translated():
            for i in range(0, len(keys), LIST_PAGE):
                obstore.delete(self.store, keys[i : i + LIST_PAGE])
                self.beat()

    def upload_many(
        self,
        keys: Sequence[str],
        small: Callable[[str], bytes | None],
        large: Callable[[str], Path],
        jobs: int,
        done: Callable[[int], object],
    ) -> None:
        """Create each key, `jobs` at a time, from `small(key)`'s bytes, else from the file
        `large(key)` names (called in a thread: it may hash a large file); `done(size)`
        after each. Objects already there are kept as they are."""
        import obstore

        async def one(key: str) -> None:
            data = small(key)
            if data is None:
                path = await asyncio.to_thread(large, key)
                await asyncio.to_thread(self.put, key, path)
                done(path.stat().st_size)
                return
            try:
                await obstore.put_async(self.store, key, data, mode="create")
            except Exception as exc:
                if not _lost_race(exc):
                    raise
            self.beat()
            done(len(data))

        with _translated():
            _run(_each(keys, jobs, one))

    def download_many(
        self,
        keys: Sequence[str],
        jobs: int,
        small: Callable[[str, bytes], object],
        large: Callable[[str], object],
    ) -> None:
        """GET each key, `jobs` at a time: `small(key, bytes)` takes an object up to
        `SMALL`; `large(key)` (called in a thread) fetches a larger or missing one itself."""
        import obstore

        async def one(key: str) -> None:
            try:
                result = await obstore.get_async(self.store, key)
            except FileNotFoundError:
                await asyncio.to_thread(large, key)  # it names the missing object
                return
            if result.meta["size"] > SMALL:
                del result  # the body stays unread: `large` streams it to a file
                await asyncio.to_thread(large, key)
                return
            data = bytes(await result.bytes_async())
            self.beat()
            small(key, data)

        with _translated():
            _run(_each(keys, jobs, one))

    def _chunks(self, path: Path, part: int) -> Iterator[bytes]:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(part):
                self.beat()
                yield chunk


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Re-raise obstore's exceptions as the built-in ones they mean."""
    try:
        yield
    except Exception as exc:
        if not type(exc).__module__.startswith("obstore"):
            raise
        raise _builtin(exc) from exc


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion in an event loop of its own, also when the calling thread
    already runs one (Jupyter, an asyncio application), where asyncio.run would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="gitartifacts-objstore") as pool:
        pool.submit(asyncio.run, main).result()


def _builtin(exc: BaseException) -> BaseException:
    """The built-in exception that says what obstore's `exc` means, its text redacted."""
    from obstore import exceptions as oe

    text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(text)
    if isinstance(exc, oe.AlreadyExistsError | oe.PreconditionError):
        return FileExistsError(text)
    if isinstance(exc, oe.PermissionDeniedError | oe.UnauthenticatedError):
        return PermissionError(text)
    lowered = str(exc).lower()
    # A listing refused for its signature comes as a generic error carrying the status.
    if any(word in lowered for word in _REFUSED_WORDS):
        return PermissionError(text)
    if any(word in lowered for word in _CONNECTION_WORDS):
        return ConnectionError(text)
    return OSError(text)


async def _each(
    keys: Sequence[str], jobs: int, work: Callable[[str], Coroutine[Any, Any, None]]
) -> None:
    """`work(key)` over keys with `jobs` in flight; the first failure stops the rest."""
    queue = iter(keys)

    async def worker() -> None:
        for key in queue:  # one shared iterator: each key goes to one worker
            await work(key)

    await asyncio.gather(*(worker() for _ in range(max(1, jobs))))


def _lost_race(exc: BaseException) -> bool:
    """Whether a conditional create failed because the object is there already."""
    from obstore import exceptions as oe

    return isinstance(exc, oe.AlreadyExistsError | oe.PreconditionError)


def _configured_region(profile: str | None) -> str | None:
    """The region of the environment or the AWS configuration (botocore reads it)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    try:
        from botocore.session import Session
    except ImportError:
        return None
    found = Session(profile=profile).get_config_variable("region")
    return str(found) if found else None


def _credentials(profile: str | None) -> Callable[[], S3Credential] | None:
    """None (obstore reads the key pair in the environment) or botocore's resolver."""
    env = os.environ
    if not profile and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return None
    try:
        from botocore.session import Session
    except ImportError:
        return None  # obstore's own chain: environment, web identity, instance metadata
    session = Session(profile=profile)

    def provide() -> S3Credential:
        creds = session.get_credentials()
        if creds is None:
            raise PermissionError("no AWS credentials found")
        frozen = creds.get_frozen_credentials()  # refreshed by botocore near expiry
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            # Asked again every few minutes, so renewed credentials reach obstore.
            "expires_at": dt.datetime.now(dt.timezone.utc) + RECHECK_CREDENTIALS,
        }

    return provide
