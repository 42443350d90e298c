"""Seed 004, the MNIST pipeline notebook: every cell in order (blocks/s004_pipeline.txt,
torch swapped for numpy/pickle) in a fresh repository; then the runs table, the history of
the training run and the lineage from the raw data to the trained model."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo
from seedrun import edges, inputs, outputs, run_block, runs, setup

pytestmark = pytest.mark.slow  # each test runs several scripts, a second or more each

WITHOUT_REPORT = {"\nevaluate_and_log()\n": "\n# evaluate_and_log(): needs wandb.Image\n"}


def test_pipeline_up_to_the_trained_model(repo: GitRepo, tmp_path: Path) -> None:
    run_block(repo, "s004_pipeline", tmp_path, replace=WITHOUT_REPORT)
    table = {r["job_type"]: r for r in runs(repo)}
    assert set(table) == {"load-data", "preprocess-data", "initialize", "train"}
    assert {r["state"] for r in table.values()} == {"finished"}
    assert {r["project"] for r in table.values()} == {"artifacts-example"}
    assert outputs(table["load-data"]) == [("mnist-raw", "v0")]
    assert inputs(table["preprocess-data"]) == [("mnist-raw", "v0")]
    assert outputs(table["preprocess-data"]) == [("mnist-preprocess", "v0")]
    assert sorted(inputs(table["train"])) == [("convnet", "v0"), ("mnist-preprocess", "v0")]
    assert outputs(table["train"]) == [("trained-model", "v0")]
    train = table["train"]
    # wandb.config: the train config with the model's metadata merged in
    assert train["config"]["batch_size"] == 128 and train["config"]["num_classes"] == 10
    assert [f["path"] for f in train["files"]] == ["trained_model.pth"]  # wandb.save
    steps = setup(
        repo,
        f"""
        rows = ga.Api().run({train["id"]!r}).history(keys=["validation/accuracy"], pandas=False)
        print([r["_step"] for r in rows])
        """,
    )
    assert steps.strip() == "[200, 400, 600, 800, 1000]"  # step=example_ct, 5 epochs of 200
    ids = {job: f"{r['id']} [{job}]" for job, r in table.items()}
    assert edges(repo, "trained-model:v0") >= {
        (ids["load-data"], "mnist-raw:v0"),
        ("mnist-raw:v0", ids["preprocess-data"]),
        (ids["preprocess-data"], "mnist-preprocess:v0"),
        ("mnist-preprocess:v0", ids["train"]),
        ("convnet:v0", ids["train"]),
        (ids["train"], "trained-model:v0"),
    }


def test_whole_pipeline_with_the_report(repo: GitRepo, tmp_path: Path) -> None:
    run_block(repo, "s004_pipeline", tmp_path)
    (report,) = [r for r in runs(repo) if r["job_type"] == "report"]
    assert sorted(inputs(report)) == [("mnist-preprocess", "v0"), ("trained-model", "v0")]
    assert set(report["summary"]) >= {"loss", "accuracy", "high-loss-examples"}
