"""Shell completion in real bash: git's completion calling `_git_artifacts`, and the
`git-artifacts` script; verbs, options, artifact names, versions and aliases."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from helpers import GitRepo

from gitartifacts.cli.completion import ARTIFACT_ARGS, ARTIFACT_SPEC
from gitartifacts.cli.main import main

GIT_COMPLETION = Path("/usr/share/bash-completion/completions/git")

# Sets COMP_* as bash would for the words given (bash splits NAME:SPEC at ':'), calls the
# completion function and prints one candidate a line.
_DRIVER = r"""
source "$GIT_COMPLETION"
eval "$(git artifacts completion bash)"
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMP_LINE="${COMP_LINE// :/:}"
COMP_LINE="${COMP_LINE//: /:}"
COMP_POINT=${#COMP_LINE}
if [[ ${COMP_WORDS[0]} == git ]]; then __git_wrap__git_main; else _git_artifacts_script; fi
printf '%s\n' "${COMPREPLY[@]}"
"""


def _complete(repo: GitRepo, *words: str) -> list[str]:
    if not GIT_COMPLETION.is_file():
        pytest.skip("git's bash completion is not installed")
    proc = subprocess.run(
        ["bash", "-c", _DRIVER, "driver", *words],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_COMPLETION": str(GIT_COMPLETION)},
        timeout=60,
    )
    return [line for line in proc.stdout.splitlines() if line]


def test_git_artifacts_tab_completes_verbs_through_gits_completion(repo: GitRepo) -> None:
    assert _complete(repo, "git", "artifacts", "pu") == ["pull ", "push "]
    assert _complete(repo, "git-artifacts", "pu") == ["pull", "push"]
    every = _complete(repo, "git-artifacts", "")
    assert "checkout" in every and "completion" in every
    assert "textconv" not in every and "hook" not in every  # internal verbs stay hidden
    assert _complete(repo, "git", "artifacts", "help", "pu") == ["pull ", "push "]


def test_options_complete(repo: GitRepo) -> None:
    assert "--remote " in _complete(repo, "git", "artifacts", "push", "--re")
    assert _complete(repo, "git-artifacts", "log", "--al") == ["--all"]


def test_artifact_names_versions_and_aliases_complete(bikes: GitRepo) -> None:
    bikes.ga("alias", "bikes:v0", "best")
    assert _complete(bikes, "git", "artifacts", "show", "bi") == ["bikes "]
    assert _complete(bikes, "git-artifacts", "checkout", "b") == ["bikes"]
    # bash splits `bikes:` into two words and replaces only what follows the ':'.
    got = _complete(bikes, "git", "artifacts", "show", "bikes", ":")
    assert sorted(got) == ["best ", "latest ", "v0 "]
    assert _complete(bikes, "git-artifacts", "get", "bikes", ":", "be") == ["best"]
    assert _complete(bikes, "git-artifacts", "log", "nothing") == []


def test_names_come_from_the_repository_named_by_dash_c(bikes: GitRepo, tmp_path: Path) -> None:
    elsewhere = GitRepo(tmp_path)
    got = _complete(elsewhere, "git", "-C", str(bikes.root), "artifacts", "log", "")
    assert got == ["bikes "]
    assert _complete(elsewhere, "git-artifacts", "-C", str(bikes.root), "log", "") == ["bikes"]
    assert _complete(elsewhere, "git-artifacts", "log", "") == []  # no repository: nothing


def test_a_manifest_file_with_a_hostile_name_never_reaches_the_line(bikes: GitRepo) -> None:
    # A committed file name comes through git: a newline would add a candidate, an escape
    # sequence would reach the terminal.
    (bikes.root / ".artifacts" / "b\x1b[31mad\nbikes2.yaml").write_text("{}\n")
    assert _complete(bikes, "git-artifacts", "log", "b") == ["bikes"]


def test_every_artifact_argument_named_for_completion_exists() -> None:
    ctx = click.Context(main)
    for verb, arg in ARTIFACT_ARGS.items():
        cmd = main.get_command(ctx, verb)
        assert cmd is not None, verb
        args = {p.name: p for p in cmd.params if isinstance(p, click.Argument)}
        assert arg in args, verb
        assert args[arg].type is ARTIFACT_SPEC, verb


def test_the_zsh_script_loads_in_zsh(repo: GitRepo) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    script = repo.ga("completion", "zsh").stdout
    proc = subprocess.run(
        [
            zsh,
            "-f",
            "-c",
            f"autoload -Uz compinit && compinit -u\n{script}\n"
            "print -- ${+functions[_git-artifacts]}",
        ],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip().splitlines()[-1] == "1", proc.stderr
