"""SIGKILL at a random moment of add, push, pull, checkout and get, then the same command again.

After each kill: every object in the local cache and in the folder remote hashes to its name,
and every file of the work tree (or `get` target) holds either what it held before or what it
holds once the command completes (nothing torn). Then the rerun must succeed and give exactly
the version's bytes. The long loops are marked `sigkill` (run by hand, trials per verb from
GITARTIFACTS_TRIALS, default 50); a short variant runs with the normal suite.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    Template,
    age_files,
    copy_repo,
    expected_digest,
    file_digests,
    packed_objects,
    sha256_hex,
)

VERBS = ("add", "push", "pull", "checkout", "get")
SEED = int(os.environ.get("GITARTIFACTS_SEED", "16"))


def _files(rng: random.Random, n_small: int, n_big: int, salt: str) -> dict[str, bytes]:
    """A few hundred small files in a few folders, and a few MiB-sized ones."""
    out = {
        f"data/ds/d{i % 7}/f{i}.bin": rng.randbytes(rng.randint(50, 20_000)) + salt.encode()
        for i in range(n_small)
    }
    for i in range(n_big):
        out[f"data/ds/big{i}.bin"] = rng.randbytes((1 << 20) + rng.randint(0, 1 << 20))
    return out


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def _build(base: Path) -> GitRepo:
    """origin.git and a clone `alice` with ds v0 and v1 committed and on origin (content not
    pushed); `base/alice` is the repository returned."""
    base.mkdir(parents=True)
    origin = base / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(base / "alice")], check=True, capture_output=True
    )
    alice = GitRepo(base / "alice")
    alice.commit("initial")
    alice.ga("init")
    alice.commit("init artifacts", ".")
    rng = random.Random(SEED)
    v0 = _files(rng, 300, 3, "v0")
    _write(alice.root, v0)
    age_files(alice.root / "data")
    alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    alice.commit("ds v0", ".")
    # v1: a third of the small files changed, some deleted, some new, one big file changed.
    for rel in list(v0)[::3]:
        (alice.root / rel).write_bytes(rng.randbytes(rng.randint(50, 20_000)))
    for rel in list(v0)[1:60:5]:
        (alice.root / rel).unlink()
    _write(alice.root, {f"data/ds/new/n{i}.bin": rng.randbytes(3000) for i in range(40)})
    (alice.root / "data/ds/big0.bin").write_bytes(rng.randbytes(3 << 19))
    age_files(alice.root / "data")
    alice.ga("add", "data/ds", "--name", "ds")
    alice.commit("ds v1", ".")
    alice.ga("status")  # tags the versions
    alice.git("push", "-q", "origin", "main", "--tags")
    return alice


def _build_pushed(base: Path) -> GitRepo:
    alice = _build(base)
    alice.ga("push")
    return alice


@dataclass
class Trial:
    """One copy of the world: origin.git, alice, and (for pull) a fresh clone bob."""

    root: Path
    alice: GitRepo
    origin: Path

    @property
    def remote_objects(self) -> Path:
        return self.origin / "artifacts" / "objects"


def _copy_world(template_alice: Path, dest: Path) -> Trial:
    dest.mkdir(parents=True)
    copy_repo(template_alice.parent / "origin.git", dest / "origin.git")
    alice = copy_repo(template_alice, dest / "alice")
    alice.git("remote", "set-url", "origin", str(dest / "origin.git"))
    return Trial(dest, alice, dest / "origin.git")


def _objects(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Content objects (hex name -> file) and other files (temporaries) under a cache."""
    objects: dict[str, Path] = {}
    others: list[str] = []
    if not folder.exists():
        return objects, others
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).parts
        if len(rel) == 3 and rel[0] == "sha256" and len(rel[1]) == 2 and len(rel[2]) == 62:
            objects[rel[1] + rel[2]] = p
        else:
            others.append("/".join(rel))
    return objects, others


def _corrupt(folder: Path) -> list[str]:
    objects, _ = _objects(folder)
    return [h for h, p in objects.items() if sha256_hex(p.read_bytes()) != h]


def _tree(root: Path) -> dict[str, str]:
    return file_digests(root) if root.exists() else {}


@dataclass
class Verb:
    """How to set up, run and judge one verb in a trial."""

    name: str
    template: str  # which world: "plain" or "pushed"
    argv: Callable[[Trial], list[str]]
    cwd: Callable[[Trial], Path]
    watched: Callable[[Trial], Path]  # the folder whose files must never be torn
    prepare: Callable[[Trial], None] = lambda t: None
    check_final: Callable[[Trial], str | None] = lambda t: None  # a problem, or None
    caches: Callable[[Trial], list[Path]] = lambda t: [t.alice.cache, t.remote_objects]


def _ds(trial_repo: Path) -> dict[str, str]:
    return _tree(trial_repo / "data" / "ds")


def _version_files(t: Trial, version: int) -> dict[str, str]:
    """path under data/ds -> digest, as the manifest of ds:vN lists them (read from git)."""
    import yaml

    text = t.alice.git("show", f"artifacts/ds/v{version}:.artifacts/ds.yaml")
    doc = yaml.safe_load(text)
    entries = doc.get("entries")
    assert entries is not None, "the trial artifact should keep its entries inline"
    return {p: e["digest"] for p, e in entries.items()}


def _same(got: dict[str, str], want: dict[str, str], what: str) -> str | None:
    if got == want:
        return None
    diff = sorted(set(got) ^ set(want)) + sorted(p for p in got if p in want and got[p] != want[p])
    return f"{what}: {len(diff)} file(s) differ, first {diff[:3]}"


def _prepare_add(t: Trial) -> None:
    rng = random.Random(SEED + 2)
    _write(t.alice.root, {f"data/ds/d{i % 7}/f{i}.bin": rng.randbytes(999) for i in range(0, 90)})
    _write(t.alice.root, {"data/ds/big1.bin": rng.randbytes(1 << 20)})
    age_files(t.alice.root / "data")


def _check_add(t: Trial) -> str | None:
    files = _tree(t.alice.root / "data" / "ds")
    digest = t.alice.manifest("ds")["digest"]
    want = expected_digest(files)
    if digest != want:
        return f"manifest digest {digest} is not the workspace's {want}"
    objects, _ = _objects(t.alice.cache)
    stored = set(objects) | packed_objects(t.alice.cache)  # small objects are packed
    lacking = [d for d in files.values() if d.removeprefix("sha256:") not in stored]
    return f"{len(lacking)} object(s) not cached" if lacking else None


def _check_push(t: Trial) -> str | None:
    remote, _ = _objects(t.remote_objects)
    needed = {d.removeprefix("sha256:") for v in (0, 1) for d in _version_files(t, v).values()}
    lacking = needed - set(remote) - packed_objects(t.remote_objects)
    return f"{len(lacking)} object(s) not on the remote" if lacking else None


def _bob(t: Trial) -> Path:
    return t.root / "bob"


def _prepare_pull(t: Trial) -> None:
    subprocess.run(
        ["git", "clone", "-q", str(t.origin), str(_bob(t))], check=True, capture_output=True
    )


VERB_TABLE: dict[str, Verb] = {
    "add": Verb(
        "add",
        "plain",
        lambda t: ["add", "data/ds", "--name", "ds"],
        lambda t: t.alice.root,
        lambda t: t.alice.root / ".artifacts",
        prepare=_prepare_add,
        check_final=_check_add,
    ),
    "push": Verb(
        "push",
        "plain",
        lambda t: ["push"],
        lambda t: t.alice.root,
        lambda t: t.alice.root / "data",
        check_final=_check_push,
    ),
    "pull": Verb(
        "pull",
        "pushed",
        lambda t: ["pull"],
        _bob,
        lambda t: _bob(t) / "data",
        prepare=_prepare_pull,
        check_final=lambda t: _same(_ds(_bob(t)), _version_files(t, 1), "pulled workspace"),
        caches=lambda t: [_bob(t) / ".git/artifacts/objects", t.remote_objects],
    ),
    "checkout": Verb(
        "checkout",
        "plain",
        lambda t: ["checkout", "ds:v0"],
        lambda t: t.alice.root,
        lambda t: t.alice.root / "data",
        check_final=lambda t: _same(_ds(t.alice.root), _version_files(t, 0), "workspace"),
    ),
    "get": Verb(
        "get",
        "plain",
        lambda t: ["get", "ds:v1", "-o", str(t.root / "out")],
        lambda t: t.alice.root,
        lambda t: t.root / "out",
        check_final=lambda t: _same(_tree(t.root / "out"), _version_files(t, 1), "get target"),
    ),
}


@dataclass
class Tally:
    verb: str
    trials: int = 0
    killed: int = 0  # trials in which the kill came before the command ended
    corrupt: int = 0
    torn: int = 0
    strays: int = 0  # other files in the watched folder neither before nor after
    swept: int = 0  # temporary files a kill left under their marked name, gone after the rerun
    reruns_ok: int = 0
    problems: list[str] = field(default_factory=list)


def _run(t: Trial, v: Verb, kill_after: float | None) -> tuple[int, float]:
    """Run the verb; SIGKILL its whole process group (git and git-artifacts) after the delay."""
    start = time.monotonic()
    proc = subprocess.Popen(
        ["git", "artifacts", "-q", *v.argv(t)],
        cwd=v.cwd(t),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.stderr is not None:
            proc.stderr.close()
    return proc.returncode, time.monotonic() - start


def _trial(t: Trial, v: Verb, delay: float, tally: Tally) -> None:
    v.prepare(t)
    before = _tree(v.watched(t))
    rc, _ = _run(t, v, delay)
    tally.trials += 1
    tally.killed += rc == -signal.SIGKILL
    killed_state = _tree(v.watched(t))
    for cache in v.caches(t):
        bad = _corrupt(cache)
        tally.corrupt += len(bad)
        if bad:
            tally.problems.append(f"{v.name}: corrupt object(s) in {cache.name}: {bad[:2]}")
    rerun = subprocess.run(
        ["git", "artifacts", "-q", *v.argv(t)],
        cwd=v.cwd(t),
        capture_output=True,
        text=True,
        check=False,
    )
    after = _tree(v.watched(t))
    problem = (
        f"rerun exit {rerun.returncode}: {rerun.stderr.strip()[-300:]}"
        if rerun.returncode
        else v.check_final(t)
    )
    if problem is None:
        tally.reruns_ok += 1
    else:
        tally.problems.append(f"{v.name} (delay {delay:.2f}s): {problem}")
    for rel, digest in killed_state.items():
        if digest in (before.get(rel), after.get(rel)):
            continue
        if rel in before or rel in after:
            tally.torn += 1
            tally.problems.append(f"{v.name} (delay {delay:.2f}s): torn file {rel}")
        elif os.path.basename(rel).startswith(".ga-tmp-"):
            tally.swept += 1  # written whole or not at all under a marked name; rerun removed it
        else:
            tally.strays += 1
            tally.problems.append(f"{v.name} (delay {delay:.2f}s): left behind {rel}")


def run_trials(verb: str, trials: int, template: Template, tmp: Path) -> Tally:
    v = VERB_TABLE[verb]
    world = template(f"sigkill-{v.template}", _build_pushed if v.template == "pushed" else _build)
    # The command's duration, measured once uninterrupted, spreads the kills over all of it.
    measured = _copy_world(world, tmp / "measure")
    v.prepare(measured)
    rc, duration = _run(measured, v, None)
    assert rc == 0, f"{verb} failed without a kill"
    rng = random.Random(f"{SEED}-{verb}")
    tally = Tally(verb)
    for i in range(trials):
        t = _copy_world(world, tmp / f"t{i}")
        _trial(t, v, rng.uniform(0.05, duration * 1.1), tally)
        subprocess.run(["rm", "-rf", str(t.root)], check=False)
    return tally


def _report(tallies: list[Tally]) -> str:
    head = f"{'verb':<9} {'trials':>6} {'killed':>6} {'corrupt':>7} {'torn':>5} {'strays':>6} "
    head += f"{'swept':>5} {'reruns ok':>9}"
    rows = [head]
    for t in tallies:
        rows.append(
            f"{t.verb:<9} {t.trials:>6} {t.killed:>6} {t.corrupt:>7} {t.torn:>5} {t.strays:>6} "
            f"{t.swept:>5} {t.reruns_ok:>9}"
        )
    return "\n".join(rows)


def _judge(tally: Tally) -> None:
    print("\n" + _report([tally]), file=sys.stderr)
    for p in tally.problems[:20]:
        print("  " + p, file=sys.stderr)
    assert tally.corrupt == 0, tally.problems[:5]
    assert tally.torn == 0 and tally.strays == 0, tally.problems[:5]
    assert tally.reruns_ok == tally.trials, tally.problems[:5]


@pytest.mark.slow
@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.slow
def test_a_killed_command_leaves_nothing_corrupt_and_completes_when_rerun(
    verb: str, template: Template, tmp_path: Path
) -> None:
    _judge(run_trials(verb, 2, template, tmp_path))


@pytest.mark.sigkill
@pytest.mark.parametrize("verb", VERBS)
def test_sigkill_loop(verb: str, template: Template, tmp_path: Path) -> None:
    trials = int(os.environ.get("GITARTIFACTS_TRIALS", "50"))
    _judge(run_trials(verb, trials, template, tmp_path))
