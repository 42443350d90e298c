"""import, update and the status note of imports (issue 21, point 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import MODEL_V0, MODEL_V1, World, build_world
from helpers import GitRepo, assert_unchanged, stderr_error_line


@pytest.fixture
def b(world: World) -> GitRepo:
    world.b.ga("project", "add", "vision", str(world.vision.origin))
    world.b.commit("project vision", ".gitartifacts.yaml")
    return world.b


def test_import_writes_a_staged_manifest_recording_its_source_and_the_files(
    b: GitRepo, world: World
) -> None:
    out = b.ga("import", "vision/bike-model:v0").stdout
    assert "imported vision/bike-model:v0 (v0) into model" in out
    assert (b.root / "model" / "bike.bin").read_bytes() == MODEL_V0
    m = b.manifest("bike-model")
    source = world.vision.a.git(
        "show", "refs/tags/artifacts/bike-model/v0:.artifacts/bike-model.yaml"
    )
    assert m["digest"] == yaml.safe_load(source)["digest"]  # the same version, by content
    assert m["metadata"]["imported_from"] == {
        "project": "vision",
        "url": str(world.vision.origin),
        "spec": "bike-model:v0",
        "version": "v0",
        "digest": m["digest"],
    }
    assert ".artifacts/bike-model.yaml" in b.staged()
    assert "model/" not in b.git("status", "--porcelain", "-uall")  # ignored, as by add


def test_import_takes_another_name_and_path(b: GitRepo) -> None:
    b.ga("import", "vision/bike-model:latest", "--as", "bikes", "--path", "models/bikes")
    assert (b.root / "models" / "bikes" / "bike.bin").read_bytes() == MODEL_V1
    assert b.manifest("bikes")["metadata"]["imported_from"]["spec"] == "bike-model:latest"


def test_a_pinned_import_stays_until_update_names_another_version(b: GitRepo) -> None:
    b.ga("import", "vision/bike-model:v0")
    b.commit("import")
    assert "still v0; nothing to update" in b.ga("update", "bike-model").stdout
    assert b.staged() == []
    out = b.ga("update", "bike-model", "--to", "v1").stdout
    assert "v0 -> v1" in out
    assert (b.root / "model" / "bike.bin").read_bytes() == MODEL_V1
    assert b.manifest("bike-model")["metadata"]["imported_from"]["spec"] == "bike-model:v1"
    assert b.staged() == [".artifacts/bike-model.yaml"]


@pytest.mark.slow
def test_an_alias_import_follows_its_target_and_status_says_when_it_moved(
    tmp_path: Path,
) -> None:
    w = build_world(tmp_path / "w")
    b = w.b
    b.ga("project", "add", "vision", str(w.vision.origin))
    b.ga("import", "vision/bike-model:latest")
    b.commit("import", ".")
    assert "source" not in b.ga("status").stdout
    a = w.vision.a
    (a.root / "model" / "bike.bin").unlink()  # v2 holds another file only
    a.write({"model/wheels.bin": b"v2\n"})
    a.ga("add", "model", "--name", "bike-model")
    a.git("add", "-A")
    a.commit("v2")
    a.git("push", "-q", "origin", "main")
    a.ga("push")
    b.ga("fetch", "--projects")
    (row,) = b.ga_json("status")
    assert row["clean"] and "vision/bike-model:latest is v2 now, imported v1" in row["source_moved"]
    b.ga("update", "bike-model")
    assert sorted(p.name for p in (b.root / "model").iterdir()) == ["wheels.bin"]
    assert (b.root / "model" / "wheels.bin").read_bytes() == b"v2\n"
    assert b.ga_json("status")[0]["source_moved"] is None


# ---------------------------------------------------------------- bad input


def test_import_refuses_a_name_that_exists_and_a_spec_of_this_repository(b: GitRepo) -> None:
    b.ga("import", "vision/bike-model:v0")
    b.commit("import")
    b.ga("status")  # tags the committed version
    before = b.snapshot()
    line = stderr_error_line(b.ga("import", "vision/bike-model:v1", rc=None))
    assert "exists here already" in line and "--as" in line
    line = stderr_error_line(b.ga("import", "bike-model:v0", "--as", "x", rc=None))
    assert "names no other project" in line
    assert_unchanged(before, b.snapshot())


def test_an_import_stopped_by_a_local_file_leaves_no_manifest(b: GitRepo) -> None:
    b.write({"model/bike.bin": b"my own work\n"})
    before = b.snapshot()
    line = stderr_error_line(b.ga("import", "vision/bike-model:v0", rc=None))
    assert "model" in line
    assert not (b.root / ".artifacts" / "bike-model.yaml").exists()
    assert (b.root / "model" / "bike.bin").read_bytes() == b"my own work\n"
    after = b.snapshot()
    del before["cache"], after["cache"]  # the objects fetched stay cached, as after a get
    assert_unchanged(before, after)


def test_update_refuses_an_artifact_that_was_not_imported(b: GitRepo) -> None:
    b.write({"data/x.txt": "x\n"})
    b.ga("add", "data", "--name", "mine", "--type", "dataset")
    line = stderr_error_line(b.ga("update", "mine", rc=None))
    assert "was not imported" in line


def test_a_malformed_import_record_is_one_line(b: GitRepo) -> None:
    b.ga("import", "vision/bike-model:v0")
    path = b.root / ".artifacts" / "bike-model.yaml"
    path.write_text(path.read_text().replace("project: vision", "project: ../../etc"))
    before = b.snapshot()
    line = stderr_error_line(b.ga("update", "bike-model", rc=None))
    assert "project name" in line or "imported_from" in line
    assert_unchanged(before, b.snapshot())
