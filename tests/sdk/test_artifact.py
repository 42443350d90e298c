"""The Python API after W&B: `gitartifacts.Artifact` and `gitartifacts.Api`, run in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import GitRepo, expected_digest, file_digests, sha

import gitartifacts as ga

MODEL_FILES = {
    "model.pt": b"\x00\x01weights",
    "plots/loss.png": b"png-loss",
    "plots/sub/acc.png": b"png-acc",
}


@pytest.fixture
def in_repo(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    repo.write(MODEL_FILES)
    monkeypatch.chdir(repo.root)
    return repo


def draft() -> ga.Artifact:
    art = ga.Artifact("model", type="model", description="a resnet", metadata={"arch": "resnet"})
    art.add_file("model.pt")
    art.add_dir("plots", name="plots")
    with art.new_file("notes.txt") as f:
        f.write("hello")
    return art


def expected_entries() -> dict[str, str]:
    out = {p: sha(b) for p, b in MODEL_FILES.items()}
    out["notes.txt"] = sha(b"hello")
    return out


@pytest.fixture
def logged(in_repo: GitRepo) -> ga.Artifact:
    """`model` saved (a version at once) and read back as v0."""
    draft().save()
    return ga.Api().artifact("model:v0")


# ---------------------------------------------------------------- building and saving


def test_save_makes_v0_off_the_branch(in_repo: GitRepo) -> None:
    head = in_repo.head()
    assert in_repo.git("status", "--porcelain") == "?? model.pt\n?? plots/\n"
    art = draft()
    assert {e.path: e.digest for e in art.files()} == expected_entries()
    art.save()
    assert (art.version, art.digest) == ("v0", expected_digest(expected_entries()))
    # The logged files are excluded locally: their bytes are in the cache now.
    assert (in_repo.head(), in_repo.git("status", "--porcelain")) == (head, "")
    exclude = (in_repo.root / ".git" / "info" / "exclude").read_text().splitlines()
    assert {"/model.pt", "/plots/"} <= set(exclude)
    assert in_repo.staged() == [] and not (in_repo.root / ".artifacts" / "model.yaml").exists()
    commit = in_repo.tag_commit("artifacts/model/v0")
    assert commit == art.commit_hash
    assert in_repo.git("rev-parse", f"{commit}^").strip() == head
    files = in_repo.git("ls-tree", "-r", "--name-only", commit).split()
    assert files == sorted([*in_repo.git("ls-files").split(), ".artifacts/model.yaml"])
    doc = yaml.safe_load(in_repo.git("show", f"{commit}:.artifacts/model.yaml"))
    assert {p: e["digest"] for p, e in doc["entries"].items()} == expected_entries()
    a = ga.Api().artifact("model:latest")
    assert (a.version, a.aliases, a.digest) == ("v0", ["latest"], art.digest)
    assert a.metadata == {"arch": "resnet"}
    assert (a.type, a.description) == ("model", "a resnet")


def test_save_with_stage_writes_and_stages_the_manifest_for_the_branch_flow(
    in_repo: GitRepo,
) -> None:
    art = draft().save(aliases=["best"], stage=True)
    assert art.version is None and ".artifacts/model.yaml" in in_repo.staged()
    assert in_repo.manifest("model")["digest"] == expected_digest(expected_entries())
    in_repo.commit("model")
    a = ga.Api().artifact("model:latest")
    assert (a.version, a.aliases) == ("v0", ["best", "latest"])
    assert in_repo.tag_commit("artifacts/model/v0") == in_repo.head()


def test_each_save_with_new_content_becomes_the_next_version(in_repo: GitRepo) -> None:
    digests = []
    for i in range(3):
        art = ga.Artifact("weights", "model")
        with art.new_file("w.txt") as f:
            f.write(f"weights {i}")
        digests.append(art.save().digest)
        assert art.version == f"v{i}"
    api = ga.Api()
    assert [api.artifact(f"weights:v{i}").digest for i in range(3)] == digests
    assert api.artifact("weights:latest").version == "v2"
    assert {"artifacts/weights/v0", "artifacts/weights/v1", "artifacts/weights/v2"} <= set(
        in_repo.tags()
    )


def test_add_file_snapshots_the_bytes_at_add_time(in_repo: GitRepo) -> None:
    art = ga.Artifact("m", type="model")
    entry = art.add_file("model.pt")
    (in_repo.root / "model.pt").write_bytes(b"changed after add")
    assert entry.digest == sha(MODEL_FILES["model.pt"])
    art.save()
    out = ga.Api().artifact("m:v0").download(in_repo.root / "out")
    assert Path(out, "model.pt").read_bytes() == MODEL_FILES["model.pt"]


def test_add_dir_puts_the_folder_content_at_the_root_and_name_under_it_as_wandb(
    in_repo: GitRepo, tmp_path: Path
) -> None:
    art = ga.Artifact("p", type="dataset")
    art.add_dir("plots")
    art.add_dir("plots", name="named")
    assert sorted(e.path for e in art.files()) == [
        "loss.png",
        "named/loss.png",
        "named/sub/acc.png",
        "sub/acc.png",
    ]
    art.save()
    in_repo.commit("p")
    out = ga.Api().artifact("p:v0").download(tmp_path / "out")
    assert Path(out, "loss.png").read_bytes() == MODEL_FILES["plots/loss.png"]
    assert Path(out, "named/sub/acc.png").read_bytes() == MODEL_FILES["plots/sub/acc.png"]


def test_adding_the_same_path_twice_with_other_content_raises(in_repo: GitRepo) -> None:
    in_repo.write({"a/x.txt": "one", "b/x.txt": "two", "c/x.txt": "one"})
    art = ga.Artifact("x", type="dataset")
    art.add_file("a/x.txt", name="x")
    art.add_file("c/x.txt", name="x")  # same bytes: fine, as in W&B
    with pytest.raises(ValueError, match=r"Cannot add the same path twice: 'x'"):
        art.add_file("b/x.txt", name="x")
    assert art.get_entry("x").digest == sha(b"one")
    art.add_file("b/x.txt", name="x", overwrite=True)
    assert art.get_entry("x").digest == sha(b"two")


def test_remove_of_an_unknown_path_raises_file_not_found(in_repo: GitRepo) -> None:
    art = draft()
    with pytest.raises(FileNotFoundError, match="No such file or directory: x"):
        art.remove("x")
    art.remove("plots")
    art.remove("notes.txt")
    assert [e.path for e in art.files()] == ["model.pt"]


def test_get_entry_of_an_unknown_path_raises_key_error(in_repo: GitRepo) -> None:
    art = draft()
    with pytest.raises(KeyError, match="Path not contained in artifact: x"):
        art.get_entry("x")
    e = art.get_entry("plots/sub/acc.png")
    assert (e.path, e.digest, e.size) == ("plots/sub/acc.png", sha(b"png-acc"), 7)


def test_artifact_takes_name_type_description_metadata_in_that_order(in_repo: GitRepo) -> None:
    art = ga.Artifact("ds", "dataset", "some rows", {"rows": 3})
    assert (art.type, art.description, art.metadata) == ("dataset", "some rows", {"rows": 3})
    assert art.files() == []


def test_invalid_artifact_names_and_types_raise_value_error(in_repo: GitRepo) -> None:
    for name, type_ in (("bad name", "model"), ("ok", "bad/type"), ("", "model")):
        with pytest.raises(ValueError):
            ga.Artifact(name, type=type_)


def test_saving_with_a_version_like_alias_is_refused_and_writes_nothing(in_repo: GitRepo) -> None:
    with pytest.raises(ValueError, match="v3"):
        draft().save(aliases=["v3"])
    assert not (in_repo.root / ".artifacts" / "model.yaml").exists()
    assert in_repo.staged() == [] and in_repo.tags() == []


def test_saving_under_a_name_of_another_type_is_refused(logged: ga.Artifact) -> None:
    art = ga.Artifact("model", type="dataset")
    art.add_file("model.pt")
    with pytest.raises(ValueError, match="model"):
        art.save()


def test_saving_content_of_an_existing_version_reuses_it(logged: ga.Artifact) -> None:
    again = draft().save()
    assert again.version == "v0"
    assert again.digest == logged.digest


def test_a_logged_version_cannot_be_modified(logged: ga.Artifact) -> None:
    with pytest.raises(ga.ArtifactFinalizedError):
        logged.add_file("model.pt")
    with pytest.raises(ga.ArtifactFinalizedError):
        logged.remove("model.pt")
    assert len(logged.files()) == 4


def test_a_draft_cannot_be_downloaded_and_missing_files_are_refused(in_repo: GitRepo) -> None:
    art = draft()
    with pytest.raises(ga.ArtifactNotLoggedError):
        art.download()
    with pytest.raises(ValueError, match=r"nope\.bin"):
        art.add_file("nope.bin")
    with pytest.raises(ValueError, match="nope"):
        art.add_dir("nope")
    assert len(art.files()) == 4


# ---------------------------------------------------------------- reading versions


def test_api_artifact_resolves_every_spec_form(logged: ga.Artifact, in_repo: GitRepo) -> None:
    digest = logged.digest.removeprefix("sha256:")
    api = ga.Api()
    at_commit = f"{logged.commit_hash}:model"
    for spec in ("model:v0", "model:latest", "model", f"model:{digest[:8]}", at_commit):
        a = api.artifact(spec)
        assert (a.version, a.digest) == ("v0", logged.digest), spec
    with pytest.raises(ga.GitArtifactsError):
        api.artifact("model:v1")
    with pytest.raises(ga.GitArtifactsError):
        api.artifact("nosuch:v0")


def test_api_works_from_a_subfolder_of_the_repository(
    bikes: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(bikes.root / "data" / "bikes" / "labels")
    a = ga.Api().artifact("bikes:v0")
    assert a.version == "v0" and a.type == "dataset"
    assert len(a.files()) == 4


def test_download_defaults_to_artifacts_name_vN(logged: ga.Artifact, in_repo: GitRepo) -> None:
    out = logged.download()
    assert Path(out) == in_repo.root / "artifacts" / "model-v0"
    assert file_digests(Path(out)) == expected_entries()


def test_download_never_deletes_and_skips_matching_files(
    logged: ga.Artifact, tmp_path: Path
) -> None:
    root = tmp_path / "dl"
    root.mkdir()
    (root / "mine.txt").write_text("keep")
    (root / "model.pt").write_bytes(MODEL_FILES["model.pt"])
    ino = os.stat(root / "model.pt").st_ino
    logged.download(root)
    assert (root / "mine.txt").read_text() == "keep"
    assert os.stat(root / "model.pt").st_ino == ino
    got = file_digests(root)
    del got["mine.txt"]
    assert got == expected_entries()


def test_checkout_makes_the_folder_hold_exactly_the_version(
    logged: ga.Artifact, tmp_path: Path
) -> None:
    root = tmp_path / "co"
    (root / "plots").mkdir(parents=True)
    (root / "stray.txt").write_text("stray")
    (root / "plots" / "old.png").write_text("old")
    (root / "notes.txt").write_text("edited")
    logged.checkout(root)
    assert file_digests(root) == expected_entries()


def test_verify_passes_on_a_download_and_raises_value_error_on_any_mismatch(
    logged: ga.Artifact, tmp_path: Path
) -> None:
    root = Path(logged.download(tmp_path / "v"))
    logged.verify(root)
    (root / "notes.txt").write_text("tampered")
    with pytest.raises(ValueError):
        logged.verify(root)
    (root / "notes.txt").write_text("hello")
    logged.verify(root)
    (root / "extra.txt").write_text("extra")
    with pytest.raises(ValueError):
        logged.verify(root)
    (root / "extra.txt").unlink()
    (root / "model.pt").unlink()
    with pytest.raises(ValueError):
        logged.verify(root)
