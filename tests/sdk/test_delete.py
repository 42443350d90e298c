"""`Artifact.delete` and `Api().artifact_versions(type, name)` as the seeds use them: the
walkthrough's "cleaning up unused versions" loop runs as written."""

from __future__ import annotations

import pytest
from helpers import GitRepo, run_py

import gitartifacts as ga

WANDB = "import gitartifacts as wandb\n"

LOG_FOUR = """\
for i in range(4):
    with wandb.init(job_type="train") as run:
        art = wandb.Artifact("model", type="model")
        with art.new_file("w.txt", mode="w") as f:
            f.write(f"weights {i}")
        run.log_artifact(art, aliases=["best"] if i == 1 else None)
"""

# The seeds' loop, its newlines restored, `wandb` being gitartifacts.
SEEDS_LOOP = """\
api = wandb.Api()
artifact_type, artifact_name = "model", "model" # fill in the desired type + name
for version in api.artifact_versions(artifact_type, artifact_name):
    # Clean up all versions that don't have an alias such as 'latest'.
    if len(version.aliases) == 0:
        version.delete()
"""


@pytest.mark.slow
def test_the_seeds_cleanup_loop_deletes_every_version_without_an_alias(repo: GitRepo) -> None:
    run_py(repo.root, LOG_FOUR, WANDB)
    run_py(repo.root, SEEDS_LOOP, WANDB)
    api = ga.Api(repo.root)
    left = api.artifact_versions("model", "model")
    assert [(a.version, a.aliases) for a in left] == [("v1", ["best"]), ("v3", ["latest"])]
    assert [a.version for a in api.artifacts("model", "model")] == ["v1", "v3"]
    assert [a.version for a in api.artifact_versions("model")] == ["v1", "v3"]  # the old call
    with pytest.raises(ga.errors.NotFoundError, match="model:v2 was deleted on"):
        api.artifact("model:v2")
    with pytest.raises(ga.errors.NotFoundError, match="of type 'model', not 'dataset'"):
        api.artifact_versions("dataset", "model")
    assert repo.git("status", "--porcelain") == ""


def test_delete_refuses_aliases_unless_asked_and_removes_them_with_it(bikes: GitRepo) -> None:
    api = ga.Api(bikes.root)
    v0 = api.artifact("bikes:v0")
    with pytest.raises(ValueError, match=r"it has aliases \(latest\)"):
        v0.delete()
    assert api.artifact("bikes:v0").version == "v0"
    v0.delete(delete_aliases=True)
    assert bikes.tags() == ["artifacts/bikes/v0"]
    with pytest.raises(ga.errors.NotFoundError, match="bikes:v0 was deleted on"):
        ga.Api(bikes.root).artifact("bikes:v0")
    with pytest.raises(ga.errors.NotFoundError, match="every version of bikes was deleted"):
        ga.Api(bikes.root).artifact("bikes")
    assert ga.Api(bikes.root).artifact_versions("dataset", "bikes") == []
