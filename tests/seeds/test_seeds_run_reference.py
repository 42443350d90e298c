"""Seed 003, the `Run` reference: its code blocks with `import gitartifacts as wandb`
(blocks/s003_*.txt), each in a fresh repository; then the runs table and lineage. The
media examples (Histogram, Video, matplotlib, PR curve, Object3D) log no artifact and are
not part of the W&B surface this tool takes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import GitRepo
from seedrun import edges, inputs, other_project, outputs, run_block, runs, setup

pytestmark = pytest.mark.slow  # each test runs several scripts, a second or more each


def test_create_and_finish_runs(repo: GitRepo, tmp_path: Path) -> None:
    run_block(repo, "s003_l14_create", tmp_path)
    table = runs(repo)
    assert len(table) == 4
    assert {r["state"] for r in table} == {"finished"}


def test_log_steps_and_commits(repo: GitRepo, tmp_path: Path) -> None:
    run_block(repo, "s003_l341_log_steps", tmp_path)
    first, second, third = sorted(runs(repo), key=lambda r: r["start"])
    rows = setup(repo, f"print(len(ga.Api().run({first['id']!r}).history(pandas=False)))")
    # 1 + 1 + 2 implicit steps, 2 committed by a later step, 2 explicit steps
    assert rows.strip() == "8"
    assert first["summary"]["accuracy"] == 0.9 and first["summary"]["train/loss"] == 30
    assert second["summary"] == {"accuracy": 0.9, "epoch": 5}
    assert third["summary"] == {"loss": 0.2, "accuracy": 0.8}


def test_link_model_log_code_and_log_model(repo: GitRepo, tmp_path: Path) -> None:
    repo.write({"local/directory/model.pt": b"weights", "train.py": b"print('train')\n"})
    repo.commit("code", "train.py")
    run_block(repo, "s003_l266_link_and_log_model", tmp_path)
    (run,) = runs(repo)
    names = {name for name, _ in outputs(run)}
    assert names == {"my_model_artifact", "source-train"}
    assert [link["collection"] for link in run["links"]] == ["my_reg_model"]
    assert edges(repo, "my_model_artifact:v0") == {(f"{run['id']} [train]", "my_model_artifact:v0")}
    used = run_block(repo, "s003_l763_use_model", tmp_path)
    assert Path(used.stdout.strip()).read_bytes() == b"weights"
    assert inputs(next(r for r in runs(repo) if r["job_type"] == "eval")) == [
        ("my_model_artifact", "v0")
    ]


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ("s003_l277_wrong_link_model", "Please provide only the name of the registered model"),
        ("s003_l574_wrong_log_model", "my_entity/my_project/my_model_artifact"),
        ("s003_l777_wrong_use_model", "my_entity/my_project/my_model_artifact"),
    ],
)
def test_what_the_page_calls_wrong_usage_raises(
    repo: GitRepo, tmp_path: Path, block: str, says: str
) -> None:
    repo.write({"local/directory/model.pt": b"weights"})
    proc = run_block(repo, block, tmp_path, rc=1)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gitartifacts.errors.") and says in last
    assert all(not outputs(r) for r in runs(repo))  # nothing logged


def test_log_code_from_a_subfolder(repo: GitRepo, tmp_path: Path) -> None:
    repo.write({"src/train.py": b"x = 1\n", "cache/old.py": b"y = 2\n", "notes.txt": b"n"})
    repo.commit("code", "src/train.py", "cache/old.py", "notes.txt")
    run_block(repo, "s003_l537_log_code_advanced", tmp_path, cwd=repo.root / "src")
    (run,) = runs(repo)
    ((name, version),) = outputs(run)
    listed = setup(
        repo, f"print(sorted(f.path for f in ga.Api().artifact('{name}:{version}').files()))"
    )
    assert listed.strip() == "['src/train.py']"


def test_save_files(repo: GitRepo, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for rel in ("User/username/Documents/run123/a.txt", "User/username/Documents/run123/b.txt"):
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text(rel)
    repo.write(
        {
            "these/are/myfiles/m.txt": b"m",
            "files/one/saveme.txt": b"1",
            "files/two/saveme.txt": b"2",
        }
    )
    env = {**os.environ, "SEED_DOCS": str(docs)}
    run_block(repo, "s003_l644_save", tmp_path, env=env)
    (run,) = runs(repo)
    assert sorted(f["path"] for f in run["files"]) == [
        "are/myfiles/m.txt",
        "files/one/saveme.txt",
        "files/two/saveme.txt",
        "run123/a.txt",
        "run123/b.txt",
        "these/are/myfiles/m.txt",
        "username/Documents/run123/a.txt",
        "username/Documents/run123/b.txt",
    ]


def test_use_model_of_another_project(repo: GitRepo, tmp_path: Path) -> None:
    other = other_project(
        repo,
        tmp_path,
        "my_project",
        "ga.init().log_model('model.pt', name='my_model_artifact')",
        files={"model.pt": b"weights"},
    )
    digest = setup(other, "print(ga.Api().artifact('my_model_artifact:v0').digest)").strip()
    # the seed's `<digest>` placeholder is the version's digest
    run_block(repo, "s003_l767_use_model_projects", tmp_path, replace={"<digest>": digest})
    (run,) = runs(repo)
    assert inputs(run) == [("my_project/my_model_artifact", "v0")]  # used twice, one input


@pytest.mark.parametrize("block", ["s003_l401_numpy_image", "s003_l414_pil_image"])
def test_log_images(repo: GitRepo, tmp_path: Path, block: str) -> None:
    run_block(repo, block, tmp_path)
    (run,) = runs(repo)
    assert run["state"] == "finished"
