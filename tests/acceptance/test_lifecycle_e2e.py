"""The lifecycle end to end: delete, expire, gc the local cache and two remote caches (a folder
and loopback S3), then every remaining version downloads byte-exact from a fresh clone and
every removed one is gone from every cache. Bad input changes no cache.

The figures (objects and bytes per cache, before and after) are printed: run with `-s`.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import time
from pathlib import Path

import pytest
from helpers import GitRepo, age_files, clone, stderr_error_line
from servers import Bucket

from gitartifacts.ops.gc_packs import REPACK_SHARE
from gitartifacts.remote.packindex import PackIndex
from gitartifacts.remote.store import RemoteStore

DATASETS = 20
MODELS = 10
OLD = 7200.0  # older than the local grace (1h)
WEEK = 8 * 86400.0  # older than the remote grace (7d)
DAY = 86400.0

Files = dict[str, bytes]
Versions = dict[tuple[str, int], Files]

# What happens to which version.
EXPIRED = {("ds", 0), ("ds", 1), ("model", 0)}  # made long ago, a short TTL set later
DELETED = {("ds", 5), ("ds", 6), ("ds", 7), ("model", 3), ("model", 4)}
ALIASED = {("ds", 7): "golden", ("ds", 9): "best", ("model", 6): "candidate"}
LINKED = {("ds", 12): "bikes-reg", ("model", 9): "bike-detector"}


def _ds(i: int) -> Files:
    """A dataset version: a file every version shares, one shared by pairs, one its own."""
    return {
        "shared.bin": b"S" * 4096,
        "pair.txt": f"pair {i // 2}\n".encode() * 50,
        "part.bin": f"dataset version {i}\n".encode() * 64,
    }


def _model(i: int) -> Files:
    return {"weights.bin": random.Random(i).randbytes(8192), "config.json": b'{"layers": 4}\n'}


def _digests(files: Files) -> set[str]:
    return {_sha(b) for b in files.values()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _commit_at(repo: GitRepo, message: str, when: float | None) -> None:
    """`git commit` of everything, its committer date `when` (seconds) when given."""
    env = dict(os.environ)
    if when is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = f"@{int(when)} +0000"
    subprocess.run(["git", "add", "-A", "."], cwd=repo.root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo.root, env=env, check=True)


def _build(repo: GitRepo) -> Versions:
    """20 versions of `ds` and 10 of `model`, the expiring ones made 10 days ago."""
    made: Versions = {}
    long_ago = time.time() - 10 * DAY
    for kind, count, make in (("ds", DATASETS, _ds), ("model", MODELS, _model)):
        for i in range(count):
            files = make(i)
            for old in (repo.root / "data" / kind).glob("*"):
                old.unlink()
            repo.write({f"data/{kind}/{k}": v for k, v in files.items()})
            kind_type = "dataset" if kind == "ds" else "model"
            repo.ga("add", f"data/{kind}", "--name", kind, "--type", kind_type)
            _commit_at(repo, f"{kind} v{i}", long_ago if (kind, i) in EXPIRED else None)
            made[(kind, i)] = files
    repo.ga("status")  # tags the last commit's version
    return made


class Cache:
    """One cache's objects: hex name -> size."""

    def __init__(self, name: str, objects: dict[str, int], indexes: list[PackIndex]) -> None:
        self.name, self.objects, self.indexes = name, objects, indexes

    def packed_dead_kept(self, live: set[str]) -> set[str]:
        """Dead objects in packs gc leaves alone: half their bytes or more are live."""
        out: set[str] = set()
        for index in self.indexes:
            records = [(d[7:], n) for d, _, n in index]
            if sum(n for h, n in records if h in live) >= REPACK_SHARE * index.pack_size:
                out.update(h for h, _ in records if h not in live)
        return out

    def figures(self) -> tuple[int, int]:
        return len(self.objects), sum(self.objects.values())


def _folder(name: str, root: Path) -> Cache:
    found = {
        p.parent.name + p.name: p.stat().st_size
        for p in (root / "sha256").glob("*/*")
        if len(p.name) == 62
    }
    indexes = RemoteStore(str(root)).packs.view().indexes if (root / "packs").is_dir() else []
    found.update(_packed(indexes))  # a folder remote's packed objects too
    return Cache(name, found, indexes)


def _packed(indexes: list[PackIndex]) -> dict[str, int]:
    return {d[7:]: n for i in indexes for d, _, n in i}


def _s3(bucket: Bucket, url: str) -> Cache:
    bucket.fs.invalidate_cache()
    found = {}
    for path, info in bucket.fs.find(url, detail=True).items():
        parts = path.rsplit("/", 3)
        if parts[-3] == "sha256" and len(parts[-1]) == 62:
            found[parts[-2] + parts[-1]] = int(info["size"])
    indexes = RemoteStore(url, bucket.options).packs.view().indexes
    found.update(_packed(indexes))
    return Cache("s3", found, indexes)


def _caches(repo: GitRepo, store: Path, bucket: Bucket, url: str) -> list[Cache]:
    return [_folder("local", repo.cache), _folder("folder", store), _s3(bucket, url)]


@pytest.mark.slow
def test_lifecycle_end_to_end(origin: Path, tmp_path: Path, s3_bucket: Bucket) -> None:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    store, url = tmp_path / "store", f"{s3_bucket.url}/cache"
    repo.ga("remote", "add", "store", str(store), "--default", "--create")
    repo.ga("remote", "add", "s3", url, "--endpoint-url", s3_bucket.endpoint)
    repo.commit("remotes", ".")
    made = _build(repo)
    for (name, n), alias in ALIASED.items():
        repo.ga("alias", f"{name}:v{n}", alias)
    for (name, n), collection in LINKED.items():
        repo.ga("link", f"{name}:v{n}", collection)
    for name, n in EXPIRED:
        repo.ga("edit", f"{name}:v{n}", "--ttl", "1d")  # counted from the creation: expired
    repo.ga("edit", "ds:v8", "--ttl", "30d")  # a TTL that has not run out: kept
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    repo.ga("push", "-r", "s3")
    before = _caches(repo, store, s3_bucket, url)
    everything = set().union(*(_digests(f) for f in made.values()))
    assert all(everything <= set(c.objects) for c in before)

    _bad_input_changes_nothing(repo, store, s3_bucket, url)

    for name, n in sorted(DELETED):
        extra = ["--delete-aliases"] if (name, n) in ALIASED else []
        repo.ga("delete", f"{name}:v{n}", *extra)
    repo.ga("push")  # publishes the deletions with the notes
    age_files(repo.cache, OLD)
    age_files(store, WEEK)  # loose objects and packs
    repo.ga("gc")
    repo.ga("gc", "--remote", "store")
    repo.ga("gc", "--remote", "s3", "--grace", "0s")  # S3 gives its own times: just written
    after = _caches(repo, store, s3_bucket, url)

    kept = {k: f for k, f in made.items() if k not in DELETED | EXPIRED}
    live = set().union(*(_digests(f) for f in kept.values()))
    gone = everything - live
    assert len(kept) == DATASETS + MODELS - len(DELETED | EXPIRED) and gone
    for cache in after:
        # Exactly the kept versions' objects, but for dead ones in packs mostly live (repacked
        # only once their live share falls under half).
        extra = set(cache.objects) - live
        assert live <= set(cache.objects), f"{cache.name}: a kept version's object is gone"
        assert extra <= cache.packed_dead_kept(live), f"{cache.name}: dead objects left"
    _print_figures(before, after)

    _fresh_clone_downloads(origin, tmp_path / "bob", kept, None)
    _fresh_clone_downloads(origin, tmp_path / "carol", kept, ("s3", url, s3_bucket.endpoint))
    _gone_versions_say_so(origin, tmp_path / "dave")


def _bad_input_changes_nothing(repo: GitRepo, store: Path, bucket: Bucket, url: str) -> None:
    """Unknown version, bad TTL, unknown remote: one line each, exit != 0, no cache changed."""
    age_files(repo.cache, OLD)  # old enough that a gc would remove what it wrongly thought free
    age_files(store, WEEK)  # loose objects and packs
    before = [c.objects for c in _caches(repo, store, bucket, url)]
    refs = repo.git("for-each-ref")
    assert "ds:v99" in stderr_error_line(repo.ga("delete", "ds:v99", rc=None))
    assert "banana" in stderr_error_line(repo.ga("edit", "ds:v9", "--ttl", "banana", rc=None))
    proc = repo.ga("add", "data/ds", "--name", "ds", "--ttl", "banana", rc=None)
    assert "banana" in stderr_error_line(proc)
    assert "nope" in stderr_error_line(repo.ga("gc", "--remote", "nope", rc=None))
    assert [c.objects for c in _caches(repo, store, bucket, url)] == before
    assert repo.git("for-each-ref") == refs


def _fresh_clone_downloads(
    origin: Path, dest: Path, kept: Versions, s3: tuple[str, str, str] | None
) -> None:
    """Every version left downloads byte-exact into a clone with an empty cache, from the
    default remote (the folder) or from S3."""
    fresh = clone(origin, dest)
    if s3 is not None:
        name, url, endpoint = s3
        fresh.ga(
            "remote", "add", name, url, "--endpoint-url", endpoint, "--default", "--local", "-f"
        )
    for (name, n), files in sorted(kept.items()):
        out = dest.parent / f"{dest.name}-{name}-v{n}"
        fresh.ga("get", f"{name}:v{n}", "-o", str(out))
        got = {p.name: _sha(p.read_bytes()) for p in out.iterdir()}
        want = {k: _sha(v) for k, v in files.items()}
        assert got == want, f"{name}:v{n} from {s3[0] if s3 else 'the folder'}"


def _gone_versions_say_so(origin: Path, dest: Path) -> None:
    """A fresh clone reads the deletions and expiries from the published notes, which
    `git artifacts fetch` brings (a plain `git clone` does not fetch notes)."""
    fresh = clone(origin, dest)
    fresh.ga("fetch")
    for name in ("ds", "model"):
        rows = fresh.ga_json("log", name, "--all")
        gone = {int(r["version"][1:]): r.get("gone") for r in rows}
        for key in DELETED | EXPIRED:
            if key[0] == name:
                assert gone[key[1]] == ("deleted" if key in DELETED else "expired"), key
    for name, n in sorted(DELETED | EXPIRED):
        line = stderr_error_line(fresh.ga("get", f"{name}:v{n}", "-o", str(dest / "x"), rc=None))
        assert ("deleted on" if (name, n) in DELETED else "expired on") in line


def _print_figures(before: list[Cache], after: list[Cache]) -> None:
    print("\ncache   objects before -> after   bytes before -> after")
    for b, a in zip(before, after, strict=True):
        (nb, sb), (na, sa) = b.figures(), a.figures()
        print(f"{b.name:7} {nb:7} -> {na:<7}          {sb:8} -> {sa}")
