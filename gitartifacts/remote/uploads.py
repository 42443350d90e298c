"""Sending objects to a remote: conditional creates, small ones whole, large ones in parts.

Uploads are conditional creates: of two writers racing on one object both succeed and
neither overwrites the other. Every byte sent is hashed on the way, so a corrupt cache
object never reaches a remote. Listings must reach the remote only after the objects they
name: a push sends each batch's listings after its content (see walk.py).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from gitartifacts.core.fsio import create_only, write_all
from gitartifacts.core.objects import SMALL, ObjectStore, not_cached
from gitartifacts.core.parallel import REMOTE_JOBS as JOBS
from gitartifacts.core.parallel import parallel_map
from gitartifacts.remote import packs
from gitartifacts.remote.keys import GCS_CHUNK, KeyIO
from gitartifacts.remote.packs import Packs, PackView

# Called from worker threads as objects complete: (files done, bytes done) since the last call.
ProgressFn = Callable[[int, int], object]

# Objects up to this size go in one request from memory; larger ones stream in parts.
SMALL_PUT = 1 << 20
S3_MIN_PART = 5 << 20
S3_MAX_PARTS = 10_000


class Uploads(KeyIO):
    """The sending half of a remote store."""

    def upload(
        self,
        cache: ObjectStore,
        digests: Sequence[str],
        jobs: int = JOBS,
        progress: ProgressFn | None = None,
    ) -> None:
        """Copy these objects from the local cache, in parallel; present ones are kept as is.

        `progress(1, size)` is called as each object is done, from worker threads.
        """
        self._check_writable()
        wanted = list(dict.fromkeys(digests))
        cache.flush()  # what is sent is read from sealed packs or loose files
        with self._errors(), self._step(f"uploading {len(wanted)} objects"):
            if self.protocol == "file":
                self._make_root()  # only here: a folder that vanishes later fails the upload
            self._connect()
            wanted = self._send_packed(cache, wanted, jobs, progress)
            if self._client is not None:

                def done(size: int) -> None:
                    self._beat()
                    if progress is not None:
                        progress(1, size)

                def small(digest: str) -> bytes | None:
                    self.watch.check()
                    return cache.read_checked(digest, SMALL_PUT)

                def large(digest: str) -> Path:
                    if not cache.has(digest):
                        raise not_cached(digest, ", so it cannot be pushed")
                    cache.check(digest)  # the client reads the file itself: hashed just before
                    return cache.path(digest)

                keys = {self._key(self.path(d)): d for d in wanted}
                self._client.upload_many(
                    list(keys), lambda k: small(keys[k]), lambda k: large(keys[k]), jobs, done
                )
                return
            parallel_map(lambda d: self._upload_one(cache, d, progress), wanted, self._jobs(jobs))

    def _send_packed(
        self, cache: ObjectStore, wanted: list[str], jobs: int, progress: ProgressFn | None
    ) -> list[str]:
        """Send the small objects among `wanted` in packs (packs.py), when there are enough
        of them; the objects left to send one by one."""
        if self.protocol in ("http", "https") or len(wanted) < packs.PACK_MIN:
            return wanted
        sizes = {}
        for d in wanted:
            if (size := cache.size(d)) is None:
                raise not_cached(d, ", so it cannot be pushed")
            sizes[d] = size
        small = [d for d in wanted if sizes[d] <= SMALL]
        if len(small) < packs.PACK_MIN:
            return wanted
        sent = packs.upload_packs(self, cache, small, sizes, self._jobs(max(1, jobs)), progress)
        self.packs.sent.update(sent)
        return [d for d in wanted if sizes[d] > SMALL]

    @functools.cached_property
    def packs(self) -> Packs:
        """The remote's packs of small objects (packs.py)."""
        return packs.Packs(self)

    def pack_view(self) -> PackView:
        """The remote's packs and their indexes, listed and read anew (for gc)."""
        with self._errors(), self._step("listing its packs"):
            self._connect()
            return self.packs.view()

    def send_pack_of(
        self, cache: ObjectStore, digests: list[str], sizes: dict[str, int], jobs: int
    ) -> None:
        """Send these cached objects as new packs (gc's repack of their old pack)."""
        self._check_writable()
        with self._errors(), self._step(f"uploading a pack of {len(digests)} objects"):
            self._connect()
            packs.upload_packs(self, cache, digests, sizes, self._jobs(max(1, jobs)))

    def remove_keys(self, keys: Sequence[str]) -> None:
        """Remove these keys below the root (packs, indexes), in order; absent ones are fine."""
        self._check_writable()
        with self._errors(), self._step(f"removing {len(keys)} pack keys"):
            self._connect()
            for key in keys:  # one by one: an index goes before its pack
                self._delete_keys([key])

    def write_bytes(self, digest: str, data: bytes) -> None:
        """Store a small object (a listing) given as bytes; they must hash to `digest`."""
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"bytes do not hash to {digest}")
        self._check_writable()
        path = self.path(digest)
        with self._errors(), self._step("writing a listing"):
            if self.protocol == "file":
                self._make_root()
                _write_local(self.root, path, lambda fd: write_all(fd, data))
            else:
                self._write_new(path, data)

    def _upload_one(self, cache: ObjectStore, digest: str, progress: ProgressFn | None) -> None:
        self.watch.check()
        if (size := cache.size(digest)) is None:
            raise not_cached(digest, ", so it cannot be pushed")
        with self._errors():
            self._put(cache, digest, size)
        self._beat()
        if progress is not None:
            progress(1, size)

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
