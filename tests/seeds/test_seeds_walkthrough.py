"""Seed 001, the Artifacts walkthrough: its code blocks in the page's order, in one fresh
repository (blocks/s001_*.txt); then the runs table and lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import GitRepo
from seedrun import edges, inputs, other_project, outputs, run_block, runs, setup

pytestmark = pytest.mark.slow  # each test runs several scripts, a second or more each


def files(repo: GitRepo) -> None:
    """The files the page assumes: its project-directory listing and bicycle-data.h5."""
    repo.write(
        {
            "bicycle-data.h5": b"bikes",
            "model.h5": b"model",
            "checkpoints/model.h5": b"checkpoint",
            "images/cat.png": b"cat",
            "images/dog.png": b"dog",
        }
    )


def test_walkthrough_in_order(repo: GitRepo, tmp_path: Path) -> None:
    files(repo)
    for block in ("s001_l12_init", "s001_l35_race", "s001_l45_use_download"):
        run_block(repo, block, tmp_path)
    built = run_block(repo, "s001_l89_construct", tmp_path)
    assert json.loads(built.stdout.replace("'", '"')) == [
        "cat.png",
        "hello.txt",
        "optional-name",
        "optional-name-ref",
        "optional-prefix/cat.png",
        "optional-prefix/dog.png",
    ]
    got = run_block(repo, "s001_l236_use_stored", tmp_path)
    assert Path(got.stdout.strip()).read_bytes() == b"bikes"
    run_block(repo, "s001_l276_update", tmp_path)
    updated = setup(repo, "a = ga.Api().artifact('bike-dataset:v0'); print(a.description)")
    assert updated.strip() == "My new description"
    # its own content: a version's runs are found by digest, and model.h5 is bike-model's
    repo.write({"data.csv": b"rows"})
    setup(repo, "ga.init(job_type='load', id='data-run').log_artifact('data.csv', name='data')")
    walked = run_block(repo, "s001_l284_traverse", tmp_path)
    assert walked.stdout.split() == ["data-run", "1", "1"]
    run_block(repo, "s001_l292_cleanup", tmp_path)
    left = setup(repo, "print([a.aliases for a in ga.Api().artifact_versions('race')])")
    assert "[]" not in left.replace("[[", "[ [").split()  # every version left has an alias

    table = {r["job_type"]: r for r in runs(repo) if r["job_type"]}
    assert outputs(table["train"]) == [("bike-dataset", "v0")]
    assert outputs(table["load"]) == [("data", "v0")]
    used = [inputs(r) for r in runs(repo) if r["inputs"]]
    assert [("bike-dataset", "v0"), ("bike-model", "v0")] in [sorted(u) for u in used]
    graph = edges(repo, "bike-dataset:v0")
    assert (f"{table['train']['id']} [train]", "bike-dataset:v0") in graph
    assert sum(1 for a, _ in graph if a == "bike-dataset:v0") == 2  # used twice downstream


def test_use_an_artifact_of_another_project(repo: GitRepo, tmp_path: Path) -> None:
    other_project(
        repo,
        tmp_path,
        "my-project",
        "ga.init().log_artifact('model.h5', name='bike-model', type='model')",
        files={"model.h5": b"bike weights"},
    )
    run_block(repo, "s001_l51_other_project", tmp_path)
    (run,) = runs(repo)
    assert inputs(run) == [("my-project/bike-model", "v0")]  # used twice, one input


def test_construct_and_use_an_artifact(repo: GitRepo, tmp_path: Path) -> None:
    files(repo)
    run_block(repo, "s001_l262_construct_and_use", tmp_path)
    run_block(repo, "s001_l262_construct_and_use", tmp_path)  # idempotent, as the seed says
    assert [outputs(r) for r in runs(repo)] == [[], []]
    assert [inputs(r) for r in runs(repo)] == [[("reference-model", "v0")]] * 2


def test_download_outside_a_run(repo: GitRepo, tmp_path: Path) -> None:
    other_project(
        repo,
        tmp_path,
        "project",
        "ga.init().log_artifact('model.h5', name='artifact', aliases=['alias'])",
        files={"model.h5": b"weights to download"},
    )
    run_block(repo, "s001_l268_download_outside_run", tmp_path)
    (got,) = (repo.root / "artifacts").rglob("model.h5")
    assert got.read_bytes() == b"weights to download"


def test_parallel_writers(repo: GitRepo, tmp_path: Path) -> None:
    run_block(repo, "s001_l220_parallel", tmp_path)
    table = runs(repo)
    assert len(table) == 6
    # The five writers and the finisher all made the one version: each run names it.
    assert {tuple(outputs(r)) for r in table} == {(("parallel-artifact", "v0"),)}
