"""Seed 002, creating an artifact: its code blocks with `import gitartifacts as wandb`
(blocks/s002_*.txt) in a fresh repository; then the runs table and lineage. The loop of
lines 44-52 and the parallel writers of lines 117-165 are seed 001's blocks too (tested in
test_seeds_walkthrough.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import GitRepo
from seedrun import edges, outputs, run_block, runs

pytestmark = pytest.mark.slow  # each test runs several scripts, a second or more each


def test_create_add_files_and_log(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(
        {
            "hello_world.txt": b"hello",
            "path/file.format": b"format",
            "path/file.txt": b"text",
            "model.h5": b"model",
            "checkpoints/model.h5": b"checkpoint",
        }
    )
    run_block(repo, "s002_l24_create", tmp_path)
    added = run_block(repo, "s002_l66_add_files", tmp_path)
    assert json.loads(added.stdout.replace("'", '"')) == [
        "file.format",
        "file.txt",
        "model.h5",
        "models/mymodel.h5",
        "new/path/file.format",
        "optional-name",
    ]
    table = runs(repo)
    assert {r["project"] for r in table} == {"artifacts-example"}
    assert {r["job_type"] for r in table} == {"job-type"}
    assert sorted(o for r in table for o in outputs(r)) == [("files", "v0"), ("hello", "v0")]
    first = next(r for r in table if outputs(r) == [("hello", "v0")])
    assert edges(repo, "hello:v0") == {(f"{first['id']} [job-type]", "hello:v0")}


def test_add_directories(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(
        {
            "path/file.format/a.txt": b"a",
            "images/cat.png": b"cat",
            "images/dog.png": b"dog",
        }
    )
    added = run_block(repo, "s002_l88_add_dir", tmp_path)
    assert json.loads(added.stdout.replace("'", '"')) == [
        "cat.png",
        "dog.png",
        "images/cat.png",
        "images/dog.png",
        "optional-prefix/a.txt",
    ]
    (run,) = runs(repo)
    assert outputs(run) == [("folders", "v0")]
