"""Where entries live: one folder is the artifact (W&B's add_dir), several paths keep their
names, --prefix, and artifacts stored the earlier way (`path: data`, `bikes/...`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import GitRepo, bikes_files, file_digests, sha, stderr_error_line

import gitartifacts as ga

FOLDER = {p.removeprefix("data/bikes/"): sha(c.encode()) for p, c in bikes_files().items()}


def ignore_lines(repo: GitRepo) -> list[str]:
    return (repo.root / ".gitignore").read_text().splitlines()


def download(repo: GitRepo, spec: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`Api().artifact(spec).download(out)`, in-process, from inside the repository."""
    monkeypatch.chdir(repo.root)
    return ga.Api().artifact(spec).download(out)


@pytest.mark.slow
def test_one_folder_is_the_artifact_in_checkout_get_and_download(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    doc = repo.manifest("bikes")
    assert doc["path"] == "data/bikes"
    assert {p: e["digest"] for p, e in doc["entries"].items()} == FOLDER
    assert "/data/bikes/" in ignore_lines(repo)
    repo.commit("bikes v0")
    shutil.rmtree(repo.root / "data")
    repo.ga("checkout", "bikes")
    assert file_digests(repo.root / "data/bikes") == FOLDER
    repo.ga("get", "bikes:v0", "-o", str(tmp_path / "got"))
    assert file_digests(tmp_path / "got") == FOLDER
    folder = download(repo, "bikes:v0", tmp_path / "py", monkeypatch)
    assert file_digests(Path(folder)) == FOLDER
    assert (Path(folder) / "img0.txt").read_text() == "bike 0\n"


@pytest.mark.slow
def test_an_artifact_stored_the_earlier_way_keeps_its_layout(
    bikes: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = bikes.root / ".artifacts/bikes.yaml"
    before = manifest.read_bytes()
    doc = bikes.manifest("bikes")
    assert doc["path"] == "data" and all(p.startswith("bikes/") for p in doc["entries"])
    out = bikes.ga("add", "data/bikes", "--name", "bikes").stdout
    assert "unchanged, still v0" in out
    assert manifest.read_bytes() == before
    bikes.write({"data/bikes/img9.txt": "bike 9\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    doc = bikes.manifest("bikes")
    assert doc["path"] == "data" and "bikes/img9.txt" in doc["entries"]
    bikes.commit("bikes v1")
    assert [v["version"] for v in bikes.ga_json("log", "bikes")] == ["v1", "v0"]
    earlier = {"bikes/" + p: d for p, d in FOLDER.items()} | {"bikes/img9.txt": sha(b"bike 9\n")}
    shutil.rmtree(bikes.root / "data")
    bikes.ga("checkout", "bikes")
    assert file_digests(bikes.root / "data") == earlier
    bikes.ga("get", "bikes:v1", "-o", str(tmp_path / "got"))
    assert file_digests(tmp_path / "got") == earlier
    folder = download(bikes, "bikes:v1", tmp_path / "py", monkeypatch)
    assert file_digests(Path(folder)) == earlier


@pytest.mark.slow
def test_status_verify_and_a_bare_re_add_see_new_files_of_a_folder_artifact(
    repo: GitRepo,
) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    repo.commit("bikes v0")
    repo.write({"data/bikes/img9.txt": "bike 9\n"})
    (row,) = repo.ga_json("status", "--check", rc=1)
    assert row["added"] == ["img9.txt"]
    assert {"path": "img9.txt", "problem": "not a member"} in repo.ga_json("verify", "bikes", rc=1)[
        "problems"
    ]
    repo.ga("add", "--name", "bikes")
    assert "img9.txt" in repo.manifest("bikes")["entries"]
    # The folder is the artifact: a file taken out of it is a new version, not a slip.
    (repo.root / "data/bikes/img0.txt").unlink()
    repo.ga("add", "data/bikes", "--name", "bikes")
    assert "img0.txt" not in repo.manifest("bikes")["entries"]


def test_several_files_keep_their_names_under_their_folder(repo: GitRepo) -> None:
    repo.write({"data/a.csv": "a", "data/b.csv": "b", "data/c.csv": "c"})
    repo.ga("add", "data/a.csv", "data/b.csv", "--name", "ab", "--type", "dataset")
    doc = repo.manifest("ab")
    assert (doc["path"], sorted(doc["entries"])) == ("data", ["a.csv", "b.csv"])
    assert {"/data/a.csv", "/data/b.csv"} <= set(ignore_lines(repo))
    assert "/data/" not in ignore_lines(repo)
    repo.ga("add", "data/c.csv", "--name", "c", "--type", "dataset")
    assert sorted(repo.manifest("c")["entries"]) == ["c.csv"]
    repo.commit("ab and c")
    assert all(r["clean"] for r in repo.ga_json("status"))


def test_prefix_puts_the_entries_under_the_name(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "imgs", "--type", "dataset", "--prefix", "images")
    doc = repo.manifest("imgs")
    assert "path" not in doc  # the entries are renamed: no work-tree folder holds them
    assert {p: e["digest"] for p, e in doc["entries"].items()} == {
        "images/" + p: d for p, d in FOLDER.items()
    }
    repo.ga("get", "imgs", "-o", str(tmp_path / "got"))
    assert (tmp_path / "got/images/img0.txt").read_text() == "bike 0\n"
    repo.ga("add", "data/bikes", "--name", "named", "--type", "dataset", "--prefix", "bikes")
    doc = repo.manifest("named")
    assert doc["path"] == "data" and "bikes/img0.txt" in doc["entries"]


def test_several_paths_take_a_prefix_too(repo: GitRepo) -> None:
    repo.write({"data/a.csv": "a", "data/b.csv": "b"})
    repo.ga("add", "data/a.csv", "data/b.csv", "--name", "t", "--type", "dataset", "--prefix", "x")
    assert sorted(repo.manifest("t")["entries"]) == ["x/a.csv", "x/b.csv"]


def test_a_folder_inside_or_around_a_folder_artifact_is_refused(repo: GitRepo) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    before = repo.snapshot()
    line = stderr_error_line(
        repo.ga("add", "data/bikes/labels", "--name", "labels", "--type", "dataset", rc=2)
    )
    assert "data/bikes/labels overlaps data/bikes" in line and "'bikes'" in line
    line = stderr_error_line(repo.ga("add", "data", "--name", "all", "--type", "dataset", rc=2))
    assert "overlaps data/bikes" in line
    assert repo.snapshot() == before


def test_bad_prefix_is_one_error_line(repo: GitRepo) -> None:
    repo.write(bikes_files())
    before = repo.snapshot()
    line = stderr_error_line(
        repo.ga("add", "data/bikes", "--name", "b", "--type", "dataset", "--prefix", "../x", rc=2)
    )
    assert "--prefix" in line
    assert repo.snapshot() == before
