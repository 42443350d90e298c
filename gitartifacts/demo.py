"""A guided run of the main job in a throw-away repository: `python -m gitartifacts.demo`.

Builds a repository with a small dataset, versions it, changes it, shows status, log and the
diff of the two versions, restores the old version and verifies it, then pushes to a local
remote cache and pulls into a second clone. Every step runs the real `git artifacts` command
and prints what it ran and what it answered.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    keep = "--keep" in args
    workdir = Path(tempfile.mkdtemp(prefix="gitartifacts-demo-"))
    try:
        run_demo(workdir)
    except subprocess.CalledProcessError as exc:
        print(f"demo step failed: {' '.join(exc.cmd)} (exit {exc.returncode})", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"\nthe demo repository is kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\ndemo finished: every step above ran the real git artifacts command.")
    return 0


def run_demo(workdir: Path) -> None:
    env = _env(workdir)
    repo = workdir / "project"
    origin = workdir / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], env=env, check=True)
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(repo)], env=env, check=True, capture_output=True
    )
    step = _Step(repo, env)

    _section("1. A repository (cloned from a shared bare repository) with a small dataset")
    _write_dataset(repo / "data" / "bikes", seed=1, n=24)
    (repo / "train.py").write_text("print('training')\n")
    step("git", "add", "train.py")
    step("git", "commit", "-q", "-m", "training code")
    step("git", "artifacts", "init")

    _section("2. Version the dataset: content goes to the cache, a small manifest to git")
    step("git", "artifacts", "add", "data/bikes", "--name", "bikes", "--type", "dataset",
         "--description", "Bike photos, train/val split", "--metadata", "classes=3")  # fmt: skip
    step("cat", ".artifacts/bikes.yaml", head=12)
    step("git", "commit", "-q", "-m", "bikes dataset v0")
    step("git", "artifacts", "status")

    _section("3. Change the data: status shows what differs from the committed version")
    bikes = repo / "data" / "bikes"
    (bikes / "train" / "img_000.bin").write_bytes(b"relabelled " * 50)
    (bikes / "val" / "img_new.bin").write_bytes(random.Random(7).randbytes(900))
    (bikes / "train" / "img_001.bin").unlink()
    step("git", "artifacts", "status", check=False)

    _section("4. Save it as the next version and give it an alias")
    step("git", "artifacts", "add", "data/bikes", "--name", "bikes", "--alias", "candidate")
    step("git", "commit", "-q", "-m", "bikes dataset v1")
    step("git", "artifacts", "log", "bikes")
    step("git", "artifacts", "diff", "bikes:v0", "bikes:v1")

    _section("5. Restore the old version, verify it, and download a version to a folder")
    step("git", "artifacts", "checkout", "bikes:v0")
    step("git", "artifacts", "verify", "bikes:v0")
    step("git", "artifacts", "checkout", "bikes:latest")
    step("git", "artifacts", "get", "bikes:v1", "-o", str(workdir / "bikes-v1"))
    step("git", "artifacts", "ls")

    _section("6. Share it: push git as usual, push content to the remote cache beside origin")
    step("git", "push", "-q", "origin", "main")
    step("git", "artifacts", "push")
    step("git", "artifacts", "push")

    _section("7. A colleague clones and pulls: same versions, same bytes")
    colleague = workdir / "colleague"
    subprocess.run(["git", "clone", "-q", str(origin), str(colleague)], env=env, check=True)
    other = _Step(colleague, env)
    other("git", "artifacts", "pull")
    other("git", "artifacts", "log", "bikes")
    other("git", "artifacts", "verify", "bikes:latest")
    other("git", "artifacts", "get", "bikes:v0", "-o", str(workdir / "bikes-v0"))


def _write_dataset(root: Path, seed: int, n: int) -> None:
    rng = random.Random(seed)
    for split, count in (("train", n * 3 // 4), ("val", n - n * 3 // 4)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / split / f"img_{i:03d}.bin").write_bytes(rng.randbytes(rng.randint(200, 2000)))
    (root / "labels.csv").write_text("".join(f"img_{i:03d},{i % 3}\n" for i in range(n)))


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    gitconfig = workdir / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Demo User\n\temail = demo@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", GITARTIFACTS_QUIET="1")
    return env


class _Step:
    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        self.repo = repo
        self.env = env

    def __call__(self, *cmd: str, check: bool = True, head: int | None = None) -> str:
        print(f"$ {shlex.join(cmd)}")
        proc = subprocess.run(
            cmd, cwd=self.repo, env=self.env, capture_output=True, text=True, check=False
        )
        out = (proc.stdout + proc.stderr).rstrip()
        lines = out.splitlines()
        if head is not None and len(lines) > head:
            lines = [*lines[:head], f"... ({len(lines) - head} more lines)"]
        if lines:
            print("\n".join("  " + line for line in lines))
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc.stdout


def _section(title: str) -> None:
    print(f"\n== {title}")


if __name__ == "__main__":
    sys.exit(main())
