"""References to s3://, gs://, http(s):// and file:// objects, against real loopback servers."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import pytest
from servers import Bucket, FileServer, free_port

from gitartifacts.core.manifest import Entry
from gitartifacts.errors import ConflictError, GitArtifactsError, NotFoundError, UsageError
from gitartifacts.remote.references import fetch, resolve

pytest_plugins = ["servers"]  # the loopback server fixtures


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put(bucket: Bucket, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        bucket.fs.pipe_file(f"{bucket.name}/{key}", data)


# ---------------------------------------------------------------- S3


def test_s3_object_records_its_etag_size_and_location(s3_bucket: Bucket) -> None:
    data = b"x,y\n1,2\n"
    put(s3_bucket, {"raw/a.csv": data})
    uri = f"{s3_bucket.url}/raw/a.csv"
    entries = resolve(uri, options=s3_bucket.options)
    assert entries == {"a.csv": Entry(f'etag:"{md5(data)}"', size=8, ref=uri, version_id=None)}
    assert resolve(uri, name="tables/first.csv", options=s3_bucket.options).keys() == {
        "tables/first.csv"
    }


def test_s3_prefix_expands_relative_to_itself_and_skips_folder_markers(
    s3_bucket: Bucket,
) -> None:
    put(
        s3_bucket,
        {
            "data/x/": b"",  # a folder marker
            "data/x/1.txt": b"one",
            "data/x/sub/2.txt": b"two",
            "data/x/empty.txt": b"",
            "data/x2/not-under-the-prefix": b"other",
        },
    )
    entries = resolve(f"{s3_bucket.url}/data/x", name="raw", options=s3_bucket.options)
    assert sorted(entries) == ["raw/1.txt", "raw/empty.txt", "raw/sub/2.txt"]
    assert entries["raw/sub/2.txt"].ref == f"{s3_bucket.url}/data/x/sub/2.txt"
    assert entries["raw/sub/2.txt"].digest == f'etag:"{md5(b"two")}"'
    assert entries["raw/empty.txt"].size == 0


@pytest.mark.slow
def test_s3_versioned_object_records_its_version_and_fetch_gets_exactly_it(
    s3_versioned_bucket: Bucket, tmp_path: Path
) -> None:
    bucket = s3_versioned_bucket
    put(bucket, {"model.bin": b"version one"})
    (entry,) = resolve(f"{bucket.url}/model.bin", options=bucket.options).values()
    assert entry.version_id
    put(bucket, {"model.bin": b"version two, longer"})

    dest = tmp_path / "model.bin"
    fetch("model.bin", entry, str(dest), options=bucket.options)
    assert dest.read_bytes() == b"version one"


def test_s3_prefix_in_a_versioned_bucket_records_the_latest_versions(
    s3_versioned_bucket: Bucket,
) -> None:
    bucket = s3_versioned_bucket
    put(bucket, {"d/a": b"old"})
    put(bucket, {"d/a": b"new", "d/b": b"bee"})
    entries = resolve(f"{bucket.url}/d", options=bucket.options)
    assert sorted(entries) == ["a", "b"]
    assert entries["a"].digest == f'etag:"{md5(b"new")}"'
    for key, entry in entries.items():
        assert entry.version_id == bucket.fs.info(f"{bucket.name}/d/{key}")["VersionId"]


def test_s3_object_changed_without_versions_is_a_conflict_unless_allowed(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    put(s3_bucket, {"a.txt": b"first"})
    (entry,) = resolve(f"{s3_bucket.url}/a.txt", options=s3_bucket.options).values()
    put(s3_bucket, {"a.txt": b"second"})
    dest = tmp_path / "out" / "a.txt"

    with pytest.raises(ConflictError, match=re.escape("data/a.txt")):
        fetch("data/a.txt", entry, str(dest), options=s3_bucket.options)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []

    fetch("data/a.txt", entry, str(dest), allow_changed=True, options=s3_bucket.options)
    assert dest.read_bytes() == b"second"


def test_more_objects_than_max_objects_is_an_error_never_a_truncation(
    s3_bucket: Bucket,
) -> None:
    put(s3_bucket, {f"many/{i}": b"x" for i in range(5)})
    with pytest.raises(UsageError) as info:
        resolve(f"{s3_bucket.url}/many", max_objects=4, options=s3_bucket.options)
    assert "5 objects" in str(info.value) and "max_objects=5" in str(info.value)
    assert len(resolve(f"{s3_bucket.url}/many", max_objects=5, options=s3_bucket.options)) == 5


def test_checksum_off_records_the_uri_without_looking(s3_bucket: Bucket) -> None:
    uri = f"{s3_bucket.url}/never/written.bin"
    assert resolve(uri, checksum=False, options=s3_bucket.options) == {
        "written.bin": Entry(digest=f"uri:{uri}", size=0, ref=uri)
    }


def test_checksum_off_names_a_bare_bucket_after_itself(s3_bucket: Bucket) -> None:
    assert list(resolve(s3_bucket.url, checksum=False)) == [s3_bucket.name]


def test_missing_s3_reference_is_not_found(s3_bucket: Bucket) -> None:
    with pytest.raises(NotFoundError, match="nothing/here"):
        resolve(f"{s3_bucket.url}/nothing/here", options=s3_bucket.options)


@pytest.mark.slow
def test_s3_key_that_would_escape_the_folder_is_refused(s3_bucket: Bucket) -> None:
    put(s3_bucket, {"p/../../etc/evil": b"x"})
    with pytest.raises(UsageError, match="invalid entry path"):
        resolve(f"{s3_bucket.url}/p", options=s3_bucket.options)


def test_fetch_of_a_deleted_s3_object_names_the_entry(s3_bucket: Bucket, tmp_path: Path) -> None:
    put(s3_bucket, {"gone": b"soon"})
    (entry,) = resolve(f"{s3_bucket.url}/gone", options=s3_bucket.options).values()
    s3_bucket.fs.rm(f"{s3_bucket.name}/gone")
    with pytest.raises(NotFoundError, match="inputs/gone"):
        fetch("inputs/gone", entry, str(tmp_path / "gone"), options=s3_bucket.options)


# ---------------------------------------------------------------- GCS


def test_gs_object_records_its_md5_and_generation(gcs_bucket: Bucket) -> None:
    data = b"some weights"
    put(gcs_bucket, {"w/model.pt": data})
    (entry,) = resolve(f"{gcs_bucket.url}/w/model.pt", options=gcs_bucket.options).values()
    info = gcs_bucket.fs.info(f"{gcs_bucket.name}/w/model.pt")
    assert entry.digest == f"md5:{md5(data)}"
    assert base64.b64decode(info["md5Hash"]).hex() == md5(data)
    assert entry.version_id == str(info["generation"])
    assert entry.size == len(data) and entry.ref == f"{gcs_bucket.url}/w/model.pt"


def test_gs_prefix_expands_and_a_changed_object_is_a_conflict(
    gcs_bucket: Bucket, tmp_path: Path
) -> None:
    put(gcs_bucket, {"ds/a": b"aa", "ds/sub/b": b"bb", "ds-other/c": b"cc"})
    entries = resolve(f"{gcs_bucket.url}/ds", name="data", options=gcs_bucket.options)
    assert sorted(entries) == ["data/a", "data/sub/b"]

    fetch("data/a", entries["data/a"], str(tmp_path / "a"), options=gcs_bucket.options)
    assert (tmp_path / "a").read_bytes() == b"aa"
    put(gcs_bucket, {"ds/a": b"changed"})
    with pytest.raises(ConflictError, match="data/a"):
        fetch("data/a", entries["data/a"], str(tmp_path / "a2"), options=gcs_bucket.options)


def test_gs_versioned_object_fetches_its_recorded_generation(
    gcs_versioned_bucket: Bucket, tmp_path: Path
) -> None:
    bucket = gcs_versioned_bucket
    put(bucket, {"x": b"generation one"})
    (entry,) = resolve(f"{bucket.url}/x", options=bucket.options).values()
    put(bucket, {"x": b"generation two"})
    fetch("x", entry, str(tmp_path / "x"), options=bucket.options)
    assert (tmp_path / "x").read_bytes() == b"generation one"


# ---------------------------------------------------------------- HTTP


def test_http_reference_records_etag_and_length_and_fetches(
    http_server: FileServer, tmp_path: Path
) -> None:
    (http_server.root / "labels.json").write_bytes(b'{"a": 1}')
    uri = f"{http_server.url}/labels.json"
    entries = resolve(uri)
    data = b'{"a": 1}'
    assert entries == {"labels.json": Entry(f'etag:"{md5(data)}"', 8, ref=uri)}
    fetch("labels.json", entries["labels.json"], str(tmp_path / "labels.json"))
    assert (tmp_path / "labels.json").read_bytes() == b'{"a": 1}'


def test_http_changed_source_is_detected_and_the_old_file_kept(
    http_server: FileServer, tmp_path: Path
) -> None:
    (http_server.root / "f.txt").write_bytes(b"one")
    (entry,) = resolve(f"{http_server.url}/f.txt").values()
    (http_server.root / "f.txt").write_bytes(b"two")
    dest = tmp_path / "f.txt"
    dest.write_bytes(b"what was here before")

    with pytest.raises(ConflictError, match=re.escape("docs/f.txt")):
        fetch("docs/f.txt", entry, str(dest))
    assert dest.read_bytes() == b"what was here before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_http_server_answers_range_requests(http_server: FileServer) -> None:
    import fsspec

    (http_server.root / "blob").write_bytes(bytes(range(256)) * 40)
    fs = fsspec.filesystem("http", skip_instance_cache=True)
    assert fs.cat_file(f"{http_server.url}/blob", start=1000, end=1010) == bytes(range(232, 242))


def test_http_without_etag_records_the_uri_and_the_length(http_server: FileServer) -> None:
    http_server.etags = False
    (http_server.root / "plain.bin").write_bytes(b"12345")
    uri = f"{http_server.url}/plain.bin"
    assert resolve(uri) == {"plain.bin": Entry(f"uri:{uri}", 5, ref=uri)}


def test_http_missing_and_unreachable_sources_are_one_line_errors(
    http_server: FileServer,
) -> None:
    with pytest.raises(NotFoundError, match=re.escape("nope.bin")):
        resolve(f"{http_server.url}/nope.bin")
    down = f"http://127.0.0.1:{free_port()}/x.bin"
    with pytest.raises(GitArtifactsError, match="cannot reach"):
        resolve(down)


# ---------------------------------------------------------------- file://


def test_file_folder_expands_with_sha256_and_skips_linked_folders(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub" / "b.txt").write_bytes(b"beta")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret").write_bytes(b"not part of it")
    os.symlink(elsewhere, root / "link")

    entries = resolve(root.as_uri(), name="d")
    assert sorted(entries) == ["d/a.txt", "d/sub/b.txt"]
    assert entries["d/a.txt"] == Entry(sha256(b"alpha"), 5, ref=(root / "a.txt").as_uri())


def test_file_changed_after_resolve_is_a_conflict(tmp_path: Path) -> None:
    src = tmp_path / "my file.csv"
    src.write_bytes(b"1,2,3")
    entries = resolve(src.as_uri())
    assert list(entries) == ["my file.csv"]
    src.write_bytes(b"4,5,6")
    with pytest.raises(ConflictError, match=re.escape("t/my file.csv")):
        fetch("t/my file.csv", entries["my file.csv"], str(tmp_path / "copy.csv"))
    assert not (tmp_path / "copy.csv").exists()


def test_file_checksum_off_records_uris_and_fetch_still_works(tmp_path: Path) -> None:
    src = tmp_path / "x.bin"
    src.write_bytes(b"abc")
    (entry,) = resolve(src.as_uri(), checksum=False).values()
    assert entry.digest == f"uri:{src.as_uri()}"
    src.write_bytes(b"abcd")  # nothing was recorded that could tell
    fetch("x.bin", entry, str(tmp_path / "y.bin"))
    assert (tmp_path / "y.bin").read_bytes() == b"abcd"


def test_file_folder_over_max_objects_is_refused(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text(str(i))
    with pytest.raises(UsageError, match="3 objects"):
        resolve(tmp_path.as_uri(), max_objects=2)


# ---------------------------------------------------------------- URIs


def test_reference_without_a_scheme_asks_for_a_uri() -> None:
    with pytest.raises(UsageError) as info:
        resolve("data/raw.csv")
    assert info.value.message == "References must be URIs. To reference a local file, use file://"
    assert info.value.fix is not None and info.value.fix.startswith("write file:///")


@pytest.mark.parametrize("uri", ["ftp://host/x", "wandb-artifact://abc/x"])
def test_unsupported_scheme_is_refused(uri: str) -> None:
    with pytest.raises(UsageError, match="unsupported scheme"):
        resolve(uri)


def test_options_that_hold_credentials_are_refused() -> None:
    with pytest.raises(UsageError, match="secret"):
        resolve("s3://bucket/key", options={"secret": "s3cr3t"})
