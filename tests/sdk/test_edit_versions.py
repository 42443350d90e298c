"""Updating logged versions from Python, as in the seeds' "updating artifacts" section: edits
are events in the notes, the digest and the version stay, clones merge them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import GitRepo, age_files, clone, run_py, write_files

import gitartifacts as ga

WANDB = "import gitartifacts as wandb\n"

# The seeds' snippet, its newlines restored, `wandb` being gitartifacts.
SEEDS_SNIPPET = """\
api = wandb.Api()
artifact = api.artifact('bike-dataset:latest')
# Update the description
artifact.description = "My new description"
# Selectively update metadata keys
artifact.metadata["oldKey"] = "new value"
# Replace the metadata entirely
artifact.metadata = {"newKey": "new value"}
# Add an alias
artifact.aliases.append('best')
# Remove an alias
artifact.aliases.remove('latest')
# Completely replace the aliases
artifact.aliases = ['replaced']
# Persist all artifact modifications
artifact.save()
"""

LOG_BIKES = """\
with wandb.init(job_type="upload") as run:
    art = wandb.Artifact("bike-dataset", type="dataset", description="Bike photos",
                         metadata={"oldKey": "old value", "classes": 12})
    art.add_dir("data/bikes")
    run.log_artifact(art)
"""


def notes_tip(repo: GitRepo) -> str:
    return repo.git("rev-parse", "--verify", "-q", "refs/notes/artifacts", check=False).strip()


def new_version(repo: GitRepo) -> None:
    """bikes v1: one more file, added and committed."""
    write_files(repo.root, {"data/bikes/img9.txt": "bike 9\n"})
    age_files(repo.root / "data")
    repo.ga("add", "data/bikes", "--name", "bikes")
    repo.commit("bikes v1")


# ---------------------------------------------------------------- the seeds, end to end


@pytest.mark.slow
def test_the_seeds_snippet_runs_as_written_and_a_second_clone_sees_every_effect(
    origin: Path, tmp_path: Path
) -> None:
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    alice.commit("init")
    write_files(alice.root, {"data/bikes/a.txt": "a\n", "data/bikes/b.txt": "b\n"})
    run_py(alice.root, LOG_BIKES, WANDB)
    alice.ga("push")
    alice.git("push", "-q", "origin", "main")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("fetch")
    before = ga.Api(alice.root).artifact("bike-dataset:v0")
    assert before.aliases == ["latest"]

    run_py(alice.root, SEEDS_SNIPPET, WANDB)
    alice.ga("push")
    bob.ga("fetch")

    for where in (alice, bob):
        art = ga.Api(where.root).artifact("bike-dataset:v0")
        assert art.description == "My new description"
        assert art.metadata == {"newKey": "new value"}
        assert art.aliases == ["replaced"]
        assert art.digest == before.digest and art.version == "v0"
        assert ga.Api(where.root).artifact("bike-dataset:replaced").version == "v0"
        # `latest` is off every version, yet names the newest one, as in W&B.
        assert ga.Api(where.root).artifact("bike-dataset:latest").version == "v0"
        with pytest.raises(KeyError, match="best"):
            ga.Api(where.root).artifact("bike-dataset:best")
        assert where.ga("log", "bike-dataset").stdout.count("\nv") == 0  # still one version
    history = bob.ga_json("show", "bike-dataset:v0", "--history")
    assert history == alice.ga_json("show", "bike-dataset:v0", "--history")
    edit = [e for e in history if e["ev"] == "edit"]
    assert len(edit) == 1 and edit[0]["metadata"] == {
        "set": {"newKey": "new value"},
        "unset": ["classes", "oldKey"],
    }
    moves = [(e["alias"], e["to"]) for e in history if e["ev"] == "alias"]
    assert moves == [("latest", "v0"), ("replaced", "v0"), ("latest", None)]


# ---------------------------------------------------------------- save() of a logged version


def test_save_writes_what_changed_once_and_nothing_when_nothing_did(bikes: GitRepo) -> None:
    art = ga.Api(bikes.root).artifact("bikes:v0")
    tip = notes_tip(bikes)
    art.save()
    assert notes_tip(bikes) == tip
    art.description = "new"
    art.metadata["k"] = [1, 2]
    art.tags = ["raw", "2024"]
    art.ttl = "30d"
    assert art.save() is art
    assert notes_tip(bikes) != tip
    tip = notes_tip(bikes)
    art.save()
    assert notes_tip(bikes) == tip
    again = ga.Api(bikes.root).artifact("bikes:v0")
    assert (again.description, again.metadata, again.tags, again.ttl) == (
        "new",
        {"k": [1, 2]},
        ["raw", "2024"],
        dt.timedelta(days=30),  # W&B's type; the notes keep the manifest's spelling, 30d
    )
    assert again.digest == art.digest
    assert bikes.tags() == ["artifacts/bikes/latest", "artifacts/bikes/v0"]


def test_metadata_is_checked_when_set_and_when_saved(bikes: GitRepo) -> None:
    art = ga.Api(bikes.root).artifact("bikes:v0")
    tip = notes_tip(bikes)
    with pytest.raises(ValueError, match="101 top-level keys"):
        art.metadata = {f"k{i}": i for i in range(101)}
    art.metadata["bad"] = float("nan")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        art.save()
    art.metadata.pop("bad")
    with pytest.raises(ValueError, match="invalid ttl"):
        art.ttl = "forever"
    with pytest.raises(ValueError, match="has to be positive"):
        art.ttl = dt.timedelta(seconds=-5)
    art.save()
    assert notes_tip(bikes) == tip


# ---------------------------------------------------------------- aliases


def test_aliases_append_remove_and_assign_move_refs_on_save(bikes: GitRepo) -> None:
    new_version(bikes)
    v0 = ga.Api(bikes.root).artifact("bikes:v0")
    v0.aliases.append("best")
    v0.aliases.append("prod")
    v0.save()
    assert ga.Api(bikes.root).artifact("bikes:v0").aliases == ["best", "prod"]
    v0.aliases.remove("prod")
    v0.save()
    assert ga.Api(bikes.root).artifact("bikes:v0").aliases == ["best"]
    v1 = ga.Api(bikes.root).artifact("bikes:v1")
    v1.aliases = ["best", "latest", "latest"]  # `best` moves here; `latest` already is
    tip = notes_tip(bikes)
    v1.save()
    assert ga.Api(bikes.root).artifact("bikes:v0").aliases == []
    assert ga.Api(bikes.root).artifact("bikes:v1").aliases == ["best", "latest"]
    history = bikes.ga_json("show", "bikes:v1", "--history")
    assert [e["alias"] for e in history if e["ev"] == "alias"] == ["latest", "best"]
    assert notes_tip(bikes) != tip


def test_tags_and_aliases_given_to_a_draft_reach_the_version_it_becomes(bikes: GitRepo) -> None:
    art = ga.Artifact("notes", "text", project=ga.Api(bikes.root).project)
    with art.new_file("a.txt") as f:
        f.write("a")
    art.tags = ["nightly"]
    art.aliases.append("candidate")
    art.save(["best"])
    logged = ga.Api(bikes.root).artifact("notes:v0")
    assert logged.tags == ["nightly"]
    assert logged.aliases == ["best", "candidate", "latest"]


def test_removing_an_alias_the_version_lacks_is_refused_and_writes_nothing(
    bikes: GitRepo,
) -> None:
    art = ga.Api(bikes.root).artifact("bikes:v0")
    before = (notes_tip(bikes), bikes.git("for-each-ref"))
    with pytest.raises(ValueError, match="bikes:v0 has no alias 'best'"):
        art.aliases.remove("best")
    art.save()
    assert (notes_tip(bikes), bikes.git("for-each-ref")) == before


def test_latest_can_be_removed_and_then_still_names_the_newest_version(bikes: GitRepo) -> None:
    new_version(bikes)
    v1 = ga.Api(bikes.root).artifact("bikes:latest")
    assert v1.version == "v1"
    v1.aliases.remove("latest")
    v1.save()
    assert "artifacts/bikes/latest" not in bikes.tags()
    assert ga.Api(bikes.root).artifact("bikes:v1").aliases == []
    assert ga.Api(bikes.root).artifact("bikes:latest").version == "v1"
    assert ga.Api(bikes.root).artifact("bikes").version == "v1"
    v0 = ga.Api(bikes.root).artifact("bikes:v0")
    v0.aliases.append("latest")
    with pytest.raises(ValueError, match=r"'latest' is kept by the tool.*\(v1\)"):
        v0.save()
    assert "artifacts/bikes/latest" not in bikes.tags()
    v1.aliases.append("latest")
    v1.save()
    assert bikes.tag_commit("artifacts/bikes/latest") == bikes.tag_commit("artifacts/bikes/v1")
    # The next version takes `latest` by itself again.
    v1.aliases.remove("latest")
    v1.save()
    write_files(bikes.root, {"data/bikes/img10.txt": "bike 10\n"})
    age_files(bikes.root / "data")
    bikes.ga("add", "data/bikes", "--name", "bikes")
    bikes.commit("bikes v2")
    assert ga.Api(bikes.root).artifact("bikes:v2").aliases == ["latest"]
