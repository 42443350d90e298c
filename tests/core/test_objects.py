"""The content cache (hashing, layout, atomic writes, concurrency) and the sqlite stat cache."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    Template,
    age_files,
    assert_cache_sound,
    bikes_files,
    build_repo,
    cache_files,
    cache_objects,
    copy_repo,
    sha,
    sha256_hex,
)

from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.workspace import digest_walk as ws
from gitartifacts.errors import CacheError, ManifestError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import add as ops_add
from gitartifacts.ops import status as ops_status

MiB = 1 << 20


# ---------------------------------------------------------------- object store


def test_objects_are_stored_under_sha256_two_hex_then_sixty_two(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    src = tmp_path / "f.bin"
    src.write_bytes(b"hello world")
    digest, size = store.add_file(str(src), src.stat().st_size)
    h = sha256_hex(b"hello world")
    assert (digest, size) == ("sha256:" + h, 11)
    assert (tmp_path / "cache" / "sha256" / h[:2] / h[2:]).read_bytes() == b"hello world"
    assert store.add_bytes(b"hello world") == digest
    assert assert_cache_sound(tmp_path / "cache") == 1


def test_large_files_are_hashed_and_stored_correctly(tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 17)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    store = ObjectStore(tmp_path / "cache")
    assert store.add_file(str(src), -1) == (sha(data), len(data))
    assert store.add_file(str(src), len(data)) == (sha(data), len(data))
    assert sha256_file(src) == (sha(data), len(data))
    assert assert_cache_sound(tmp_path / "cache") == 1


@pytest.mark.parametrize("per_asked", [0, 16 * 72, 10**9])  # always ask, as shipped, always list
def test_missing_answers_the_same_by_listing_shards_or_asking_each_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_asked: int
) -> None:
    from gitartifacts.core import shards as cache_mod

    monkeypatch.setattr(cache_mod, "_LIST_BYTES_PER_ASKED", per_asked)
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        listed.append(path)
        return real_listdir(path)

    monkeypatch.setattr(cache_mod.os, "listdir", listdir)
    store = ObjectStore(tmp_path / "cache")
    blobs = [f"object {i}".encode() for i in range(8_000)]  # about 31 asked per shard
    stored = [store.add_bytes(b) for b in blobs[::2]]
    absent = [sha(b) for b in blobs[1::2]]
    asked = [d for pair in zip(stored, absent, strict=True) for d in pair]  # interleaved
    assert store.missing(asked) == absent  # in the order asked
    assert store.missing(stored) == []
    assert ObjectStore(tmp_path / "empty").missing(asked) == asked
    shards = [p for p in listed if not p.endswith("/")]  # not the folder of the shards
    assert bool(shards) == (per_asked > 0)


def test_digests_whose_shard_folder_is_absent_are_missing_without_a_look_at_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitartifacts.core import shards as cache_mod

    store = ObjectStore(tmp_path / "cache")
    kept = store.add_bytes(b"the one loose object")
    others = [sha(f"other {i}".encode()) for i in range(2000)]
    others = [d for d in others if d[7:9] != kept[7:9]]
    looked: list[str] = []
    exists = os.path.exists
    monkeypatch.setattr(cache_mod.os.path, "exists", lambda p: looked.append(p) or exists(p))
    assert store.missing([*others, kept]) == others
    assert looked == [store.spath(kept)]  # only in the shard folder that is there
    with pytest.raises(ManifestError, match="malformed object digest"):
        store.missing([*others, "sha256:../../etc/passwd"])  # checked, there or not


@pytest.mark.parametrize(
    ("real", "seen"),
    [(1000, 1000), (1000, 400), (400, 1000), (0, 0), (0, 10), (MiB + 5, 1000), (MiB, MiB - 1)],
)
def test_a_file_that_changed_size_since_the_scan_is_stored_as_it_is_now(
    tmp_path: Path, real: int, seen: int
) -> None:
    data = os.urandom(real)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    store = ObjectStore(tmp_path / "cache")
    assert store.add_file(str(src), seen) == (sha(data), real)
    assert store.read(sha(data)) == data
    assert assert_cache_sound(tmp_path / "cache") == 1


@pytest.mark.parametrize("size", [9 * MiB + 17, 4 * MiB, 2 * MiB + 4096])
@pytest.mark.parametrize("where", ["disk", "tmpfs", "refused"])
def test_large_writes_store_files_exactly_whichever_way_each_chunk_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, where: str
) -> None:
    """Whole blocks around the page cache (O_DIRECT) or through it, chunk by chunk, the
    tail always through it; a file system that refuses O_DIRECT gets the page cache alone.
    Either way the object matches its name."""
    from gitartifacts.core import largewrite as cache_mod
    from gitartifacts.core import streamcopy

    base = tmp_path
    if where == "tmpfs":
        if not Path("/dev/shm").is_dir():
            pytest.skip("no /dev/shm")
        base = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        monkeypatch.setattr(streamcopy, "DIRECT_MIN", 2 * MiB)
        written: list[tuple[bool, int]] = []
        real_write = cache_mod._write_chunk

        def spy(fd: int, chunk: memoryview, direct: bool) -> tuple[bool, bool]:
            on, refused = real_write(fd, chunk, direct)
            if on == direct:  # the chunk went the one way throughout
                written.append((direct, len(chunk)))
            return on, refused

        monkeypatch.setattr(cache_mod, "_write_chunk", spy)
        if where == "refused":  # as file systems without O_DIRECT answer
            real_fcntl = cache_mod.fcntl.fcntl

            def refusing(fd: int, cmd: int, arg: int = 0) -> int:
                if cmd == cache_mod.fcntl.F_SETFL and arg & os.O_DIRECT:
                    raise OSError(errno.EINVAL, "Invalid argument")
                return real_fcntl(fd, cmd, arg)

            monkeypatch.setattr(cache_mod.fcntl, "fcntl", refusing)
        data = os.urandom(size)
        src = base / "model.bin"
        src.write_bytes(data)
        store = ObjectStore(base / "cache")
        assert store.add_file(str(src), size) == (sha(data), size)
        assert store.read(sha(data)) == data
        assert assert_cache_sound(base / "cache") == 1
        assert os.listdir(base / "cache" / "tmp") == []
        assert sum(n for _, n in written) == size  # every chunk timed, once
        direct = [n for d, n in written if d]
        if where == "refused":
            assert direct == []
            assert store.direct_writes is False  # not asked again
        else:
            assert direct and all(n % 4096 == 0 for n in direct)
            # every chunk of whole blocks (2 MiB a chunk)
            chunks = [2 * MiB] * (size // (2 * MiB)) + [size % (2 * MiB)]
            assert sum(direct) == sum(c for c in chunks if c % 4096 == 0)
        off = ObjectStore(base / "cache-off", direct_writes=False)
        written.clear()
        assert off.add_file(str(src), size) == (sha(data), size)
        assert written == []  # the kernel copies, nothing chosen
    finally:
        if base != tmp_path:
            shutil.rmtree(base)


@pytest.mark.parametrize("value", ["true", "auto"])
@pytest.mark.slow
def test_git_config_direct_writes_adds_and_checks_out_large_files(
    repo: GitRepo, value: str
) -> None:
    repo.git("config", "artifacts.directWrites", value)
    data = os.urandom(64 * MiB + 5)
    repo.write({"models/m.bin": data, "models/small.txt": "x"})
    repo.ga("add", "models", "--name", "m", "--type", "model")
    repo.commit("model")
    assert assert_cache_sound(repo.cache) == 2
    (repo.root / "models/m.bin").unlink()
    repo.ga("checkout", "m")
    assert (repo.root / "models/m.bin").read_bytes() == data
    assert repo.ga_json("verify", "m")["ok"] is True


def test_a_bad_direct_writes_setting_is_named_with_its_fix(repo: GitRepo) -> None:
    repo.git("config", "artifacts.directWrites", "sometimes")
    repo.write({"d/a.txt": "a"})
    proc = repo.ga("add", "d", "--name", "d", "--type", "dataset", rc=None)
    assert proc.returncode != 0
    line = proc.stderr.strip()
    assert "\n" not in line and "artifacts.directWrites" in line and "auto" in line
    assert not (repo.root / ".artifacts" / "d.yaml").exists()


def test_large_files_are_stored_correctly_without_a_kernel_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_copy_file_range(*a: object) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(os, "copy_file_range", no_copy_file_range)
    data = os.urandom(3 * MiB + 17)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    store = ObjectStore(tmp_path / "cache")
    assert store.add_file(str(src), -1) == (sha(data), len(data))
    assert store.read(sha(data)) == data
    assert assert_cache_sound(tmp_path / "cache") == 1
    assert os.listdir(tmp_path / "cache" / "tmp") == []


@pytest.fixture
def big_file(tmp_path: Path) -> Iterator[Path]:
    p = tmp_path / "big.bin"
    chunk = os.urandom(MiB)
    with open(p, "wb") as f:
        for _ in range(24):
            f.write(chunk)
    yield p


def _peak_bytes(fn: object, *args: object) -> int:
    tracemalloc.start()
    try:
        fn(*args)  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_hashing_streams_instead_of_reading_whole_files(big_file: Path, tmp_path: Path) -> None:
    want = hashlib.sha256(big_file.read_bytes()).hexdigest()
    assert sha256_file(big_file)[0] == "sha256:" + want
    assert _peak_bytes(sha256_file, big_file) < 8 * MiB
    store = ObjectStore(tmp_path / "cache")
    assert _peak_bytes(store.add_file, str(big_file), big_file.stat().st_size) < 8 * MiB
    assert store.has("sha256:" + want)


_SLOW_WRITER = """
import sys
from pathlib import Path
from gitartifacts.core.objects import ObjectStore
ObjectStore(Path(sys.argv[1])).add_file(sys.argv[2], -1)
"""


@pytest.mark.slow
def test_a_writer_killed_mid_object_leaves_no_object_under_that_name(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    chunk = os.urandom(MiB)
    with open(src, "wb") as f:
        for _ in range(96):
            f.write(chunk)
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(cache), str(src)])
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.is_file() and p.stat().st_size > 0 for p in cache.rglob("*")):
            break
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    digest = sha(src.read_bytes())
    store = ObjectStore(cache)
    assert not store.has(digest) or store.verify_object(digest)
    objects = cache_objects(cache)
    assert all(sha256_hex(p.read_bytes()) == h for h, p in objects.items())
    digest2, _ = store.add_file(str(src), -1)
    assert digest2 == digest and store.verify_object(digest)


def test_reading_a_missing_object_is_a_cache_error(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    with pytest.raises(CacheError):
        store.read(sha(b"absent"))
    with pytest.raises(CacheError):
        store.materialize(sha(b"absent"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- several processes at once

_WRITER = """
import json, os, sys, time
from pathlib import Path
from gitartifacts.core.objects import ObjectStore
cache, files, ready, go = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
store = ObjectStore(Path(cache))
Path(ready).touch()
while not os.path.exists(go):
    time.sleep(0.001)
for _ in range(3):
    for f in files:
        store.add_file(f, os.path.getsize(f))
"""


def test_concurrent_processes_share_the_cache_safely(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shared = []
    for i in range(40):
        p = src / f"shared{i}.bin"
        p.write_bytes(f"shared {i}\n".encode() * (i + 1))
        shared.append(str(p))
    for i in range(2):
        p = src / f"big{i}.bin"
        p.write_bytes(os.urandom(2 * MiB + i))
        shared.append(str(p))
    writers = 4
    own = []
    for w in range(writers):
        p = src / f"own{w}.bin"
        p.write_bytes(f"only writer {w}".encode())
        own.append(str(p))
    cache = tmp_path / "cache"
    go = tmp_path / "go"
    procs = []
    for w in range(writers):
        files = shared[w:] + shared[:w] + [own[w]]  # each starts elsewhere in the list
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WRITER,
                    str(cache),
                    json.dumps(files),
                    str(tmp_path / f"ready{w}"),
                    str(go),
                ],
            )
        )
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready{w}").exists() for w in range(writers)):
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.005)
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0] * writers
    assert assert_cache_sound(cache) == len(shared) + writers
    assert not [f for f in cache_files(cache) if not f.startswith("sha256/")]


@pytest.mark.slow
def test_concurrent_adds_from_several_repositories_into_one_cache(
    tmp_path: Path, template: Template
) -> None:
    cache = tmp_path / "shared-cache"
    repos = []
    files = bikes_files(20)
    for i in range(3):
        r = copy_repo(template("repo", build_repo), tmp_path / f"r{i}")
        r.git("config", "artifacts.cache", str(cache))
        r.write(files)
        r.write({f"data/bikes/mine{i}.txt": f"repo {i}"})
        repos.append(r)
    procs = [
        subprocess.Popen(
            ["git", "artifacts", "add", "data/bikes", "--name", "bikes", "--type", "dataset"],
            cwd=r.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for r in repos
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert assert_cache_sound(cache) == len(files) + 3
    for r in repos:
        assert cache_objects(r.cache) == {}
        assert r.ga_json("status")[0]["not_in_cache"] == 0


# ---------------------------------------------------------------- git config artifacts.cache


@pytest.mark.slow
def test_git_config_artifacts_cache_moves_the_cache(repo: GitRepo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    repo.git("config", "artifacts.cache", str(elsewhere))
    files = bikes_files()
    repo.write(files)
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    assert set(cache_objects(elsewhere)) == {sha256_hex(c.encode()) for c in files.values()}
    assert cache_objects(repo.cache) == {}
    repo.commit("bikes")
    (repo.root / "data/bikes/img0.txt").unlink()
    repo.ga("checkout", "bikes")
    assert (repo.root / "data/bikes/img0.txt").read_text() == files["data/bikes/img0.txt"]
    assert repo.ga_json("verify", "bikes")["ok"] is True


# ---------------------------------------------------------------- stat cache


class Hashing:
    """Counts every file the package hashes (while checking status or adding)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real_sha = ws.sha256_file
        real_store = ObjectStore.store_file
        real_unseen = ws._store_unseen

        def counting_sha(path: str | os.PathLike[str], *a: object, **k: object) -> tuple[str, int]:
            self.paths.append(os.fspath(path))
            return real_sha(path, *a, **k)  # type: ignore[arg-type]

        def counting_store(
            store: ObjectStore, src: str, *a: object, **k: object
        ) -> tuple[str, int, bool]:
            self.paths.append(os.fspath(src))
            return real_store(store, src, *a, **k)  # type: ignore[arg-type]

        def counting_unseen(
            store: ObjectStore, folders: ws._Folders, rel: str
        ) -> tuple[str, int, bool, tuple[int, int, int, int]]:
            self.paths.append(rel)
            return real_unseen(store, folders, rel)

        monkeypatch.setattr(ws, "sha256_file", counting_sha)
        monkeypatch.setattr(ObjectStore, "store_file", counting_store)
        monkeypatch.setattr(ws, "_store_unseen", counting_unseen)

    def names(self) -> list[str]:
        return sorted(os.path.basename(p) for p in self.paths)

    def reset(self) -> None:
        self.paths.clear()


@pytest.fixture
def added(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """bikes added in-process (fresh stat cache for these very inodes) and committed."""
    monkeypatch.chdir(repo.root)
    files = bikes_files(6)
    repo.write(files)
    age_files(repo.root / "data")
    time.sleep(0.1)  # past the racy window of the ctime that aging the files just set
    project = Project.open(repo.root)
    ops_add.add(project, ["data/bikes"], name="bikes", type="dataset")
    project.close()
    repo.commit("bikes")
    return repo


def fresh(repo: GitRepo) -> Project:
    """A new Project, as a new `git artifacts` process would open it."""
    return Project.open(repo.root)


def test_no_op_status_and_re_add_hash_nothing(
    added: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashing = Hashing(monkeypatch)
    project = fresh(added)
    (row,) = ops_status.status(project)
    assert row.clean
    res = ops_add.add(project, ["data/bikes"], name="bikes")
    assert res.outcome == "unchanged"
    res = ops_add.add(project, [], name="bikes")
    assert res.outcome == "unchanged"
    assert hashing.paths == []


def test_files_a_checkout_writes_are_not_hashed_again_by_status(
    added: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files appear by rename, which changes their ctime: the stat cache must hold the final one.
    (added.root / "data/bikes/img1.txt").unlink()
    (added.root / "data/bikes/img4.txt").unlink()
    added.ga("checkout", "bikes")
    hashing = Hashing(monkeypatch)
    project = fresh(added)
    project.state.drop_snapshot("bikes")
    (row,) = ops_status.status(project)
    assert row.clean
    assert hashing.paths == []


def test_stat_cache_answers_even_without_a_workspace_snapshot(
    added: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = fresh(added)
    project.state.drop_snapshot("bikes")
    hashing = Hashing(monkeypatch)
    (row,) = ops_status.status(project)
    assert row.clean
    assert hashing.paths == []


def test_a_new_mtime_re_hashes_only_that_file(
    added: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.utime(added.root / "data/bikes/img3.txt", (1_000_000_000, 1_000_000_000))
    time.sleep(0.1)  # past the racy window of the ctime the utime set
    hashing = Hashing(monkeypatch)
    (row,) = ops_status.status(fresh(added))
    assert row.clean
    assert hashing.names() == ["img3.txt"]
    hashing.reset()
    assert ops_status.status(fresh(added))[0].clean
    assert hashing.paths == []


def test_a_replaced_inode_is_re_hashed(added: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    target = added.root / "data/bikes/img2.txt"
    st = target.stat()
    tmp = target.with_name("img2.tmp")
    tmp.write_bytes(b"bike 9\n")  # same size, other bytes
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, target)
    hashing = Hashing(monkeypatch)
    (row,) = ops_status.status(fresh(added))
    assert hashing.names() == ["img2.txt"]
    assert row.modified == ["img2.txt"]


def test_a_changed_size_is_seen_and_only_that_file_is_hashed(
    added: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = added.root / "data/bikes/img1.txt"
    st = target.stat()
    target.write_bytes(b"a longer bike\n")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    hashing = Hashing(monkeypatch)
    (row,) = ops_status.status(fresh(added))
    assert hashing.names() == ["img1.txt"]
    assert row.modified == ["img1.txt"]
    hashing.reset()
    res = ops_add.add(fresh(added), ["data/bikes"], name="bikes")
    assert res.outcome == "new"
    assert hashing.names() == ["img1.txt"]  # its bytes must go to the cache; no other file
    assert ops_status.status(fresh(added))[0].modified == []


def test_a_renamed_file_is_hashed_under_its_new_path(
    added: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.rename(added.root / "data/bikes/img4.txt", added.root / "data/bikes/img9.txt")
    hashing = Hashing(monkeypatch)
    (row,) = ops_status.status(fresh(added))
    assert hashing.names() == ["img9.txt"]
    assert (row.added, row.deleted) == (["img9.txt"], ["img4.txt"])


def test_files_changed_just_before_hashing_are_not_trusted(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo.root)
    repo.write(bikes_files())
    age_files(repo.root / "data")
    time.sleep(0.1)  # past the racy window of the ctime that aging the files just set
    racy = repo.root / "data/bikes/img1.txt"
    future = time.time() + 600
    os.utime(racy, (future, future))
    project = fresh(repo)
    ops_add.add(project, ["data/bikes"], name="bikes", type="dataset")
    hashing = Hashing(monkeypatch)
    for _ in range(2):
        (row,) = ops_status.status(fresh(repo))
        assert (row.added, row.modified, row.deleted) == ([], [], [])
        assert hashing.names() == ["img1.txt"]
        hashing.reset()


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_create_only_places_whole_files_and_keeps_an_existing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    from gitartifacts.core import fsio as cache_module

    if not unnamed:  # as on file systems without O_TMPFILE
        monkeypatch.setattr(cache_module, "_open_unnamed", lambda folder: None)
    elif sys.platform == "linux":  # here the unnamed way must work: no named file at all
        # An earlier test in this process may have met a file system without it.
        monkeypatch.setattr(cache_module, "_unnamed_ok", True)

        def no_named_file() -> str:
            raise AssertionError("fell back to a named temporary file")

        monkeypatch.setattr(cache_module, "temp_name", no_named_file)
    final = tmp_path / "object"
    cache_module.create_only(final, lambda fd: cache_module.write_all(fd, b"first"))
    cache_module.create_only(final, lambda fd: cache_module.write_all(fd, b"second"))
    assert final.read_bytes() == b"first"
    assert final.stat().st_mode & 0o777 == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["object"]  # no temporary file left
