"""A run's history end to end: kept by a killed run, continued by a resumed one, pushed
with the run to a folder remote and read from a fresh clone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import GitRepo, clone, make_repo, packed_objects


def py(repo: GitRepo, code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "import gitartifacts as ga\n" + textwrap.dedent(code)],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip()


def steps_of(repo: GitRepo, run_id: str) -> list[object]:
    rows = f"ga.Api().run('{run_id}').history(pandas=False)"  # rows as dicts, pandas or not
    out = py(repo, f"print([(r['_step'], r['i']) for r in {rows}])")
    return list(eval(out))  # a list of tuples printed by Python itself


@pytest.fixture
def proj(tmp_path: Path) -> GitRepo:
    return make_repo(tmp_path / "proj")


@pytest.mark.slow
def test_a_killed_run_keeps_the_steps_it_wrote(proj: GitRepo) -> None:
    code = (
        "import gitartifacts as ga, time\nrun = ga.init(id='k1', job_type='long')\n"
        "for i in range(3):\n    ga.log({'i': i})\n"
        "ga.log({'i': 99}, commit=False)\nprint('ok', flush=True)\ntime.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=proj.root, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proj.ga_json("runs")[0]["state"] == "crashed"
    assert steps_of(proj, "k1") == [(0, 0), (1, 1), (2, 2)]  # the uncommitted step is lost


@pytest.mark.slow
def test_a_resumed_run_goes_on_from_its_last_step(proj: GitRepo) -> None:
    py(proj, "with ga.init(id='r1', job_type='t'):\n    ga.log({'i': 0}); ga.log({'i': 1})")
    first = proj.ga_json("runs")[0]["history"]
    py(
        proj,
        """
        with ga.init(id='r1', resume='allow') as run:
            assert run.step == 2
            ga.log({'i': 2})
        """,
    )
    rec = proj.ga_json("runs")[0]
    assert rec["history"] != first and rec["summary"] == {"i": 2}
    assert steps_of(proj, "r1") == [(0, 0), (1, 1), (2, 2)]
    # The rows are a content object now; the run's files folder (`run.dir`) stays, as W&B's.
    assert not (proj.root / ".git" / "artifacts" / "runs" / "r1" / "history.jsonl").exists()


@pytest.mark.slow
def test_history_and_saved_files_are_pushed_with_the_run(tmp_path: Path, origin: Path) -> None:
    a = clone(origin, tmp_path / "a")
    a.commit("init")
    a.ga("init")
    a.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    a.commit("artifacts", ".")
    a.git("push", "-q", "origin", "main")
    (a.root / "model.txt").write_text("weights\n")
    run_id = py(
        a,
        """
        with ga.init(job_type="train") as run:
            for i in range(4):
                ga.log({"i": i}, step=i * 10)
            ga.save("model.txt")
            print(run.id)
        """,
    )
    rec = a.ga_json("runs")[0]
    wanted = {rec["history"], rec["files"][0]["digest"]}
    a.ga("push")
    store = tmp_path / "store"
    stored = {"sha256:" + p.parent.name + p.name for p in (store / "sha256").glob("*/*")}
    stored |= {"sha256:" + h for h in packed_objects(store)}
    assert wanted <= stored
    b = clone(origin, tmp_path / "b")
    b.ga("fetch")
    assert steps_of(b, run_id) == [(0, 0), (10, 1), (20, 2), (30, 3)]
    shown = json.loads(b.ga("runs", "show", run_id, "--json").stdout)
    assert [r["i"] for r in shown["history"]] == [0, 1, 2, 3]
    assert shown["files"][0]["path"] == "model.txt"
