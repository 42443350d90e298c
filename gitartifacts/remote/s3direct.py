"""Whole-object S3 PUTs and GETs without botocore's per-request machinery.

A push or pull of many small files is a stream of small requests, and botocore spends about
1 ms of CPU on each one (event hooks, endpoint rules, user-agent strings): as much as the
server does. For an S3-compatible endpoint named by URL, this module sends the requests
itself with aiohttp, signed with AWS Signature Version 4 by the credentials botocore resolves
(environment, profile, SSO, instance role). botocore's own signer costs 0.2 ms a request, so
`Signer` computes the same signature (a test compares the two) with the derived key kept for
the day and the payload hash known in advance: an object's name is its SHA-256. Anything but
a plain success (a redirect, a refusal, a throttle, an error page) hands that object back to
s3fs, which retries and reports errors as usual, and a refusal turns this path off for the
rest of the transfer: it changes speed, never behaviour. Only the store (connection.py,
uploads.py, store.py) uses it, behind `RemoteStore`; GITARTIFACTS_S3_DIRECT=0 turns it off.

Why it stays (measured 2026-12-06, `bench/run_remote_bench.py --skip-dvc --remotes s3
--datasets small`, 10,000 files / 350 MB to a loopback SeaweedFS, 3 rounds each way,
interleaved, on a shared 2-core VM under load 10-24, medians):

    push    direct 65.0 s (40.5, 65.0, 83.6)   s3fs only 144.7 s (135.8, 147.9, 144.7)   2.2x
    pull    direct 50.2 s (38.7, 63.0, 50.2)   s3fs only 121.3 s (133.0, 121.3, 108.4)   2.4x

Above the 1.5x bar for a hand-written client; the scale work (fewer, larger objects) may
make it unnecessary.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from gitartifacts.core.fsio import temp_name
from gitartifacts.core.hashing import CHUNK, hex_of
from gitartifacts.core.shards import object_key
from gitartifacts.settings import s3_direct, s3_endpoint

T = TypeVar("T")

# Only these options leave requests exactly as s3fs would send them; any other (server-side
# encryption, requester pays, custom client settings) keeps the transfer on s3fs.
DIRECT_OPTIONS = frozenset({"endpoint_url", "region", "region_name", "profile"})
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# Characters that stand for themselves in a URL path and in SigV4's canonical URI.
_PATH_RE = re.compile(r"^[A-Za-z0-9._\-/]*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class S3Direct:
    """Signed requests to `<endpoint>/<bucket>/<prefix>sha256/ab/cdef...` (path style)."""

    base: str
    signer: Signer
    broken: bool = field(default=False)
    read_timeout: float = READ_TIMEOUT
    _proxy: str | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls, root: str, options: Mapping[str, Any], timeout: float | None = None
    ) -> S3Direct | None:
        """The direct path for s3 `root` with these options, or None to stay on s3fs."""
        if not set(options) <= DIRECT_OPTIONS or not s3_direct(os.environ):
            return None
        endpoint = options.get("endpoint_url") or s3_endpoint(os.environ)
        bucket, _, prefix = root.partition("/")
        if not endpoint or not _BUCKET_RE.match(bucket):
            return None
        base = "/".join(p for p in (endpoint.rstrip("/"), bucket, prefix.strip("/")) if p)
        parts = urlsplit(base)
        if (
            parts.scheme not in _DEFAULT_PORTS
            or not parts.hostname
            or "@" in parts.netloc
            or "[" in parts.netloc
            or parts.query
            or not _PATH_RE.match(parts.path)
        ):
            return None  # userinfo, IPv6 literals, odd paths: s3fs knows how to sign those
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
        read = min(READ_TIMEOUT, timeout) if timeout else READ_TIMEOUT
        return cls(base, Signer(credentials, str(region), _host(parts)), read_timeout=read)

    def url(self, digest: str) -> str:
        return f"{self.base}/{object_key(digest)}"

    # ------------------------------------------------------------------ transfers

    def upload(
        self,
        digests: Sequence[str],
        source: Callable[[str, int], bytes | None],
        jobs: int,
        limit: int,
        done: Callable[[int], object],
        slow: Callable[[str], object],
    ) -> None:
        """PUT each object, read and verified by `source(digest, limit)` when at most `limit`
        bytes, with If-None-Match: *; `slow(digest)` takes larger files, missing files and
        any refusal."""

        async def one(session: Any, digest: str) -> None:
            data = None if self.broken else source(digest, limit)
            if data is not None:
                status = await self._guard(self._put(session, digest, data))
                # 412: the object is there already (a lost race or an earlier push).
                if status in (200, 201, 204, 412):
                    done(len(data))
                    return
                self.broken = True
            await asyncio.to_thread(slow, digest)

        _run(lambda: self._each(digests, jobs, one))

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
                tmp = tmpdir / f"{hex_of(digest)[:16]}-{temp_name()}"
                try:
                    got = await self._guard(self._get_into(session, digest, tmp))
                    if got is not None:
                        publish(digest, got[0], tmp, got[1])
                        return
                finally:
                    tmp.unlink(missing_ok=True)
            await asyncio.to_thread(slow, digest)

        _run(lambda: self._each(digests, jobs, one))

    async def _get_into(self, session: Any, digest: str, tmp: Path) -> tuple[str, int] | None:
        url = self.url(digest)
        headers = self.signer.headers("GET", urlsplit(url).path, EMPTY_SHA256)
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
        # The body's SHA-256 is the object's name; the server checks it against the body.
        headers = self.signer.headers(
            "PUT", urlsplit(url).path, hex_of(digest), {"if-none-match": "*"}
        )
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

    async def _each(
        self, items: Iterable[T], jobs: int, work: Callable[[Any, T], Awaitable[None]]
    ) -> None:
        """`work(session, item)` over items with `jobs` requests in flight; the first
        failure stops the rest."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(
            sock_connect=min(CONNECT_TIMEOUT, self.read_timeout), sock_read=self.read_timeout
        )
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


class Signer:
    """AWS Signature Version 4 headers for S3 requests to one host and region."""

    def __init__(self, credentials: Any, region: str, host: str) -> None:
        self.credentials = credentials
        self.region = region
        self.host = host
        self._keys: dict[tuple[str, str], bytes] = {}

    def headers(
        self,
        method: str,
        path: str,
        payload_sha256: str,
        extra: Mapping[str, str] | None = None,
        now: dt.datetime | None = None,
    ) -> dict[str, str]:
        """The headers to send, Authorization included; `path` is already canonical and
        `extra` header names are lower case."""
        # Frozen per request: refreshable credentials renew themselves near expiry.
        creds = self.credentials.get_frozen_credentials()
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        signed = {
            "host": self.host,
            "x-amz-content-sha256": payload_sha256,
            "x-amz-date": stamp,
            **(extra or {}),
        }
        if creds.token:
            signed["x-amz-security-token"] = creds.token
        names = sorted(signed)
        signed_names = ";".join(names)
        canonical = "\n".join(
            [
                method,
                path,
                "",
                *(f"{n}:{signed[n]}" for n in names),
                "",
                signed_names,
                payload_sha256,
            ]
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        signature = hmac.new(self._key(creds.secret_key, day), to_sign.encode(), "sha256")
        del signed["host"]  # aiohttp writes the same Host line itself
        signed["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
            f"SignedHeaders={signed_names}, Signature={signature.hexdigest()}"
        )
        return signed

    def _key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = f"AWS4{secret}".encode()
            for part in (day, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), "sha256").digest()
            self._keys = {(secret, day): key}
        return key


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main()` to completion in an event loop of its own, also when the calling thread
    already runs one (Jupyter, an asyncio application), where asyncio.run would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="gitartifacts-s3") as pool:
        pool.submit(lambda: asyncio.run(main())).result()


def _host(parts: SplitResult) -> str:
    """The Host header as HTTP clients write it: the port only when it is not the default."""
    host = (parts.hostname or "").lower()
    port = parts.port
    return host if port is None or port == _DEFAULT_PORTS[parts.scheme] else f"{host}:{port}"


def _proxy_for(url: str) -> str | None:
    """The HTTP(S)_PROXY that applies to `url` under NO_PROXY, as requests and botocore do."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.netloc):
        return None
    return urllib.request.getproxies().get(parts.scheme)
