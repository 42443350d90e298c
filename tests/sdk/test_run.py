"""Runs and lineage in git notes: the Python API in subprocesses (one run per process, as in
real jobs), the CLI, concurrent writers, two clones, distributed artifacts on loopback S3."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import GitRepo, make_repo, stderr_error_line
from servers import Bucket


@pytest.fixture
def proj(tmp_path: Path) -> GitRepo:
    repo = make_repo(tmp_path / "proj")
    (repo.root / "train.py").write_text("print('train')\n")
    repo.commit("code", "train.py")
    return repo


def py(repo: GitRepo, code: str, rc: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run Python code in the repository, as a job would."""
    proc = subprocess.run(
        [sys.executable, "-c", "import gitartifacts as ga\n" + textwrap.dedent(code)],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    if rc is not None and proc.returncode != rc:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def records(repo: GitRepo) -> list[dict[str, Any]]:
    out = repo.git("notes", "--ref=artifacts", "list")
    lines = []
    for line in out.splitlines():
        blob = line.split()[0]
        lines += [
            json.loads(x)
            for x in repo.git("cat-file", "-p", blob).splitlines()
            if x.startswith("{")
        ]
    return lines


def runs_json(repo: GitRepo, *args: str) -> list[dict[str, Any]]:
    return repo.ga_json("runs", *args)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- runs and records


@pytest.mark.slow
def test_a_run_records_config_summary_code_and_state_on_its_commit(proj: GitRepo) -> None:
    head = proj.head()
    out = py(
        proj,
        """
        with ga.init(
            job_type="train", config={"lr": 0.1}, group="g1", tags=["a"], notes="first"
        ) as run:
            assert ga.run is run
            run.log({"loss": 2.0}); run.log({"loss": 1.0, "acc": 0.5})
            run.config["epochs"] = 3
            print(run.id)
        assert ga.run is None
    """,
    ).stdout.strip()
    (rec,) = runs_json(proj)
    assert rec["id"] == out and rec["state"] == "finished"
    assert (
        rec["job_type"] == "train"
        and rec["group"] == "g1"
        and rec["tags"] == ["a"]
        and rec["notes"] == "first"
    )
    assert rec["config"] == {"lr": 0.1, "epochs": 3}
    assert rec["summary"] == {"loss": 1.0, "acc": 0.5}
    assert rec["commit"] == head and rec["code"] == {"commit": head, "dirty": False}
    assert rec["host"] and rec["start"] <= rec["end"]
    assert {r["run"] for r in records(proj)} == {out}
    assert proj.git("notes", "--ref=artifacts", "list", head).strip()


@pytest.mark.slow
def test_an_exception_inside_with_fails_the_run(proj: GitRepo) -> None:
    py(
        proj,
        """
        try:
            with ga.init(job_type="train") as run:
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    """,
    )
    assert runs_json(proj)[0]["state"] == "failed"


@pytest.mark.slow
def test_a_killed_process_leaves_a_crashed_run(proj: GitRepo) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import gitartifacts as ga, time\nga.init(job_type='long')\n"
            "print('ok', flush=True)\ntime.sleep(60)",
        ],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert runs_json(proj)[0]["state"] == "crashed"


@pytest.mark.slow
def test_a_dirty_tree_is_recorded_with_a_patch(proj: GitRepo) -> None:
    (proj.root / "train.py").write_text("print('changed')\n")
    py(proj, "ga.init(job_type='t').finish()")
    code = runs_json(proj)[0]["code"]
    assert code["dirty"] is True and code["patch"].startswith("sha256:")


@pytest.mark.slow
def test_resume_allow_continues_and_must_needs_an_existing_run(proj: GitRepo) -> None:
    py(proj, "ga.init(id='r1', job_type='t', config={'a': 1}).finish()")
    py(
        proj,
        """
        run = ga.init(id='r1', resume='allow', config={'b': 2})
        run.log({'x': 1}); run.finish()
    """,
    )
    (rec,) = runs_json(proj)
    assert rec["config"] == {"a": 1, "b": 2} and rec["summary"] == {"x": 1}
    err = py(proj, "ga.init(id='nope', resume='must')", rc=None)
    assert err.returncode != 0 and "does not exist" in err.stderr
    err = py(proj, "ga.init(id='r1')", rc=None)
    assert err.returncode != 0 and "already exists" in err.stderr


@pytest.mark.slow
def test_eight_processes_finishing_at_once_leave_eight_records(proj: GitRepo) -> None:
    code = (
        "import gitartifacts as ga, sys\n"
        "r = ga.init(job_type='w', config={'i': int(sys.argv[1])})\n"
        "r.log({'i': int(sys.argv[1])})\nr.finish()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(i)], cwd=proj.root) for i in range(8)
    ]
    assert all(p.wait() == 0 for p in procs)
    recs = runs_json(proj)
    assert sorted(r["summary"]["i"] for r in recs) == list(range(8))
    assert all(r["state"] == "finished" for r in recs)


# ---------------------------------------------------------------- use and log


@pytest.mark.slow
def test_log_artifact_makes_a_version_only_when_content_changes(proj: GitRepo) -> None:
    script = """
        import sys
        with ga.init(job_type="t") as run:
            a = ga.Artifact("weights", type="model")
            with a.new_file("w.txt") as f:
                f.write(sys.argv[1] if len(sys.argv) > 1 else CONTENT)
            out = run.log_artifact(a, aliases=["best"])
            print(out.version)
    """
    assert py(proj, "CONTENT='one'\n" + textwrap.dedent(script)).stdout.strip() == "v0"
    assert py(proj, "CONTENT='one'\n" + textwrap.dedent(script)).stdout.strip() == "v0"
    assert py(proj, "CONTENT='two'\n" + textwrap.dedent(script)).stdout.strip() == "v1"
    log = proj.ga_json("log", "weights")
    assert [(v["version"], v["aliases"]) for v in log] == [("v1", ["best", "latest"]), ("v0", [])]
    assert proj.git("status", "--porcelain", "--untracked-files=no").strip() == ""


@pytest.mark.slow
def test_use_artifact_logs_a_draft_first_and_lineage_answers(proj: GitRepo) -> None:
    out = py(
        proj,
        """
        with ga.init(job_type="prep") as run:
            d = ga.Artifact("data", type="dataset")
            with d.new_file("rows.csv") as f:
                f.write("1\\n")
            run.use_artifact(d)
            run.use_artifact(d)
            prep = run.id
        with ga.init(job_type="train") as run:
            data = run.use_artifact("data:latest")
            m = ga.Artifact("model", type="model")
            with m.new_file("m.bin") as f:
                f.write("w")
            run.log_model("m.bin") if False else run.log_artifact(m)
            train = run.id
        api = ga.Api()
        model = api.artifact("model:v0")
        print(model.logged_by().id == train)
        print(sorted(r.id for r in api.artifact("data:v0").used_by()) == sorted([prep, train]))
        print(api.artifact("data:v0").logged_by() is None)
        t = api.run(train)
        print([a.name for a in t.used_artifacts()], [a.name for a in t.logged_artifacts()])
    """,
    ).stdout.split("\n")
    assert out[:3] == ["True", "True", "True"]
    assert out[3] == "['data:v0'] ['model:v0']"


@pytest.mark.slow
def test_use_model_and_link_model_into_a_registry(proj: GitRepo) -> None:
    (proj.root / "model.pt").write_bytes(b"weights")
    out = py(
        proj,
        """
        with ga.init(job_type="train") as run:
            run.link_model("model.pt", "bike-detector", aliases=["production"])
        with ga.init(job_type="serve") as run:
            path = run.use_model("registry/bike-detector:production")
            print(open(path, "rb").read().decode())
            try:
                run.use_model("no-such:v0")
            except Exception as exc:
                print(type(exc).__name__)
    """,
    ).stdout.split()
    assert out == ["weights", "NotFoundError"]
    listed = proj.ga_json("link", "--list", "bike-detector")
    # As in W&B, a path logged without a name is named `run-<run id>-<basename>`.
    assert [(r["version"], r["source"][:4], r["source"][-9:], r["aliases"]) for r in listed] == [
        ("v0", "run-", "-model.pt", ["latest", "production"])
    ]


@pytest.mark.slow
def test_link_numbers_a_collection_on_its_own(proj: GitRepo) -> None:
    proj.write({"data/m/a.bin": "1"})
    proj.ga("add", "data/m", "--name", "m", "--type", "model")
    proj.commit("m v0")
    proj.write({"data/m/a.bin": "2"})
    proj.ga("add", "data/m", "--name", "m")
    proj.commit("m v1")
    proj.ga("link", "m:v1", "prod-models", "-a", "prod")
    proj.ga("link", "m:v0", "prod-models")
    proj.ga("link", "m:v1", "prod-models")  # same content: same link number
    rows = proj.ga_json("link", "--list", "prod-models")
    assert [(r["version"], r["source_version"]) for r in rows] == [("v0", "v1"), ("v1", "v0")]
    shown = proj.ga_json("show", "registry/prod-models:prod")
    assert shown["version"] == "v1" and shown["name"] == "m"


# ---------------------------------------------------------------- code by commit pinning


@pytest.mark.slow
def test_code_artifact_pins_the_commit_and_reproduces_a_dirty_tree(
    proj: GitRepo, tmp_path: Path
) -> None:
    (proj.root / "src").mkdir()
    (proj.root / "src/a.py").write_text("a = 1\n")
    (proj.root / "src/b.py").write_text("b = 2\n")
    (proj.root / "src/notes.txt").write_text("not code\n")
    pinned = proj.commit("src", "src")
    (proj.root / "src/a.py").write_text("a = 42\n")
    proj.ga("add", "--code", "src", "--name", "code-src")
    m = proj.manifest("code-src")
    assert (
        m["type"] == "code" and m["metadata"]["commit"] == pinned and m["metadata"]["dirty"] is True
    )
    assert sorted(m["entries"]) == ["a.py", "b.py"]
    assert all(e["digest"].startswith("git:") for e in m["entries"].values())
    assert proj.git("rev-parse", f"refs/artifacts/pins/{pinned}").strip() == pinned
    proj.commit("code artifact", ".artifacts/code-src.yaml")
    out = tmp_path / "code"
    proj.ga("get", "code-src:v0", "-o", str(out))
    assert (out / "a.py").read_text() == "a = 42\n" and (out / "b.py").read_text() == "b = 2\n"
    assert not (out / "notes.txt").exists()


@pytest.mark.slow
def test_log_code_uploads_no_file_content(proj: GitRepo) -> None:
    before = len(list((proj.root / ".git/artifacts/objects").rglob("*")))
    out = py(
        proj,
        """
        with ga.init(job_type="t") as run:
            a = run.log_code(".")
            print(a.type, [f.path for f in a.files()])
    """,
    ).stdout.strip()
    assert out == "code ['train.py']"
    after = len(list((proj.root / ".git/artifacts/objects").rglob("*")))
    assert after == before


# ---------------------------------------------------------------- the run verb


@pytest.mark.slow
def test_run_verb_records_a_command_with_inputs_and_outputs(proj: GitRepo) -> None:
    proj.write({"data/raw/a.txt": "hello"})
    proj.ga("add", "data/raw", "--name", "raw", "--type", "dataset")
    head = proj.commit("raw")
    proj.ga("run", "--job-type", "upper", "-i", "raw:v0", "-o", "up=out:dataset", "--",
            sys.executable, "-c", "import os; os.makedirs('out', exist_ok=True); "
            "open('out/a.txt','w').write(open('data/raw/a.txt').read().upper())")  # fmt: skip
    (rec,) = [r for r in runs_json(proj) if r["job_type"] == "upper"]
    assert rec["state"] == "finished"
    assert [i["name"] for i in rec["inputs"]] == ["raw"] and [
        o["name"] for o in rec["outputs"]
    ] == ["up"]
    assert [v["version"] for v in proj.ga_json("log", "up")] == ["v0"]
    # The output is a version off the branch, on the run's commit; out/ is excluded locally.
    assert proj.head() == head and proj.git("status", "--porcelain") == ""
    assert proj.git("rev-parse", "artifacts/up/v0^").strip() == head
    assert "a.txt:" in proj.git("show", "artifacts/up/v0:.artifacts/up.yaml")
    refs = proj.git("for-each-ref", "refs/tags")
    bad = proj.ga("run", "-o", "up=out:model", "--", sys.executable, "-c", "pass", rc=None)
    assert "is of type 'dataset', not 'model'" in stderr_error_line(bad)
    assert proj.git("for-each-ref", "refs/tags") == refs


@pytest.mark.slow
def test_run_verb_with_a_failing_command_makes_no_version(proj: GitRepo) -> None:
    proc = proj.ga(
        "run",
        "--job-type",
        "bad",
        "-o",
        "x=out",
        "--",
        sys.executable,
        "-c",
        "raise SystemExit(3)",
        rc=3,
    )
    assert "failed" in proc.stderr
    assert runs_json(proj)[0]["state"] == "failed"
    assert not (proj.root / ".artifacts/x.yaml").exists()


# ---------------------------------------------------------------- lineage CLI and clones


def _pipeline(repo: GitRepo) -> None:
    script = Path(__file__).resolve().parents[2] / "examples" / "pipeline.py"
    subprocess.run([sys.executable, str(script)], cwd=repo.root, check=True, capture_output=True)


@pytest.mark.slow
def test_example_pipeline_builds_the_whole_lineage(proj: GitRepo) -> None:
    _pipeline(proj)
    recs = {r["job_type"]: r for r in runs_json(proj)}
    assert set(recs) == {"load-data", "preprocess", "train", "evaluate"}
    assert len(runs_json(proj, "--job-type", "train")) == 3
    graph = json.loads(
        proj.ga(
            "lineage", "registry/linear-regressor:production", "--up", "--format", "json"
        ).stdout
    )
    labels = {n["label"] for n in graph["nodes"]}
    assert {"raw-points:v0", "points-split:v0"} <= labels
    kinds = [n["kind"] for n in graph["nodes"]]
    assert kinds.count("run") == 3  # train, preprocess, load-data
    mermaid = proj.ga("lineage", "raw-points:v0", "--down", "--format", "mermaid").stdout
    assert mermaid.startswith("graph LR") and "-->" in mermaid
    folded = proj.ga("lineage", "points-split:v0", "--down", "--format", "mermaid").stdout
    exploded = proj.ga(
        "lineage", "points-split:v0", "--down", "--format", "mermaid", "--explode"
    ).stdout
    assert folded.count("[train]") <= exploded.count("[train]")
    best = py(
        proj, "print(ga.Api().runs(group='sweep-1', order='-summary.val_acc')[0].config['lr'])"
    ).stdout.strip()
    evaluate = recs["evaluate"]
    assert evaluate["inputs"][0]["name"] == "linear-model"
    assert best in ("0.001", "0.01", "0.05")


@pytest.mark.slow
def test_records_from_two_clones_merge_and_a_fresh_clone_answers_the_same(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    a = GitRepo(tmp_path / "a")
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(a.root)], check=True, capture_output=True
    )
    a.commit("init")
    a.ga("init")
    a.git("push", "-q", "origin", "main")
    b = GitRepo(tmp_path / "b")
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(b.root)], check=True, capture_output=True
    )
    b.ga("init")
    for repo, job in ((a, "from-a"), (b, "from-b")):
        py(
            repo,
            f"""
            with ga.init(job_type="{job}") as run:
                x = ga.Artifact("{job}-out", type="dataset")
                with x.new_file("f.txt") as f:
                    f.write("{job}")
                run.log_artifact(x)
        """,
        )
    a.ga("push")
    b.ga("push")
    a.ga("fetch")
    jobs_a = sorted(r["job_type"] for r in runs_json(a))
    assert jobs_a == ["from-a", "from-b"]
    c = GitRepo(tmp_path / "c")
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(c.root)], check=True, capture_output=True
    )
    c.ga("fetch")
    assert runs_json(c) == runs_json(a)
    who = py(c, "print(ga.Api().artifact('from-b-out:v0').logged_by().job_type)").stdout.strip()
    assert who == "from-b"


# ---------------------------------------------------------------- distributed writers


@pytest.mark.slow
def test_five_writers_upsert_parts_and_one_finishes_on_s3(
    tmp_path: Path, s3_bucket: Bucket
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    lead = GitRepo(tmp_path / "lead")
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(lead.root)], check=True, capture_output=True
    )
    lead.commit("init")
    lead.ga(
        "remote",
        "add",
        "s3",
        f"{s3_bucket.url}/cache",
        "--endpoint-url",
        s3_bucket.endpoint,
        "--default",
    )
    lead.commit("remote", ".gitartifacts.yaml")
    lead.git("push", "-q", "origin", "main")
    writer = """
        import sys
        i = int(sys.argv[1])
        with ga.init(job_type="shard", group="ds-build") as run:
            part = ga.Artifact("shards", type="dataset")
            with part.new_file(f"shard-{i}.txt") as f:
                f.write(f"shard {i}")
            run.upsert_artifact(part)
    """
    procs = []
    for i in range(5):
        w = GitRepo(tmp_path / f"w{i}")
        subprocess.run(
            ["git", "clone", "-q", str(origin), str(w.root)], check=True, capture_output=True
        )
        procs.append(subprocess.Popen(
            [sys.executable, "-c", "import gitartifacts as ga\n" + textwrap.dedent(writer), str(i)],
            cwd=w.root,
            stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err
    py(
        lead,
        """
        with ga.init(job_type="finish", group="ds-build") as run:
            run.finish_artifact(ga.Artifact("shards", type="dataset"))
    """,
    )
    m = lead.ga_json("show", "shards:v0")
    assert sorted(m["entries"]) == [f"shard-{i}.txt" for i in range(5)]
    lead.ga("get", "shards:v0", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out/shard-3.txt").read_text() == "shard 3"
    assert not s3_bucket.fs.find(f"{s3_bucket.name}/cache/staging")


@pytest.mark.slow
def test_two_parts_with_one_path_and_different_content_name_both_runs(
    proj: GitRepo, tmp_path: Path
) -> None:
    proj.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    out = py(
        proj,
        """
        ids = []
        for text in ("a", "b"):
            with ga.init(job_type="w", group="g", id=f"writer-{text}") as run:
                p = ga.Artifact("parts", type="dataset")
                with p.new_file("same.txt") as f:
                    f.write(text)
                run.upsert_artifact(p)
        with ga.init(job_type="finish", group="g") as run:
            try:
                run.finish_artifact(ga.Artifact("parts", type="dataset"))
            except Exception as exc:
                print(exc)
    """,
    ).stdout
    assert "writer-a" in out and "writer-b" in out and "same.txt" in out


@pytest.mark.slow
def test_upsert_without_group_or_id_is_a_clear_error(proj: GitRepo, tmp_path: Path) -> None:
    proj.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    err = py(
        proj,
        """
        with ga.init(job_type="w") as run:
            run.upsert_artifact(ga.Artifact("x", type="dataset"))
    """,
        rc=None,
    )
    assert err.returncode != 0 and "distributed_id" in err.stderr


@pytest.mark.slow
def test_runs_json_and_lineage_of_unknown_spec(proj: GitRepo) -> None:
    assert runs_json(proj) == []
    line = stderr_error_line(proj.ga("lineage", "nothing:v0", rc=None))
    assert "nothing" in line


@pytest.mark.slow
def test_alias_moves_are_recorded_in_the_notes_with_who_and_when(proj: GitRepo) -> None:
    for text in ("1", "2"):
        proj.write({"data/m/a.bin": text})
        proj.ga("add", "data/m", "--name", "m", "--type", "model")
        proj.commit(f"m {text}")
    proj.ga("alias", "m:v0", "best")
    proj.ga("alias", "m:v1", "best")
    proj.ga("alias", "--delete", "m", "best")
    events = [r for r in records(proj) if r.get("ev") == "alias" and r.get("alias") == "best"]
    moves = sorted(((e["from"], e["to"]) for e in events), key=str)
    assert moves == sorted([(None, "v0"), ("v0", "v1"), ("v1", None)], key=str)
    assert all(e["who"] and e["t"] for e in events)
    latest = [r for r in records(proj) if r.get("ev") == "alias" and r.get("alias") == "latest"]
    assert {e["to"] for e in latest} == {"v0", "v1"}
