"""Small objects of the local cache live in packs: add writes one pack, and checkout, verify,
status, get, `--link hardlink`, push, pull and gc work on packed objects."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    assert_cache_sound,
    clone,
    file_digests,
    kill_group_after,
    sha,
    stderr_error_line,
    stored_objects,
)

from gitartifacts.core import cachelock, pendingfiles
from gitartifacts.core import localpacks as packs_module
from gitartifacts.core.localpacks import PENDING, LocalPacks
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.packformat import PackIndex
from gitartifacts.core.pendingfiles import claimed, remove_orphans
from gitartifacts.core.shards import ShardFolders
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import cachecap, gc, gc_localpacks

FILES = {f"data/ds/f{i:02}.txt": f"small file {i}\n" for i in range(50)}


def _packs(repo: GitRepo) -> list[Path]:
    return sorted((repo.cache / "packs").glob("*.pack"))


def _loose(repo: GitRepo) -> list[Path]:
    return [p for p in (repo.cache / "sha256").glob("*/*") if len(p.name) == 62]


def _added(repo: GitRepo) -> GitRepo:
    repo.write(FILES)
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0")
    return repo


def _corrupt_packed(repo: GitRepo, text: str) -> None:
    """Flip the first byte of the object holding `text` inside its pack."""
    (pack,) = _packs(repo)
    data = bytearray(pack.read_bytes())
    at = data.find(text.encode())
    assert at >= 0
    data[at] ^= 0x20
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))


def test_add_of_small_files_writes_one_pack_and_no_loose_objects(repo: GitRepo) -> None:
    _added(repo)
    assert len(_packs(repo)) == 1 and (repo.cache / "packs").glob("*.idx")
    assert {p.name for p in _loose(repo)} <= {repo.manifest("ds").get("listing", "")[9:]}
    assert {sha(t.encode())[7:] for t in FILES.values()} <= set(stored_objects(repo.cache))
    assert assert_cache_sound(repo.cache) >= 50
    assert not list((repo.cache / "tmp").glob("*"))  # the pending pack was sealed


def test_checkout_verify_status_and_get_read_packed_objects(repo: GitRepo, tmp_path: Path) -> None:
    _added(repo)
    for rel in FILES:
        (repo.root / rel).unlink()
    repo.ga("checkout", "ds:v0", "--force")
    assert file_digests(repo.root / "data/ds") == {
        rel.removeprefix("data/ds/"): sha(t.encode()) for rel, t in FILES.items()
    }
    assert repo.ga_json("verify", "ds:v0")["ok"] is True
    assert repo.ga("status", "--check").returncode == 0
    repo.ga("get", "ds:v0", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out/f07.txt").read_text() == FILES["data/ds/f07.txt"]


def test_a_hardlink_checkout_of_packed_objects_links_to_loose_copies(
    repo: GitRepo, tmp_path: Path
) -> None:
    _added(repo)
    assert _packs(repo)
    repo.ga("get", "ds:v0", "-o", str(tmp_path / "linked"), "--link", "hardlink")
    linked = tmp_path / "linked/f03.txt"
    assert linked.read_text() == FILES["data/ds/f03.txt"] and linked.stat().st_nlink == 2


def test_link_hardlink_in_config_stores_small_objects_loose(repo: GitRepo) -> None:
    repo.git("config", "artifacts.link", "hardlink")
    _added(repo)
    assert not _packs(repo) and len(_loose(repo)) >= 50


def test_a_corrupt_packed_object_is_named_at_checkout_and_verify(repo: GitRepo) -> None:
    _added(repo)
    name = _packs(repo)[0].stem
    _corrupt_packed(repo, FILES["data/ds/f05.txt"])
    (repo.root / "data/ds/f05.txt").unlink()
    proc = repo.ga("checkout", "ds:v0", "--force", rc=None)
    assert proc.returncode != 0
    line = stderr_error_line(proc)
    assert sha(FILES["data/ds/f05.txt"].encode()) in line and name[:16] in line, line
    assert not (repo.root / "data/ds/f05.txt").exists()  # never copied out
    # The pack is out; its good objects were kept loose, so only the bad one is missing.
    assert not _packs(repo) and len(list((repo.cache / "corrupt").glob("*.pack-*"))) == 1
    assert sha(FILES["data/ds/f06.txt"].encode())[7:] in {
        p.parent.name + p.name for p in _loose(repo)
    }
    assert repo.ga("status", "--check", rc=1).returncode == 1
    assert repo.ga_json("verify", "ds:v0", rc=1)["ok"] is False


def test_verify_names_a_corrupt_packed_object(repo: GitRepo) -> None:
    _added(repo)
    _corrupt_packed(repo, FILES["data/ds/f09.txt"])
    proc = repo.ga("verify", "ds:v0", rc=1)
    assert "f09.txt" in proc.stdout + proc.stderr


def _store_of_50(tmp_path: Path) -> tuple[ObjectStore, list[str], Path]:
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    digests = [store.add_bytes(f"object {i}\n".encode() * 20) for i in range(50)]
    store.flush()
    (pack,) = (tmp_path / "cache/packs").glob("*.pack")
    when = time.time() - 7200
    os.utime(pack, (when, when))
    return store, digests, pack


def test_gc_drops_a_dead_pack_and_repacks_a_mostly_dead_one(tmp_path: Path) -> None:
    store, digests, pack = _store_of_50(tmp_path)
    done = gc_localpacks.collect(store, set(digests[:10]), time.time() - 3600)
    assert (done.removed, done.kept, done.repacked) == (40, 10, 1)
    (new,) = (tmp_path / "cache/packs").glob("*.pack")
    assert new != pack and store.missing(digests[:10]) == []
    assert store.read(digests[3]) == b"object 3\n" * 20
    assert len(store.missing(digests)) == 40
    assert_cache_sound(tmp_path / "cache")
    os.utime(new, (time.time() - 7200,) * 2)
    done = gc_localpacks.collect(store, set(), time.time() - 3600)
    assert done.removed == 10 and not list((tmp_path / "cache/packs").iterdir())


def test_gc_keeps_a_pack_a_concurrent_writer_renewed(tmp_path: Path) -> None:
    store, digests, pack = _store_of_50(tmp_path)
    before = time.time() - 3600
    # A writer found the objects packed and renews them before naming them.
    with cachelock.held(store.root, exclusive=False):
        assert cachelock.renew(store, digests[:5]) == []
    assert gc_localpacks.collect(store, set(), before).removed == 0
    assert pack.exists() and store.missing(digests) == []
    # A gc that removed the pack first: the writer learns the objects are gone.
    os.utime(pack, (time.time() - 7200,) * 2)
    assert gc_localpacks.collect(store, set(), before).removed == 50
    with cachelock.held(store.root, exclusive=False):
        assert cachelock.renew(store, digests[:5]) == digests[:5]


def test_a_pending_object_is_readable_before_the_flush(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    digests = [store.add_bytes(f"x{i}".encode()) for i in range(20)]
    assert store.packs.find(digests[3]) is not None
    assert store.packs.find(digests[3]).pack == PENDING  # type: ignore[union-attr]
    assert store.read(digests[3]) == b"x3"
    store.flush()
    assert store.read(digests[19]) == b"x19" and store.missing(digests) == []
    assert len(list((tmp_path / "cache/packs").glob("*.idx"))) == 1


def test_a_batch_is_located_pack_by_pack_and_in_packs_sealed_since_and_the_pending_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    sealed = []
    for p in range(3):  # three sealed packs of 500 objects
        sealed += [store.add_bytes(f"p{p} x{i}".encode()) for i in range(500)]
        store.flush()
    assert len(list((tmp_path / "cache/packs").glob("*.idx"))) == 3
    assert store.packs.find(sealed[0]) is not None  # packs listed by this store
    other = ObjectStore(tmp_path / "cache", pack_small=True)  # another writer's pack
    later = [other.add_bytes(f"later {i}".encode()) for i in range(50)]
    other.flush()
    for pack in list(packs_module._OPEN.values()):  # it is one store per cache in a process
        pack._checked = 0.0  # past its interval between listings
    pending = [store.add_bytes(f"pending {i}".encode()) for i in range(5)]
    absent = [sha(f"absent {i}".encode()) for i in range(5)]
    batch = sealed[200:260] + later[:5] + pending + absent  # few next to 1,550 records
    lookups: list[bytes] = []
    find_raw = PackIndex.find_raw
    monkeypatch.setattr(
        PackIndex, "find_raw", lambda self, raw: lookups.append(raw) or find_raw(self, raw)
    )
    got = store.packs.locate(batch)
    raw_sealed = {bytes.fromhex(d[7:]) for d in sealed}
    assert len([r for r in lookups if r in raw_sealed]) == 1  # not one for each of 60
    assert set(got) == set(batch) - set(absent)
    assert {got[d].pack for d in pending} == {PENDING}
    for d in got:
        assert store.read(d) == store.packs.read(got[d])  # where it says, the object is
    assert store.missing(batch) == absent


def test_threads_that_miss_at_once_all_find_a_pack_another_writer_sealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    relist = LocalPacks._relist

    def slow_relist(self: LocalPacks) -> None:  # the others miss, then wait for the lock
        time.sleep(0.01)
        relist(self)

    monkeypatch.setattr(LocalPacks, "_relist", slow_relist)
    for round in range(3):
        store = ObjectStore(tmp_path / "cache", pack_small=True)
        assert store.packs.find(sha(b"absent")) is None  # packs listed: none, or older ones
        # A pack another process seals, which the store has not listed.
        code = "import sys; from pathlib import Path; from gitartifacts.core.objects import "
        code += "ObjectStore; s = ObjectStore(Path(sys.argv[1]), pack_small=True); "
        code += "[print(s.add_bytes(f'{sys.argv[2]} y{i}'.encode())) for i in range(64)]; "
        code += "s.flush()"
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "cache"), str(round)],
            capture_output=True,
            text=True,
            check=True,
        )
        digests = out.stdout.split()
        time.sleep(0.06)  # past the store's interval between listings
        barrier = threading.Barrier(8)

        def look(d: str, store: ObjectStore = store, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return store.packs.find(d) is not None

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(look, digests[:8]))


def test_a_flush_of_few_objects_writes_them_loose(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    store.add_bytes(b"one")
    store.add_bytes(b"two")
    store.flush()
    assert not (tmp_path / "cache/packs").exists()
    assert assert_cache_sound(tmp_path / "cache") == 2


def test_a_dead_writers_pending_pack_goes_and_a_live_writers_stays(tmp_path: Path) -> None:
    tmp = tmp_path / "cache" / "tmp"
    tmp.mkdir(parents=True)
    dead = tmp / "pack-0123456789ab-1-0"  # what a killed add leaves: nothing holds its lock
    dead.write_bytes(b"half a pack")
    live = tmp / "pack-0123456789ab-2-0"
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # its writer, alive
        store = ObjectStore(tmp_path / "cache", pack_small=True)
        digests = [store.add_bytes(f"x{i}".encode()) for i in range(20)]
        assert not dead.exists() and live.read_bytes() == b"being written"
        # This writer's own pending pack is locked too: another process leaves it alone.
        other = subprocess.run(
            [sys.executable, "-c", _SWEEP, str(tmp)], capture_output=True, text=True
        )
        assert other.returncode == 0, other.stderr
        assert live.exists() and store.read(digests[7]) == b"x7"
        store.flush()
        assert store.missing(digests) == []
    finally:
        os.close(fd)


def test_orphans_are_never_removed_through_a_symlinked_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pack-0123456789ab-1-0").write_bytes(b"not ours")
    (tmp_path / "tmp").symlink_to(elsewhere)
    remove_orphans(tmp_path / "tmp")
    assert (elsewhere / "pack-0123456789ab-1-0").read_bytes() == b"not ours"


def test_a_download_is_swept_once_its_fetch_died_and_never_while_it_lives(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # A killed fetch: its claim and its download, no lock held.
    (tmp / "pack-0123456789ab-1-0").write_bytes(b"")
    (tmp / "pack-0123456789ab-1-0.part").write_bytes(b"half a pack")
    # A download whose claim went first (a sweeper killed between the two removals).
    (tmp / "pack-0123456789ab-1-1.part").write_bytes(b"half a pack")
    # Not ours: left alone whatever it is.
    (tmp / "pack-notours.part").write_bytes(b"kept")
    with claimed(tmp) as part:
        Path(part).write_bytes(b"being downloaded")
        other = subprocess.run(
            [sys.executable, "-c", _SWEEP, str(tmp)], capture_output=True, text=True
        )
        assert other.returncode == 0, other.stderr
        assert Path(part).read_bytes() == b"being downloaded"  # its claim is locked: alive
        left = sorted(p.name for p in tmp.iterdir())
        assert left == sorted([Path(part).name, Path(part).name[:-5], "pack-notours.part"])
    assert sorted(p.name for p in tmp.iterdir()) == ["pack-notours.part"]


def test_a_writer_killed_before_naming_its_file_leaves_nothing_a_sweep_keeps(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "pack-0123456789ab-1-2.new").write_bytes(b"")  # made, not yet locked nor named
    (tmp / "other.new").write_bytes(b"kept")  # not ours
    with claimed(tmp) as part:  # a live one is locked under its name: left alone
        remove_orphans(tmp)
        assert os.path.exists(part[: -len(".part")])
    assert sorted(p.name for p in tmp.iterdir()) == ["other.new"]


def test_a_file_a_sweeper_takes_before_its_lock_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instant between creating `.new` and locking it: a sweeper that locks it first
    removes it, and the writer makes another."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    opened = os.open
    swept: list[str] = []

    def open_then_sweep(path: str, flags: int, mode: int = 0o777) -> int:
        fd = opened(path, flags, mode)
        if str(path).endswith(".new") and not swept:
            swept.append(str(path))
            out = subprocess.run(
                [sys.executable, "-c", _SWEEP, str(tmp)], capture_output=True, text=True
            )
            assert out.returncode == 0, out.stderr
        return fd

    monkeypatch.setattr(pendingfiles.os, "open", open_then_sweep)
    fd = pendingfiles.create_locked(tmp / "pack-0123456789ab-9-9")
    try:
        assert swept and not os.path.exists(swept[0])  # the first was taken
        assert sorted(p.name for p in tmp.iterdir()) == ["pack-0123456789ab-9-9"]
    finally:
        os.close(fd)


_SWEEP = "import sys, pathlib; from gitartifacts.core.pendingfiles import remove_orphans; "
_SWEEP += "remove_orphans(pathlib.Path(sys.argv[1]))"


@pytest.mark.slow
def test_sigkill_while_adding_leaves_a_usable_cache(repo: GitRepo) -> None:
    repo.write({f"data/big/f{i:05}.bin": os.urandom(2000) for i in range(6000)})
    for trial, delay in enumerate((0.6, 1.0, 1.5)):
        cmd = ["git", "artifacts", "add", "data/big", "--name", "big", "--type", "dataset"]
        kill_group_after(cmd, repo.root, delay)
        assert_cache_sound_or_temporary(repo.cache)
        del trial
    repo.ga("add", "data/big", "--name", "big", "--type", "dataset")
    repo.commit("big")
    assert repo.ga_json("verify", "big")["ok"] is True
    project = Project.open(repo.root)
    try:
        gc.collect_local(project, grace=0.0)
    finally:
        project.close()
    assert not list((repo.cache / "tmp").glob("*"))
    assert repo.ga_json("verify", "big")["ok"] is True


def assert_cache_sound_or_temporary(cache: Path) -> None:
    """Every pack with an index is whole and sound; what else a kill left is a temporary
    file or a pack without an index."""
    packs = cache / "packs"
    for idx in packs.glob("*.idx"):
        assert idx.with_suffix(".pack").exists()
    listed = {p.stem for p in packs.glob("*.idx")}
    for pack in packs.glob("*.pack"):
        if pack.stem in listed:
            assert sha(pack.read_bytes())[7:] == pack.stem


@pytest.mark.slow
def test_push_and_pull_of_packed_objects_land_few_files(
    repo: GitRepo, origin: Path, tmp_path: Path
) -> None:
    repo.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    repo.commit("remote", ".gitartifacts.yaml")
    _added(repo)
    repo.git("remote", "add", "origin", str(origin))
    repo.ga("push")
    repo.git("push", "-q", "origin", "main", "--tags")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data/ds") == {
        rel.removeprefix("data/ds/"): sha(t.encode()) for rel, t in FILES.items()
    }
    assert len(_packs(bob)) == 1 and len(_loose(bob)) <= 2
    assert subprocess.run(["git", "status", "--short"], cwd=bob.root, check=True).returncode == 0


def test_the_cache_cap_evicts_a_whole_pack_the_remote_holds(repo: GitRepo, tmp_path: Path) -> None:
    repo.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    repo.commit("remote", ".gitartifacts.yaml")
    _added(repo)
    (pack,) = _packs(repo)
    project = Project.open(repo.root)
    try:
        os.utime(pack, (time.time() - 7200,) * 2)
        assert cachecap.evict_to(project, 1).evicted == 0  # not pushed, and the work tree's
        repo.ga("push")
        repo.git("rm", "-q", "--cached", ".artifacts/ds.yaml")
        (repo.root / ".artifacts/ds.yaml").unlink()
        done = cachecap.evict_to(project, 1)
    finally:
        project.close()
    assert done.evicted >= 50 and not _packs(repo)
    repo.git("checkout", "-q", "HEAD", "--", ".artifacts/ds.yaml")
    repo.ga("checkout", "ds", "--force")  # comes back from the remote
    assert (repo.root / "data/ds/f01.txt").read_text() == FILES["data/ds/f01.txt"]


def test_a_small_object_already_loose_is_not_packed_again(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    loose = store.add_bytes(b"kept loose", pack=False)
    assert store.add_bytes(b"kept loose") == loose
    assert store.packs.find(loose) is None  # its shard folder exists: asked, found loose
    packed = store.add_bytes(b"a new one")
    assert store.packs.find(packed) is not None  # in the pending pack


def test_shard_folders_are_listed_again_after_their_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = sha(b"x")
    folders = ShardFolders(str(tmp_path))
    assert not folders.may_hold(digest)  # no folder at all yet
    (tmp_path / digest[7:9]).mkdir()
    assert not folders.may_hold(digest)  # listed a moment ago: not seen yet
    monkeypatch.setattr(ShardFolders, "TTL", 0.0)
    assert folders.may_hold(digest)
    # A set lookup only: a malformed digest is never "held", and only `hex_of` (which
    # refuses it) turns a digest into a path.
    assert not folders.may_hold("sha256:../../x")
