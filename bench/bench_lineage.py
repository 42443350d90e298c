"""Lineage queries over many runs and versions (run by hand, not in CI).

Builds a repository with N versions of one dataset (one commit and tag each) and M runs whose
records sit in refs/notes/artifacts (written with one `git fast-import`), then times, as a user
would meet them: `git artifacts runs --json`, `Api().runs(order=...)`, `logged_by`/`used_by`,
and `git artifacts lineage`, each with a cold index (first query after new records) and warm.

    python bench/bench_lineage.py [--runs 10000] [--versions 1000] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GA = str(Path(sys.executable).parent / "git-artifacts")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--versions", type=int, default=1_000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(
        tempfile.mkdtemp(
            prefix="lineage-bench-", dir=HERE / ".work" if (HERE / ".work").is_dir() else None
        )
    )
    try:
        repo = work / "repo"
        t0 = time.perf_counter()
        build(repo, args.versions, args.runs)
        print(
            f"built {args.versions} versions and {args.runs} runs"
            f" in {time.perf_counter() - t0:.1f} s"
        )
        rows = measure(repo, args.versions // 2)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| query | cold s | warm s |\n|---|---:|---:|")
    for name, cold, warm in rows:
        print(f"| {name} | {cold:.3f} | {warm:.3f} |")
    worst = max(max(c, w) for _, c, w in rows)
    print(f"\nslowest: {worst:.3f} s (target: under 1 s)")
    return 0 if worst < 1.0 else 1


def git(repo: Path, *args: str, input: str | bytes | None = None) -> str:
    data = input.encode() if isinstance(input, str) else input
    out = subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, check=True)
    return out.stdout.decode()


def build(repo: Path, n_versions: int, n_runs: int) -> tuple[list[str], list[str]]:
    """One fast-import stream: the version commits with their manifests, then the notes."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    env_id = "Bench <bench@example.com> 1700000000 +0000"
    stream: list[str] = []
    digests = []
    for v in range(n_versions):
        entries = {
            f"part-{i}.bin": "sha256:" + hashlib.sha256(f"{v}-{i}".encode()).hexdigest()
            for i in range(3)
        }
        body = b"gitartifacts-manifest-v1\n" + b"".join(
            f"{p}\t{d}\n".encode() for p, d in sorted(entries.items())
        )
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        digests.append(digest)
        text = (
            "gitartifacts: 1\nname: data\ntype: dataset\npath: data\n"
            + f"digest: {digest}\nsize: 30\nfiles: 3\nentries:\n"
        )
        text += "".join(f"  {p}: {{digest: '{d}', size: 10}}\n" for p, d in sorted(entries.items()))
        stream += [
            "commit refs/heads/main", f"mark :{v + 1}", f"committer {env_id}",
            "data 2", "v" + str(v % 10),
            *([f"from :{v}"] if v else []),
            "M 100644 inline .artifacts/data.yaml", f"data {len(text.encode())}", text,
        ]  # fmt: skip
    rng = random.Random(1)
    per_commit: dict[int, list[str]] = {}
    for r in range(n_runs):
        c = rng.randrange(n_versions)
        rid = f"run{r:06d}"
        t = 1_700_000_000_000_000_000 + r * 1000
        used = digests[max(0, c - 1)]
        lines = [
            {"run": rid, "ev": "start", "t": t, "job_type": "train" if r % 2 else "eval",
             "group": f"g{r % 50}", "config": {"lr": rng.random()}, "commit": "",
             "host": "bench", "state": "running"},
            {"run": rid, "ev": "use", "t": t + 1,
             "artifact": {"name": "data", "digest": used, "type": "dataset"}},
            {"run": rid, "ev": "finish", "t": t + 2, "state": "finished",
             "summary": {"val_acc": rng.random()}},
        ]  # fmt: skip
        if r < n_versions:
            lines.append(
                {
                    "run": rid,
                    "ev": "log",
                    "t": t + 2,
                    "artifact": {"name": "data", "digest": digests[r], "type": "dataset"},
                }
            )
        per_commit.setdefault(c, []).extend(json.dumps(x, sort_keys=True) for x in lines)
    stream += ["commit refs/notes/artifacts", f"committer {env_id}", "data 5", "notes"]
    for c, notes in per_commit.items():
        note = "\n".join(notes) + "\n"
        stream += [f"N inline :{c + 1}", f"data {len(note.encode())}", note]
    git(repo, "fast-import", "--quiet", input="\n".join(stream) + "\n")
    git(repo, "checkout", "-q", "main")
    commits = git(repo, "rev-list", "--reverse", "main").split()
    updates = "".join(f"create refs/tags/artifacts/data/v{i} {c}\n" for i, c in enumerate(commits))
    updates += f"create refs/tags/artifacts/data/latest {commits[-1]}\n"
    git(repo, "update-ref", "--stdin", input=updates)
    return commits, digests


def measure(repo: Path, mid: int) -> list[tuple[str, float, float]]:
    spec = f"data:v{mid}"
    api_runs = "import gitartifacts as ga; print(ga.Api().runs(order='-summary.val_acc')[0].id)"
    api_art = (
        f"import gitartifacts as ga; a = ga.Api().artifact('{spec}');"
        " print(a.logged_by(), len(a.used_by()))"
    )
    queries: list[tuple[str, list[str]]] = [
        ("git artifacts runs --json", [GA, "runs", "--json"]),
        ("Api().runs(order='-summary.val_acc')[0]", [sys.executable, "-c", api_runs]),
        (f"Api().artifact('{spec}').logged_by() + used_by()", [sys.executable, "-c", api_art]),
        (
            f"git artifacts lineage {spec} --format mermaid",
            [GA, "lineage", spec, "--format", "mermaid"],
        ),
    ]
    # The first command in a fresh clone reads every version's manifest once (tags to
    # digests); that is not a lineage cost, so it is paid before timing.
    _time(repo, [GA, "ls"])
    out = []
    for name, cmd in queries:
        for p in (repo / ".git" / "artifacts").glob("lineage-*.bin"):
            p.unlink()
        cold = _time(repo, cmd)
        warm = min(_time(repo, cmd) for _ in range(3))
        out.append((name, cold, warm))
    return out


def _time(repo: Path, cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=repo, capture_output=True, text=True, env={**os.environ, "GITARTIFACTS_QUIET": "1"}
    )
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return dt


if __name__ == "__main__":
    sys.exit(main())
