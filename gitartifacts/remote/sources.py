"""Where references point: S3, GCS, HTTP(S) and local files, listed and fetched.

Each source vouches for content with its own digest: the S3 ETag (`etag:`), the GCS md5
(`md5:`), the HTTP ETag, the sha256 of a local file, or the URI itself (`uri:`) when
checksumming is off. A `Check` compares what a source holds now with what an entry recorded.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import posixpath
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.manifest import Entry
from gitartifacts.core.parallel import parallel_map
from gitartifacts.errors import ConflictError, UsageError
from gitartifacts.remote.filesystems import filesystem
from gitartifacts.remote.urls import is_connection_error

SCHEMES = ("s3", "gs", "http", "https", "file")
_NULL_VERSIONS = (None, "", "null")
_FILESYSTEMS: dict[tuple[str, str, bool], Any] = {}
_FS_LOCK = threading.Lock()


class Check:
    """Compares what a source holds now with what the entry recorded."""

    def __init__(self, entry_path: str, entry: Entry, allow_changed: bool) -> None:
        self.entry_path = entry_path
        self.entry = entry
        self.allow_changed = allow_changed

    @property
    def pinned(self) -> bool:
        """Whether the digest says anything about content (not with checksumming off)."""
        return not self.entry.digest.startswith("uri:")

    def digest(self, current: str) -> None:
        if self.pinned and current != self.entry.digest:
            self.changed(f"recorded {self.entry.digest}, now {current}")

    def size(self, current: int) -> None:
        if self.pinned and current != self.entry.size:
            self.changed(f"recorded {self.entry.size} bytes, now {current}")

    def changed(self, how: str) -> None:
        if self.allow_changed:
            return
        raise ConflictError(
            f"reference {self.entry_path} changed at its source {self.entry.ref}: {how}",
            "add the reference again to record the new content, or allow changed references",
        )


_Fetcher = Callable[[str, Check, str, dict[str, Any]], None]


def resolve_s3(uri: str, name: str | None, limit: int, opts: dict[str, Any]) -> dict[str, Entry]:
    bucket, key, version = _split_s3(uri)
    fs = _fs("s3", opts, version_aware=True)
    if key and not key.endswith("/"):
        with contextlib.suppress(FileNotFoundError):
            info = fs.info(f"{bucket}/{key}", version_id=version)
            if info.get("type") == "file":
                return {single_name(uri, name): _s3_entry(info)}
        if version:
            raise FileNotFoundError(uri)
    prefix = f"{bucket}/{key.rstrip('/')}".rstrip("/")
    listing = _list_s3(fs, prefix, opts)
    objects = [i for i in listing.values() if _is_object(i)]
    if not objects:
        raise FileNotFoundError(uri)
    _check_limit(uri, len(objects), limit)
    return {_member_name(name, prefix, i["name"]): _s3_entry(i) for i in objects}


def _list_s3(fs: Any, prefix: str, opts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    try:
        found: dict[str, dict[str, Any]] = fs.find(prefix, detail=True)
    except (NotImplementedError, OSError) as exc:
        if isinstance(exc, FileNotFoundError | PermissionError) or is_connection_error(exc):
            raise
        # Some S3-compatible stores lack ListObjectVersions: list without version ids.
        found = _fs("s3", opts).find(prefix, detail=True)
    return found


def _s3_entry(info: Mapping[str, Any]) -> Entry:
    version = info.get("VersionId")
    return Entry(
        digest=f"etag:{info['ETag']}",
        size=int(info["size"]),
        ref=f"s3://{info['name']}",
        version_id=None if version in _NULL_VERSIONS else str(version),
    )


def _fetch_s3(ref: str, check: Check, tmp: str, opts: dict[str, Any]) -> None:
    bucket, key, ref_version = _split_s3(ref)
    path = f"{bucket}/{key}"
    fs = _fs("s3", opts, version_aware=True)
    version = check.entry.version_id or ref_version
    info = None
    if version:
        with contextlib.suppress(FileNotFoundError):
            info = fs.info(path, version_id=version)
    if info is None:  # the version is gone; the current object may still be the same
        info = fs.info(path)
    check.digest(f"etag:{info['ETag']}")
    current = info.get("VersionId")
    if current not in _NULL_VERSIONS:
        fs.get_file(path, tmp, version_id=current)
        return
    fs.get_file(path, tmp)
    # Without versions, a second look shows whether it was replaced during the download.
    check.digest(f"etag:{fs.info(path)['ETag']}")


def _split_s3(uri: str) -> tuple[str, str, str | None]:
    rest = uri.split("://", 1)[1]
    version = None
    if "?versionId=" in rest:
        rest, version = rest.split("?versionId=", 1)
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UsageError(f"reference {uri!r} names no bucket", "write s3://bucket/key")
    return bucket, key, version


def resolve_gs(uri: str, name: str | None, limit: int, opts: dict[str, Any]) -> dict[str, Entry]:
    bucket, key, generation = _split_gs(uri)
    fs = _fs("gs", opts, version_aware=True)
    if key and not key.endswith("/"):
        with contextlib.suppress(FileNotFoundError):
            info = fs.info(_gs_path(bucket, key, generation))
            if info.get("type") == "file":
                return {single_name(uri, name): _gs_entry(info)}
        if generation:
            raise FileNotFoundError(uri)
    prefix = f"{bucket}/{key.rstrip('/')}".rstrip("/")
    objects = [i for i in fs.find(prefix, detail=True).values() if _is_object(i)]
    if not objects:
        raise FileNotFoundError(uri)
    _check_limit(uri, len(objects), limit)
    return {_member_name(name, prefix, i["name"]): _gs_entry(i) for i in objects}


def _gs_entry(info: Mapping[str, Any]) -> Entry:
    return Entry(
        digest=_gs_digest(info),
        size=int(info["size"]),
        ref=f"gs://{info['name']}",
        version_id=str(info["generation"]) if info.get("generation") else None,
    )


def _gs_digest(info: Mapping[str, Any]) -> str:
    # md5 is a content hash and survives metadata edits; composite objects have none.
    md5 = info.get("md5Hash")
    return f"md5:{base64.b64decode(md5).hex()}" if md5 else f"etag:{info['etag']}"


def _fetch_gs(ref: str, check: Check, tmp: str, opts: dict[str, Any]) -> None:
    bucket, key, ref_generation = _split_gs(ref)
    fs = _fs("gs", opts, version_aware=True)
    generation = check.entry.version_id or ref_generation
    info = None
    if generation:
        with contextlib.suppress(FileNotFoundError):
            info = fs.info(_gs_path(bucket, key, generation))
    if info is None:  # the generation is gone; the current one may still be the same
        info = fs.info(_gs_path(bucket, key, None))
    check.digest(_gs_digest(info))
    # A generation never changes, so reading it by number cannot race with a writer.
    fs.get_file(_gs_path(bucket, key, str(info["generation"])), tmp)
    if check.pinned and check.entry.digest.startswith("md5:"):
        check.digest(f"md5:{_md5_file(tmp)}")


def _split_gs(uri: str) -> tuple[str, str, str | None]:
    rest = uri.split("://", 1)[1]
    rest, _, generation = rest.partition("#")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UsageError(f"reference {uri!r} names no bucket", "write gs://bucket/key")
    return bucket, key, generation or None


def _gs_path(bucket: str, key: str, generation: str | None) -> str:
    return f"{bucket}/{key}#{generation}" if generation else f"{bucket}/{key}"


def resolve_http(uri: str, name: str | None, opts: dict[str, Any]) -> dict[str, Entry]:
    info = _fs(scheme_of(uri), opts).info(uri)
    return {single_name(uri, name): _http_entry(uri, info)}


def _http_entry(uri: str, info: Mapping[str, Any]) -> Entry:
    return Entry(digest=_http_digest(uri, info), size=int(info.get("size") or 0), ref=uri)


def _http_digest(uri: str, info: Mapping[str, Any]) -> str:
    etag = info.get("ETag")
    return f"etag:{etag}" if etag else f"uri:{uri}"


def fetch_http(ref: str, check: Check, tmp: str, opts: dict[str, Any]) -> None:
    fs = _fs(scheme_of(ref), opts)
    check.digest(_http_digest(ref, fs.info(ref)))
    fs.get_file(ref, tmp)
    # HTTP has no versions: a second look shows whether it was replaced during the download.
    check.digest(_http_digest(ref, fs.info(ref)))


def resolve_file(uri: str, name: str | None, checksum: bool, limit: int) -> dict[str, Entry]:
    root = _file_path(uri)
    if root.is_file():
        return {single_name(uri, name): _file_entry(root, checksum)}
    if not root.is_dir():
        raise FileNotFoundError(uri)
    files = sorted(_walk(root))
    _check_limit(uri, len(files), limit)
    entries = parallel_map(lambda p: _file_entry(p, checksum), files)
    return {
        _join(name, p.relative_to(root).as_posix()): e for p, e in zip(files, entries, strict=True)
    }


def _file_entry(path: Path, checksum: bool) -> Entry:
    ref = path.absolute().as_uri()
    if not checksum:
        return Entry(f"uri:{ref}", path.stat().st_size, ref=ref)
    digest, size = sha256_file(path)
    return Entry(digest, size, ref=ref)


def _walk(root: Path) -> Iterator[Path]:
    # Symlinked folders are not followed, so a link cannot pull in half the disk.
    for folder, _, names in os.walk(root):
        for n in names:
            p = Path(folder, n)
            if p.is_file():
                yield p


def _fetch_file(ref: str, check: Check, tmp: str, opts: dict[str, Any]) -> None:
    src = _file_path(ref)
    with open(tmp, "wb") as out:
        digest, _ = sha256_file(src, sink=out.write)
    check.digest(digest)


FETCHERS: dict[str, _Fetcher] = {"s3": _fetch_s3, "gs": _fetch_gs, "file": _fetch_file}


def _file_path(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise UsageError(f"reference {uri!r} names a host", "write file:///absolute/path")
    return Path(unquote(parts.path))


def _fs(protocol: str, opts: dict[str, Any], version_aware: bool = False) -> Any:
    """A file system shared by every call with these options: creating a client is slow."""
    key = (protocol, repr(sorted(opts.items())), version_aware)
    with _FS_LOCK:
        if key not in _FILESYSTEMS:
            _FILESYSTEMS[key] = filesystem(
                protocol, opts, version_aware=version_aware, kind="references"
            )
        return _FILESYSTEMS[key]


def scheme_of(uri: str) -> str:
    scheme, sep, _ = uri.partition("://")
    if not sep:
        raise UsageError(
            "References must be URIs. To reference a local file, use file://",
            f"write file://{os.path.abspath(uri)}",
        )
    scheme = "gs" if scheme.lower() == "gcs" else scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"cannot reference {uri!r}: unsupported scheme {scheme}://",
            "use s3://, gs://, http://, https:// or file://",
        )
    return scheme


def single_name(uri: str, name: str | None) -> str:
    if name:
        return name
    scheme = scheme_of(uri)
    if scheme in ("s3", "gs"):
        bucket, path, _ = _split_s3(uri) if scheme == "s3" else _split_gs(uri)
    else:
        bucket, path = "", unquote(urlsplit(uri).path)
    base = posixpath.basename(path.rstrip("/")) or bucket
    if not base:
        raise UsageError(f"reference {uri!r} has no file name", "pass a name for the entry")
    return base


def _member_name(name: str | None, prefix: str, full: str) -> str:
    return _join(name, full[len(prefix) :].lstrip("/"))


def _join(name: str | None, rel: str) -> str:
    return f"{name.rstrip('/')}/{rel}" if name else rel


def _is_object(info: Mapping[str, Any]) -> bool:
    # A zero-byte key ending in "/" is a folder marker some tools write, not content.
    return info.get("type") == "file" and not str(info["name"]).endswith("/")


def _check_limit(uri: str, found: int, limit: int) -> None:
    if found > limit:
        raise UsageError(
            f"{uri} holds {found} objects, more than max_objects={limit}",
            f"pass max_objects={found} or more to reference them all, or a narrower prefix",
        )


def _md5_file(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
