"""RemoteStore against real servers on loopback: a directory, moto, SeaweedFS, fake-gcs-server."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servers import SEAWEED_KEY, SEAWEED_SECRET, Bucket, FileServer, free_port

from gitartifacts.core.hashing import hex_of
from gitartifacts.core.objects import ObjectStore
from gitartifacts.errors import CacheError, UsageError
from gitartifacts.remote import packs
from gitartifacts.remote import store as remote
from gitartifacts.remote.store import RemoteStore, choose_strategy

pytest_plugins = ["servers"]  # the loopback server fixtures

BACKENDS = ["local", "moto", "seaweedfs", "gcs"]
BIG = 12 << 20  # above two S3 parts and one GCS chunk: multipart and resumable uploads


@pytest.fixture
def cache(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "cache")


@pytest.fixture
def other_cache(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "other-cache")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RemoteStore:
    """A fresh, empty remote cache on each kind of server."""
    if request.param == "local":
        return RemoteStore(str(tmp_path / "remote"))
    fixture = {
        "moto": "s3_bucket",
        "seaweedfs": "seaweedfs_bucket",
        "gcs": "gcs_bucket",
    }
    bucket: Bucket = request.getfixturevalue(fixture[request.param])
    return RemoteStore(f"{bucket.url}/cache", bucket.options)


@pytest.fixture
def moto_store(s3_bucket: Bucket) -> RemoteStore:
    return RemoteStore(f"{s3_bucket.url}/cache", s3_bucket.options)


def add_objects(cache: ObjectStore, count: int, size: int = 100, tag: str = "") -> list[str]:
    return [cache.add_bytes(f"{tag}{i}:".encode().ljust(size, b".")) for i in range(count)]


def write_raw(store: RemoteStore, digest: str, data: bytes) -> None:
    """Put bytes under an object's name on the remote, bypassing every check."""
    path = store.path(digest)
    if store.protocol == "file":
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(path).write_bytes(data)
    else:
        store.fs.pipe_file(path, data)


def read_raw(store: RemoteStore, digest: str) -> bytes:
    data: bytes = store.fs.cat_file(store.path(digest))
    return data


# ---------------------------------------------------------------- round trips


@pytest.mark.slow
def test_round_trip_moves_every_object_and_verifies_it(
    store: RemoteStore, cache: ObjectStore, other_cache: ObjectStore
) -> None:
    digests = add_objects(cache, 20)
    digests.append(cache.add_bytes(os.urandom(BIG)))
    assert store.missing(digests) == digests

    uploaded: list[tuple[int, int]] = []
    store.upload(cache, digests, progress=lambda f, b: uploaded.append((f, b)))
    assert store.missing(digests) == []
    assert sum(f for f, _ in uploaded) == 21
    assert sum(b for _, b in uploaded) == 20 * 100 + BIG

    downloaded: list[tuple[int, int]] = []
    store.download(other_cache, digests, progress=lambda f, b: downloaded.append((f, b)))
    # Uploads report per pack and per loose object, downloads per object: the same totals.
    assert sum(f for f, _ in downloaded) == 21
    assert sum(b for _, b in downloaded) == 20 * 100 + BIG
    for d in digests:
        assert other_cache.verify_object(d)
        assert other_cache.read(d) == cache.read(d)


@pytest.mark.slow
def test_missing_keeps_order_and_drops_duplicates(
    moto_store: RemoteStore, cache: ObjectStore
) -> None:
    present = add_objects(cache, 3, tag="p")
    absent = add_objects(cache, 3, tag="a")
    moto_store.upload(cache, present)
    query = [absent[2], present[0], absent[0], absent[2], present[1], absent[1]]
    assert moto_store.missing(query) == [absent[2], absent[0], absent[1]]


@pytest.mark.slow
def test_small_objects_go_as_one_pack_reported_once(
    moto_store: RemoteStore, cache: ObjectStore
) -> None:
    data = add_objects(cache, 40, size=100, tag="data")
    listings = add_objects(cache, 5, size=300, tag="listing")
    sizes: list[tuple[int, int]] = []
    moto_store.upload(cache, data, jobs=8, progress=lambda f, b: sizes.append((f, b)))
    moto_store.upload(cache, listings, jobs=8, progress=lambda f, b: sizes.append((f, b)))
    # The 40 data objects go as one pack, reported once; the 5 listings, too few, one by one.
    assert sizes == [(40, 4000)] + [(1, 300)] * 5
    assert moto_store.missing(data + listings) == []


@pytest.mark.slow
def test_read_and_write_bytes_round_trip_and_verify(store: RemoteStore) -> None:
    data = b"gitartifacts-listing 1\nsome/path\tsha256:00\n"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    store.write_bytes(digest, data)
    store.write_bytes(digest, data)  # present already: still fine
    assert store.read_bytes(digest) == data
    with pytest.raises(ValueError, match="do not hash"):
        store.write_bytes(digest, data + b"x")


@pytest.mark.slow
def test_download_skips_objects_already_in_the_cache(
    moto_store: RemoteStore, cache: ObjectStore
) -> None:
    digests = add_objects(cache, 5)
    moto_store.upload(cache, digests)
    sent = record_requests(moto_store)
    moto_store.download(cache, digests)
    assert sent == []


# ---------------------------------------------------------------- batched existence checks

PRESENT, QUERIED = 400, 3000


@pytest.fixture(scope="module")
def populated(
    seaweedfs_s3: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RemoteStore, list[str], list[str]]:
    """A SeaweedFS remote holding PRESENT objects, and QUERIED digests of which those are part."""
    cache = ObjectStore(tmp_path_factory.mktemp("populated"))
    present = add_objects(cache, PRESENT, size=20, tag="p")
    absent = add_objects(cache, QUERIED - PRESENT, size=20, tag="a")
    with pytest.MonkeyPatch.context() as mp:
        # The store's client keeps the credentials it was created with.
        mp.setenv("AWS_ACCESS_KEY_ID", SEAWEED_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", SEAWEED_SECRET)
        bucket = _seaweed_bucket(seaweedfs_s3)
        store = RemoteStore(f"{bucket.url}/cache", bucket.options)
        mp.setattr(packs, "PACK_MIN", len(present) + 1)  # loose objects: what is listed here
        store.upload(cache, present, jobs=32)
    return store, present, absent


def _seaweed_bucket(endpoint: str) -> Bucket:
    import s3fs

    name = f"t-{os.urandom(6).hex()}"
    fs = s3fs.S3FileSystem(
        endpoint_url=endpoint, key=SEAWEED_KEY, secret=SEAWEED_SECRET, skip_instance_cache=True
    )
    fs.mkdir(name)
    return Bucket(url=f"s3://{name}", name=name, endpoint=endpoint, fs=fs)


@pytest.mark.slow
def test_missing_of_thousands_lists_the_remote_instead_of_one_request_each(
    populated: tuple[RemoteStore, list[str], list[str]],
) -> None:
    store, present, absent = populated
    sent = record_requests(store)
    assert store.missing(present + absent) == absent
    assert 0 < len(sent) <= 5
    assert all(line.startswith("LIST ") for line in sent)


@pytest.mark.slow
def test_missing_on_a_large_remote_lists_the_prefixes_in_parallel(
    populated: tuple[RemoteStore, list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, present, absent = populated
    monkeypatch.setattr(remote, "PAGE", 2)  # make the remote look huge
    sent = record_requests(store)
    assert sorted(store.missing(absent + present)) == sorted(absent)
    packs_listed = [line for line in sent if line.startswith("LIST packs/")]
    assert len(packs_listed) == 1  # the pack indexes are asked first: there are none
    sent = [line for line in sent if line not in packs_listed]
    prefixes = {hex_of(d)[:2] for d in present + absent}
    listed = {line.removeprefix("LIST sha256/")[:2] for line in sent}
    assert len(sent) == len(prefixes)
    assert listed == prefixes


def test_missing_of_a_few_objects_checks_each_one(
    moto_store: RemoteStore, cache: ObjectStore
) -> None:
    digests = add_objects(cache, 4)
    moto_store.upload(cache, digests[:2])
    sent = record_requests(moto_store)
    assert moto_store.missing(digests) == digests[2:]
    assert sent == ["LIST packs/"] + ["HEAD"] * 4  # the pack indexes first: there are none


def record_requests(store: RemoteStore) -> list[str]:
    """Every request the store's S3 client makes from now on: "HEAD", "GET", "PUT",
    "DELETE", or "LIST <prefix>" for each page of a listing (an empty one is one page)."""
    client = store._client
    assert client is not None
    sent: list[str] = []

    def spy(verb: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            sent.append(verb)
            return method(*args, **kwargs)

        return call

    def pages(prefix: str = "", listing: Callable[..., Any] = client.list) -> Any:
        sent.append(f"LIST {prefix}")
        for i, page in enumerate(listing(prefix)):
            if i:
                sent.append(f"LIST {prefix}")
            yield page

    for name, verb in (("exists", "HEAD"), ("get", "GET"), ("put", "PUT"), ("delete", "DELETE")):
        setattr(client, name, spy(verb, getattr(client, name)))
    client.list = pages  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize(
    ("wanted", "prefixes", "remote_size", "expected"),
    [
        (20, 20, 10_000_000, "each"),  # a handful on a huge remote: one check each
        (3000, 256, 3000, "tree"),  # a small remote: one listing of everything
        (100_000, 256, 10_000_000, "prefixes"),  # both large: list every 2-hex folder
        (50, 40, 0, "tree"),  # an empty remote costs one request
    ],
)
def test_choose_strategy_follows_the_cheapest_plan(
    wanted: int, prefixes: int, remote_size: int, expected: str
) -> None:
    assert choose_strategy(wanted, prefixes, remote_size, jobs=16) == expected


# ---------------------------------------------------------------- integrity


@pytest.mark.slow
def test_corrupt_remote_object_is_refused_and_never_cached(
    store: RemoteStore, cache: ObjectStore, other_cache: ObjectStore
) -> None:
    good = add_objects(cache, 3)
    store.upload(cache, good)
    bad = cache.add_bytes(b"the real content")
    write_raw(store, bad, b"garbage under a valid name")

    with pytest.raises(CacheError) as info:
        store.download(other_cache, [*good, bad], jobs=1)
    assert bad in str(info.value)
    assert "corrupt" in str(info.value)
    assert not other_cache.has(bad)
    assert list((other_cache.root / "tmp").iterdir()) == []
    with pytest.raises(CacheError, match=bad):
        store.read_bytes(bad)


@pytest.mark.slow
def test_object_missing_on_the_remote_is_named_with_a_fix(
    store: RemoteStore, cache: ObjectStore, other_cache: ObjectStore
) -> None:
    (digest,) = add_objects(cache, 1)
    with pytest.raises(CacheError) as info:
        store.download(other_cache, [digest])
    assert digest in str(info.value)
    assert info.value.fix is not None and "push --check-remote" in info.value.fix


@pytest.mark.slow
def test_pushing_an_object_absent_from_the_local_cache_names_it(
    store: RemoteStore, cache: ObjectStore
) -> None:
    absent = "sha256:" + "ab" * 32
    with pytest.raises(CacheError, match=absent):
        store.upload(cache, [absent])


@pytest.mark.parametrize("size", [100, BIG], ids=["one-request", "multipart"])
@pytest.mark.slow
def test_upload_never_overwrites_an_object_already_on_the_remote(
    store: RemoteStore, cache: ObjectStore, size: int
) -> None:
    (digest,) = add_objects(cache, 1, size=size)
    write_raw(store, digest, b"first writer")
    store.upload(cache, [digest])  # the conditional create loses: that is success
    assert read_raw(store, digest) == b"first writer"


@pytest.mark.slow
def test_concurrent_uploads_of_the_same_objects_both_succeed(
    store: RemoteStore, cache: ObjectStore, other_cache: ObjectStore
) -> None:
    digests = add_objects(cache, 8, size=2000)
    twin = RemoteStore(store.url, store.options)
    errors: list[BaseException] = []

    def push(s: RemoteStore) -> Callable[[], None]:
        def run() -> None:
            try:
                s.upload(cache, digests, jobs=8)
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=push(s)) for s in (store, twin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store.download(other_cache, digests)
    assert all(other_cache.verify_object(d) for d in digests)


@pytest.mark.slow
def test_killed_download_leaves_no_partial_object_and_a_rerun_completes(
    http_server: FileServer, cache: ObjectStore, tmp_path: Path
) -> None:
    # The remote is served over throttled HTTP, so the kill lands mid-transfer.
    source = ObjectStore(tmp_path / "source")
    digest = source.add_bytes(os.urandom(4 << 20))
    RemoteStore(str(http_server.root / "cache")).upload(source, [digest])
    url = f"{http_server.url}/cache"
    http_server.rate = 2 << 20
    script = (
        "import sys\nfrom pathlib import Path\nfrom gitartifacts.core.objects import ObjectStore\n"
        "from gitartifacts.remote.store import RemoteStore\n"
        "RemoteStore(sys.argv[1]).download(ObjectStore(Path(sys.argv[2])), [sys.argv[3]])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, url, str(cache.root), digest])
    try:
        partial = _wait_for_partial(cache.root / "tmp", child)
    finally:
        child.kill()
        child.wait()
    assert 0 < partial < 4 << 20
    assert not cache.path(digest).exists()

    http_server.rate = None
    RemoteStore(url).download(cache, [digest])
    assert cache.verify_object(digest)


def _wait_for_partial(tmpdir: Path, child: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and child.poll() is None:
        sizes = [p.stat().st_size for p in tmpdir.glob("*")] if tmpdir.exists() else []
        if sizes and max(sizes) > 256 << 10:
            return max(sizes)
        time.sleep(0.02)
    raise AssertionError("the download never got under way")


# ---------------------------------------------------------------- errors


@pytest.mark.slow
def test_wrong_credentials_give_one_line_naming_the_remote_and_no_secret(
    seaweedfs_bucket: Bucket, cache: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = add_objects(cache, 2)
    store = RemoteStore(f"{seaweedfs_bucket.url}/cache", seaweedfs_bucket.options)
    wrong = "wrong-secret-Zq81xK"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    for attempt in (
        lambda: store.missing(digests),
        lambda: store.upload(cache, digests),
        lambda: store.download(ObjectStore(cache.root.parent / "c2"), digests),
    ):
        with pytest.raises(CacheError) as info:
            attempt()
        text = str(info.value)
        assert seaweedfs_bucket.url in text and "credentials" in text
        assert wrong not in text and SEAWEED_SECRET not in text and SEAWEED_KEY not in text
        assert "\n" not in text


@pytest.mark.parametrize("scheme", ["s3", "gs"])
@pytest.mark.slow
def test_unreachable_endpoint_fails_within_seconds(
    scheme: str, cache: ObjectStore, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("moto_s3" if scheme == "s3" else "fake_gcs")  # skips without it
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = RemoteStore(f"{scheme}://bucket/cache", {"endpoint_url": endpoint})
    started = time.monotonic()
    with pytest.raises(CacheError, match=rf"cannot reach {scheme}://bucket/cache"):
        store.missing(add_objects(cache, 1))
    assert time.monotonic() - started < 10


def test_http_remote_is_read_only(cache: ObjectStore) -> None:
    with pytest.raises(UsageError, match="read-only"):
        RemoteStore("https://example.invalid/cache").upload(cache, add_objects(cache, 1))


def test_memory_remote_round_trip(cache: ObjectStore, other_cache: ObjectStore) -> None:
    store = RemoteStore(f"memory://gitartifacts-test-{os.getpid()}-{id(cache)}")
    digests = add_objects(cache, 30)
    store.upload(cache, digests)
    assert store.missing(digests) == []
    store.download(other_cache, digests)
    assert all(other_cache.verify_object(d) for d in digests)
