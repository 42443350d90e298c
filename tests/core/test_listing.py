"""Large artifacts: entries move into content-addressed listing objects (per-folder trees)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    Template,
    age_files,
    cache_objects,
    copy_repo,
    expected_digest,
    file_digests,
    make_repo,
    sha,
)

from gitartifacts.core import listing
from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core.foldertree import read_entries
from gitartifacts.errors import GitArtifactsError

FOLDERS, PER_FOLDER = 30, 50  # 1,500 files


def many_files() -> dict[str, str]:
    return {
        f"data/many/d{d:02d}/f{f:03d}.txt": f"folder {d} file {f}\n"
        for d in range(FOLDERS)
        for f in range(PER_FOLDER)
    }


def entries_of(n: int, folders: int) -> dict[str, mf.Entry]:
    return {
        f"top/d{i % folders:03d}/f{i:07d}.bin": mf.Entry(sha(str(i).encode()), i) for i in range(n)
    }


# ---------------------------------------------------------------- pure


@pytest.mark.slow
def test_manifest_of_a_million_entries_is_under_2_kb() -> None:
    entry = mf.Entry(sha(b"same bytes"), 10)
    entries = dict.fromkeys((f"d{i % 1000:03d}/f{i:07d}.bin" for i in range(1_000_000)), entry)
    m, objects = listing.with_listing(mf.build("huge", "dataset", entries))
    text = mf.dumps(m)
    assert len(text.encode()) < 2048, len(text)
    assert "\nlisting: sha256:" in text and "entries:" not in text
    assert m.files == 1_000_000 and m.size == 10_000_000
    assert len(objects) == 1001  # one per folder plus the root
    back = mparse.loads(text)
    assert back.entries is None and back.listing == m.listing and back.files == 1_000_000


def test_small_artifacts_keep_their_entries_inline() -> None:
    m = mf.build("small", "dataset", entries_of(500, 5))
    same, objects = listing.with_listing(m)
    assert objects == {} and same.listing is None
    assert "entries:" in mf.dumps(same)


def test_a_listing_round_trips_to_the_same_entries_and_digest() -> None:
    entries = entries_of(2500, 25)
    entries["top/ref.csv"] = mf.Entry('etag:"abc"', 7, "s3://bucket/raw/a.csv", "3HL4kq")
    entries["ünïcode/é.txt"] = mf.Entry(sha(b"e"), 1)
    m, objects = listing.with_listing(mf.build("big", "dataset", entries))
    assert m.listing is not None
    assert m.listing.removeprefix("sha256:") in objects
    for hex_, data in objects.items():
        assert hashlib.sha256(data).hexdigest() == hex_
    back = mparse.loads(mf.dumps(m))
    assert back.listing == m.listing and back.entries is None
    read = read_entries(back.listing or "", objects.__getitem__)
    assert read == entries
    assert (
        mf.entries_digest(read)
        == back.digest
        == expected_digest({p: e.digest for p, e in entries.items()})
    )


def test_the_subfolders_a_fetch_follows_are_those_a_full_parse_names() -> None:
    entries = entries_of(2500, 25)
    entries["top/ref.csv"] = mf.Entry('etag:"abc"', 7, "s3://bucket/raw/a.csv", "3HL4kq")
    entries["t\u2028x/f.txt"] = mf.Entry(sha(b"e"), 1)  # a line separator in a name
    entries["t/t.txt"] = mf.Entry(sha(b"t"), 1)  # a folder and a file named like the kind
    _, objects = listing.with_listing(mf.build("big", "dataset", entries))
    assert sum(len(listing.listing_children(d)) for d in objects.values()) >= 27
    for hex_, data in objects.items():
        assert listing.subfolder_listings(data) == listing.listing_children(data, hex_)
    assert listing.subfolder_listings(b"not a listing\nt\tx\t" + b"a" * 64 + b"\t1\t1\n") == []


def test_one_file_change_rewrites_only_the_listing_objects_on_its_path() -> None:
    entries = entries_of(1500, 30)
    _, before = listing.with_listing(mf.build("big", "dataset", entries))
    entries["top/d007/f0000007.bin"] = mf.Entry(sha(b"changed"), 7)
    _, after = listing.with_listing(mf.build("big", "dataset", entries))
    new = set(after) - set(before)
    assert 1 <= len(new) <= 3, f"{len(new)} new listing objects for one changed file"


def test_a_listing_naming_an_escaping_path_is_rejected() -> None:
    header = b"gitartifacts-listing 1\n"
    evil = header + f"f\t..\t{sha(b'x')}\t1\n".encode()
    hex_ = hashlib.sha256(evil).hexdigest()
    with pytest.raises(GitArtifactsError):
        read_entries("sha256:" + hex_, {hex_: evil}.__getitem__)


# ---------------------------------------------------------------- end to end


def _build_many(root: Path) -> GitRepo:
    repo = make_repo(root)
    repo.write(many_files(), age=False)
    age_files(repo.root / "data")
    repo.ga("add", "data/many", "--name", "many", "--type", "dataset")
    repo.commit("many v0")
    repo.ga("status")
    return repo


@pytest.fixture
def many(tmp_path: Path, template: Template) -> GitRepo:
    return copy_repo(template("many", _build_many), tmp_path / "repo")


def workspace(repo: GitRepo) -> dict[str, str]:
    return file_digests(repo.root / "data/many")


def v0_entries() -> dict[str, str]:
    return {p.removeprefix("data/many/"): sha(c.encode()) for p, c in many_files().items()}


@pytest.mark.slow
def test_large_artifact_keeps_a_listing_and_a_one_file_change_adds_few_objects(
    many: GitRepo,
) -> None:
    text = many.manifest_text("many")
    assert len(text.encode()) < 2048
    doc = many.manifest("many")
    assert "entries" not in doc and doc["listing"].startswith("sha256:")
    assert doc["files"] == FOLDERS * PER_FOLDER
    assert doc["digest"] == expected_digest(v0_entries())
    assert doc["listing"].removeprefix("sha256:") in cache_objects(many.cache)
    shown = many.ga_json("show", "many:v0")
    assert {p: e["digest"] for p, e in shown["entries"].items()} == v0_entries()
    assert many.ga_json("status", "--check")[0]["clean"] is True

    before = set(cache_objects(many.cache))
    many.write({"data/many/d12/f030.txt": "changed\n"})
    (row,) = many.ga_json("status", "--check", rc=1)
    assert (row["modified"], row["added"], row["deleted"]) == (["d12/f030.txt"], [], [])
    assert "v1" in many.ga("add", "--name", "many").stdout
    new = set(cache_objects(many.cache)) - before
    assert hashlib.sha256(b"changed\n").hexdigest() in new
    assert 2 <= len(new) <= 5, f"{len(new)} new objects for one changed file"
    assert many.manifest("many")["listing"].removeprefix("sha256:") in new


@pytest.mark.slow
def test_checkout_get_verify_and_status_work_for_a_large_artifact(
    many: GitRepo, tmp_path: Path
) -> None:
    # Without its listing object the artifact's entries are unknown: status must not say clean.
    listing = many.manifest("many")["listing"].removeprefix("sha256:")
    obj = many.cache / "sha256" / listing[:2] / listing[2:]
    data = obj.read_bytes()
    obj.chmod(0o644)
    obj.unlink()
    (row,) = many.ga_json("status", "--check", rc=1)
    assert row["clean"] is False
    obj.write_bytes(data)
    assert many.ga_json("status", "--check")[0]["clean"] is True

    many.write({"data/many/d00/f000.txt": "v1\n"})
    many.ga("add", "--name", "many")
    many.commit("v1")
    shutil.rmtree(many.root / "data/many/d29")
    many.ga("checkout", "many:v0", "--force")
    assert workspace(many) == v0_entries()
    assert many.ga_json("verify", "many:v0")["ok"] is True
    res = many.ga_json("get", "many:v1", "-o", str(tmp_path / "v1"))
    assert res["written"] == FOLDERS * PER_FOLDER
    got = file_digests(tmp_path / "v1")
    assert got.pop("d00/f000.txt") == sha(b"v1\n")
    want = v0_entries()
    del want["d00/f000.txt"]
    assert got == want
    many.write({"data/many/d05/f005.txt": "tampered\n"})
    res = many.ga_json("verify", "many:v0", rc=1)
    assert [(p["path"], p["problem"]) for p in res["problems"]] == [("d05/f005.txt", "modified")]
