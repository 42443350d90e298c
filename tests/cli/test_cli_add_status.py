"""`git artifacts init`, `add`, `status`, `ls`, `log`, `show`: driven as a real command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    assert_unchanged,
    bikes_files,
    cache_objects,
    expected_digest,
    make_repo,
    sha,
    sha256_hex,
)


def ignored(repo: GitRepo, path: str) -> bool:
    proc = subprocess.run(["git", "check-ignore", "-q", path], cwd=repo.root, check=False)
    return proc.returncode == 0


# ---------------------------------------------------------------- init


@pytest.mark.slow
def test_init_creates_and_stages_the_config_and_is_idempotent(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", init_artifacts=False)
    out = repo.ga("init").stdout
    assert ".gitartifacts.yaml" in out
    assert (repo.root / ".gitartifacts.yaml").is_file()
    assert repo.staged() == [".gitartifacts.yaml", ".gitattributes"]
    assert (repo.root / ".git" / "artifacts" / "objects").is_dir()
    before = repo.snapshot()
    assert "already set up" in repo.ga("init").stdout
    assert_unchanged(before, repo.snapshot())


def test_a_command_outside_a_git_repository_fails_with_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    proc = GitRepo(tmp_path / "plain").ga("status", rc=None)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: ") and "git" in proc.stderr


# ---------------------------------------------------------------- add


def test_add_folder_writes_manifest_with_the_folder_as_path_and_stages_it(repo: GitRepo) -> None:
    files = bikes_files()
    repo.write(files)
    out = repo.ga(
        "add",
        "data/bikes",
        "--name",
        "bikes",
        "--type",
        "dataset",
        "--description",
        "Bike photos",
        "--metadata",
        '{"source": "camera-3"}',
        "--metadata",
        "classes=12",
        "--ttl",
        "30d",
    ).stdout
    assert "bikes" in out and "v0" in out
    doc = repo.manifest("bikes")
    want = {p.removeprefix("data/bikes/"): sha(c.encode()) for p, c in files.items()}
    assert doc["gitartifacts"] == 1
    assert (doc["name"], doc["type"], doc["path"]) == ("bikes", "dataset", "data/bikes")
    assert doc["description"] == "Bike photos"
    assert doc["metadata"] == {"source": "camera-3", "classes": 12}
    assert doc["ttl"] == "30d"
    assert {p: e["digest"] for p, e in doc["entries"].items()} == want
    assert {p: e["size"] for p, e in doc["entries"].items()} == {
        p.removeprefix("data/bikes/"): len(c) for p, c in files.items()
    }
    assert doc["digest"] == expected_digest(want)
    assert (doc["files"], doc["size"]) == (len(files), sum(len(c) for c in files.values()))
    assert repo.staged() == [".artifacts/bikes.yaml", ".gitignore"]
    assert "/data/bikes/" in (repo.root / ".gitignore").read_text().splitlines()
    assert ignored(repo, "data/bikes/img0.txt")
    assert "data/" not in repo.git("status", "--porcelain", "--untracked-files=all")


def test_add_stores_every_file_in_the_default_cache_under_sha256_2_62(repo: GitRepo) -> None:
    files = bikes_files()
    repo.write(files)
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    objects = cache_objects(repo.root / ".git" / "artifacts" / "objects")
    for content in files.values():
        h = sha256_hex(content.encode())
        path = repo.root / ".git/artifacts/objects/sha256" / h[:2] / h[2:]
        assert path.read_bytes() == content.encode()
        assert h in objects


def test_add_several_paths_from_one_folder_makes_one_artifact(repo: GitRepo) -> None:
    repo.write({"data/a.csv": "a", "data/b.csv": "b", "data/c.csv": "c"})
    repo.ga("add", "data/a.csv", "data/b.csv", "--name", "ab", "--type", "dataset")
    doc = repo.manifest("ab")
    assert doc["path"] == "data"
    assert sorted(doc["entries"]) == ["a.csv", "b.csv"]
    gitignore = (repo.root / ".gitignore").read_text().splitlines()
    assert "/data/a.csv" in gitignore and "/data/b.csv" in gitignore
    assert ignored(repo, "data/a.csv") and not ignored(repo, "data/c.csv")


@pytest.mark.slow
def test_add_a_single_file_at_the_repository_root(repo: GitRepo) -> None:
    repo.write({"model.pt": b"\x00weights"})
    repo.ga("add", "model.pt", "--name", "model", "--type", "model")
    doc = repo.manifest("model")
    assert doc["path"] in (".", None)
    assert doc["entries"] == {"model.pt": {"digest": sha(b"\x00weights"), "size": 8}}
    assert ignored(repo, "model.pt")
    repo.commit("model")
    assert repo.ga_json("status", "model")[0]["clean"] is True


def test_add_resolves_paths_relative_to_the_current_folder(repo: GitRepo) -> None:
    repo.write(bikes_files())
    repo.ga("add", "bikes", "--name", "bikes", "--type", "dataset", cwd=repo.root / "data")
    doc = repo.manifest("bikes")
    assert doc["path"] == "data/bikes"
    assert "img0.txt" in doc["entries"]


@pytest.mark.slow
def test_unicode_and_yaml_special_file_names_survive_add_status_and_checkout(
    repo: GitRepo,
) -> None:
    names = [
        "données été.csv",
        "日本.txt",
        "- dash",
        "#hash",
        "null",
        "123",
        "a: b",
        "trailing ",
        "x'q\"y",
    ]
    files = {f"data/wé ird /{n}": f"content of {n}\n" for n in names}
    repo.write(files)
    repo.ga("add", "data/wé ird ", "--name", "weird", "--type", "dataset")
    assert "data/" not in repo.git("status", "--porcelain", "--untracked-files=all")
    want = {p.removeprefix("data/wé ird /"): sha(c.encode()) for p, c in files.items()}
    assert {p: e["digest"] for p, e in repo.manifest("weird")["entries"].items()} == want
    assert repo.manifest("weird")["digest"] == expected_digest(want)
    repo.commit("weird")
    assert repo.ga_json("status", "--check")[0]["clean"] is True
    for rel in files:
        (repo.root / rel).unlink()
    repo.ga("checkout", "weird")
    assert {f"data/wé ird /{p}": d for p, d in want.items()} == {
        rel: sha((repo.root / rel).read_bytes()) for rel in files
    }


def test_gitignore_lines_escape_glob_characters(repo: GitRepo) -> None:
    repo.write({"data/we[1]*d/a.txt": "a", "data/we1xd/b.txt": "b"})
    repo.ga("add", "data/we[1]*d", "--name", "weird", "--type", "dataset")
    assert ignored(repo, "data/we[1]*d/a.txt")
    assert not ignored(repo, "data/we1xd/b.txt")


def test_metadata_accepts_json_objects_and_typed_key_value_pairs(repo: GitRepo) -> None:
    repo.write({"data/x/a.txt": "a"})
    repo.ga(
        "add",
        "data/x",
        "--name",
        "x",
        "--type",
        "dataset",
        "-m",
        "classes=12",
        "-m",
        "source=camera-3",
        "-m",
        "flag=true",
        "-m",
        '{"nested": {"lr": 0.001}}',
    )
    assert repo.manifest("x")["metadata"] == {
        "classes": 12,
        "source": "camera-3",
        "flag": True,
        "nested": {"lr": 0.001},
    }


def test_add_without_paths_re_snapshots_the_artifacts_own_files(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img1.txt": "changed\n", "data/bikes/new.txt": "new\n"})
    bikes.ga("add", "--name", "bikes")
    entries = bikes.manifest("bikes")["entries"]
    assert entries["bikes/img1.txt"]["digest"] == sha(b"changed\n")
    assert "bikes/new.txt" in entries


# ---------------------------------------------------------------- status


@pytest.mark.slow
def test_status_of_a_committed_untouched_artifact_is_clean(bikes: GitRepo) -> None:
    rows = bikes.ga_json("status")
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["type"], row["version"], row["path"]) == (
        "bikes",
        "dataset",
        "v0",
        "data",
    )
    assert row["manifest"] == "committed"
    assert (row["added"], row["modified"], row["deleted"], row["not_in_cache"]) == ([], [], [], 0)
    assert row["clean"] is True
    assert "up to date" in bikes.ga("status", "--check").stdout


@pytest.mark.slow
def test_status_reports_modified_added_and_deleted_files(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img0.txt": "changed\n", "data/bikes/new.txt": "new\n"})
    (bikes.root / "data/bikes/labels/train.csv").unlink()
    (row,) = bikes.ga_json("status", "--check", rc=1)
    assert row["modified"] == ["bikes/img0.txt"]
    assert row["added"] == ["bikes/new.txt"]
    assert row["deleted"] == ["bikes/labels/train.csv"]
    assert row["clean"] is False
    text = bikes.ga("status", rc=0).stdout
    assert "modified: data/bikes/img0.txt" in text
    assert "added: data/bikes/new.txt" in text
    assert "deleted: data/bikes/labels/train.csv" in text


@pytest.mark.slow
def test_status_reports_a_manifest_that_is_not_committed(repo: GitRepo) -> None:
    repo.write({"data/x/a.txt": "a"})
    repo.ga("add", "data/x", "--name", "x", "--type", "dataset")
    (row,) = repo.ga_json("status", "--check", rc=1)
    assert row["manifest"] != "committed"
    assert row["version"] is None
    assert (row["added"], row["modified"], row["deleted"]) == ([], [], [])
    assert "not committed" in repo.ga("status").stdout
    repo.commit("x")
    assert repo.ga_json("status", "--check")[0]["manifest"] == "committed"


@pytest.mark.slow
def test_status_reports_content_missing_from_the_cache(bikes: GitRepo) -> None:
    assert bikes.ga_json("status", "--check")[0]["not_in_cache"] == 0  # as a user would see it
    h = sha256_hex(b"bike 1\n")
    obj = bikes.cache / "sha256" / h[:2] / h[2:]
    obj.chmod(0o644)
    obj.unlink()
    (row,) = bikes.ga_json("status", "--check", rc=1)
    assert row["not_in_cache"] == 1
    assert (row["added"], row["modified"], row["deleted"]) == ([], [], [])
    assert "not in cache" in bikes.ga("status").stdout


def test_status_stays_clean_when_only_mtimes_change(bikes: GitRepo) -> None:
    for p in (bikes.root / "data/bikes").rglob("*.txt"):
        os.utime(p, (1_000_000_000, 1_000_000_000))
    assert bikes.ga_json("status", "--check")[0]["clean"] is True


@pytest.mark.slow
def test_status_of_one_named_artifact_lists_only_it(bikes: GitRepo) -> None:
    bikes.write({"models/m.pt": "m"})
    bikes.ga("add", "models/m.pt", "--name", "m", "--type", "model")
    assert [r["name"] for r in bikes.ga_json("status")] == ["bikes", "m"]
    assert [r["name"] for r in bikes.ga_json("status", "bikes")] == ["bikes"]


# ---------------------------------------------------------------- ls, log, show


@pytest.mark.slow
def test_ls_lists_every_artifact_with_its_version(bikes: GitRepo) -> None:
    bikes.write({"models/m.pt": "weights"})
    bikes.ga("add", "models/m.pt", "--name", "m", "--type", "model", "-d", "a model")
    rows = {r["name"]: r for r in bikes.ga_json("ls")}
    assert set(rows) == {"bikes", "m"}
    assert rows["bikes"]["type"] == "dataset" and rows["bikes"]["version"] == "v0"
    assert rows["bikes"]["latest"] == "v0" and rows["bikes"]["files"] == 4
    assert rows["m"]["version"] is None and rows["m"]["latest"] is None
    assert rows["m"]["size"] == 7 and rows["m"]["description"] == "a model"
    text = bikes.ga("ls").stdout
    assert "bikes" in text and "dataset" in text and "m " in text


@pytest.mark.slow
def test_log_lists_versions_newest_first_with_digests(bikes: GitRepo) -> None:
    d0 = bikes.manifest("bikes")["digest"]
    bikes.write({"data/bikes/img0.txt": "v1\n"})
    bikes.ga("add", "--name", "bikes")
    bikes.commit("v1")
    log = bikes.ga_json("log", "bikes")
    assert [r["version"] for r in log] == ["v1", "v0"]
    assert log[1]["digest"] == d0 and log[0]["digest"] == bikes.manifest("bikes")["digest"]
    assert log[0]["files"] == 4 and log[0]["date"]
    text = bikes.ga("log", "bikes").stdout
    assert text.index("v1") < text.index("v0") and d0 in text


@pytest.mark.slow
def test_show_prints_the_manifest_fields_and_entries(bikes: GitRepo) -> None:
    d = bikes.ga_json("show", "bikes:v0")
    doc = bikes.manifest("bikes")
    assert (d["name"], d["type"], d["version"], d["digest"]) == (
        "bikes",
        "dataset",
        "v0",
        doc["digest"],
    )
    assert d["aliases"] == ["latest"]
    assert d["commit"] == bikes.tag_commit("artifacts/bikes/v0")
    assert {p: e["digest"] for p, e in d["entries"].items()} == {
        p: e["digest"] for p, e in doc["entries"].items()
    }
    text = bikes.ga("show", "bikes:v0").stdout
    assert "dataset" in text and doc["digest"] in text and "bikes/img0.txt" in text


def test_status_check_fails_and_names_a_broken_manifest(bikes: GitRepo) -> None:
    p = bikes.root / ".artifacts/bikes.yaml"
    p.write_text(p.read_text() + "colour: red\n")
    proc = bikes.ga("status", "--check", rc=None)
    assert proc.returncode != 0
    assert ".artifacts/bikes.yaml" in proc.stdout + proc.stderr
    assert "colour" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_artifactignore_leaves_matching_files_out_of_add_status_and_checkout(repo: GitRepo) -> None:
    (repo.root / ".artifactignore").write_text("*.tmp\n.DS_Store\n")
    repo.write(
        {"data/ds/a.csv": "1\n", "data/ds/scratch.tmp": "x", "data/ds/sub/.DS_Store": "junk"}
    )
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    assert sorted(repo.manifest("ds")["entries"]) == ["a.csv"]
    repo.commit("ds", ".artifactignore")
    repo.write({"data/ds/more.tmp": "y"})
    assert repo.ga_json("status", "ds")[0]["clean"] is True
    repo.ga("checkout", "ds")
    assert (repo.root / "data/ds/scratch.tmp").exists() and (
        repo.root / "data/ds/more.tmp"
    ).exists()
    assert repo.ga_json("verify", "ds")["ok"] is True
