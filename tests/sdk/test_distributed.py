"""Distributed artifacts with no remote: writer processes of one clone stage their parts in
`.git/artifacts/staging`, a finisher makes one version, and every writer is a producer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import GitRepo, make_repo, sha

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.tracking import distributed

STAGING = Path(".git/artifacts/staging")


@pytest.fixture
def proj(tmp_path: Path) -> GitRepo:
    repo = make_repo(tmp_path / "proj")
    assert repo.git("remote") == ""
    assert "remotes: {}" in (repo.root / ".gitartifacts.yaml").read_text()
    return repo


def py(repo: GitRepo, code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import gitartifacts as ga\n" + textwrap.dedent(code), *args],
        cwd=repo.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def done(proc: subprocess.Popen[str], rc: int = 0) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == rc, f"exit {proc.returncode}\n{out}\n{err}"
    return out + err


WRITER = """
    import sys, os
    i = sys.argv[1]
    with ga.init(job_type="shard", group="build", id=f"writer-{i}") as run:
        if i == "0":  # a path, with W&B's keywords
            os.makedirs(f"out{i}", exist_ok=True)
            with open(f"out{i}/shard-{i}.txt", "w") as f:
                f.write(f"shard {i}")
            run.upsert_artifact(f"out{i}", name="shards", type="dataset", aliases=["best"])
        else:
            part = ga.Artifact("shards", type="dataset", metadata={f"k{i}": int(i)})
            with part.new_file(f"shard-{i}.txt") as f:
                f.write(f"shard {i}")
            run.upsert_artifact(part, distributed_id="build")
"""

FINISHER = """
    with ga.init(job_type="finish", group="build", id="finisher") as run:
        art = ga.Artifact("shards", type="dataset")
        with art.new_file("index.txt") as f:
            f.write("index")
        logged = run.finish_artifact(art, aliases=["final"])
        print(logged.name)
    a = ga.Api().artifact("shards:v0")
    print("logged_by", a.logged_by().id)
    from gitartifacts.tracking import lineage
    print("producers", ",".join(r.record["id"] for r in lineage.producers(a.project, a.digest)))
    print("writer-1 logged", [x.name for x in ga.Api().run("writer-1").logged_artifacts()])
"""


@pytest.mark.slow
def test_three_writer_processes_and_a_finisher_without_a_remote(proj: GitRepo) -> None:
    writers = [py(proj, WRITER, str(i)) for i in range(3)]  # at the same time
    for w in writers:
        done(w)
    staged = sorted(p.name for p in (proj.root / STAGING / "shards" / "build").iterdir())
    assert staged == ["writer-0.json", "writer-1.json", "writer-2.json"]
    out = done(py(proj, FINISHER))
    assert "shards:v0" in out
    m = proj.ga_json("show", "shards:v0")
    assert sorted(m["entries"]) == ["index.txt", "shard-0.txt", "shard-1.txt", "shard-2.txt"]
    assert m["metadata"] == {"k1": 1, "k2": 2}
    assert {"best", "final"} <= set(m["aliases"])  # each writer's aliases and the finisher's
    assert list((proj.root / STAGING / "shards" / "build").iterdir()) == []  # parts cleared
    ids = {"writer-0", "writer-1", "writer-2", "finisher"}
    # Python: every writer and the finisher produced it; the first by start time is logged_by.
    producers = out.split("producers ")[1].split()[0].split(",")
    assert set(producers) == ids and len(producers) == 4
    assert out.split("logged_by ")[1].split()[0] == producers[0]
    assert "writer-1 logged ['shards:v0']" in out
    # The CLI: lineage (text and JSON) and the writers' own records.
    graph = json.loads(proj.ga("lineage", "shards:v0", "--json").stdout)
    runs = {n["run_id"] for n in graph["nodes"] if n["kind"] == "run"}
    assert runs == ids
    # Every node's id is the one the edges name.
    named = {e[end] for e in graph["edges"] for end in ("from", "to")}
    assert named <= {n["id"] for n in graph["nodes"]}
    start = graph["start"]
    assert {e["from"] for e in graph["edges"] if e["to"] == start} == {f"r:{i}" for i in ids}
    text = proj.ga("lineage", "shards:v0").stdout
    assert all(i in text for i in ids)
    recs = {r["id"]: r for r in proj.ga_json("runs")}
    assert recs["writer-2"]["upserts"][0]["distributed_id"] == "build"
    assert [o["name"] for o in recs["writer-2"]["outputs"]] == ["shards"]


@pytest.mark.slow
def test_a_malformed_staged_part_is_a_one_line_error_and_nothing_is_logged(
    proj: GitRepo,
) -> None:
    folder = proj.root / STAGING / "shards" / "build"
    folder.mkdir(parents=True)
    (folder / "evil.json").write_text(
        json.dumps({"run": "evil", "name": "shards", "type": "dataset", "entries": {"../x": {}}})
    )
    out = done(py(proj, FINISHER), rc=1)
    assert "staged part evil.json of a distributed artifact is malformed" in out
    assert str(folder / "evil.json") in out
    assert proj.tags() == []


def test_a_second_upsert_adds_to_the_part_and_a_part_staged_later_waits(proj: GitRepo) -> None:
    project = Project.open(proj.root)

    def part(files: dict[str, str], aliases: tuple[str, ...] = ()) -> distributed.Part:
        entries = {p: mf.Entry(sha(t.encode()), len(t)) for p, t in files.items()}
        return distributed.Part("shards", "dataset", None, {}, entries, list(aliases))

    distributed.upsert(project, "w1", part({"a": "a"}), "b")
    distributed.upsert(project, "w1", part({"b": "b"}, ("best",)), "b")
    done = distributed.finish(project, "fin", part({}), "b")
    assert sorted(done.part.entries) == ["a", "b"] and done.part.aliases == ["best"]
    assert done.writers == ["w1"]
    distributed.upsert(project, "w2", part({"c": "c"}), "b")  # after finish read the parts
    distributed.clear(done.staging)
    assert [p.name for p in (proj.root / STAGING / "shards" / "b").iterdir()] == ["w2.json"]
    with pytest.raises(UsageError):
        distributed.upsert(project, "w3", part({"d": "d"}, ("v1",)), "b")


def test_a_staged_file_whose_name_is_no_run_id_is_no_part(proj: GitRepo) -> None:
    project = Project.open(proj.root)
    entries = {"a": mf.Entry(sha(b"a"), 1)}
    part = distributed.Part("shards", "dataset", None, {}, entries, [])
    distributed.upsert(project, "w1", part, "b")
    folder = proj.root / STAGING / "shards" / "b"
    (folder / "x\x1b[31m.json").write_bytes((folder / "w1.json").read_bytes())
    own = distributed.Part("shards", "dataset", None, {}, {}, [])
    assert distributed.finish(project, "fin", own, "b").writers == ["w1"]
