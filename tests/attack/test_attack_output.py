"""Hostile text and hostile code patches against what `git artifacts` prints and writes.

Names, descriptions, metadata, entry paths and code patches arrive through git or a remote.
A terminal must never receive a control character from them, a pull-request comment never
Markdown, HTML or a mention from them, and `get` of a code artifact never writes outside its
folder.
"""

from __future__ import annotations

import json
import re

import pytest
from helpers import GitRepo, stderr_error_line

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
def test_human_output_shows_control_characters_as_escapes(
    hostile: GitRepo, args: list[str]
) -> None:
    if args[0] == "status":  # a modified file under a hostile name
        (hostile.root / f"data/bikes/{BIDI}").write_text("changed\n")
    proc = hostile.ga(*args, rc=None)
    assert proc.returncode in (0, 1), proc.stderr
    assert_no_raw_controls(proc.stdout + proc.stderr)


def test_show_prints_escapes_visibly_one_field_per_line(hostile: GitRepo) -> None:
    out = hostile.ga("show", "bikes", "--all-files").stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in out
    assert "exe\\u202etxt.py" in out and "csi\\x9b31m\\x85.txt" in out
    assert not any(ln.startswith("fake:") for ln in out.splitlines())  # no forged field


def test_json_output_keeps_the_exact_text_and_no_raw_control(hostile: GitRepo) -> None:
    proc = hostile.ga("show", "bikes", "--json")
    assert_no_raw_controls(proc.stdout)
    data = json.loads(proc.stdout)
    assert data["description"] == f"t{ESC_TITLE}\nfake: line"
    assert data["metadata"]["note"] == "a\x1b[31mred\u2028b"
    assert f"bikes/{BIDI}" in data["entries"]


@pytest.mark.parametrize("case", ["a changed file under a bidi name", "a spec with ESC"])
def test_an_error_naming_hostile_text_is_one_escaped_line(hostile: GitRepo, case: str) -> None:
    if case == "a spec with ESC":
        proc = hostile.ga("show", f"nope{ESC_TITLE}\n\u202exx", rc=None)
    else:  # checkout refuses to overwrite it, naming the path
        (hostile.root / f"data/bikes/{BIDI}").write_text("changed\n")
        proc = hostile.ga("checkout", "bikes", rc=None)
    line = stderr_error_line(proc)
    assert_no_raw_controls(proc.stderr)
    assert "\\x1b]0;pwned" in line or "exe\\u202etxt.py" in line


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
