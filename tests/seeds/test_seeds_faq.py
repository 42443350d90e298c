"""Seed 000, the Artifacts FAQ: its code blocks run as written with `import gitartifacts as
wandb` (blocks/s000_*.txt), each in a fresh repository; then the runs table and lineage."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo
from seedrun import edges, inputs, other_project, outputs, run_block, runs, setup

pytestmark = pytest.mark.slow  # each test runs several scripts, a second or more each


def test_log_an_artifact_to_an_existing_run(repo: GitRepo, tmp_path: Path) -> None:
    setup(repo, "ga.init(id='existing_run_id', job_type='train').finish()")
    (repo.root / "my_data").mkdir()
    (repo.root / "my_data" / "file.txt").write_text("data\n")
    run_block(repo, "s000_l13_resume_run", tmp_path)
    (run,) = runs(repo)
    assert (run["id"], run["state"]) == ("existing_run_id", "finished")
    assert outputs(run) == [("artifact_name", "v0")]
    assert edges(repo, "artifact_name:v0") == {("existing_run_id [train]", "artifact_name:v0")}


def test_walk_the_graph_from_a_run(repo: GitRepo, tmp_path: Path) -> None:
    (repo.root / "a.txt").write_text("a\n")
    (repo.root / "b.txt").write_text("b\n")
    setup(
        repo,
        """
        with ga.init(id="producer", job_type="load") as run:
            art = ga.Artifact("raw", "dataset"); art.add_file("a.txt"); run.log_artifact(art)
        with ga.init(id="run_id", job_type="train") as run:
            run.use_artifact("raw:latest")
            run.log_artifact("b.txt", name="model", type="model")
        with ga.init(id="consumer", job_type="eval") as run:
            run.use_artifact("model:latest")
        """,
    )
    proc = run_block(repo, "s000_l34_graph_from_run", tmp_path)
    assert proc.stdout.split() == ["producer", "['consumer']"]
    assert edges(repo, "model:v0") == {
        ("run_id [train]", "model:v0"),
        ("model:v0", "consumer [eval]"),
        ("raw:v0", "run_id [train]"),
        ("producer [load]", "raw:v0"),
    }


def test_walk_the_graph_from_an_artifact(repo: GitRepo, tmp_path: Path) -> None:
    other_project(
        repo,
        tmp_path,
        "project",
        """
        with ga.init(job_type="load") as run:
            run.log_artifact("a.txt", name="artifact", type="dataset", aliases=["alias"])
        with ga.init(job_type="train") as run:
            run.use_artifact("artifact:alias")
        """,
        files={"a.txt": b"a\n"},
    )
    run_block(repo, "s000_l24_graph_from_artifact", tmp_path)


def test_best_run_of_a_sweep_and_its_model(repo: GitRepo, tmp_path: Path) -> None:
    run_block(repo, "s000_l46_sweep_model", tmp_path)
    setup(
        repo,
        """
        for i, acc in enumerate([0.5, 0.9, 0.7]):
            with ga.init(group="sweep_id", job_type="sweep", id=f"trial-{i}") as run:
                run.summary["val_acc"] = acc
                with open("model.bin", "w") as f:
                    f.write(f"weights of trial {i}")
                art = ga.Artifact(name="sweep_name", type="model")
                art.add_file("model.bin")
                run.log_artifact(art)
        """,
    )
    proc = run_block(repo, "s000_l49_best_run_of_sweep", tmp_path)
    (folder,) = proc.stdout.split()
    assert (Path(folder) / "model.bin").read_text() == "weights of trial 1"
    table = {r["id"]: r for r in runs(repo)}
    assert {k: r["summary"]["val_acc"] for k, r in table.items()} == {
        "trial-0": 0.5,
        "trial-1": 0.9,
        "trial-2": 0.7,
    }
    assert outputs(table["trial-1"]) == [("sweep_name", "v1")]


def test_version_code_as_an_artifact(repo: GitRepo, tmp_path: Path) -> None:
    (repo.root / "train.py").write_text("print('train')\n")
    run_block(repo, "s000_l60_code_artifact", tmp_path)
    (run,) = runs(repo)
    assert outputs(run) == [("train-code", "v0")]
    assert edges(repo, "train-code:v0") == {(f"{run['id']} [run]", "train-code:v0")}


def test_entry_extra_of_a_reference(repo: GitRepo, tmp_path: Path) -> None:
    (repo.root / "rows.csv").write_text("a,b\n")
    uri = (repo.root / "rows.csv").as_uri()
    setup(
        repo,
        f"""
        with ga.init(job_type="load") as run:
            art = ga.Artifact("my_table", "dataset")
            art.add_reference({uri!r})
            run.log_artifact(art)
        """,
    )
    run_block(repo, "s000_l72_entry_extra", tmp_path)
    used = [r for r in runs(repo) if r["inputs"]]
    assert [inputs(r) for r in used] == [[("my_table", "v0")]]
