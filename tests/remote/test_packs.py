"""Packs of small objects on a remote: round trips, old loose remotes, ranges or whole packs,
the index format, two clones pushing at once."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    assert_cache_sound,
    clone,
    file_digests,
    sha,
    stderr_error_line,
    stored_objects,
)
from servers import Bucket, FileServer

from gitartifacts.core.objects import ObjectStore
from gitartifacts.errors import CacheError
from gitartifacts.remote import packfetch, packindex, packs
from gitartifacts.remote.keys import KeyInfo
from gitartifacts.remote.objstore import TooLargeError
from gitartifacts.remote.packindex import Located
from gitartifacts.remote.store import RemoteStore

pytest_plugins = ["servers"]

SMALL_FILES = 60
BIG = (1 << 20) + 7  # just over the pack limit: loose


def _files(tag: str = "") -> dict[str, bytes]:
    out = {
        f"data/ds/small/{i:04}.txt": f"{tag}small {i}\n".encode() * (i % 7 + 1)
        for i in range(SMALL_FILES)
    }
    out["data/ds/big1.bin"] = (tag.encode() + b"B1") * (BIG // 2)
    out["data/ds/big2.bin"] = (tag.encode() + b"B2") * (BIG // 2)
    return out


def _alice(origin: Path, tmp_path: Path, url: str, *opts: str) -> GitRepo:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    repo.ga("remote", "add", "store", url, "--default", *opts)
    repo.write(_files())
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds", ".")
    repo.git("push", "-q", "origin", "main")
    return repo


def _pushed(origin: Path, tmp_path: Path) -> tuple[str, GitRepo]:
    """A folder remote's URL, and alice, who pushed `_files()` there."""
    url = str(tmp_path / "store")
    alice = _alice(origin, tmp_path, url)
    alice.ga("push")
    return url, alice


def _pulled(origin: Path, tmp_path: Path) -> tuple[str, GitRepo, GitRepo]:
    """The remote of `_pushed`, alice, and bob, who cloned and pulled from it."""
    url, alice = _pushed(origin, tmp_path)
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    return url, alice, bob


def _keys(store: RemoteStore) -> list[str]:
    """Every key on the remote."""
    if store.protocol == "file":
        root = Path(store.root)
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return sorted(k.key for k in store._list_keys(""))


def _round_trip(origin: Path, tmp_path: Path, url: str, *opts: str) -> RemoteStore:
    alice = _alice(origin, tmp_path, url, *opts)
    alice.ga("push")
    # Asked again (as the cache cap, du --remote and the pushed check ask): all there.
    assert "0 objects uploaded" in alice.ga("push", "--check-remote").stdout
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    return RemoteStore(url, {"endpoint_url": opts[1]} if opts else None)


@pytest.mark.slow
def test_a_push_of_many_small_files_is_a_handful_of_keys_on_a_folder(
    origin: Path, tmp_path: Path
) -> None:
    store = _round_trip(origin, tmp_path, str(tmp_path / "store"))
    keys = _keys(store)
    packed = [k for k in keys if k.startswith("packs/")]
    loose = [k for k in keys if k.startswith("sha256/")]
    # 60 small objects in one pack and its index; the two big ones loose.
    assert len(packed) == 2 and packed[0].endswith(".idx") and packed[1].endswith(".pack")
    assert len(loose) == 2 and len(keys) == 5  # and the identity
    assert json.loads((tmp_path / "store" / "gitartifacts-remote.json").read_bytes())[
        "features"
    ] == ["packs"]


@pytest.mark.slow
def test_a_push_of_many_small_files_is_a_handful_of_keys_on_s3(
    origin: Path, tmp_path: Path, s3_bucket: Bucket
) -> None:
    url = f"{s3_bucket.url}/cache"
    store = _round_trip(origin, tmp_path, url, "--endpoint-url", s3_bucket.endpoint)
    keys = _keys(store)
    assert len([k for k in keys if k.startswith("packs/")]) == 2
    assert len(keys) <= 6  # the identity, the pack and index, the two big objects, a listing


def test_a_fresh_clone_keeps_the_packs_it_fetches_whole_as_packs_of_its_cache(
    origin: Path, tmp_path: Path
) -> None:
    url, alice, bob = _pulled(origin, tmp_path)
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    cache = bob.cache
    remote_packs = {p.stem for p in (Path(url) / "packs").glob("*.pack")}
    local_packs = {p.stem for p in (cache / "packs").glob("*.pack")}
    # The same bytes under the same name: renamed into the cache, not written again.
    assert remote_packs and remote_packs <= local_packs
    assert assert_cache_sound(cache) == len(stored_objects(Path(url)))
    assert not list((cache / "tmp").glob("*"))  # no download left behind
    assert "up to date" in bob.ga("status").stdout


def test_a_pack_kept_by_two_fetches_of_different_halves_indexes_both(tmp_path: Path) -> None:
    source = ObjectStore(tmp_path / "source")
    digests = [source.add_bytes(f"{i:03}".encode().ljust(500, b"x")) for i in range(40)]
    store = RemoteStore(str(tmp_path / "store"))
    store.upload(source, digests)
    (name,) = [p.stem for p in (tmp_path / "store" / "packs").glob("*.pack")]
    cache = ObjectStore(tmp_path / "cache", pack_small=True)
    # Each half is half the pack's bytes: each fetch takes the pack whole and keeps it.
    RemoteStore(store.url).download(cache, digests[:20])
    RemoteStore(store.url).download(cache, digests[20:])
    idx = cache.root / "packs" / f"{name}.idx"
    kept = packindex.decode(name, idx.read_bytes(), str(idx))
    # The second keeping did not drop what the first indexed: every object is there.
    assert sorted(d for d, _, _ in kept) == sorted(digests)
    assert assert_cache_sound(cache.root) == len(digests)


def test_one_store_lists_the_packs_again_only_for_what_its_listing_lacks_or_lost(
    tmp_path: Path,
) -> None:
    source = ObjectStore(tmp_path / "source")
    first = [source.add_bytes(f"a{i:03}".encode().ljust(300, b"x")) for i in range(40)]
    second = [source.add_bytes(f"b{i:03}".encode().ljust(300, b"x")) for i in range(20)]
    remote = tmp_path / "store"
    RemoteStore(str(remote)).upload(source, first)
    store = RemoteStore(str(remote))
    listed: list[str] = []
    list_keys = store._list_keys

    def noted(prefix: str) -> list[KeyInfo]:
        listed.append(prefix)
        return list_keys(prefix)

    store._list_keys = noted  # type: ignore[method-assign]
    cache = ObjectStore(tmp_path / "cache", pack_small=True)
    store.download(cache, first[:10])
    store.download(cache, first[10:20])
    assert listed == ["packs/"]  # the second found all it wanted in the first listing
    RemoteStore(str(remote)).upload(source, second)  # another clone pushes
    store.download(cache, second)
    assert listed == ["packs/", "packs/"]
    # A gc repacks the rest of `first` into a new pack and removes the old one, which
    # this store's listing still names: what it could not read is looked for again.
    old = store.packs.view(refresh=False).find(first[0])
    assert old is not None
    RemoteStore(str(remote)).upload(source, first[20:])
    for path in (remote / "packs").glob(f"{old.pack}.*"):
        path.unlink()
    store.download(cache, first[20:])
    assert listed == ["packs/"] * 3
    assert sorted(_cache_digests(cache.root)) == sorted(first + second)


def test_a_corrupt_pack_byte_fails_the_pull_naming_the_file_and_keeps_nothing_of_that_pack(
    origin: Path, tmp_path: Path
) -> None:
    url, alice = _pushed(origin, tmp_path)
    victim = file_digests(alice.root / "data")["ds/small/0017.txt"]
    (pack,) = [p for p in (Path(url) / "packs").glob("*.idx")]
    where = packindex.decode(pack.stem, pack.read_bytes(), str(pack)).find(victim)
    assert where is not None
    data = bytearray(pack.with_suffix(".pack").read_bytes())
    data[where.offset + 3] ^= 0xFF
    os.chmod(pack.with_suffix(".pack"), 0o644)
    pack.with_suffix(".pack").write_bytes(bytes(data))  # same size: the index still names it
    bob = clone(origin, tmp_path / "bob")
    line = stderr_error_line(bob.ga("pull", rc=None))
    assert "1 object(s)" in line and "ds/small/0017.txt" in line and pack.stem[:16] in line
    assert victim not in line  # the file is named, not its digest
    cache = bob.cache
    assert not list((cache / "packs").glob(f"{pack.stem}.*"))  # not kept as a pack
    # Every other object landed, verified; only the victim is missing.
    assert assert_cache_sound(cache) == len(stored_objects(alice.cache)) - 1


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_packed_folder_served_over_http_is_read_through_its_packs(
    origin: Path, tmp_path: Path, http_server: FileServer, ranges: bool
) -> None:
    http_server.listings, http_server.ranges = True, ranges
    folder = http_server.root / "store"
    alice = _alice(origin, tmp_path, str(folder))
    alice.ga("push")
    assert list((folder / "packs").glob("*.pack"))  # the small files went in packs
    url = f"{http_server.url}/store"
    store = RemoteStore(url)
    wanted = sorted(set(file_digests(alice.root / "data").values()))
    assert store.missing(wanted) == []  # found through the packs' indexes
    # A few objects: byte ranges (the whole pack, should the server ignore Range).
    few = ObjectStore(tmp_path / "few", pack_small=True)
    store.download(few, wanted[:3])
    assert few.missing(wanted) == wanted[3:]
    bob = clone(origin, tmp_path / "bob")
    bob.ga("remote", "add", "web", url, "--default", "--local")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    assert assert_cache_sound(bob.cache) == len(stored_objects(alice.cache))


@pytest.mark.slow
def test_a_remote_written_loose_stays_readable_and_takes_packs_beside(
    origin: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "store"
    alice = _alice(origin, tmp_path, str(remote))
    # As an older version wrote it: every object loose, identity format 1.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(packs, "PACK_MIN", 10**9)
        RemoteStore(str(remote)).upload(ObjectStore(alice.cache), _cache_digests(alice.cache))
    (remote / "gitartifacts-remote.json").write_text(json.dumps({"format": 1, "id": "1" * 32}))
    assert not (remote / "packs").exists()
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    # A new version pushed by this version packs its new small objects beside the loose ones.
    bob.write({f"data/ds/small/{i:04}.txt": f"v2 {i}" for i in range(50)})
    bob.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    bob.commit("ds v1", ".")
    bob.git("push", "-q", "origin", "main")
    bob.ga("push")
    doc = json.loads((remote / "gitartifacts-remote.json").read_bytes())
    assert doc["format"] == 2 and doc["id"] != "1" * 32
    assert len(list((remote / "packs").glob("*.pack"))) == 1
    carol = clone(origin, tmp_path / "carol")
    carol.ga("pull")
    assert file_digests(carol.root / "data") == file_digests(bob.root / "data")


def test_an_unknown_feature_asks_for_an_upgrade(tmp_path: Path) -> None:
    remote = tmp_path / "store"
    remote.mkdir()
    doc = {"format": 2, "id": "2" * 32, "features": ["packs", "zstd-packs"]}
    (remote / "gitartifacts-remote.json").write_text(json.dumps(doc))
    with pytest.raises(CacheError, match="does not know: zstd-packs") as err:
        RemoteStore(str(remote)).identity()
    assert err.value.fix == "upgrade gitartifacts"


def test_a_huge_index_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """An index comes from the remote: one larger than any pack's is never read whole."""
    packs_dir = tmp_path / "store" / "packs"
    packs_dir.mkdir(parents=True)
    name = "a" * 64
    (packs_dir / f"{name}.pack").write_bytes(b"x")
    with open(packs_dir / f"{name}.idx", "wb") as f:
        f.truncate(packindex.INDEX_LIMIT + 1)  # sparse: costs no disk
    store = RemoteStore(str(tmp_path / "store"))
    read: list[str] = []
    store._get_key = _noting(store._get_key, read)  # type: ignore[method-assign]
    with pytest.raises(CacheError, match=f"{name}.idx .* too large"):
        store.missing(["sha256:" + "b" * 64])
    assert read == []


def test_an_index_larger_than_its_listing_says_is_cut_off_as_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile store may state a small size in its listing and send an endless body: the
    read stops one byte past the limit, whatever was stated."""
    monkeypatch.setattr(packindex, "INDEX_LIMIT", 4096)
    packs_dir = tmp_path / "store" / "packs"
    packs_dir.mkdir(parents=True)
    name = "a" * 64
    (packs_dir / f"{name}.pack").write_bytes(b"x")
    (packs_dir / f"{name}.idx").write_bytes(b"\0" * 50_000)
    listed = packs.list_packs

    def lying(store: RemoteStore) -> packs.PackListing:
        out = listed(store)
        out.indexes[name] = out.indexes[name]._replace(size=100)
        return out

    monkeypatch.setattr(packs, "list_packs", lying)
    store = RemoteStore(str(tmp_path / "store"))
    got: list[int] = []
    get_key = store._get_key

    def sized(key: str, limit: int | None = None) -> bytes:
        got.append(-1 if limit is None else limit)
        return get_key(key, limit)

    store._get_key = sized  # type: ignore[method-assign]
    with pytest.raises(CacheError, match=f"{name}.idx .* too large"):
        store.missing(["sha256:" + "b" * 64])
    assert got == [4096]


def test_a_limited_read_over_http_stops_past_the_limit(
    http_server: FileServer, tmp_path: Path
) -> None:
    (http_server.root / "store").mkdir()
    (http_server.root / "store" / "big").write_bytes(b"y" * 10_000)
    store = RemoteStore(f"{http_server.url}/store")
    assert store._get_key("big", 10_000) == b"y" * 10_000
    with pytest.raises(TooLargeError):
        store._get_key("big", 9_999)


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_web_server_sending_more_than_asked_is_cut_off(
    http_server: FileServer, tmp_path: Path, ranges: bool
) -> None:
    """A range, or a limited read, takes at most one byte more than it needs of the answer,
    whatever the server sends: here 200 MB past each body. (What a liar sends is junk, which
    the hash of each object then refuses; what counts here is what is read.)"""
    http_server.ranges, http_server.padding = ranges, 200 << 20
    (http_server.root / "store").mkdir()
    (http_server.root / "store" / "obj").write_bytes(bytes(range(256)) * 40)
    store = RemoteStore(f"{http_server.url}/store")
    assert len(store._get_range("obj", 300, 310)) == 10
    with pytest.raises(TooLargeError):
        store._get_key("obj", 1000)
    with pytest.raises(TooLargeError):  # a whole pack is taken up to its size, not the disk
        store._get_file("obj", str(tmp_path / "whole"), 10240)
    assert (tmp_path / "whole").stat().st_size <= 10241
    assert http_server.sent < 60 << 20  # what the sockets held, not the 600 MB offered


def test_ranges_merge_neighbours_and_most_of_a_pack_comes_whole() -> None:
    def at(i: int, size: int = 100) -> Located:
        return Located("p" * 64, i * size, size)

    located = {f"sha256:{i:064x}": at(i) for i in (0, 1, 2, 900, 901)}
    reads = packfetch.plan(located, {"p" * 64: 100_000 * 100})
    assert [(r.start, r.end, len(r.objects), r.whole) for r in reads] == [
        (0, 300, 3, False),
        (90_000, 90_200, 2, False),
    ]
    most = {f"sha256:{i:064x}": at(i) for i in range(60)}
    (whole,) = packfetch.plan(most, {"p" * 64: 100 * 100})
    assert whole.whole and len(whole.objects) == 60


def test_a_few_objects_of_a_big_pack_come_as_ranges_on_s3(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    cache, other = ObjectStore(tmp_path / "c1"), ObjectStore(tmp_path / "c2")
    digests = [cache.add_bytes(os.urandom(2000)) for _ in range(200)]
    store = RemoteStore(f"{s3_bucket.url}/cache", s3_bucket.options)
    store.upload(cache, digests)
    (pack,) = [k for k in store._list_keys("packs/") if k.key.endswith(".pack")]
    got: list[tuple[int, int]] = []
    get_range = store._get_range
    store._get_range = lambda k, s, e: (got.append((s, e)), get_range(k, s, e))[1]  # type: ignore[method-assign]
    store.download(other, digests[10:13] + digests[150:151])
    assert len(got) == 2 and sum(e - s for s, e in got) < pack.size // 10
    assert all(other.read(d) == cache.read(d) for d in digests[10:13] + digests[150:151])


def test_index_format_round_trips_and_refuses_damage() -> None:
    records = [("sha256:" + f"{i:02x}" * 32, i * 10, 10) for i in (3, 1, 2)]
    data = packindex.encode(records, 40)
    index = packindex.decode("a" * 64, data, "here")
    assert list(index) == sorted(records)
    assert index.find(records[0][0]) == Located("a" * 64, 30, 10)
    assert index.find("sha256:" + "ff" * 32) is None
    flipped = bytearray(data)
    flipped[30] ^= 1
    with pytest.raises(CacheError, match="checksum does not match"):
        packindex.decode("a" * 64, bytes(flipped), "here")
    with pytest.raises(CacheError, match="lies outside its pack"):
        packindex.decode("a" * 64, packindex.encode(records, 39), "here")


@pytest.mark.slow
def test_two_clones_pushing_packs_at_once_lose_nothing(origin: Path, tmp_path: Path) -> None:
    remote = tmp_path / "store"
    alice = _alice(origin, tmp_path, str(remote))
    bob = clone(origin, tmp_path / "bob")
    bob.git("checkout", "-qb", "bob")
    bob.git("rm", "-q", ".artifacts/ds.yaml")  # bob's objects only: alice's may not be there yet
    bob.write({f"data/other/{i}.txt": f"bob {i}" for i in range(200)})
    bob.ga("add", "data/other", "--name", "other", "--type", "dataset")
    bob.commit("other", ".")
    bob.git("push", "-q", "origin", "bob")
    errors: list[BaseException] = []

    def push(repo: GitRepo) -> None:
        # Bob's clone holds alice's ds:v0 too (from main's history); publishing it is
        # refused until her objects are there, so at once he sends his content only.
        try:
            repo.ga("push", *(["--no-tags"] if repo is bob else []))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(r,)) for r in (alice, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    bob.ga("push")  # now that alice's objects are there, his clone publishes its versions
    carol = clone(origin, tmp_path / "carol")
    carol.ga("pull")
    assert file_digests(carol.root / "data") == file_digests(alice.root / "data")
    carol.git("checkout", "-q", "bob")
    carol.ga("pull")
    assert file_digests(carol.root / "data/other") == file_digests(bob.root / "data/other")
    assert len(list((remote / "packs").glob("*.pack"))) >= 2


def _cache_digests(root: Path) -> list[str]:
    return sorted("sha256:" + h for h in stored_objects(root))


def test_indexes_are_read_once_and_kept_by_the_clone(tmp_path: Path) -> None:
    cache = ObjectStore(tmp_path / "cache")
    digests = [cache.add_bytes(f"object {i}".encode()) for i in range(20)]
    RemoteStore(str(tmp_path / "store")).upload(cache, digests)
    read: list[str] = []
    for _ in range(2):  # two processes of one clone: the second reads the copy
        store = RemoteStore(str(tmp_path / "store"))
        store.packs.index_dir = tmp_path / "packidx"
        store._get_key = _noting(store._get_key, read)  # type: ignore[method-assign]
        assert store.missing([*digests, "sha256:" + "0" * 64]) == ["sha256:" + "0" * 64]
    assert len(read) == 1 and read[0].endswith(".idx")
    (kept,) = (tmp_path / "packidx").iterdir()
    kept.write_bytes(b"damaged")  # a damaged copy is read again from the remote
    store = RemoteStore(str(tmp_path / "store"))
    store.packs.index_dir = tmp_path / "packidx"
    assert store.missing(digests) == []
    assert kept.read_bytes() != b"damaged"


def _noting(
    get_key: Callable[[str, int | None], bytes], read: list[str]
) -> Callable[[str, int | None], bytes]:
    """`get_key` that notes each key it reads."""

    def note(key: str, limit: int | None = None) -> bytes:
        read.append(key)
        return get_key(key, limit)

    return note


def _view_of(indexes: int, per: int) -> tuple[packs.PackView, list[list[str]]]:
    """A view of `indexes` packs of `per` objects each; the digests of each, in order."""
    import hashlib

    from gitartifacts.core.packformat import RECORD, PackIndex

    found: list[PackIndex] = []
    digests: list[list[str]] = []
    for p in range(indexes):
        raws = sorted(hashlib.sha256(f"{p}-{i}".encode()).digest() for i in range(per))
        rows = b"".join(RECORD.pack(raw, n * 10, 10) for n, raw in enumerate(raws))
        found.append(PackIndex(f"{p:064x}", per * 10, rows))
        digests.append(["sha256:" + raw.hex() for raw in raws])
    return packs.PackView(found, packs.PackListing({}, {})), digests


def _passes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The packs whose records `PackIndex.locate` goes through, in order."""
    from gitartifacts.core.packformat import PackIndex

    passed: list[str] = []
    locate = PackIndex.locate

    def noted(self: PackIndex, wanted: Collection[bytes]) -> Iterator[tuple[bytes, Located]]:
        passed.append(self.pack)
        return locate(self, wanted)

    monkeypatch.setattr(PackIndex, "locate", noted)
    return passed


def test_a_batch_is_located_by_one_pass_over_each_pack_it_lies_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view, digests = _view_of(20, 100)
    passed = _passes(monkeypatch)
    wanted = [d for pack in digests[5:7] for d in pack[:40]] + ["sha256:" + "0" * 64]
    got = view.locate(wanted)
    assert set(got) == set(wanted[:-1])
    assert {got[d].pack for d in digests[5][:40]} == {f"{5:064x}"}
    assert got[digests[6][32]].offset == 320
    assert passed == [f"{5:064x}", f"{6:064x}"]  # the two packs it lies in, once each
    assert view._finder.scans <= 3  # a digest of each found its pack; one is in none


def test_a_batch_strewn_over_many_packs_passes_over_each_pack_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitartifacts.core.packformat import PackIndex

    view, digests = _view_of(20, 100)
    passed = _passes(monkeypatch)
    released: list[str] = []
    monkeypatch.setattr(PackIndex, "release", lambda self: released.append(self.pack))
    strewn = [digests[p][i] for i in range(6) for p in range(20)]  # every lookup leaves the recent
    got = view.locate(strewn)
    assert set(got) == set(strewn)
    assert all(got[digests[p][i]].pack == f"{p:064x}" for i in range(6) for p in range(20))
    assert sorted(passed) == [f"{p:064x}" for p in range(20)]
    assert view._finder.scans <= 20  # one lookup a pack: the first of each
    assert set(released) == {f"{p:064x}" for p in range(20)}  # their pages let go
    many = [d for pack in digests for d in pack[:10]]  # many next to all the records
    passed.clear()
    assert set(view.locate(many)) == set(many) and len(passed) == 20


def test_the_digest_filters_hold_every_member_and_few_others() -> None:
    import hashlib

    from gitartifacts.core.packfinder import _Union
    from gitartifacts.core.packformat import Filter

    view, digests = _view_of(10, 1000)
    one = Filter(1000)
    one.add(view.indexes[3])
    union = _Union(view.indexes)
    members = [bytes.fromhex(d[7:]) for d in digests[3]]
    assert all(one.may_hold(raw) and union.may_hold(raw) for raw in members)
    others = [hashlib.sha256(f"other {i}".encode()).digest() for i in range(20_000)]
    assert sum(map(one.may_hold, others)) < 0.03 * len(others)  # 10 bits a digest: ~1.2%
    assert sum(map(union.may_hold, others)) < 0.01 * len(others)
    assert union.count == 10_000


def test_a_pull_records_only_loose_objects_as_on_the_remote_and_a_push_then_sends_only_new(
    origin: Path, tmp_path: Path
) -> None:
    import sqlite3

    url, _, bob = _pulled(origin, tmp_path)
    with sqlite3.connect(bob.root / ".git/artifacts/state.db") as db:
        recorded = {d for (d,) in db.execute("SELECT digest FROM on_remote")}
    files = _files()
    assert recorded == {sha(files["data/ds/big1.bin"]), sha(files["data/ds/big2.bin"])}
    before = set(_keys(RemoteStore(url)))
    bob.write({"data/ds/small/new.txt": "one more\n"})
    bob.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    bob.commit("ds v1", ".")
    # The 60 pulled small objects are found in the remote's pack index, not sent again.
    assert "1 object uploaded, 62 already there" in bob.ga("push").stdout
    new = set(_keys(RemoteStore(url))) - before
    assert {k.split("/")[0] for k in new} == {"sha256"}  # the new object, and a listing
