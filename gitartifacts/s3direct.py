"""Whole-object S3 PUTs and GETs without botocore's per-request machinery.

A push or pull of many small files is a stream of small requests, and botocore spends about
1 ms of CPU on each one (event hooks, endpoint rules, user-agent strings): as much as the
server does. For an S3-compatible endpoint named by URL, this module sends the requests itself
with aiohttp, signed by botocore's own SigV4 signer with the credentials botocore resolves
(environment, profile, SSO, instance role). Anything but a plain success (a redirect, a
refusal, a throttle, an error page) hands that object back to s3fs, which retries and reports
errors as usual, and a refusal turns this path off for the rest of the transfer: it changes
speed, never behaviour.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gitartifacts.hashing import CHUNK, hex_of

T = TypeVar("T")

# Only these options leave requests exactly as s3fs would send them; any other (server-side
# encryption, requester pays, custom client settings) keeps the transfer on s3fs.
DIRECT_OPTIONS = frozenset({"endpoint_url", "region", "region_name", "profile"})
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._\-/]*$")


@dataclass
class S3Direct:
    """Signed requests to `<endpoint>/<bucket>/<prefix>sha256/ab/cdef...` (path style)."""

    base: str
    region: str
    credentials: Any
    broken: bool = field(default=False)
    _proxy: str | None = field(default=None, repr=False)

    @classmethod
    def create(cls, root: str, options: Mapping[str, Any]) -> S3Direct | None:
        """The direct path for s3 `root` with these options, or None to stay on s3fs."""
        if not set(options) <= DIRECT_OPTIONS or os.environ.get("GITARTIFACTS_S3_DIRECT") == "0":
            return None
        endpoint = (
            options.get("endpoint_url")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        bucket, _, prefix = root.partition("/")
        if not endpoint or not _BUCKET_RE.match(bucket) or not _PREFIX_RE.match(prefix):
            return None
        try:
            import aiohttp  # noqa: F401  # comes with s3fs
            from botocore.session import Session
        except ImportError:
            return None
        session = Session(profile=options.get("profile"))
        try:
            credentials = session.get_credentials()
        except Exception:
            return None  # s3fs reports the credential problem in its own words
        if credentials is None:
            return None
        region = (
            options.get("region")
            or options.get("region_name")
            or session.get_config_variable("region")
            or "us-east-1"
        )
        base = "/".join(p for p in (endpoint.rstrip("/"), bucket, prefix.strip("/")) if p)
        return cls(base, str(region), credentials)

    def url(self, digest: str) -> str:
        h = hex_of(digest)
        return f"{self.base}/sha256/{h[:2]}/{h[2:]}"

    # ------------------------------------------------------------------ transfers

    def upload(
        self,
        items: Sequence[tuple[str, Path]],
        jobs: int,
        limit: int,
        done: Callable[[int], object],
        slow: Callable[[str], object],
    ) -> None:
        """PUT each (digest, file) up to `limit` bytes with If-None-Match: *; `slow(digest)`
        takes larger files, missing files and any refusal."""

        async def one(session: Any, item: tuple[str, Path]) -> None:
            digest, src = item
            data = None if self.broken else _read_small(src, limit)
            if data is not None:
                status = await self._guard(self._put(session, digest, data))
                # 412: the object is there already (a lost race or an earlier push).
                if status in (200, 201, 204, 412):
                    done(len(data))
                    return
                self.broken = True
            await asyncio.to_thread(slow, digest)

        asyncio.run(self._each(items, jobs, one))

    def download(
        self,
        digests: Sequence[str],
        jobs: int,
        tmpdir: Path,
        publish: Callable[[str, str, Path, int], object],
        slow: Callable[[str], object],
    ) -> None:
        """GET each object into a temporary file, hashing as it arrives, then
        `publish(digest, actual digest, tmp, size)`; `slow(digest)` takes any refusal."""

        async def one(session: Any, digest: str) -> None:
            if not self.broken:
                tmp = tmpdir / f"{hex_of(digest)[:16]}-{uuid.uuid4().hex}"
                try:
                    got = await self._guard(self._get_into(session, digest, tmp))
                    if got is not None:
                        publish(digest, got[0], tmp, got[1])
                        return
                finally:
                    tmp.unlink(missing_ok=True)
            await asyncio.to_thread(slow, digest)

        asyncio.run(self._each(digests, jobs, one))

    async def _get_into(self, session: Any, digest: str, tmp: Path) -> tuple[str, int] | None:
        url = self.url(digest)
        headers = self._sign("GET", url)
        async with session.get(url, headers=headers, proxy=self._proxy) as resp:
            if resp.status != 200:
                if resp.status != 404:  # a missing object is for s3fs to report, not a refusal
                    self.broken = True
                return None
            h = hashlib.sha256()
            size = 0
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with open(fd, "wb", buffering=0) as out:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        return "sha256:" + h.hexdigest(), size

    async def _put(self, session: Any, digest: str, body: bytes) -> int:
        url = self.url(digest)
        headers = self._sign("PUT", url, body, {"If-None-Match": "*"})
        async with session.put(url, data=body, headers=headers, proxy=self._proxy) as resp:
            await resp.read()
            return int(resp.status)

    async def _guard(self, request: Awaitable[T]) -> T | None:
        """The request's result, or None (and this path off) when the connection failed:
        s3fs then retries that object and reports what is wrong."""
        import aiohttp

        try:
            return await request
        except (aiohttp.ClientError, TimeoutError):
            self.broken = True
            return None

    def _sign(
        self, method: str, url: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body, headers=dict(extra or {}))
        # Frozen per request: refreshable credentials renew themselves near expiry.
        S3SigV4Auth(self.credentials.get_frozen_credentials(), "s3", self.region).add_auth(request)
        return {k: str(v) for k, v in request.headers.items()}

    async def _each(
        self, items: Iterable[T], jobs: int, work: Callable[[Any, T], Awaitable[None]]
    ) -> None:
        """`work(session, item)` over items with `jobs` requests in flight; the first
        failure stops the rest."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=jobs)
        # The proxy settings are looked up once here: aiohttp's trust_env would look them
        # (and ~/.netrc) up again in a thread for every request.
        self._proxy = _proxy_for(self.base)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as session:
            queue = iter(items)

            async def worker() -> None:
                for item in queue:  # one shared iterator: each item goes to one worker
                    await work(session, item)

            await asyncio.gather(*(worker() for _ in range(max(1, jobs))))


def _read_small(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb", buffering=0) as f:
            if os.fstat(f.fileno()).st_size > limit:
                return None
            return f.read()
    except FileNotFoundError:
        return None


def _proxy_for(url: str) -> str | None:
    """The HTTP(S)_PROXY that applies to `url` under NO_PROXY, as requests and botocore do."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.netloc):
        return None
    return urllib.request.getproxies().get(parts.scheme)
