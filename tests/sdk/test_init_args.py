"""`ga.init` arguments, modes and run attributes, each in a subprocess as a real job runs
(exit codes, the hooks at exit and the warnings on stderr are part of what is tested)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import GitRepo, make_repo


@pytest.fixture
def proj(tmp_path: Path) -> GitRepo:
    repo = make_repo(tmp_path / "proj")
    (repo.root / "train.py").write_text("print('train')\n")
    repo.commit("code", "train.py")
    return repo


def py(cwd: Path, code: str, rc: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run Python code in `cwd`, as a job would."""
    proc = subprocess.run(
        [sys.executable, "-c", "import gitartifacts as ga\n" + textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if rc is not None and proc.returncode != rc:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def runs(repo: GitRepo) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in repo.ga_json("runs")}


def out_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- arguments and attributes


@pytest.mark.slow
def test_init_records_its_arguments_and_the_run_has_wandbs_attributes(proj: GitRepo) -> None:
    proc = py(
        proj.root,
        """
        import json
        run = ga.init(project="bikes", entity="team", name="first", notes="try lr",
                      tags=["a"], group="g1", job_type="train", config={"lr": 0.1}, id="r-1")
        run.log({"loss": 1.0})
        run.name = "renamed"
        run.tags += ("b",)
        run.notes = "try lr again"
        print(json.dumps({k: getattr(run, k) for k in (
            "path", "url", "dir", "step", "resumed", "sweep_id", "entity", "project",
            "name", "id", "group", "job_type")} | {"lr": run.config.lr}))
        """,
    )
    got = out_json(proc)
    assert got["path"] == "team/bikes/r-1"
    assert got["url"] is None and got["resumed"] is False
    assert got["sweep_id"] == "g1"  # a group is what Api.sweep calls a sweep
    assert (got["entity"], got["project"], got["id"], got["lr"]) == ("team", "bikes", "r-1", 0.1)
    assert got["step"] == 1
    assert Path(got["dir"]).is_dir()
    rec = runs(proj)["r-1"]
    assert (rec["project"], rec["entity"], rec["mode"]) == ("bikes", "team", "online")
    assert (rec["name"], rec["notes"], rec["tags"]) == ("renamed", "try lr again", ["a", "b"])
    assert (rec["group"], rec["job_type"], rec["config"]) == ("g1", "train", {"lr": 0.1})
    # `Api().run` takes the W&B path as well as the id
    again = py(proj.root, "print(ga.Api().run('team/bikes/r-1').name)")
    assert again.stdout.strip() == "renamed"


@pytest.mark.slow
def test_defaults_name_the_repository_and_the_user(proj: GitRepo) -> None:
    proc = py(proj.root, "r = ga.init(); print(r.project, r.entity == r.path.split('/')[0])")
    assert proc.stdout.split() == ["proj", "True"]


@pytest.mark.slow
def test_resumed_run_says_so(proj: GitRepo) -> None:
    py(proj.root, "ga.init(id='again').finish()")
    proc = py(proj.root, "r = ga.init(id='again', resume='allow'); print(r.resumed)")
    assert proc.stdout.strip() == "True"


@pytest.mark.slow
def test_dir_is_the_run_files_folder_and_the_repository_comes_from_the_cwd(
    proj: GitRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "run-files"
    proc = py(proj.root, f"r = ga.init(dir={str(outside)!r}); print(r.dir)")
    assert Path(proc.stdout.strip()) == outside.resolve() and outside.is_dir()
    assert len(runs(proj)) == 1  # recorded in the repository of the cwd
    inside = py(proj.root, "r = ga.init(dir='out/files'); print(r.dir)")
    assert Path(inside.stdout.strip()) == (proj.root / "out" / "files").resolve()
    # as before: a `dir` inside a repository names it, whatever the cwd
    py(tmp_path, f"ga.init(dir={str(proj.root)!r}, name='from-dir')")
    assert "from-dir" in {r["name"] for r in runs(proj).values()}


# ---------------------------------------------------------------- reinit


@pytest.mark.slow
def test_reinit_finishes_returns_or_keeps_the_previous_run(proj: GitRepo) -> None:
    proc = py(
        proj.root,
        """
        a = ga.init(name="a")
        b = ga.init(name="b", reinit=True)
        print(a.state, b.state)
        c = ga.init(name="c", reinit="return_previous")
        print(c is b)
        d = ga.init(name="d", reinit="create_new")
        print(b.state, d.state, ga.run is d)
        """,
    )
    assert proc.stdout.split() == ["finished", "running", "True", "running", "running", "True"]
    states = {r["name"]: r["state"] for r in runs(proj).values()}
    assert states == {"a": "finished", "b": "finished", "d": "finished"}  # both ended at exit
    bad = py(proj.root, "ga.init(reinit='sometimes')", rc=None)
    assert bad.returncode == 1
    assert "reinit='sometimes' is not supported (use True, False or one of" in bad.stderr


# ---------------------------------------------------------------- modes


@pytest.mark.slow
def test_disabled_mode_works_and_writes_nothing(proj: GitRepo, tmp_path: Path) -> None:
    before = proj.git("for-each-ref")
    code = """
        with ga.init(mode="disabled", config={"lr": 0.1}) as run:
            run.log({"loss": 0.5})
            ga.log({"loss": 0.4})
            ga.config.update({"bs": 8})
            run.summary["best"] = 0.4
            art = ga.Artifact("ds", "dataset")
            print(run.log_artifact(art) is art, ga.config.lr, ga.config.bs, run.summary["best"])
            print(bool(run.use_artifact("ds:latest")), run.define_metric("loss", summary="min"))
        print(ga.run)
        """
    proc = py(proj.root, code)
    assert proc.stdout.splitlines()[0] == "True 0.1 8 0.4"
    assert proc.stdout.splitlines()[-1] == "None"
    assert proj.git("for-each-ref") == before  # no notes, no version, no tag
    assert not (proj.root / ".git" / "artifacts" / "runs").exists()
    # no repository needed at all
    nowhere = tmp_path / "plain"
    nowhere.mkdir()
    assert py(nowhere, "r = ga.init(mode='disabled'); r.log({'a': 1}); print(r.path)").stdout


@pytest.mark.slow
def test_offline_mode_is_recorded_and_nothing_is_pushed(proj: GitRepo, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    proj.git("remote", "add", "origin", str(origin))
    py(proj.root, "ga.init(mode='offline').log({'a': 1})")
    py(proj.root, "ga.init(settings=ga.Settings(mode='dryrun'))")
    assert sorted(r["mode"] for r in runs(proj).values()) == ["offline", "offline"]
    listed = subprocess.run(["git", "-C", str(origin), "for-each-ref"], capture_output=True)
    assert listed.stdout == b""  # the run never pushes; `git artifacts push` does
    bad = py(proj.root, "ga.init(mode='cloud')", rc=1)
    assert "mode='cloud' is not supported (use 'online', 'offline' or 'disabled')" in bad.stderr


@pytest.mark.slow
def test_save_code_logs_the_code_artifact(proj: GitRepo) -> None:
    py(proj.root, "ga.init(job_type='train', save_code=True).finish()")
    (rec,) = runs(proj).values()
    assert [(o["name"], o["type"]) for o in rec["outputs"]] == [("source-train", "code")]
    files = py(proj.root, "print([f.path for f in ga.Api().artifact('source-train:v0').files()])")
    assert "train.py" in files.stdout


# ---------------------------------------------------------------- settings and unknown arguments


@pytest.mark.slow
def test_settings_dict_or_object_fill_what_init_was_not_given(proj: GitRepo) -> None:
    proc = py(
        proj.root,
        """
        a = ga.init(settings={"run_name": "from-settings", "run_tags": ["s"], "mode": "offline"})
        b = ga.init(name="explicit", settings=ga.Settings(run_name="ignored", project="p"))
        print(a.name, a.tags, b.name, b.project)
        """,
    )
    assert proc.stdout.split() == ["from-settings", "['s']", "explicit", "p"]
    assert proc.stderr == ""
    odd = py(proj.root, "ga.init(settings={'start_method': 'thread', 'x_stats': 1})")
    (line,) = odd.stderr.splitlines()
    assert "ignores settings['start_method'], settings['x_stats']" in line


def test_wandb_only_arguments_and_typos_warn_on_one_line(proj: GitRepo) -> None:
    proc = py(
        proj.root,
        """
        r = ga.init(anonymous="allow", sync_tensorboard=True, monitor_gym=True, magic=True,
                    job_typ="train", force=True)
        print(r.job_type)
        """,
    )
    assert proc.stdout.strip() == "None"
    (line,) = proc.stderr.splitlines()
    assert line.startswith("warning: gitartifacts.init() ignores anonymous=, sync_tensorboard=")
    assert "job_typ= (did you mean job_type=?)" in line and "magic=" in line


@pytest.mark.slow
def test_config_include_and_exclude_keys(proj: GitRepo) -> None:
    code = "r = ga.init(config={'a': 1, 'b': 2}, config_exclude_keys=['b']); print(dict(r.config))"
    assert py(proj.root, code).stdout.strip() == "{'a': 1}"
    code = "r = ga.init(config={'a': 1, 'b': 2}, config_include_keys=['b']); print(dict(r.config))"
    assert py(proj.root, code).stdout.strip() == "{'b': 2}"


# ---------------------------------------------------------------- repositories


@pytest.mark.slow
def test_init_in_a_repository_with_no_commit(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / "data.txt").write_text("rows\n")
    proc = py(
        root,
        """
        with ga.init(job_type="load", save_code=True) as run:
            art = ga.Artifact("raw", "dataset")
            art.add_file("data.txt")
            run.log_artifact(art)
        got = ga.Api().artifact("raw:latest")
        print(got.version, got.logged_by().id == run.id, got.files()[0].path)
        """,
    )
    assert proc.stdout.split() == ["v0", "True", "data.txt"]
    assert "the repository has no commit yet, so no code was logged" in proc.stderr
    repo = GitRepo(root)
    (rec,) = runs(repo).values()
    assert rec["code"]["note"] == "no commit yet" and rec["commit"] is None
    assert rec["state"] == "finished"
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""  # branch unborn


@pytest.mark.slow
def test_run_verb_in_a_repository_with_no_commit(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / "data.txt").write_text("rows\n")
    repo = GitRepo(root)
    repo.ga("run", "--job-type", "load", "-o", "raw=data.txt:dataset", "--", "true")
    (rec,) = runs(repo).values()
    assert (rec["state"], rec["commit"], rec["code"]["note"]) == ("finished", None, "no commit yet")
    assert [o["version"] for o in rec["outputs"]] == ["v0"]


def test_init_outside_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    proc = py(tmp_path, "ga.init()", rc=1)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gitartifacts.errors.UsageError: gitartifacts.init() needs a git")
    assert "(run git init, or start the script inside your repository" in last


# ---------------------------------------------------------------- exit codes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "rc", "state", "exit_code"),
    [
        ("ga.init(name='x'); import sys; sys.exit(3)", 3, "failed", 3),
        ("ga.init(name='x'); import sys; sys.exit(0)", 0, "finished", 0),
        ("ga.init(name='x'); import sys; sys.exit('bye')", 1, "failed", 1),
        ("with ga.init(name='x'):\n    raise SystemExit(4)", 4, "failed", 4),
        ("with ga.init(name='x'):\n    raise SystemExit(0)", 0, "finished", 0),
        ("ga.init(name='x')\nraise KeyError('boom')", 1, "failed", 1),
    ],
)
def test_exit_codes_end_the_run(
    proj: GitRepo, code: str, rc: int, state: str, exit_code: int
) -> None:
    py(proj.root, code, rc=rc)
    (rec,) = runs(proj).values()
    assert (rec["state"], rec["exit_code"]) == (state, exit_code)
