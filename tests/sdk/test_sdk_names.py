"""The Python API with the names W&B accepts, and W&B's reserved names and types refused with
W&B's text before anything is written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import GitRepo, assert_unchanged

import gitartifacts as ga


@pytest.fixture
def in_repo(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    repo.write({"model.h5": "weights"})
    monkeypatch.chdir(repo.root)
    return repo


@pytest.mark.parametrize("name", [".hidden", "-x", "_private", "a..b", "x.lock"])
def test_a_wandb_name_is_saved_and_read_back(in_repo: GitRepo, name: str) -> None:
    art = ga.Artifact(name, type="reference model")
    art.add_file("model.h5")
    art.save()
    got = ga.Api().artifact(f"{name}:v0")
    assert (got.name, got.type) == (f"{name}:v0", "reference model")
    assert got.get_entry("model.h5").size == len("weights")
    assert ga.Api().artifact(f"{name}:latest").digest == got.digest


RESERVED = [
    ("bikes", "wandb-history"),
    ("anything", "job"),
    ("source-train", "code"),
    ("run-abc-table", "run_table"),
]


@pytest.mark.parametrize(("name", "type_"), RESERVED)
def test_reserved_names_and_types_raise_wandbs_text_and_write_nothing(
    in_repo: GitRepo, name: str, type_: str
) -> None:
    before = in_repo.snapshot()
    with pytest.raises(ValueError) as err:
        ga.Artifact(name, type=type_)
    assert str(err.value).startswith(
        f"Artifact type {type_!r} is reserved for internal use. Please use a different type."
    )
    assert_unchanged(before, in_repo.snapshot())


def test_the_walkthroughs_name_with_a_space_gets_wandbs_text(in_repo: GitRepo) -> None:
    with pytest.raises(ValueError) as err:
        ga.Artifact("reference model", type="model")
    assert str(err.value).startswith(
        "Artifact name may only contain alphanumeric characters, dashes, underscores, and dots. "
        "Invalid name: 'reference model'"
    )


@pytest.mark.slow
def test_logging_code_makes_the_reserved_source_name_of_type_code(in_repo: GitRepo) -> None:
    in_repo.write({"train.py": "print(1)\n"})
    in_repo.commit("code", "train.py")
    code = 'with ga.init(job_type="train") as run:\n    a = run.log_code(".")\n'
    code += "    print(a.type, a.name)"
    proc = subprocess.run(
        [sys.executable, "-c", "import gitartifacts as ga\n" + code],
        cwd=in_repo.root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "code source-train:v0"
