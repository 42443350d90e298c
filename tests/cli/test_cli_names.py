"""`git artifacts` with the names W&B accepts, and W&B's reserved names and types refused:
one `error:` line with W&B's text, exit 2, nothing written."""

from __future__ import annotations

import pytest
from helpers import GitRepo, assert_unchanged, stderr_error_line


def test_names_with_a_leading_dot_dash_or_underscore_and_types_with_spaces(
    repo: GitRepo,
) -> None:
    repo.write({"d1/a.txt": "one", "d2/a.txt": "two", "d3/a.txt": "three"})
    repo.ga("add", "d1", "--name", ".hidden", "--type", "reference model")
    repo.ga("add", "d2", "--name", "-x", "--type", "dataset")
    repo.ga("add", "d3", "--name=_private", "--type", "dataset")
    repo.commit("three", ".artifacts", ".gitignore")
    rows = {r["name"]: r for r in repo.ga_json("ls")}
    assert sorted(rows) == ["-x", ".hidden", "_private"]
    assert rows[".hidden"]["type"] == "reference model"
    assert repo.manifest(".hidden")["name"] == ".hidden"  # the manifest keeps the name
    refs = repo.git("for-each-ref", "--format=%(refname)", "refs/tags/artifacts").split()
    assert "refs/tags/artifacts/%2Ehidden/v0" in refs
    assert "refs/tags/artifacts/-x/v0" in refs
    assert "refs/tags/artifacts/_private/v0" in refs
    assert "type:        reference model" in repo.ga("show", ".hidden:v0").stdout
    assert "name:        -x" in repo.ga("show", "--", "-x:v0").stdout
    repo.ga("alias", "--", "-x:v0", "best")
    assert repo.tag_commit("artifacts/-x/best") == repo.tag_commit("artifacts/-x/v0")
    out = repo.root.parent / "out"
    repo.ga("get", ".hidden:v0", "-o", str(out))
    assert (out / "a.txt").read_text() == "one"


def test_a_name_read_as_an_option_gets_a_hint_to_use_double_dash(repo: GitRepo) -> None:
    before = repo.snapshot()
    proc = repo.ga("log", "-x", rc=2)
    assert "No such option '-x'" in proc.stderr
    assert "goes after '--'" in proc.stderr
    assert_unchanged(before, repo.snapshot())


CASES = [
    ("name-space", "reference model", "t", "Artifact name may only contain alphanumeric"),
    ("name-slash", "a/b", "t", "Artifact names must not contain any of the following"),
    ("name-long", "x" * 129, "t", "Artifact name is longer than 128 characters"),
    ("name-dotdot", "..", "t", "invalid artifact name '..'"),
    ("type-colon", "o", "a:b", "Artifact types must not contain any of the following"),
    ("type-wandb", "o", "wandb-history", "Artifact type 'wandb-history' is reserved"),
    ("type-job", "o", "job", "Artifact type 'job' is reserved for internal use"),
    ("code-source", "source-train", "code", "Artifact type 'code' is reserved"),
    ("table-run", "run-abc-table", "run_table", "Artifact type 'run_table' is reserved"),
]


@pytest.mark.parametrize(("case", "name", "type_", "text"), CASES, ids=[c[0] for c in CASES])
def test_names_and_types_wandb_refuses_are_one_error_line_and_nothing_written(
    repo: GitRepo, case: str, name: str, type_: str, text: str
) -> None:
    repo.write({"data/o/a.txt": "a"})
    before = repo.snapshot()
    proc = repo.ga("add", "data/o", "--name", name, "--type", type_, rc=2)
    assert text in stderr_error_line(proc)
    assert_unchanged(before, repo.snapshot())


def test_wandbs_reserved_texts_are_exact(repo: GitRepo) -> None:
    repo.write({"data/o/a.txt": "a"})
    proc = repo.ga("add", "data/o", "--name", "o", "--type", "job", rc=2)
    line = stderr_error_line(proc)
    assert line.startswith(
        "error: Artifact type 'job' is reserved for internal use. Please use a different type. ("
    )


def test_the_tools_own_code_artifact_may_be_named_source(repo: GitRepo) -> None:
    repo.write({"train.py": "print(1)\n"})
    repo.commit("code", "train.py")
    repo.ga("add", "--code", "--name", "source-train")
    assert repo.manifest("source-train")["type"] == "code"
