"""`git artifacts checkout`, `get` and `verify`, driven as a real command."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from helpers import GitRepo, bikes_files, file_digests, sha, sha256_hex, stderr_error_line

import gitartifacts as ga

BIKES = bikes_files()


def object_path(repo: GitRepo, content: bytes) -> Path:
    h = sha256_hex(content)
    return repo.cache / "sha256" / h[:2] / h[2:]


def workspace(repo: GitRepo) -> dict[str, str]:
    return file_digests(repo.root / "data" / "bikes", prefix="bikes/")


def v0_digests() -> dict[str, str]:
    return {p.removeprefix("data/"): sha(c.encode()) for p, c in BIKES.items()}


@pytest.fixture
def bikes_v1(bikes: GitRepo) -> GitRepo:
    """bikes v0 plus v1, which changes img0.txt and adds extra.txt (all bytes in the cache)."""
    bikes.write({"data/bikes/img0.txt": "bike 0, v1\n", "data/bikes/extra.txt": "extra\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    bikes.commit("v1")
    return bikes


# ---------------------------------------------------------------- checkout


@pytest.mark.slow
def test_checkout_restores_deleted_files_from_the_cache(bikes: GitRepo) -> None:
    (bikes.root / "data/bikes/img0.txt").unlink()
    shutil.rmtree(bikes.root / "data/bikes/labels")
    out = bikes.ga("checkout", "bikes").stdout
    assert "2 written" in out
    assert workspace(bikes) == v0_digests()
    assert bikes.ga_json("status", "--check")[0]["clean"] is True


@pytest.mark.parametrize("shape", ["folder where a file goes", "file where a folder goes"])
@pytest.mark.slow
def test_something_in_the_way_of_a_checkout_is_named_and_replaced_only_when_forced(
    bikes: GitRepo, shape: str
) -> None:
    root = bikes.root / "data" / "bikes"
    if shape == "folder where a file goes":
        (root / "img1.txt").unlink()
        (root / "img1.txt").mkdir()
        (root / "img1.txt" / "mine.txt").write_text("not saved anywhere\n")
        in_the_way = "img1.txt"
    else:
        shutil.rmtree(root / "labels")
        (root / "labels").write_text("a file, not a folder\n")
        in_the_way = "labels"
    err = stderr_error_line(bikes.ga("checkout", "bikes", rc=4))
    assert f"bikes/{in_the_way}" in err and "--force" in err, err
    bikes.ga("checkout", "bikes", "--force")
    assert workspace(bikes) == v0_digests()


@pytest.mark.slow
def test_checkout_refuses_to_overwrite_unsaved_changes_unless_forced(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img0.txt": "my precious edit\n"})
    err = stderr_error_line(bikes.ga("checkout", "bikes", rc=None))
    assert "data/bikes/img0.txt" in err and "--force" in err
    assert (bikes.root / "data/bikes/img0.txt").read_text() == "my precious edit\n"
    bikes.ga("checkout", "bikes", "--force")
    assert workspace(bikes) == v0_digests()


@pytest.mark.slow
def test_checkout_refuses_to_delete_a_new_unsaved_file_unless_forced(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/new.txt": "not saved anywhere\n"})
    err = stderr_error_line(bikes.ga("checkout", "bikes", rc=None))
    assert "data/bikes/new.txt" in err
    assert (bikes.root / "data/bikes/new.txt").exists()
    bikes.ga("checkout", "bikes", "-f")
    assert not (bikes.root / "data/bikes/new.txt").exists()
    assert workspace(bikes) == v0_digests()


def test_checkout_overwrites_changes_whose_bytes_are_cached(bikes: GitRepo) -> None:
    # img1 now holds img2's bytes: nothing is lost by overwriting it, so no --force is needed.
    bikes.write({"data/bikes/img1.txt": BIKES["data/bikes/img2.txt"]})
    bikes.ga("checkout", "bikes")
    assert workspace(bikes) == v0_digests()


@pytest.mark.slow
def test_checkout_of_an_old_version_writes_and_stages_its_manifest(bikes_v1: GitRepo) -> None:
    repo = bikes_v1
    v0_manifest = repo.git("show", "artifacts/bikes/v0:.artifacts/bikes.yaml")
    out = repo.ga("checkout", "bikes:v0").stdout
    assert "v0" in out
    assert workspace(repo) == v0_digests()
    assert not (repo.root / "data/bikes/extra.txt").exists()
    assert repo.manifest_text("bikes") == v0_manifest
    assert ".artifacts/bikes.yaml" in repo.staged()
    (row,) = repo.ga_json("status")
    assert row["version"] == "v0" and row["manifest"] != "committed"
    assert (row["added"], row["modified"], row["deleted"]) == ([], [], [])
    repo.ga("checkout", "bikes:latest")
    assert repo.staged() == []
    assert file_digests(repo.root / "data/bikes")["extra.txt"] == sha(b"extra\n")


@pytest.mark.slow
def test_checkout_without_arguments_restores_every_artifact(bikes: GitRepo) -> None:
    bikes.write({"models/m.pt": "weights"})
    bikes.ga("add", "models/m.pt", "--name", "m", "--type", "model")
    (bikes.root / "models/m.pt").unlink()
    (bikes.root / "data/bikes/img2.txt").unlink()
    bikes.ga("checkout")
    assert (bikes.root / "models/m.pt").read_text() == "weights"
    assert workspace(bikes) == v0_digests()


def test_checkout_without_arguments_skips_artifacts_without_a_workspace_path(
    bikes: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(bikes.root)
    art = ga.Artifact("notes", "report")  # saved from Python: no workspace path
    with art.new_file("notes.txt") as f:
        f.write("hello")
    art.save(stage=True)  # the branch flow puts its manifest in the work tree
    assert "path" not in bikes.manifest("notes")
    (bikes.root / "data/bikes/img2.txt").unlink()
    bikes.ga("checkout")
    assert workspace(bikes) == v0_digests()


@pytest.mark.slow
def test_checkout_follows_the_manifest_after_git_checkout(bikes_v1: GitRepo) -> None:
    repo = bikes_v1
    repo.git("checkout", "-q", "artifacts/bikes/v0")
    repo.ga("checkout")
    assert workspace(repo) == v0_digests()
    assert repo.ga_json("status", "--check")[0]["version"] == "v0"
    repo.git("checkout", "-q", "main")
    repo.ga("checkout")
    got = workspace(repo)
    assert got["bikes/extra.txt"] == sha(b"extra\n")
    assert got["bikes/img0.txt"] == sha(b"bike 0, v1\n")
    assert repo.ga_json("status", "--check")[0]["version"] == "v1"


def test_checkout_of_content_missing_from_the_cache_fails_and_changes_nothing(
    bikes: GitRepo,
) -> None:
    obj = object_path(bikes, b"bike 1\n")
    obj.chmod(0o644)
    obj.unlink()
    (bikes.root / "data/bikes/img1.txt").unlink()
    bikes.write({"data/bikes/img0.txt": "unsaved edit\n"})
    before = workspace(bikes)
    err = stderr_error_line(bikes.ga("checkout", "bikes", "--force", rc=None))
    assert "cache" in err
    assert workspace(bikes) == before


def test_checkout_copies_by_default_so_the_cache_stays_intact(bikes: GitRepo) -> None:
    shutil.rmtree(bikes.root / "data/bikes")
    bikes.ga("checkout", "bikes")
    f = bikes.root / "data/bikes/img0.txt"
    st = os.lstat(f)
    assert stat.S_ISREG(st.st_mode) and st.st_nlink == 1
    assert st.st_ino != os.stat(object_path(bikes, BIKES["data/bikes/img0.txt"].encode())).st_ino
    f.write_text("edited in place\n")
    assert object_path(bikes, b"bike 0\n").read_bytes() == b"bike 0\n"


@pytest.mark.slow
def test_checkout_link_hardlink_makes_read_only_links_to_cache_objects(bikes: GitRepo) -> None:
    shutil.rmtree(bikes.root / "data/bikes")
    bikes.ga("checkout", "bikes", "--link", "hardlink")
    for rel, content in BIKES.items():
        st = os.stat(bikes.root / rel)
        assert st.st_ino == os.stat(object_path(bikes, content.encode())).st_ino, rel
        assert st.st_mode & 0o222 == 0, f"{rel} is writable"
    assert bikes.ga_json("status", "--check")[0]["clean"] is True


@pytest.mark.slow
def test_checkout_link_symlink_points_into_the_cache_read_only(bikes: GitRepo) -> None:
    shutil.rmtree(bikes.root / "data/bikes")
    bikes.ga("checkout", "bikes", "--link", "symlink")
    for rel, content in BIKES.items():
        p = bikes.root / rel
        assert p.is_symlink(), rel
        assert Path(os.path.realpath(p)) == object_path(bikes, content.encode()).resolve()
        assert os.stat(p).st_mode & 0o222 == 0, f"{rel} is writable"
    assert bikes.ga_json("status", "--check")[0]["clean"] is True
    assert bikes.ga_json("verify", "bikes")["ok"] is True


def test_git_config_artifacts_link_sets_the_default_link_type(bikes: GitRepo) -> None:
    bikes.git("config", "artifacts.link", "hardlink")
    (bikes.root / "data/bikes/img0.txt").unlink()
    bikes.ga("checkout", "bikes")
    assert os.stat(bikes.root / "data/bikes/img0.txt").st_nlink >= 2


@pytest.mark.slow
def test_checkout_never_writes_through_a_symlinked_folder(bikes: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.move(str(bikes.root / "data/bikes"), outside)
    (outside / "img0.txt").unlink()
    os.symlink(outside, bikes.root / "data/bikes")
    before = file_digests(outside)
    err = stderr_error_line(bikes.ga("checkout", "bikes", rc=None))
    assert "data/bikes" in err and "symlink" in err
    assert file_digests(outside) == before
    # --force overrides local changes, never a link: it is refused all the same.
    err = stderr_error_line(bikes.ga("checkout", "bikes", "--force", rc=None))
    assert "data/bikes" in err and "symlink" in err
    assert file_digests(outside) == before
    (bikes.root / "data/bikes").unlink()
    bikes.ga("checkout", "bikes")
    assert workspace(bikes) == v0_digests()


# ---------------------------------------------------------------- get


def test_get_downloads_into_artifacts_name_vN_by_default(bikes: GitRepo) -> None:
    res = bikes.ga_json("get", "bikes:v0")
    target = bikes.root / "artifacts" / "bikes-v0"
    assert Path(res["path"]) == target
    assert res["written"] == len(BIKES)
    assert file_digests(target) == v0_digests()
    assert ":" not in res["path"]


@pytest.mark.slow
def test_get_of_an_uncommitted_artifact_uses_a_folder_name_without_colon(repo: GitRepo) -> None:
    repo.write({"data/x/a.txt": "a"})
    repo.ga("add", "data/x", "--name", "x", "--type", "dataset")
    res = repo.ga_json("get", "x")
    assert ":" not in os.path.basename(res["path"])
    assert file_digests(Path(res["path"])) == {"a.txt": sha(b"a")}


@pytest.mark.slow
def test_get_never_deletes_and_skips_files_that_already_match(
    bikes: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "bikes").mkdir(parents=True)
    (out / "mine.txt").write_text("keep me")
    (out / "bikes" / "img0.txt").write_text(BIKES["data/bikes/img0.txt"])
    (out / "bikes" / "img1.txt").write_text(BIKES["data/bikes/img2.txt"])  # in the cache
    ino = os.stat(out / "bikes" / "img0.txt").st_ino
    res = bikes.ga_json("get", "bikes:v0", "-o", str(out))
    assert res["written"] == len(BIKES) - 1
    assert os.stat(out / "bikes" / "img0.txt").st_ino == ino
    assert (out / "mine.txt").read_text() == "keep me"
    got = file_digests(out)
    assert got.pop("mine.txt") == sha(b"keep me")
    assert got == v0_digests()
    assert bikes.ga_json("get", "bikes:v0", "-o", str(out))["written"] == 0


@pytest.mark.slow
def test_get_never_writes_through_a_symlink_in_the_target(bikes: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "bikes")
    for force in ([], ["--force"]):
        err = stderr_error_line(bikes.ga("get", "bikes:v0", "-o", str(out), *force, rc=None))
        assert "bikes" in err and "symlink" in err
    assert file_digests(outside) == {"precious.txt": sha(b"precious")}
    # A file symlink is a local file: replaced with --force, never written through.
    out2 = tmp_path / "out2"
    (out2 / "bikes").mkdir(parents=True)
    os.symlink(outside / "precious.txt", out2 / "bikes" / "img0.txt")
    stderr_error_line(bikes.ga("get", "bikes:v0", "-o", str(out2), rc=None))
    bikes.ga("get", "bikes:v0", "-o", str(out2), "--force")
    assert (outside / "precious.txt").read_text() == "precious"
    assert not (out2 / "bikes" / "img0.txt").is_symlink()
    assert file_digests(out2) == v0_digests()


@pytest.mark.slow
def test_get_of_an_older_version_leaves_the_workspace_alone(
    bikes_v1: GitRepo, tmp_path: Path
) -> None:
    before = workspace(bikes_v1)
    bikes_v1.ga("get", "bikes:v0", "-o", str(tmp_path / "v0"))
    assert file_digests(tmp_path / "v0") == v0_digests()
    assert workspace(bikes_v1) == before
    assert bikes_v1.staged() == []


# ---------------------------------------------------------------- verify


@pytest.mark.slow
def test_verify_of_an_intact_version_succeeds(bikes: GitRepo) -> None:
    res = bikes.ga_json("verify", "bikes:v0")
    assert res == {"spec": "bikes:v0", "ok": True, "problems": []}
    assert "OK" in bikes.ga("verify", "bikes").stdout


@pytest.mark.slow
def test_verify_reports_modified_missing_and_extra_files(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img0.txt": "tampered\n", "data/bikes/stray.txt": "stray\n"})
    (bikes.root / "data/bikes/img1.txt").unlink()
    res = bikes.ga_json("verify", "bikes", rc=1)
    assert res["ok"] is False
    problems = {(p["path"], p["problem"]) for p in res["problems"]}
    assert ("bikes/img0.txt", "modified") in problems
    assert ("bikes/img1.txt", "missing") in problems
    assert any(path == "bikes/stray.txt" for path, _ in problems)
    assert len(problems) == 3
    bikes.ga("verify", "bikes", rc=1)


def test_verify_detects_a_corrupt_cache_object(bikes: GitRepo) -> None:
    obj = object_path(bikes, b"bike 1\n")
    obj.chmod(0o644)
    obj.write_bytes(b"bit rot\n")
    res = bikes.ga_json("verify", "bikes:v0", rc=1)
    assert [(p["path"], p["problem"]) for p in res["problems"]] == [
        ("bikes/img1.txt", "corrupt object")
    ]


@pytest.mark.slow
def test_verify_of_another_version_than_the_workspace_fails(bikes_v1: GitRepo) -> None:
    bikes_v1.ga("verify", "bikes:v1")
    res = bikes_v1.ga_json("verify", "bikes:v0", rc=1)
    kinds = {p["path"]: p["problem"] for p in res["problems"]}
    assert kinds["bikes/img0.txt"] == "modified"
    assert "bikes/extra.txt" in kinds


@pytest.mark.parametrize("link", ["copy", "hardlink"])
@pytest.mark.slow
def test_checkout_of_many_files_of_mixed_sizes_is_byte_identical(repo: GitRepo, link: str) -> None:
    # Many batches, so the objects are read ahead of the writes; sizes on both sides of the
    # small-object limit, empty files, and files already there (kept, or replaced).
    files: dict[str, bytes | str] = {
        f"data/mix/d{i % 7}/f{i}.bin": os.urandom(i % 5000) for i in range(1500)
    }
    files["data/mix/big.bin"] = os.urandom((1 << 20) + 3)
    files["data/mix/d0/dup.bin"] = files["data/mix/d1/f1.bin"]
    repo.write(files)
    repo.ga("add", "data/mix", "--name", "mix", "--type", "dataset")
    repo.commit("mix")
    want = file_digests(repo.root / "data" / "mix")
    shutil.rmtree(repo.root / "data/mix/d3")
    (repo.root / "data/mix/big.bin").unlink()
    (repo.root / "data/mix/d4/f4.bin").write_bytes(files["data/mix/d5/f5.bin"])  # cached bytes
    out = repo.ga("checkout", "mix", "--link", link).stdout
    assert f"{1500 // 7 + 2} written" in out
    assert file_digests(repo.root / "data" / "mix") == want
    assert repo.ga_json("status", "mix")[0]["clean"] is True
    assert repo.ga_json("verify", "mix")["ok"] is True


@pytest.mark.parametrize("delay", [0.3, 0.6])
@pytest.mark.slow
def test_a_checkout_killed_midway_is_finished_by_the_next_one(repo: GitRepo, delay: float) -> None:
    import signal
    import subprocess
    import time

    files = {f"data/many/d{i % 20}/f{i}.bin": os.urandom(2000) for i in range(3000)}
    repo.write(files)
    repo.ga("add", "data/many", "--name", "many", "--type", "dataset")
    repo.commit("many")
    shutil.rmtree(repo.root / "data" / "many")
    proc = subprocess.Popen(["git", "artifacts", "checkout"], cwd=repo.root)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    repo.ga("checkout")  # no --force needed: half-written files were ours
    assert repo.ga_json("verify", "many")["ok"] is True
    assert repo.ga_json("status", "many")[0]["clean"] is True
