"""Many writers: sweeps in three clones of one bare repository log versions of one artifact in
parallel processes, then push, fetch and pull in an interleaved order, and agree."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import GitRepo, clone, make_repo

SWEEP = textwrap.dedent(
    """
    import sys
    import gitartifacts as ga

    clone, i = sys.argv[1], sys.argv[2]
    with ga.init(job_type="sweep", group="sweep-" + clone, config={"i": i}) as run:
        path = f"model-{clone}-{i}.bin"
        with open(path, "w") as f:
            f.write(f"weights {clone} {i}")
        art = run.log_model(path, name="model", aliases=["best"])
        print(art.version, run.id)
    """
)

CLONES = ("a", "b", "c")


def _setup(tmp_path: Path, origin: Path) -> list[GitRepo]:
    seed = make_repo(tmp_path / "seed")
    seed.git("remote", "add", "origin", str(origin))
    seed.git("push", "-q", "origin", "main")
    clones = [clone(origin, tmp_path / name) for name in CLONES]
    for c in clones:
        c.ga("init")
    return clones


def _sweeps(clones: list[GitRepo], script: Path) -> dict[str, str]:
    """Run 3 sweep processes in every clone, all 9 at once; run id -> version it printed."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), name, str(i)],
            cwd=c.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, c in zip(CLONES, clones, strict=True)
        for i in range(3)
    ]
    printed = {}
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        version, run_id = out.split()
        printed[run_id] = version
    return printed


def _state(c: GitRepo) -> tuple[object, object]:
    log = c.ga_json("log", "model")
    lineage = [c.ga_json("lineage", f"model:v{n}") for n in range(len(log))]
    return log, lineage


@pytest.mark.slow
def test_three_clones_of_sweeps_agree_after_push_fetch_and_pull(
    tmp_path: Path, origin: Path
) -> None:
    clones = _setup(tmp_path, origin)
    heads = [c.head() for c in clones]
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    printed = _sweeps(clones, script)
    for c in clones:
        local = c.ga_json("log", "model")
        # Each clone numbers its own.
        assert sorted(v["version"] for v in local) == ["v0", "v1", "v2"]
    a, b, c = clones
    for repo, verb in ((a, "push"), (b, "push"), (c, "fetch"), (a, "fetch"), (c, "push"),
                       (b, "fetch"), (a, "pull"), (c, "pull"), (b, "pull")):  # fmt: skip
        if verb == "pull":
            repo.git("pull", "-q", "--no-rebase", "origin", "main")
        else:
            repo.ga(verb)
    for repo in clones:
        repo.ga("push")
    for repo in clones:
        repo.ga("fetch")
    assert [r.head() for r in clones] == heads  # no commit on any branch, no merge
    assert all(r.git("status", "--porcelain") == "" for r in clones)
    states = [_state(r) for r in clones]
    log, _ = states[0]
    assert all(s == states[0] for s in states[1:])
    assert isinstance(log, list)
    assert sorted(int(v["version"][1:]) for v in log) == list(range(9))
    assert len({v["digest"] for v in log}) == 9
    assert sum("best" in v["aliases"] for v in log) == 1
    assert sum("latest" in v["aliases"] for v in log) == 1
    assert len(printed) == 9

    fresh = clone(origin, tmp_path / "fresh")
    fresh.ga("init")
    fresh.ga("fetch")
    assert fresh.ga_json("log", "model") == log
    seen = set()
    for v in log:
        out = tmp_path / "got" / v["version"]
        fresh.ga("get", f"model:{v['version']}", "-o", str(out))
        (f,) = out.iterdir()
        _, who, i = f.name.removesuffix(".bin").split("-")
        assert f.read_text() == f"weights {who} {i}"
        seen.add((who, i))
    assert len(seen) == 9
    producers = {
        json.dumps(n, sort_keys=True)
        for n in fresh.ga_json("lineage", "model:v0")["nodes"]
        if n["kind"] == "run"
    }
    assert len(producers) == 1
