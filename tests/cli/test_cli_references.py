"""`add --ref` end to end: references to S3, HTTP and file:// sources are recorded by etag,
version or checksum, fetched from their source by get and checkout, and a changed source is an
error naming the entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import GitRepo, make_repo, stderr_error_line
from servers import Bucket, FileServer


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return make_repo(tmp_path / "repo")


@pytest.mark.slow
def test_s3_prefix_reference_is_recorded_and_fetched_by_get(
    repo: GitRepo, s3_bucket: Bucket, tmp_path: Path
) -> None:
    for i in range(3):
        s3_bucket.fs.pipe(f"{s3_bucket.name}/raw/part-{i}.csv", f"row {i}\n".encode())
    repo.ga(
        "remote",
        "add",
        "s3",
        f"{s3_bucket.url}/cache",
        "--endpoint-url",
        s3_bucket.endpoint,
        "--default",
    )
    repo.ga("add", "--ref", f"raw={s3_bucket.url}/raw/", "--name", "raw", "--type", "dataset")
    entries = repo.manifest("raw")["entries"]
    assert sorted(entries) == ["raw/part-0.csv", "raw/part-1.csv", "raw/part-2.csv"]
    assert all(
        e["digest"].startswith("etag:") and e["ref"].startswith("s3://") for e in entries.values()
    )
    repo.commit("raw v0")
    out = tmp_path / "out"
    repo.ga("get", "raw:v0", "-o", str(out))
    assert (out / "raw/part-1.csv").read_text() == "row 1\n"


@pytest.mark.slow
def test_changed_reference_source_is_an_error_naming_the_entry(
    repo: GitRepo, s3_bucket: Bucket, tmp_path: Path
) -> None:
    s3_bucket.fs.pipe(f"{s3_bucket.name}/model.bin", b"weights v1")
    repo.ga(
        "remote",
        "add",
        "s3",
        f"{s3_bucket.url}/cache",
        "--endpoint-url",
        s3_bucket.endpoint,
        "--default",
    )
    repo.ga("add", "--ref", f"{s3_bucket.url}/model.bin", "--name", "m", "--type", "model")
    repo.commit("m v0")
    s3_bucket.fs.pipe(f"{s3_bucket.name}/model.bin", b"weights v2, different")
    line = stderr_error_line(repo.ga("get", "m:v0", "-o", str(tmp_path / "a"), rc=None))
    assert "model.bin" in line
    assert not (tmp_path / "a" / "model.bin").exists()
    repo.ga("get", "m:v0", "-o", str(tmp_path / "b"), "--allow-changed-references")
    assert (tmp_path / "b" / "model.bin").read_bytes() == b"weights v2, different"


@pytest.mark.slow
def test_versioned_bucket_reference_fetches_the_recorded_version(
    repo: GitRepo, s3_versioned_bucket: Bucket, tmp_path: Path
) -> None:
    b = s3_versioned_bucket
    b.fs.pipe(f"{b.name}/labels.json", b'{"v": 1}')
    repo.ga("remote", "add", "s3", f"{b.url}/cache", "--endpoint-url", b.endpoint, "--default")
    repo.ga("add", "--ref", f"{b.url}/labels.json", "--name", "labels", "--type", "dataset")
    assert repo.manifest("labels")["entries"]["labels.json"].get("version_id")
    repo.commit("labels v0")
    b.fs.pipe(f"{b.name}/labels.json", b'{"v": 2}')
    repo.ga("get", "labels:v0", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "labels.json").read_bytes() == b'{"v": 1}'


@pytest.mark.slow
def test_http_reference_checkout_materialises_at_the_artifact_path(
    repo: GitRepo, http_server: FileServer
) -> None:
    (http_server.root / "vocab.txt").write_text("a\nb\n")
    repo.write({"data/text/corpus.txt": "hello"})
    repo.ga(
        "add",
        "data/text",
        "--ref",
        f"{http_server.url}/vocab.txt",
        "--name",
        "text",
        "--type",
        "dataset",
    )
    m = repo.manifest("text")
    assert m["entries"]["vocab.txt"]["digest"].startswith("etag:")
    repo.commit("text v0")
    (repo.root / "data" / "text" / "vocab.txt").unlink(missing_ok=True)
    repo.ga("checkout", "text")
    assert (repo.root / "data" / "text" / "vocab.txt").read_text() == "a\nb\n"
    assert (repo.root / "data" / "text" / "corpus.txt").read_text() == "hello"


@pytest.mark.slow
def test_file_reference_records_sha256(repo: GitRepo, tmp_path: Path) -> None:
    src = tmp_path / "outside" / "table.csv"
    src.parent.mkdir()
    src.write_text("x,y\n")
    repo.ga("add", "--ref", src.as_uri(), "--name", "table", "--type", "dataset")
    e = repo.manifest("table")["entries"]["table.csv"]
    assert e["digest"].startswith("sha256:") and e["size"] == 4


@pytest.mark.slow
def test_max_objects_fails_loudly_instead_of_truncating(repo: GitRepo, s3_bucket: Bucket) -> None:
    for i in range(5):
        s3_bucket.fs.pipe(f"{s3_bucket.name}/many/{i}.txt", b"x")
    repo.ga(
        "remote",
        "add",
        "s3",
        f"{s3_bucket.url}/cache",
        "--endpoint-url",
        s3_bucket.endpoint,
        "--default",
    )
    before = repo.snapshot()
    proc = repo.ga(
        "add",
        "--ref",
        f"{s3_bucket.url}/many/",
        "--max-objects",
        "3",
        "--name",
        "many",
        "--type",
        "dataset",
        rc=None,
    )
    line = stderr_error_line(proc)
    assert "5" in line and "max" in line.lower()
    assert repo.snapshot() == before


def test_reference_without_scheme_is_refused(repo: GitRepo) -> None:
    os.chdir(repo.root)
    import gitartifacts as ga

    art = ga.Artifact("x", type="dataset")
    with pytest.raises(ValueError, match="References must be URIs"):
        art.add_reference("bucket/key")
