"""The remote cache: content objects in an fsspec store, laid out as the local cache.

A transfer first asks which objects are missing, with batched existence checks, then moves
them in parallel (sending: see uploads.py). Every downloaded byte is hashed before it enters
the local cache. A folder remote is read and written directly; S3 goes through obstore's
client (objstore.py) and the rest (GCS, HTTP, memory) through fsspec, behind one interface.

The options (endpoint_url, region, profile, ...) are the non-secret ones a committed
`.gitartifacts.yaml` may hold (see urls.py).
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from gitartifacts.core.fsio import (
    copy_fd,
    create_only,
    open_new,
    read_small,
    temp_name,
    unlink_quiet,
    write_all,
)
from gitartifacts.core.hashing import hex_of, sha256_file
from gitartifacts.core.objects import SMALL, ObjectStore
from gitartifacts.core.parallel import REMOTE_JOBS as JOBS
from gitartifacts.core.parallel import parallel_map
from gitartifacts.core.shards import objects_present
from gitartifacts.core.sweep import StoredObject
from gitartifacts.core.sweep import objects as folder_objects
from gitartifacts.core.sweep import remove as remove_from_folder
from gitartifacts.errors import CacheError
from gitartifacts.remote.identity import (
    IDENTITY,
    IDENTITY_FORMAT,
    IDENTITY_LIMIT,
    identity_doc,
    parse_identity,
)
from gitartifacts.remote.packfetch import CorruptPackError, fetch_packed
from gitartifacts.remote.packindex import Located
from gitartifacts.remote.packs import PackView, pack_key
from gitartifacts.remote.uploads import ProgressFn, Uploads
from gitartifacts.remote.urls import is_connection_error

# Objects per listing page on S3 and GCS: the unit of cost when listing is compared with
# one existence check per object (DVC's heuristic).
PAGE = 1000
_OBJECT_RE = re.compile(r"(?:^|/)sha256/([0-9a-f]{2})/([0-9a-f]{62})$")


class RemoteStore(Uploads):
    """Content objects at `<url>/sha256/<2 hex>/<62 hex>` in a local directory, S3, GCS, ..."""

    IDENTITY = IDENTITY

    def identity(self, create: bool = False) -> str | None:
        """The id in this remote's identity object (`IDENTITY` at its root), None when there
        is none; with `create`, one is written first if absent (a conditional create, so
        two first pushes agree on one id)."""
        path = f"{self.root}/{IDENTITY}"
        with self._errors(), self._step(f"reading its {IDENTITY}"):
            if create:
                self._check_writable()
                data = identity_doc(uuid.uuid4().hex)
                if self.protocol == "file":
                    self._make_root()
                    create_only(path, lambda fd: write_all(fd, data))
                else:
                    self._connect()
                    self._write_new(path, data)
            try:
                if self.protocol == "file":
                    raw = read_small(path, IDENTITY_LIMIT)
                else:
                    self._connect()
                    raw = self._read(path, IDENTITY_LIMIT)
            except FileNotFoundError as exc:
                if is_connection_error(exc):
                    raise
                return None
            found, fmt = parse_identity(raw, self.url)
            if create and fmt < IDENTITY_FORMAT:
                # A remote older versions wrote: marked as holding packs before any goes
                # there, under a new id (what any clone saw there is asked again).
                found = uuid.uuid4().hex
                self._put_key(IDENTITY, identity_doc(found), create=False)
        return found

    def missing(
        self,
        digests: Iterable[str],
        jobs: int = JOBS,
        fresh_packs: bool = True,
        skip_sent: bool = False,
    ) -> list[str]:
        """The digests the remote lacks, in the order given, each once.

        Packed objects are answered by the pack indexes (one listing of `packs/`, each index
        read once; with `fresh_packs` off, the packs as listed by an earlier call; with
        `skip_sent`, leaving out the packs this process sent: a push knows their objects);
        of the others, a few are checked one by one in parallel, many by listing the 2-hex
        prefixes they fall in, or the whole tree when the remote is small.
        """
        wanted = list(dict.fromkeys(digests))
        if not wanted:
            return []
        with self._errors(), self._step(f"checking which of {len(wanted)} objects it has"):
            self._connect()
            packed = self.packs.view(fresh_packs, skip_sent).locate(wanted)
            rest = [d for d in wanted if d not in packed]
            present = self._present(rest, max(1, jobs)) if rest else set()
        return [d for d in rest if d not in present]

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
            if self._client is not None:
                return self._client.exists(self._key(self.path(digest)))
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

    def _digests_under(self, path: str, prefix: str = "") -> set[str]:
        self.watch.check()
        found = set()
        try:
            for name, _, _ in self._listed(path, prefix):
                if m := _OBJECT_RE.search(name):
                    found.add(f"sha256:{m.group(1)}{m.group(2)}")
        finally:
            self._beat()
        return found

    def list_objects(self) -> list[StoredObject]:
        """Every object on the remote with its size and mtime (`LastModified` on S3); an
        object whose time the store does not give has mtime infinity, so it is never old."""
        with self._errors(), self._step("listing its objects"):
            if self.protocol == "file":
                return list(folder_objects(self.root))
            self._connect()
            out = []
            for name, size, mtime in self._listed(f"{self.root}/sha256"):
                if m := _OBJECT_RE.search(name):
                    out.append(StoredObject(f"sha256:{m.group(1)}{m.group(2)}", size, mtime))
        return out

    def delete(self, digests: Sequence[str], jobs: int = JOBS) -> None:
        """Remove these objects (absent ones are fine)."""
        self._check_writable()
        if not digests:
            return
        with self._errors(), self._step(f"removing {len(digests)} objects"):
            if self.protocol == "file":
                for d in digests:
                    remove_from_folder(self.root, d)
                return
            self._connect()
            paths = [self.path(d) for d in digests]
            batches = [paths[i : i + PAGE] for i in range(0, len(paths), PAGE)]
            parallel_map(self._delete_paths, batches, max(1, jobs))

    def renew_identity(self) -> None:
        """Replace the remote's identity with a new one: every clone's record of what the
        remote holds no longer counts, and a push running now fails before it publishes."""
        self._check_writable()
        path = f"{self.root}/{IDENTITY}"
        with self._errors(), self._step(f"renewing its {IDENTITY}"):
            if self.protocol == "file":
                unlink_quiet(path)
            else:
                self._connect()
                self._remove([path])
        self.identity(create=True)

    def _delete_paths(self, paths: list[str]) -> None:
        self.watch.check()
        try:
            self._remove(paths)
        finally:
            self._beat()

    def download(
        self,
        cache: ObjectStore,
        digests: Sequence[str],
        jobs: int = JOBS,
        progress: ProgressFn | None = None,
        lacking: bool = False,
    ) -> list[str]:
        """Copy these objects into the local cache, in parallel, verifying every byte; the
        ones that came loose, not from a pack.

        An object enters the cache only under its own name and only if its bytes hash to
        that name; an interrupted download leaves at most a temporary file. `lacking`: the
        caller has just found the cache without them, so they are not looked up again (one
        that arrived meanwhile is still stored once).
        """
        wanted = list(dict.fromkeys(digests))
        if not lacking:
            wanted = cache.missing(wanted)  # a shard listed, not a stat each
        if not wanted:
            return []
        with self._errors(), self._step(f"downloading {len(wanted)} objects"):
            self._connect()
            packed, failed = self._download_packed(cache, wanted, jobs, progress)
            wanted = [d for d in wanted if d not in packed]
            if wanted:
                self._download_loose(cache, wanted, jobs, progress)
        cache.flush()
        if failed is not None:
            raise failed
        return wanted

    def _download_packed(
        self, cache: ObjectStore, wanted: list[str], jobs: int, progress: ProgressFn | None
    ) -> tuple[set[str], CacheError | None]:
        """Fetch those of `wanted` held in packs: (those, the error to raise once the
        others are in). The packs an earlier call listed serve while they hold what is
        wanted (a fetch of a million objects asks 50 times: listing again each time cost
        2.5 s and a cold finder). What they lack is looked for in a fresh listing (another
        clone may have pushed it), as is what they held but could not give (a gc may have
        repacked it)."""
        before = self.packs.last
        view = self.packs.view(refresh=False)
        fresh = view is not before
        located = view.locate(wanted)
        if len(located) < len(wanted) and not fresh:
            view, fresh = self.packs.view(), True
            located.update(view.locate([d for d in wanted if d not in located]))
        failed = self._fetch_located(cache, view, located, jobs, progress)
        if isinstance(failed, CorruptPackError) and not fresh:
            bad = {d for d, _ in failed.bad}
            view = self.packs.view()
            again = view.locate([d for d in wanted if d in bad])
            located = {d: w for d, w in located.items() if d not in bad} | again
            failed = self._fetch_located(cache, view, again, jobs, progress)
        return set(located), failed

    def _fetch_located(
        self,
        cache: ObjectStore,
        view: PackView,
        located: dict[str, Located],
        jobs: int,
        progress: ProgressFn | None,
    ) -> CacheError | None:
        """Fetch the `located` objects; the error, if any, once all the others are in."""
        if not located:
            return None
        used = {w.pack for w in located.values()}
        indexes = {i.pack: i for i in view.indexes if i.pack in used}
        try:
            fetch_packed(self, cache, located, indexes, self._jobs(jobs), progress)
        except CacheError as exc:
            return exc
        return None

    def _download_loose(
        self, cache: ObjectStore, wanted: list[str], jobs: int, progress: ProgressFn | None
    ) -> None:
        tmpdir = cache.tmp_dir()
        if self._client is not None:
            by_key = {self._key(self.path(d)): d for d in wanted}

            def small(key: str, data: bytes) -> None:
                self.watch.check()
                self._download_one(cache, tmpdir, by_key[key], progress, data)

            def large(key: str) -> None:
                self._download_one(cache, tmpdir, by_key[key], progress)

            self._client.download_many(list(by_key), max(1, jobs), small, large)
            return
        parallel_map(
            lambda d: self._download_one(cache, tmpdir, d, progress), wanted, self._jobs(jobs)
        )

    def read_bytes(self, digest: str) -> bytes:
        """A small object (a listing), verified against its name."""
        with self._errors(missing=digest), self._step("reading a listing"):
            where = self.packs.view(refresh=False).find(digest)
            if where is not None:
                data = self._read_packed(where)
            elif self.protocol == "file":
                data = Path(self.path(digest)).read_bytes()
            else:
                data = self._read(self.path(digest))
        self._check_digest(digest, "sha256:" + hashlib.sha256(data).hexdigest())
        return bytes(data)

    @property
    def is_folder(self) -> bool:
        """A folder remote: reading one object is as quick as reading it from the cache."""
        return self.protocol == "file"

    def _read_packed(self, where: Located) -> bytes:
        return self._get_range(pack_key(where.pack), where.offset, where.offset + where.length)

    def _download_one(
        self,
        cache: ObjectStore,
        tmpdir: Path,
        digest: str,
        progress: ProgressFn | None,
        data: bytes | None = None,
    ) -> None:
        if data is None and self.protocol == "file":
            # A small loose object of a folder is read whole, checked in memory and written
            # once. The cache's own limit: a larger one is copied below.
            with self._errors(missing=digest):
                data = read_small(self.path(digest), SMALL)
        if data is not None:
            self._check_digest(digest, "sha256:" + hashlib.sha256(data).hexdigest())
            cache.add_bytes(data, digest)
            if progress is not None:
                progress(1, len(data))
            return
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
            progress(1, size)

    def _fetch_hashing(self, src: str, tmp: Path) -> tuple[str, int]:
        if self.protocol == "file":
            with open_new(tmp) as out, open(src, "rb", buffering=0) as f:
                copy_fd(f.fileno(), out.fileno())
            return sha256_file(tmp)  # our private copy: what is hashed is what enters the cache
        if self._client is not None:
            return self._client.download_to(self._key(src), tmp)
        self.fs.get_file(src, str(tmp), callback=self._callback())
        return sha256_file(tmp)


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
