"""`git artifacts review` (Markdown for pull requests), `textconv` for `git diff`, and the
example GitHub workflow, run against real repositories with a base and a head branch."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import GitRepo, cache_objects, lines, make_repo

from gitartifacts.core import diff as adiff
from gitartifacts.core import manifest as mf
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import hooks
from gitartifacts.review import markdown as review

PROJECT = Path(__file__).resolve().parents[2]
WORKFLOW = PROJECT / "examples/github-pr-review.yml"
LISTING_HEADER = b"gitartifacts-listing 1\n"


def many_files(n: int) -> dict[str, str]:
    return {f"data/many/d{i % 3}/f{i:04d}.txt": f"file {i}\n" for i in range(n)}


def workflow_steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    steps: list[dict[str, Any]] = doc["jobs"]["review"]["steps"]
    return steps


def run_step(step: dict[str, Any], cwd: Path, github: dict[str, str]) -> None:
    """A `run:` step as the runner does it: bash -e, with the step's env, `${{ }}` filled in."""

    def fill(value: str) -> str:
        return re.sub(r"\$\{\{\s*github\.(\w+)\s*\}\}", lambda m: github[m.group(1)], value)

    env = {k: fill(str(v)) for k, v in (step.get("env") or {}).items()}
    proc = subprocess.run(
        ["bash", "-e", "-c", fill(step["run"])],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, f"step {step['id']} failed:\n{proc.stdout}\n{proc.stderr}"


# ---------------------------------------------------------------- the workflow, end to end


@pytest.mark.slow
def test_github_workflow_reviews_a_pull_request_without_downloading_file_content(
    tmp_path: Path,
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    dev = make_repo(tmp_path / "dev")
    dev.git("remote", "add", "origin", str(origin))
    dev.write(many_files(1010))
    dev.ga("add", "data/many", "--name", "many", "--type", "dataset", "--metadata", "split=1")
    assert "listing: sha256:" in dev.manifest_text("many")  # over 1,000 entries
    dev.commit("many v0")
    dev.git("push", "-q", "origin", "main")
    dev.ga("push")
    # The pull request: 2 added, 1 removed, 1 modified, 1 renamed, metadata changed.
    dev.git("checkout", "-q", "-b", "feature")
    data = dev.root / "data/many"
    (data / "d0/f0000.txt").write_text("changed\n")
    (data / "d1/f0001.txt").rename(data / "d1/moved.txt")
    (data / "d2/f0002.txt").unlink()
    dev.write({"data/many/d0/new1.txt": "new 1\n", "data/many/d1/new2.txt": "new 2\n"})
    dev.ga("add", "data/many", "--name", "many", "--metadata", "split=2")
    dev.commit("many v1")
    dev.git("push", "-q", "origin", "feature")
    dev.ga("push")
    # The runner: a full clone at the head of the pull request, and an empty cache.
    ci = GitRepo(tmp_path / "ci")
    subprocess.run(["git", "clone", "-q", str(origin), str(ci.root)], check=True)
    ci.git("checkout", "-q", "--detach", "origin/feature")
    steps = {s.get("id") or s["uses"].split("@")[0]: s for s in workflow_steps()}
    assert steps["actions/checkout"]["with"]["fetch-depth"] == 0  # full history
    assert "pip install" in steps["install"]["run"] and "gitartifacts" in steps["install"]["run"]
    assert "review.md" in steps["comment"]["run"] and "gh pr comment" in steps["comment"]["run"]
    for name in ("validate", "review"):
        run_step(steps[name], ci.root, {"base_ref": "main"})
    md = (ci.root / "review.md").read_text()
    assert "| <code>many</code> | v0 → v1 | 1010 → 1011 (+1) |" in md
    assert "2 added, 1 removed, 1 modified, 1 renamed, 1 field changed" in md
    assert "| renamed | <code>d1/f0001.txt</code> → <code>d1/moved.txt</code> |" in md
    assert "| <code>metadata.split</code> | <code>1</code> | <code>2</code> |" in md
    assert "```mermaid\ngraph LR\n" in md and "a0_old --> a0_new" in md
    assert '["many v0"]' in md and '["many v1"]' in md
    # Only listing objects came from the remote cache: no file content.
    fetched = cache_objects(ci.cache)
    assert fetched, "the listing was not fetched"
    assert all(p.read_bytes().startswith(LISTING_HEADER) for p in fetched.values())
    # With the listing local, git diff's textconv lists the entries.
    text = ci.ga("textconv", ".artifacts/many.yaml").stdout
    assert "listing: sha256:" in text
    assert re.search(r"^d0/f0000\.txt  8  sha256:[0-9a-f]{12}$", text, re.M), text


# ---------------------------------------------------------------- Markdown content


@pytest.mark.slow
def test_review_shows_files_fields_and_references_and_caps_the_rows(
    bikes: GitRepo, tmp_path: Path
) -> None:
    ext = tmp_path / "ext.csv"
    ext.write_text("a,b\n")
    ref = f"ext.csv={ext.as_uri()}"
    bikes.ga("add", "data/bikes", "--name", "bikes", "--ref", ref, "--metadata", "classes=3")
    bikes.commit("bikes v1 with a reference")
    ext.write_text("a,c\n")
    data = bikes.root / "data/bikes"
    (data / "img0.txt").rename(data / "renamed.txt")
    (data / "img1.txt").unlink()
    bikes.write({"data/bikes/img2.txt": "changed\n", "data/bikes/a.txt": "a\n"})
    bikes.write({"data/bikes/b.txt": "b\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes", "--ref", ref, "--metadata", "classes=4")
    md = bikes.ga("review", "HEAD", "--max-files", "2").stdout
    assert md.startswith(review.MARKER + "\n## Artifact changes\n")
    assert "| <code>bikes</code> | v1 → work tree | 5 → 6 (+1) |" in md
    assert "2 added, 1 removed, 2 modified, 1 renamed, 1 field changed" in md
    rows = [ln for ln in lines(md) if re.match(r"\| (added|removed|modified|renamed) \|", ln)]
    assert len(rows) == 2
    assert "… and 4 more files (1 removed, 2 modified, 1 renamed)." in md
    old, new = "sha256:" + _sha256(b"a,b\n")[:12], "sha256:" + _sha256(b"a,c\n")[:12]
    uri = ext.as_uri()
    assert (
        f"- <code>ext.csv</code>: {review._code(uri)} {review._code(old)} → "
        f"{review._code(uri)} {review._code(new)}"
    ) in md
    assert "| <code>metadata.classes</code> | <code>3</code> | <code>4</code> |" in md
    as_json = json.loads(bikes.ga("review", "HEAD", "--format", "json").stdout)
    assert [d["name"] for d in as_json] == ["bikes"] and len(as_json[0]["added"]) == 2
    text = bikes.ga("review", "HEAD", "--format", "text").stdout
    assert text.startswith("bikes: v1 -> work tree  (5 -> 6 files")
    bikes.git("checkout", "-q", "HEAD", "--", ".artifacts")
    assert "No artifact changes." in bikes.ga("review").stdout


def test_markdown_escapes_everything_a_pull_request_author_controls() -> None:
    evil = "x|y`<img src=evil>.png"
    old = mf.build("bikes", "dataset", {"a.txt": mf.Entry("sha256:" + "1" * 64, 1)})
    new = mf.build(
        "bikes",
        "dataset",
        {"a.txt": mf.Entry("sha256:" + "1" * 64, 1), evil: mf.Entry("sha256:" + "2" * 64, 2)},
        metadata={"note": "</details><script>alert(1)</script> | @everyone"},
        description="**bold** [link](javascript:x)",
    )
    md = review.to_markdown([adiff.diff_manifests(old, new, "v0", 'HEAD"]-->x')])
    assert "<img" not in md and "<script" not in md and md.count("</details>") == 1
    assert "<code>x&#124;y&#96;&#60;img src=evil&#62;.png</code>" in md
    assert "@everyone" not in md and "[link]" not in md and "**" not in md
    for row in (ln for ln in lines(md) if ln.startswith("| ")):
        assert row.count("|") in (4, 6), row  # 3 or 5 cells: no pipe broke out of a cell
    mermaid = md.split("```mermaid\n", 1)[1]
    assert '"]-->' not in mermaid and 'a0_new["bikes HEAD#34;#93;--#62;x"]' in mermaid


# ---------------------------------------------------------------- git diff


@pytest.mark.slow
def test_git_diff_and_log_show_manifests_as_file_lists(bikes: GitRepo) -> None:
    # `init` already set it up; undo that to see setup_textconv do it.
    bikes.git("config", "--unset", "diff.gitartifacts.textconv")
    bikes.git("rm", "-q", ".gitattributes")
    bikes.commit("no attributes")
    project = Project.open(bikes.root)
    try:
        done = hooks.setup_textconv(project)
        assert hooks.setup_textconv(project) == []  # idempotent
    finally:
        project.close()
    assert len(done) == 2
    assert ".artifacts/*.yaml diff=gitartifacts" in lines(
        (bikes.root / ".gitattributes").read_text()
    )
    assert bikes.staged() == [".gitattributes"]
    assert bikes.git("config", "diff.gitartifacts.textconv").strip().endswith("textconv")
    bikes.write({"data/bikes/img9.txt": "bike 9\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes", "--description", "Bike photos")
    bikes.commit("bikes v1")
    digest = "sha256:" + _sha256(b"bike 9\n")[:12]
    patch = bikes.git("log", "-p", "-1", "--format=", "--", ".artifacts")
    assert f"+bikes/img9.txt  7  {digest}" in lines(patch)
    assert '+description: "Bike photos"' in lines(patch)
    assert any(ln.startswith("-files: 4") for ln in lines(patch))
    assert "{digest:" not in patch  # the YAML itself is not what the diff shows
    assert lines(bikes.git("diff", "HEAD~1", "HEAD", "--", ".artifacts")) == lines(
        bikes.git("show", "--format=", "HEAD", "--", ".artifacts")
    )


def test_textconv_passes_anything_but_a_manifest_through_unchanged(tmp_path: Path) -> None:
    for text in ("not: [valid\n", "gitartifacts: 1\nname: x\n", "plain text\n"):
        assert review.textconv(text) == text


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
