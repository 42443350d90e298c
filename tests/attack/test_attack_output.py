"""Hostile text and hostile code patches against what `git artifacts` prints and writes.

Names, descriptions, metadata, entry paths and code patches arrive through git or a remote.
A terminal must never receive a control character from them, a pull-request comment never
Markdown, HTML or a mention from them, and `get` of a code artifact never writes outside its
folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import GitRepo, stderr_error_line, tree_state

from gitartifacts.review.markdown import MARKER

# Characters a terminal acts on or that disguise text: ESC (CSI, OSC), BEL, CR, C1 CSI,
# NEL, the line separator and the bidi override and isolate.
RAW = ["\x1b", "\x07", "\r", "\x9b", "\x85", "\u2028", "\u202e", "\u2066"]
ESC_TITLE = "\x1b]0;pwned\x07\x1b[2J"
BIDI = "exe\u202etxt.py"


def assert_no_raw_controls(text: str) -> None:
    for c in RAW:
        assert c not in text, f"raw {c!r} in output:\n{text!r}"


# ---------------------------------------------------------------- terminal


@pytest.fixture
def hostile(bikes: GitRepo) -> GitRepo:
    """`bikes` v1 with control characters in its description, metadata and entry paths."""
    bikes.write({f"data/bikes/{BIDI}": "x\n", "data/bikes/csi\x9b31m\x85.txt": "y\n"})
    meta = json.dumps({"note": "a\x1b[31mred\u2028b", "k\x1b": 1})
    bikes.ga("add", "data/bikes", "--name", "bikes", "-d", f"t{ESC_TITLE}\nfake: line", "-m", meta)
    bikes.commit("hostile v1")
    return bikes


@pytest.mark.parametrize(
    "args",
    [
        ["show", "bikes"],
        ["show", "bikes", "--all-files"],
        ["ls"],
        ["log", "bikes"],
        ["status"],
        ["diff", "HEAD~1", "HEAD"],
        ["review", "HEAD~1", "HEAD", "--format", "text"],
        ["review", "HEAD~1", "HEAD", "--format", "markdown"],
        ["diff", "HEAD~1", "HEAD", "--format", "markdown"],
        ["validate"],
    ],
)
@pytest.mark.slow
def test_human_output_shows_control_characters_as_escapes(
    hostile: GitRepo, args: list[str]
) -> None:
    if args[0] == "status":  # a modified file under a hostile name
        (hostile.root / f"data/bikes/{BIDI}").write_text("changed\n")
    proc = hostile.ga(*args, rc=None)
    assert proc.returncode in (0, 1), proc.stderr
    assert_no_raw_controls(proc.stdout + proc.stderr)


@pytest.mark.slow
def test_show_prints_escapes_visibly_one_field_per_line(hostile: GitRepo) -> None:
    out = hostile.ga("show", "bikes", "--all-files").stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in out
    assert "exe\\u202etxt.py" in out and "csi\\x9b31m\\x85.txt" in out
    assert not any(ln.startswith("fake:") for ln in out.splitlines())  # no forged field


@pytest.mark.slow
def test_json_output_keeps_the_exact_text_and_no_raw_control(hostile: GitRepo) -> None:
    proc = hostile.ga("show", "bikes", "--json")
    assert_no_raw_controls(proc.stdout)
    data = json.loads(proc.stdout)
    assert data["description"] == f"t{ESC_TITLE}\nfake: line"
    assert data["metadata"]["note"] == "a\x1b[31mred\u2028b"
    assert f"bikes/{BIDI}" in data["entries"]


@pytest.mark.parametrize("case", ["a changed file under a bidi name", "a spec with ESC"])
@pytest.mark.slow
def test_an_error_naming_hostile_text_is_one_escaped_line(hostile: GitRepo, case: str) -> None:
    if case == "a spec with ESC":
        proc = hostile.ga("show", f"nope{ESC_TITLE}\n\u202exx", rc=None)
    else:  # checkout refuses to overwrite it, naming the path
        (hostile.root / f"data/bikes/{BIDI}").write_text("changed\n")
        proc = hostile.ga("checkout", "bikes", rc=None)
    line = stderr_error_line(proc)
    assert_no_raw_controls(proc.stderr)
    assert "\\x1b]0;pwned" in line or "exe\\u202etxt.py" in line


@pytest.mark.slow
def test_a_hook_warning_naming_a_hostile_path_is_escaped(hostile: GitRepo) -> None:
    hostile.ga("install-hooks")
    (hostile.root / f"data/bikes/{BIDI}").write_text("changed\n")
    proc = subprocess.run(
        ["git", "checkout", "-q", "HEAD~1"], cwd=hostile.root, capture_output=True, text=True
    )
    assert "exe\\u202etxt.py" in proc.stderr  # post-checkout kept the changed file, said so
    assert_no_raw_controls(proc.stderr)


# ---------------------------------------------------------------- pull-request review

INJECTIONS = {
    "heading": "\n# Approved by @security-team",
    "mention": "ping @security-team and @everyone",
    "html": "</details><img src=x onerror=alert(1)><script>x</script>",
    "link": "[click here](https://evil.example/login) www.evil.example",
    "table": "a | b | c\n| --- |",
    "code fence": "```\n```mermaid\ngraph LR\n",
    "terminal": ESC_TITLE + "\u202e",
}


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
@pytest.mark.slow
def test_review_markdown_neutralises_what_a_pull_request_author_writes(
    bikes: GitRepo, kind: str
) -> None:
    text = INJECTIONS[kind]
    name_safe = re.sub(r"[/\x00-\x1f\x7f]", "_", text).strip() or "x"
    bikes.write({f"data/bikes/{name_safe}.txt": "pr\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes", "-d", text, "-m", json.dumps({"note": text}))
    bikes.commit("pull request")
    md = bikes.ga("review", "HEAD~1", "HEAD").stdout
    assert_no_raw_controls(md)
    assert [ln for ln in md.splitlines() if ln.startswith("#")] == ["## Artifact changes"]
    assert "@security-team" not in md and "@everyone" not in md
    assert "<img" not in md and "<script" not in md and md.count("</details>") == 1
    assert "](" not in md and "www.evil" not in md and md.count("```") == 2
    for row in (ln for ln in md.splitlines() if ln.startswith("|")):
        assert row.count("|") in (4, 6), row  # 3 or 5 cells: nothing broke a table row


# ---------------------------------------------------------------- code artifact patches


def _code_repo(repo: GitRepo) -> GitRepo:
    repo.write({"src/a.py": "a = 1\n", "src/b.py": "b = 2\n"})
    repo.commit("src", "src")
    repo.write({"src/a.py": "a = 42\n"})
    repo.ga("add", "--code", "src", "--name", "code-src")
    return repo


def _rewrite(repo: GitRepo, data: bytes | None = None, **meta: object) -> None:
    """Put a patch object into the cache and point the committed manifest at it."""
    doc = repo.manifest("code-src")
    if data is not None:
        hex_ = hashlib.sha256(data).hexdigest()
        obj = repo.cache / "sha256" / hex_[:2] / hex_[2:]
        obj.parent.mkdir(parents=True, exist_ok=True)
        obj.write_bytes(data)
        doc["metadata"]["patch"] = "sha256:" + hex_
    doc["metadata"].update(meta)
    (repo.root / ".artifacts/code-src.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    repo.commit("hostile code artifact", ".artifacts/code-src.yaml")


def _new_file(path: str, mode: str = "100644", body: str = "owned = True") -> str:
    return (
        f"diff --git a/src/{path} b/src/{path}\nnew file mode {mode}\n"
        f"--- /dev/null\n+++ b/src/{path}\n@@ -0,0 +1 @@\n+{body}\n"
    )


PATCHES = {
    "parent": _new_file("../outside/evil.py"),
    "deep parent": _new_file("x/../../../outside/evil.py"),
    "git folder": _new_file(".git/hooks/post-checkout", body="#!/bin/sh"),
    "not its file": _new_file("extra.py"),
    "symlink out": _new_file("link", "120000", "../outside") + "\\ No newline at end of file\n",
    "rename out": (
        "diff --git a/src/a.py b/src/../outside/a.py\nsimilarity index 100%\n"
        "rename from src/a.py\nrename to src/../outside/a.py\n"
    ),
}
FIELDS: dict[str, dict[str, object]] = {
    "root parent": {"root": "../.."},
    "root absolute": {"root": "/tmp"},
    "commit option": {"commit": "--output=/tmp/x"},
    "patch not a digest": {"patch": "../../etc/passwd"},
}


def _assert_nothing_outside(tmp_path: Path, out: Path) -> None:
    assert not (tmp_path / "outside").exists() and not (out.parent / "outside").exists()
    assert not (out / ".git").exists()
    assert not any(v.startswith("link:") for v in tree_state(out).values()) if out.exists() else 1


@pytest.mark.parametrize("kind", sorted(PATCHES))
@pytest.mark.slow
def test_get_of_a_code_artifact_never_applies_a_patch_outside_its_files(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    code = _code_repo(repo)
    code.commit("code", ".artifacts/code-src.yaml")
    _rewrite(code, PATCHES[kind].encode())
    out = tmp_path / "deep" / "out"
    proc = code.ga("get", "code-src", "-o", str(out), rc=None)
    line = stderr_error_line(proc)
    assert "code artifact code-src" in line
    _assert_nothing_outside(tmp_path, out)
    assert not out.exists() or not any(out.iterdir())  # refused before any file was written
    findings = code.ga("validate", rc=1).stdout
    assert "code-src" in findings and "patch" in findings


@pytest.mark.parametrize("kind", sorted(FIELDS))
@pytest.mark.slow
def test_get_and_validate_refuse_hostile_code_artifact_fields(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    code = _code_repo(repo)
    code.commit("code", ".artifacts/code-src.yaml")
    _rewrite(code, **FIELDS[kind])
    out = tmp_path / "deep" / "out"
    stderr_error_line(code.ga("get", "code-src", "-o", str(out), rc=None))
    _assert_nothing_outside(tmp_path, out)
    assert "metadata." in code.ga("validate", rc=1).stdout


@pytest.mark.slow
def test_a_clean_code_patch_still_applies(repo: GitRepo, tmp_path: Path) -> None:
    code = _code_repo(repo)
    code.commit("code", ".artifacts/code-src.yaml")
    out = tmp_path / "out"
    code.ga("get", "code-src", "-o", str(out))
    assert (out / "a.py").read_text() == "a = 42\n" and (out / "b.py").read_text() == "b = 2\n"
    code.ga("validate")


# ---------------------------------------------------------------- remote caches moved by a branch

REMOTE_MOVES = {
    "url moved": ["remote", "add", "storage", "{evil}", "--force"],
    "new default": ["remote", "add", "mine", "{evil}", "--default"],
    "endpoint moved": [
        *("remote", "add", "storage", "s3://bucket/p", "--force"),
        *("--endpoint-url", "http://attacker-folder.invalid:9000"),
    ],
    "removed": ["remote", "remove", "storage"],
}


@pytest.fixture
def with_remote(bikes: GitRepo, tmp_path: Path) -> GitRepo:
    bikes.ga("remote", "add", "storage", str(tmp_path / "good-cache"), "--default")
    bikes.commit("a remote cache")
    return bikes


@pytest.mark.parametrize("kind", sorted(REMOTE_MOVES))
@pytest.mark.slow
def test_review_warns_first_when_a_branch_moves_a_remote_cache(
    with_remote: GitRepo, tmp_path: Path, kind: str
) -> None:
    evil = str(tmp_path / "attacker-folder")
    with_remote.git("checkout", "-q", "-b", "pr")
    with_remote.ga(*(a.format(evil=evil) for a in REMOTE_MOVES[kind]))
    with_remote.commit("innocent pull request")
    md = with_remote.ga("review", "main...pr").stdout
    head = md.splitlines()[:6]
    assert head[:4] == [MARKER, "## Artifact changes", "", "> [!WARNING]"], md
    block = [ln for ln in md.splitlines() if ln.startswith("> - ")]
    assert block and ("attacker-folder" in " ".join(block) or kind == "removed")
    text = with_remote.ga("review", "main...pr", "--format", "text").stdout
    assert text.startswith("warning: .gitartifacts.yaml changes where artifact content goes")
    as_json = with_remote.ga("review", "main...pr", "--format", "json")
    assert json.loads(as_json.stdout) == [] and "warning:" in as_json.stderr


@pytest.mark.slow
def test_review_without_a_remote_change_has_no_warning(with_remote: GitRepo) -> None:
    with_remote.write({"data/bikes/new.txt": "n\n"})
    with_remote.ga("add", "data/bikes", "--name", "bikes")
    with_remote.commit("more bikes")
    md = with_remote.ga("review", "HEAD~1", "HEAD").stdout
    assert "WARNING" not in md and "warning" not in md.lower()


@pytest.mark.parametrize("kind", sorted(REMOTE_MOVES))
@pytest.mark.slow
def test_validate_warns_without_failing_when_a_remote_moves(
    with_remote: GitRepo, tmp_path: Path, kind: str
) -> None:
    evil = str(tmp_path / "attacker-folder")
    with_remote.ga(*(a.format(evil=evil) for a in REMOTE_MOVES[kind]))
    with_remote.git("add", ".gitartifacts.yaml")
    for args in (["validate"], ["validate", ".gitartifacts.yaml"]):  # as pre-commit runs it
        proc = with_remote.ga(*args)
        assert proc.stdout == ""
        warned = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
        assert warned and all("against HEAD" in ln for ln in warned), proc.stderr


@pytest.mark.slow
def test_validate_warns_about_a_remote_moved_by_commits_not_yet_upstream(
    with_remote: GitRepo, tmp_path: Path
) -> None:
    clone = GitRepo(tmp_path / "clone")
    with_remote.git("clone", "-q", str(with_remote.root), str(clone.root))
    clone.ga("init")
    clone.ga("remote", "add", "storage", str(tmp_path / "attacker-folder"), "--force")
    clone.commit("merged pull request", ".gitartifacts.yaml")
    proc = clone.ga("validate")
    assert "against the upstream branch" in proc.stderr and "attacker-folder" in proc.stderr


@pytest.mark.parametrize("link", ["a.py", "sub"])
@pytest.mark.slow
def test_get_of_a_code_artifact_does_not_write_through_a_link_in_the_folder(
    repo: GitRepo, tmp_path: Path, link: str
) -> None:
    code = _code_repo(repo)
    if link == "sub":  # a folder of the artifact is a link in the target
        code.write({"src/sub/c.py": "c = 3\n"})
        code.commit("sub", "src/sub")
        code.ga("add", "--code", "src", "--name", "code-src")
    code.commit("code", ".artifacts/code-src.yaml")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.py").write_text("keep\n")
    (outside / "c.py").write_text("keep\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / link).symlink_to(outside / "a.py" if link == "a.py" else outside)
    before = tree_state(outside)
    stderr_error_line(code.ga("get", "code-src", "-o", str(out), rc=None))
    assert tree_state(outside) == before


# ---------------------------------------------------------------- lineage graphs

RUN_NAME = 'x"]\n  click n0 href "javascript:alert(1)"\n%% \\'
NODE_RE = {
    "mermaid": re.compile(r'^  n\d+(\["[^"\n]*"\]|\(\["[^"\n]*"\]\))$'),
    "dot": re.compile(r'^  n\d+ \[label="(?:[^"\\\n]|\\.)*", shape=\w+(, penwidth=3)?\];$'),
}


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "text"])
@pytest.mark.slow
def test_lineage_labels_from_run_records_stay_inside_their_node(bikes: GitRepo, fmt: str) -> None:
    bikes.ga(
        "run", "--job-type", f"t{ESC_TITLE}", "--name", RUN_NAME, "-i", "bikes:v0", "--", "true"
    )
    out = bikes.ga("lineage", "bikes:v0", "--format", fmt).stdout
    assert_no_raw_controls(out)
    if fmt == "text":
        assert len(out.strip().splitlines()) == 3  # the version, "downstream:", the run
        return
    nodes = [ln for ln in out.splitlines() if ln.startswith("  n") and "->" not in ln]
    assert len(nodes) == 2 and all(NODE_RE[fmt].match(ln) for ln in nodes), out
    assert not any(ln.lstrip().startswith(("click", "%%")) for ln in out.splitlines())
