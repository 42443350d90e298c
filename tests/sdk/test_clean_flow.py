"""The Python flow leaves the repository as it found it: no staged or untracked files of its
own, HEAD, the branch and the index unchanged."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import GitRepo, make_repo

PIPELINE = textwrap.dedent(
    """
    import os
    import gitartifacts as ga

    with ga.init(job_type="train") as run:
        data = run.use_artifact("bikes:v0")
        root = data.download()
        assert os.path.isfile(os.path.join(root, "bikes", "img0.txt")), root
        exact = data.checkout()
        assert exact == os.path.join(os.path.dirname(root), "bikes"), exact
        os.makedirs("out/plots", exist_ok=True)
        with open("out/plots/loss.png", "w") as f:
            f.write("loss")
        with open("preds.csv", "w") as f:
            f.write("id,p\\n1,0.5\\n")
        run.log_artifact("preds.csv", name="preds", type="predictions")
        run.log_artifact("out", name="report", type="report", aliases=["draft"])
        with open("model.pt", "wb") as f:
            f.write(b"weights")
        run.log_model("model.pt", name="model", aliases=["best"])
        run.link_model("model.pt", "bike-detector", aliases=["production"])
    print(root)
    """
)


def _state(repo: GitRepo) -> dict[str, str]:
    return {
        "status": repo.git("status", "--porcelain", "--untracked-files=all"),
        "head": repo.head(),
        "branch": repo.git("symbolic-ref", "HEAD"),
        "index": repo.git("ls-files", "-s"),
    }


def _run(repo: GitRepo, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], cwd=repo.root, capture_output=True, text=True, check=True
    )


@pytest.mark.slow
def test_a_whole_pipeline_leaves_status_head_index_and_branch_as_they_were(
    bikes: GitRepo,
) -> None:
    before = _state(bikes)
    out = _run(bikes, PIPELINE).stdout.strip()
    assert Path(out) == bikes.root / "artifacts" / "bikes-v0"
    assert _state(bikes) == before
    for name in ("preds", "report", "model"):
        assert bikes.ga_json("log", name)[0]["version"] == "v0"
    _run(bikes, PIPELINE)  # again: the same versions, and no line excluded twice
    assert _state(bikes) == before
    exclude = (bikes.root / ".git" / "info" / "exclude").read_text().splitlines()
    assert [ln for ln in exclude if ln.startswith("/")] == [
        "/artifacts/",
        "/preds.csv",
        "/out/",
        "/model.pt",
    ]
    assert [v["version"] for v in bikes.ga_json("log", "model")] == ["v0"]


def test_config_written_by_the_python_flow_is_not_staged_and_a_line_says_to_commit_it(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "fresh", init_artifacts=False)
    index = repo.git("ls-files", "-s")
    script = (
        "import gitartifacts as ga\n"
        "art = ga.Artifact('notes', 'text')\n"
        "with art.new_file('a.txt') as f: f.write('a')\n"
        "print(art.save().version)\n"
    )
    proc = _run(repo, script)
    assert proc.stdout.strip() == "v0"
    assert repo.git("ls-files", "-s") == index
    untracked = repo.git("status", "--porcelain", "--untracked-files=all")
    assert untracked == "?? .gitartifacts.yaml\n?? .gitattributes\n"
    (line,) = proc.stderr.splitlines()
    assert "git add .gitartifacts.yaml .gitattributes && git commit" in line
    assert _run(repo, script).stderr == ""  # said once, when the file is written


def test_a_logged_folder_with_tracked_files_has_only_its_loose_files_excluded(
    repo: GitRepo,
) -> None:
    repo.write({"cfg/tracked.yaml": "a: 1\n"})
    repo.commit("cfg", "cfg")
    repo.write({"cfg/run.json": "{}", "cfg/sub/x.bin": "x"})
    script = (
        "import gitartifacts as ga\n"
        "art = ga.Artifact('cfg', 'config')\n"
        "art.add_dir('cfg')\n"
        "print(art.save().version)\n"
    )
    assert _run(repo, script).stdout.strip() == "v0"
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    exclude = (repo.root / ".git" / "info" / "exclude").read_text().splitlines()
    assert [ln for ln in exclude if ln.startswith("/")] == ["/cfg/run.json", "/cfg/sub/x.bin"]
    repo.write({"cfg/later.txt": "new"})  # a file added later still shows
    assert repo.git("status", "--porcelain") == "?? cfg/later.txt\n"


def test_a_name_with_a_line_break_never_becomes_two_exclude_patterns(repo: GitRepo) -> None:
    from gitartifacts.gitmodel.project import Project
    from gitartifacts.ops import exclude

    path = Path(repo.root) / ".git" / "info" / "exclude"
    before = path.read_text() if path.exists() else ""
    exclude.exclude(Project.open(repo.root), ["data/a\n*", "data/ok.bin"])
    assert path.read_text() == before + ("" if not before or before.endswith("\n") else "\n") + (
        "/data/ok.bin\n"
    )
