"""The seeds' entry API: `get_path`, `Entry.download`, `Entry.ref()`, `Artifact.file` and
`artifact.manifest.entries[path].extra`, run as the seeds write them."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo
from servers import Bucket, FileServer

import gitartifacts as ga
import gitartifacts as wandb


@pytest.fixture
def in_repo(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    repo.write({"model.h5": b"weights", "data/a.csv": b"a,1\n", "data/b.csv": b"b,2\n"})
    monkeypatch.chdir(repo.root)
    return repo


def test_get_path_entry_download_writes_one_file_and_returns_its_path(
    in_repo: GitRepo, tmp_path: Path
) -> None:
    art = ga.Artifact("bikes", type="dataset")
    art.add_dir("data", name="data")
    art.save()
    artifact = wandb.Api().artifact("bikes:latest")
    name = "data/b.csv"
    # 001-artifacts-walkthrough: `path = artifact.get_path(name)`, then `Entry.download()`.
    path = artifact.get_path(name)
    written = path.download(str(tmp_path / "out"))
    assert written == str(tmp_path / "out" / "data" / "b.csv")
    assert Path(written).read_bytes() == b"b,2\n"
    assert sorted(p.name for p in (tmp_path / "out" / "data").iterdir()) == ["b.csv"]
    default = artifact.get_entry("data/a.csv").download()
    assert Path(default).read_bytes() == b"a,1\n"
    assert Path(default).parent.parent.name == "bikes-v0"


def test_entry_of_a_draft_cannot_download(in_repo: GitRepo) -> None:
    art = ga.Artifact("bikes", type="dataset")
    art.add_file("model.h5")
    with pytest.raises(ga.ArtifactNotLoggedError, match="not logged"):
        art.get_path("model.h5").download()
    with pytest.raises(KeyError, match="Path not contained in artifact: nope"):
        art.get_path("nope")


def test_artifact_file_is_the_one_file_and_refuses_several(
    in_repo: GitRepo, tmp_path: Path
) -> None:
    with wandb.init(job_type="train") as run:
        artifact = wandb.Artifact("bike-model", type="model")
        artifact.add_file("model.h5")
        run.log_artifact(artifact)
        many = wandb.Artifact("bike-data", type="dataset")
        many.add_dir("data")
        run.log_artifact(many)
    with wandb.init(job_type="eval") as run:
        model = run.use_artifact("bike-model:latest")
        assert Path(model.file()).read_bytes() == b"weights"
        assert model.file(str(tmp_path / "m")) == str(tmp_path / "m" / "model.h5")
        data = run.use_artifact("bike-data:latest")
        with pytest.raises(ValueError) as err:
            data.file()
    assert str(err.value).startswith(
        "This artifact contains more than one file, call `.download()` to get all files or "
        'call .get_entry("filename").download()'
    )


def test_entry_ref_is_an_attribute_and_callable(in_repo: GitRepo, http_server: FileServer) -> None:
    (http_server.root / "labels.json").write_bytes(b'{"a": 1}')
    uri = f"{http_server.url}/labels.json"
    art = ga.Artifact("labels", type="dataset")
    art.add_reference(uri)
    art.add_file("model.h5")
    art.save()
    artifact = wandb.Api().artifact("labels:v0")
    entry = artifact.get_path("labels.json")
    assert entry.ref == uri
    assert entry.ref() == uri
    assert artifact.get_path("model.h5").ref is None


def test_faq_snippet_reads_etag_of_a_reference(in_repo: GitRepo, http_server: FileServer) -> None:
    (http_server.root / "t.json").write_bytes(b"[1, 2]")
    art = ga.Artifact("my_table", type="dataset")
    art.add_reference(f"{http_server.url}/t.json")
    art.add_file("model.h5")
    art.save()
    found = {}
    with wandb.init() as run:
        # 000-artifacts-faq, as written but for its `manifest_entry` (the loop's `entry`).
        artifact = run.use_artifact("my_table:latest")
        for entry in artifact.manifest.entries.values():
            manifest_entry = entry
            versionID = entry.extra.get("versionID")
            etag = manifest_entry.extra.get("etag")
            found[entry.path] = (versionID, etag)
    digest = artifact.get_entry("t.json").digest
    assert found == {"t.json": (None, digest[len("etag:") :].strip('"')), "model.h5": (None, None)}


@pytest.mark.slow
def test_manifest_extra_has_the_version_id_of_a_versioned_bucket(
    in_repo: GitRepo, s3_versioned_bucket: Bucket
) -> None:
    b = s3_versioned_bucket
    b.fs.pipe(f"{b.name}/labels.json", b'{"v": 1}')
    in_repo.ga("remote", "add", "s3", f"{b.url}/cache", "--endpoint-url", b.endpoint, "--default")
    art = ga.Artifact("labels", type="dataset")
    art.add_reference(f"{b.url}/labels.json")
    art.save()
    extra = ga.Api().artifact("labels:v0").manifest.entries["labels.json"].extra
    assert extra["versionID"] == b.fs.info(f"{b.name}/labels.json")["VersionId"]
    assert extra["etag"]


# ---------------------------------------------------------------- drafts of a next version


def test_new_draft_holds_the_version_and_saves_as_the_next(in_repo: GitRepo) -> None:
    first = ga.Artifact("bikes", type="dataset", description="bikes", metadata={"k": 1})
    first.add_dir("data")
    first.save(aliases=["best"])
    parent = ga.Api().artifact("bikes:v0")
    child = parent.new_draft()
    assert child.is_draft() and child.name == "bikes" and child.type == "dataset"
    assert (child.description, child.metadata) == ("bikes", {"k": 1})
    child.add_file("model.h5")
    child.remove("a.csv")
    child.save()
    assert child.version == "v1"
    v1 = ga.Api().artifact("bikes:v1")
    assert sorted(e.path for e in v1.files()) == ["b.csv", "model.h5"]
    assert v1.aliases == ["latest"]
    assert sorted(e.path for e in ga.Api().artifact("bikes:v0").files()) == ["a.csv", "b.csv"]


def test_new_draft_of_a_draft_is_refused(in_repo: GitRepo) -> None:
    with pytest.raises(ga.ArtifactNotLoggedError, match="used prior to logging artifact"):
        ga.Artifact("bikes", type="dataset").new_draft()


def test_incremental_draft_adds_to_the_latest_version(in_repo: GitRepo) -> None:
    with wandb.init() as run:
        first = wandb.Artifact("bikes", type="dataset")
        first.add_file("data/a.csv")
        run.log_artifact(first)
        more = wandb.Artifact("bikes", type="dataset", incremental=True)
        more.add_file("data/b.csv")
        run.log_artifact(more)
        assert more.incremental
        plain = wandb.Artifact("bikes", type="dataset")
        plain.add_file("model.h5")
        run.log_artifact(plain)
    api = ga.Api()
    versions = [sorted(e.path for e in api.artifact(f"bikes:v{n}").files()) for n in range(3)]
    assert versions == [["a.csv"], ["a.csv", "b.csv"], ["model.h5"]]


def test_incremental_draft_of_a_new_name_is_its_own_files(in_repo: GitRepo) -> None:
    art = ga.Artifact("fresh", type="dataset", incremental=True)
    art.add_file("model.h5")
    art.save()
    assert [e.path for e in ga.Api().artifact("fresh:v0").files()] == ["model.h5"]


# ---------------------------------------------------------------- use_artifact, log_artifact


def test_use_artifact_takes_w_and_b_arguments(
    in_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with wandb.init(job_type="make") as run:
        # 001-artifacts-walkthrough: a draft given to use_artifact is saved, then used.
        artifact = wandb.Artifact("bike-model", type="model")
        artifact.add_file("model.h5")
        run.use_artifact(artifact, aliases=["first"])
    assert artifact.version == "v0"
    assert sorted(ga.Api().artifact("bike-model:v0").aliases) == ["first", "latest"]
    assert artifact.logged_by() is None
    with wandb.init(job_type="eval") as run:
        used = run.use_artifact("bike-model:latest", type="model", use_as="weights")
        assert used.version == "v0"
        with pytest.raises(ValueError) as err:
            run.use_artifact("bike-model:v0", type="dataset")
    assert str(err.value).startswith(
        "Supplied type dataset does not match type model of artifact bike-model:v0"
    )
    assert "`use_as` argument is deprecated" in capsys.readouterr().err
    assert [r.job_type for r in ga.Api().artifact("bike-model:v0").used_by()] == ["make", "eval"]


def test_log_artifact_of_a_path_is_named_after_the_run_and_unspecified(in_repo: GitRepo) -> None:
    with wandb.init() as run:
        art = run.log_artifact("model.h5")
        folder = run.log_artifact("data/")
        with pytest.raises(ValueError, match="path must be a file, directory or external"):
            run.log_artifact("nowhere.bin")
    assert (art.name, art.type) == (f"run-{run.id}-model.h5:v0", "unspecified")
    assert folder.name == f"run-{run.id}-data:v0"
    assert sorted(e.path for e in folder.files()) == ["a.csv", "b.csv"]


def test_a_recorded_run_logs_an_existing_version_and_refuses_a_draft(in_repo: GitRepo) -> None:
    with wandb.init(job_type="train") as run:
        pass
    art = ga.Artifact("bikes", type="dataset")
    art.add_file("model.h5")
    art.save()
    api_run = ga.Api().run(run.id)
    api_run.log_artifact(ga.Api().artifact("bikes:v0"), aliases=["attached"])
    assert [a.name for a in ga.Api().run(run.id).logged_artifacts()] == ["bikes:v0"]
    assert ga.Api().artifact("bikes:v0").logged_by().id == run.id
    assert "attached" in ga.Api().artifact("bikes:v0").aliases
    draft = ga.Artifact("other", type="dataset")
    draft.add_file("model.h5")
    for bad in (draft, "model.h5"):
        with pytest.raises(ValueError) as err:
            api_run.log_artifact(bad)
        assert str(err.value).startswith(
            "Only existing artifacts are accepted by this api. "
            "Manually create one with `wandb artifacts put`"
        )
    assert not ga.Api().artifact_exists("other")


# ---------------------------------------------------------------- registry links


def test_unlink_removes_the_link_and_its_aliases_and_keeps_the_version(in_repo: GitRepo) -> None:
    for content in (b"one", b"two"):
        (in_repo.root / "model.h5").write_bytes(content)
        art = ga.Artifact("bike-model", type="model")
        art.add_file("model.h5")
        art.save()
    first = ga.Api().artifact("bike-model:v0").link("bike-detector", aliases=["production"])
    assert first.is_link and first.version == "v0"
    ga.Api().artifact("bike-model:v1").link("bike-detector")
    linked = ga.Api().artifact("registry/bike-detector:production")
    old = in_repo.git("rev-parse", "refs/tags/registry/bike-detector/v0").strip()
    linked.unlink()
    assert not linked.is_link
    with pytest.raises(KeyError, match="'bike-detector' has no 'production'"):
        ga.Api().artifact("registry/bike-detector:production")
    # An alias of the removed link that comes back (a fetch from a remote) names nothing.
    in_repo.git("update-ref", "refs/tags/registry/bike-detector/production", old)
    with pytest.raises(KeyError, match="registry/bike-detector:production was unlinked"):
        ga.Api().artifact("registry/bike-detector:production")
    with pytest.raises(KeyError, match="registry/bike-detector:v0 was unlinked"):
        ga.Api().artifact("registry/bike-detector:v0")
    assert ga.Api().artifact("registry/bike-detector:latest").version == "v1"
    assert ga.Api().artifact("bike-model:v0").get_entry("model.h5").size == 3
    # The number of an unlinked link is not given again.
    ga.Api().artifact("bike-model:v0").link("bike-detector")
    assert ga.Api().artifact("registry/bike-detector:v2").version == "v0"


def test_unlink_of_an_artifact_that_is_not_a_link_is_refused(in_repo: GitRepo) -> None:
    art = ga.Artifact("bike-model", type="model")
    art.add_file("model.h5")
    art.save()
    with pytest.raises(ValueError) as err:
        ga.Api().artifact("bike-model:v0").unlink()
    assert str(err.value).startswith(
        "Artifact 'bike-model:v0' is not a linked artifact and cannot be unlinked.  "
        "To delete it, use 'delete' instead."
    )


# ---------------------------------------------------------------- sweeps


def test_faq_best_run_of_a_sweep_and_its_artifacts(
    in_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    for acc in (0.5, 0.9, 0.7):
        with wandb.init(group="sweep-7", job_type="train") as run:
            (in_repo.root / "model.h5").write_text(f"acc {acc}")
            art = wandb.Artifact("sweep_name", type="model")
            art.add_file("model.h5")
            run.log_artifact(art)
            run.summary["val_acc"] = acc
    with wandb.init(group="other") as run:
        run.summary["val_acc"] = 1.0
    # 000-artifacts-faq, as written.
    api = wandb.Api()
    sweep = api.sweep("entity/project/sweep-7")
    runs = sorted(sweep.runs, key=lambda run: run.summary.get("val_acc", 0), reverse=True)
    best_run = runs[0]
    for artifact in best_run.logged_artifacts():
        artifact_path = artifact.download()
        print(artifact_path)
    printed = capsys.readouterr().out.split()
    assert len(sweep.runs) == 3 and sweep.id == "sweep-7"
    assert (Path(printed[-1]) / "model.h5").read_text() == "acc 0.9"
    with pytest.raises(KeyError, match="Could not find sweep nope"):
        api.sweep("nope")


def test_an_entry_of_a_reference_is_referenced_again(
    in_repo: GitRepo, http_server: FileServer
) -> None:
    (http_server.root / "t.json").write_bytes(b"[1]")
    art = ga.Artifact("refs", type="dataset")
    art.add_reference(f"{http_server.url}/t.json")
    art.save()
    again = ga.Artifact("refs2", type="dataset")
    again.add_reference(ga.Api().artifact("refs:v0").get_entry("t.json"))
    again.save()
    assert ga.Api().artifact("refs2:v0").get_entry("t.json").ref == f"{http_server.url}/t.json"
