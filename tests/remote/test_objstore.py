"""The obstore client of S3 remotes against moto and SeaweedFS on loopback: where it applies,
conditional creates, ranges, paged listings, batched transfers, credentials and stalls."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from servers import SEAWEED_KEY, SEAWEED_SECRET, Bucket

from gitartifacts.core.objects import ObjectStore
from gitartifacts.errors import CacheError
from gitartifacts.remote import objstore
from gitartifacts.remote.objstore import ObjectClient
from gitartifacts.remote.store import RemoteStore

pytest_plugins = ["servers"]


def client_for(bucket: Bucket, limit: float = 30.0, **options: str) -> ObjectClient:
    client = ObjectClient.create("s3", f"{bucket.name}/cache", {**bucket.options, **options}, limit)
    assert client is not None
    return client


@pytest.fixture
def client(s3_bucket: Bucket) -> ObjectClient:
    return client_for(s3_bucket)


@pytest.mark.parametrize(
    ("protocol", "root", "options", "env", "applies"),
    [
        ("s3", "bucket/cache", {"endpoint_url": "http://127.0.0.1:9"}, {}, True),
        ("s3", "bucket", {}, {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}, True),
        ("s3", "bucket/a/b", {"region": "eu-west-1"}, {}, True),
        ("s3", "bucket", {}, {"AWS_REGION": "eu-west-1"}, True),
        ("s3", "bucket", {}, {}, False),  # AWS with no region: s3fs finds the bucket's
        ("s3", "Bucket_Name", {"endpoint_url": "http://127.0.0.1:9"}, {}, False),
        ("gs", "bucket", {"endpoint_url": "http://127.0.0.1:9"}, {}, False),
        ("https", "https://example.invalid/cache", {}, {}, False),
    ],
)
def test_the_client_serves_s3_with_an_endpoint_or_a_region_and_fsspec_the_rest(
    protocol: str,
    root: str,
    options: dict[str, str],
    env: dict[str, str],
    applies: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = ObjectClient.create(protocol, root, options, 30.0)
    assert (client is not None) == applies
    if client is not None:
        assert client.store.prefix == (root.partition("/")[2] or None)


def test_a_conditional_create_keeps_the_first_writer(client: ObjectClient) -> None:
    assert client.put("k", b"first") is True
    assert client.put("k", b"second") is False
    assert client.get("k") == b"first"
    assert client.put("k", b"third", create=False) is True
    assert client.get("k") == b"third"


@pytest.mark.slow
def test_racing_creates_leave_exactly_one_winner(client: ObjectClient) -> None:
    won: list[bytes] = []
    start = threading.Barrier(8)

    def put(data: bytes) -> None:
        start.wait()
        if client.put("raced", data):
            won.append(data)

    threads = [threading.Thread(target=put, args=(b"writer %d" % i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert client.get("raced") == won[0]


def test_a_large_file_goes_in_parts_and_never_replaces_one_there(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    beats: list[int] = []
    client = ObjectClient.create(
        "s3", f"{s3_bucket.name}/cache", s3_bucket.options, 30.0, lambda: beats.append(1)
    )
    assert client is not None
    big = tmp_path / "big"
    big.write_bytes(os.urandom(objstore.S3_MIN_PART + 1000))
    assert client.put("big", big) is True
    assert len(beats) >= 2  # a beat for each part read
    assert client.put("big", big) is False
    assert client.get("big") == big.read_bytes()
    digest, size = client.download_to("big", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == big.read_bytes()
    assert size == big.stat().st_size and digest.startswith("sha256:")


def test_ranges_read_only_the_bytes_asked_for(client: ObjectClient) -> None:
    data = bytes(range(256)) * 4
    client.put("ranged", data)
    assert client.get_range("ranged", 10, 20) == data[10:20]
    assert client.get_ranges("ranged", [0, 500, 1000], [5, 510, 1024]) == [
        data[0:5],
        data[500:510],
        data[1000:1024],
    ]


def test_a_missing_object_is_not_found_and_a_large_one_over_a_limit_is_refused(
    client: ObjectClient, tmp_path: Path
) -> None:
    assert client.exists("absent") is False
    with pytest.raises(FileNotFoundError):
        client.get("absent")
    with pytest.raises(FileNotFoundError):
        client.download_to("absent", tmp_path / "x")
    client.put("sized", b"x" * 100)
    assert client.exists("sized") is True
    with pytest.raises(OSError, match="larger than 10 bytes"):
        client.get("sized", limit=10)


@pytest.mark.slow
def test_listing_streams_pages_and_delete_removes_in_batches(seaweedfs_bucket: Bucket) -> None:
    client = client_for(seaweedfs_bucket)
    keys = [f"many/{i:05d}" for i in range(2500)]
    sizes: list[int] = []
    client.upload_many(keys, lambda k: k.encode(), _no_large, 32, sizes.append)
    assert sizes == [10] * 2500
    pages = list(client.list("many"))
    assert len(pages) >= 3 and all(len(p) <= objstore.LIST_PAGE for p in pages)
    listed = [o for page in pages for o in page]
    assert sorted(o.key for o in listed) == keys
    assert all(o.size == 10 and 0 < o.mtime <= time.time() + 60 for o in listed)
    assert list(client.list("nothing-here")) == []
    client.delete(keys[:2200])
    assert [o.key for page in client.list("many") for o in page] == keys[2200:]


def test_upload_many_and_download_many_move_small_objects_whole_and_large_ones_aside(
    client: ObjectClient, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    big.write_bytes(os.urandom(objstore.SMALL + 1))
    keys = [f"o/{i}" for i in range(40)] + ["o/big"]
    done: list[int] = []
    client.upload_many(
        keys, lambda k: None if k == "o/big" else k.encode() * 10, lambda k: big, 8, done.append
    )
    assert sorted(done) == sorted([len(k) * 10 for k in keys[:-1]] + [big.stat().st_size])
    small: dict[str, bytes] = {}
    large: list[str] = []
    client.download_many([*keys, "o/absent"], 8, small.__setitem__, large.append)
    assert small == {k: k.encode() * 10 for k in keys[:-1]}
    assert sorted(large) == ["o/absent", "o/big"]  # a missing one goes aside to be named


@pytest.mark.slow
def test_an_aws_profile_supplies_the_credentials(
    seaweedfs_bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[store]\naws_access_key_id = {SEAWEED_KEY}\naws_secret_access_key = {SEAWEED_SECRET}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = client_for(seaweedfs_bucket, profile="store")
    assert client.put("by-profile", b"data") is True
    assert client.get("by-profile") == b"data"

    store = RemoteStore(seaweedfs_bucket.url, {**seaweedfs_bucket.options, "profile": "nobody"})
    with pytest.raises(CacheError) as info:
        store.identity()
    assert "\n" not in str(info.value) and SEAWEED_SECRET not in str(info.value)


@pytest.mark.slow
def test_a_server_that_never_answers_fails_the_step_within_the_limit(
    silent_server: int, tmp_path: Path
) -> None:
    cache = ObjectStore(tmp_path / "cache")
    digests = [cache.add_bytes(b"%d" % i) for i in range(3)]
    endpoint = f"http://127.0.0.1:{silent_server}"
    store = RemoteStore("s3://bucket/p", {"endpoint_url": endpoint}, timeout=2)
    for step in (lambda: store.missing(digests), lambda: store.upload(cache, digests)):
        started = time.monotonic()
        with pytest.raises(CacheError, match="no answer from s3://bucket/p"):
            step()
        assert time.monotonic() - started < 15


def _no_large(key: str) -> Any:
    raise AssertionError(f"{key} is small")
