"""Issue 21's acceptance, end to end: A publishes bike-model v0 and v1; B adds A as project
`vision`, uses `vision/bike-model:latest` in a run, imports v0 and updates it to v1; a fresh
clone of B reproduces everything with `git artifacts pull` alone; B's lineage names A."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODEL_V0, MODEL_V1, World
from helpers import GitRepo, clone
from servers import Bucket

USE_IN_A_RUN = """
import gitartifacts as ga
with ga.init(job_type="eval", name="eval-bikes") as run:
    art = run.use_artifact("vision/bike-model:latest")
    print(art.name)
    print(open(art.download() + "/bike.bin").read().strip())
"""


@pytest.mark.slow
def test_b_uses_imports_and_updates_a_model_of_a_and_a_fresh_clone_reproduces_it(
    world: World, tmp_path: Path
) -> None:
    b = world.b
    b.ga("project", "add", "vision", str(world.vision.origin))
    (tmp_path / "bstore").mkdir()
    b.ga("remote", "add", "store", str(tmp_path / "bstore"), "--default")
    b.commit("use project vision", ".gitartifacts.yaml")

    out = run_python(b, USE_IN_A_RUN)
    assert out.splitlines() == ["vision/bike-model:v1", "weights one, better"]

    b.ga("import", "vision/bike-model:v0")
    assert (b.root / "model" / "bike.bin").read_bytes() == MODEL_V0
    assert b.manifest("bike-model")["metadata"]["imported_from"]["version"] == "v0"
    b.commit("import bike-model v0")
    assert "nothing to update" in b.ga("update", "bike-model").stdout  # v0 is pinned
    b.ga("update", "bike-model", "--to", "v1")
    assert (b.root / "model" / "bike.bin").read_bytes() == MODEL_V1
    record = b.manifest("bike-model")["metadata"]["imported_from"]
    assert record["project"] == "vision" and record["version"] == "v1"
    assert record["url"] == str(world.vision.origin)
    b.commit("bike-model v1 of vision")
    b.git("push", "-q", "origin", "main")
    b.ga("push")
    # B's own remote loses its copy: the fresh clone's files must come from A's remote.
    shutil.rmtree(tmp_path / "bstore" / "sha256", ignore_errors=True)
    shutil.rmtree(tmp_path / "bstore" / "packs", ignore_errors=True)

    fresh = clone(world.b_origin, tmp_path / "fresh")
    fresh.ga("pull")
    assert (fresh.root / "model" / "bike.bin").read_bytes() == MODEL_V1
    assert fresh.ga_json("status")[0]["clean"]
    (run,) = fresh.ga_json("runs")
    (used,) = run["inputs"]
    assert (used["name"], used["version"], used["project"]) == ("vision/bike-model", "v1", "vision")
    assert used["url"] == str(world.vision.origin)
    graph = fresh.ga_json("lineage", "vision/bike-model:v1", "--format", "json")
    labels = {n["label"] for n in graph["nodes"]}
    assert "vision/bike-model:v1" in labels and "eval-bikes" in labels
    projects_named = {n.get("project") for n in graph["nodes"] if n["kind"] == "artifact"}
    assert projects_named == {"vision"}


@pytest.mark.slow
def test_a_project_whose_remote_is_s3_serves_use_and_import(
    tmp_path: Path, s3_bucket: Bucket
) -> None:
    for bare in ("A.git", "B.git"):
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(tmp_path / bare)])
    a = clone(tmp_path / "A.git", tmp_path / "A")
    a.commit("initial")
    a.ga("init")
    url = f"{s3_bucket.url}/cache"
    a.ga("remote", "add", "s3", url, "--default", "--endpoint-url", s3_bucket.endpoint)
    for data in (MODEL_V0, MODEL_V1):
        a.write({"model/bike.bin": data})
        a.ga("add", "model", "--name", "bike-model", "--type", "model")
        a.commit("model", ".")
    a.git("push", "-q", "origin", "main")
    a.ga("push")
    b = clone(tmp_path / "B.git", tmp_path / "B")
    b.commit("initial")
    b.ga("init")
    b.ga("project", "add", "vision", str(tmp_path / "A.git"))
    assert run_python(b, USE_IN_A_RUN).splitlines()[1] == "weights one, better"
    b.ga("import", "vision/bike-model:v0", "--as", "bikes", "--path", "models/bikes")
    assert (b.root / "models" / "bikes" / "bike.bin").read_bytes() == MODEL_V0
    assert json.loads(b.ga("status", "--json").stdout)[0]["name"] == "bikes"


def run_python(repo: GitRepo, code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


TRAIN_IN_A = """
import gitartifacts as ga
with ga.init(job_type="train", name="train-bikes") as run:
    run.use_artifact("bike-data:latest")
    art = ga.Artifact("bike-model", type="model")
    art.add_file("model/bike.bin")
    run.log_artifact(art)
"""


@pytest.mark.slow
def test_lineage_up_continues_into_the_projects_own_runs(tmp_path: Path) -> None:
    for bare in ("A.git", "B.git"):
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(tmp_path / bare)])
    a = clone(tmp_path / "A.git", tmp_path / "A")
    a.commit("initial")
    a.ga("init")
    (tmp_path / "store").mkdir()
    a.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    a.write({"data/bikes.csv": "id\n1\n", "model/bike.bin": MODEL_V0})
    a.ga("add", "data", "--name", "bike-data", "--type", "dataset")
    a.commit("data", ".")
    run_python(a, TRAIN_IN_A)
    a.git("push", "-q", "origin", "main")
    a.ga("push")
    b = clone(tmp_path / "B.git", tmp_path / "B")
    b.commit("initial")
    b.ga("init")
    b.ga("project", "add", "vision", str(tmp_path / "A.git"))
    graph = b.ga_json("lineage", "vision/bike-model:v0", "--up", "--format", "json")
    nodes = {n["label"]: n for n in graph["nodes"]}
    assert set(nodes) == {"vision/bike-model:v0", "vision/train-bikes", "vision/bike-data:v0"}
    assert nodes["vision/train-bikes"]["project"] == "vision"
    text = b.ga("lineage", "vision/bike-model:v0", "--up").stdout
    assert "run vision/train-bikes [train" in text and "vision/bike-data:v0 (dataset)" in text
