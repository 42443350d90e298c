"""Running the seeds' code blocks (`blocks/*.txt`, copied from `../shared/seeds`) as scripts
in a repository, with `import gitartifacts as wandb` in place of `import wandb`.

The blocks are text files, not modules: they are the W&B documents' code as written (long
lines, mojibake comments), which the linters would reject. Each names its seed and lines;
every line that differs from the seed is marked `# swap:`, `# seed:` or `# added:`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from helpers import GitRepo, clone

BLOCKS = Path(__file__).parent / "blocks"
IMPORT = "import gitartifacts as wandb  # swap: import wandb"


def script(name: str, replace: dict[str, str] | None = None) -> str:
    """The block's text as a script: `import wandb` swapped, or the swap put first when the
    block is a fragment that assumes it; `replace` edits lines for one test."""
    text = (BLOCKS / f"{name}.txt").read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} is not in block {name}"
        text = text.replace(old, new)
    lines = [IMPORT if line == "import wandb" else line for line in text.splitlines()]
    if IMPORT not in lines:
        lines.insert(0, IMPORT)
    return "\n".join(lines) + "\n"


def run_block(
    repo: GitRepo,
    name: str,
    scripts: Path,
    rc: int | None = 0,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    replace: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Write the block as `scripts/<name>.py` (outside the repository) and run it with the
    cwd in the repository, as a user runs a script."""
    scripts.mkdir(parents=True, exist_ok=True)
    path = scripts / f"{name}.py"
    path.write_text(script(name, replace), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=cwd or repo.root,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if rc is not None and proc.returncode != rc:
        raise AssertionError(f"{name}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def setup(repo: GitRepo, code: str) -> str:
    """Python run in the repository before a block: the runs and versions it assumes."""
    proc = subprocess.run(
        [sys.executable, "-c", "import gitartifacts as ga\n" + textwrap.dedent(code)],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def other_project(
    repo: GitRepo, tmp_path: Path, name: str, code: str, files: dict[str, bytes] | None = None
) -> GitRepo:
    """Another repository published as W&B's other project `name`: its own origin and folder
    remote, `code` run in it (the versions the block reads), pushed, and added to `repo` as
    project `name` (`git artifacts project add`)."""
    bare = tmp_path / f"{name}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    other = clone(bare, tmp_path / name)
    other.commit("initial")
    other.ga("init")
    (tmp_path / f"{name}-store").mkdir()
    other.ga("remote", "add", "store", str(tmp_path / f"{name}-store"), "--default")
    other.commit("init artifacts", ".")
    other.write(files or {})
    setup(other, code)
    other.git("push", "-q", "origin", "main")
    other.ga("push")
    repo.ga("project", "add", name, str(bare))
    return other


def runs(repo: GitRepo) -> list[dict[str, Any]]:
    """The runs table, `git artifacts runs --json`."""
    return repo.ga_json("runs")  # type: ignore[no-any-return]


def lineage(repo: GitRepo, spec: str) -> Any:
    """`git artifacts lineage SPEC --json`."""
    return json.loads(repo.ga("lineage", spec, "--json").stdout)


def outputs(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(o["name"], o["version"]) for o in run["outputs"]]


def inputs(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["name"], i["version"]) for i in run["inputs"]]


def edges(repo: GitRepo, spec: str) -> set[tuple[str, str]]:
    """The lineage of SPEC as (from, to) label pairs: `name:vN` for a version, the run id
    (with its job type, `id [job_type]`) for a run."""
    graph = lineage(repo, spec)
    label = {}
    for node in graph["nodes"]:
        text = node["label"]
        if node["kind"] == "run":
            text = f"{node['label']} [{node.get('job_type') or '-'}]"
        label[node["id"]] = text
    return {(label[e["from"]], label[e["to"]]) for e in graph["edges"]}
