"""Help the git way: -h grouped by workflow with whole summaries, the help verb, man pages."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import click
from helpers import GitRepo, stderr_error_line

from gitartifacts.cli import help as help_
from gitartifacts.cli.main import VERBS, main


def _help_sections(text: str) -> dict[str, list[str]]:
    """Section title -> the verbs listed under it, from the text of -h."""
    sections: dict[str, list[str]] = {}
    title = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            title = line[:-1]
            sections[title] = []
        elif title and re.match(r"  \S", line):
            sections[title].append(line.split()[0])
    return sections


def test_dash_h_lists_every_public_verb_once_under_its_workflow(repo: GitRepo) -> None:
    out = repo.ga("-h").stdout
    sections = _help_sections(out)
    assert sections["Share"] == ["remote", "push", "fetch", "pull"]
    assert sections["Use versions"] == ["checkout", "get", "verify"]
    assert sections["Lifecycle"] == ["alias", "edit", "delete", "gc", "du"]
    assert sections["Projects"] == ["project", "import", "update"]
    assert "Commands" not in sections  # click's flat list is gone
    assert help_.OTHER not in sections  # every verb has a workflow
    listed = [v for title, verbs in sections.items() if title != "Options" for v in verbs]
    assert sorted(listed) == sorted(set(VERBS) - help_.INTERNAL)
    for internal in ("textconv", "merge-driver", "hook"):
        assert internal not in listed


def test_no_summary_is_cut_mid_sentence() -> None:
    ctx = click.Context(main, info_name="git-artifacts")
    for verb in set(VERBS) - help_.INTERNAL:
        cmd = main.get_command(ctx, verb)
        assert cmd is not None
        text = help_.summary(cmd)
        assert text and "..." not in text, verb
        assert len(text) <= 60, (verb, text)
        assert not text.endswith((",", ":", " (", " and", " or")), (verb, text)
    out = subprocess.run(["git-artifacts", "-h"], capture_output=True, text=True, check=True)
    assert "..." not in out.stdout.split("Options:")[1]


def test_subcommand_summaries_are_whole_too(repo: GitRepo) -> None:
    out = repo.ga("remote", "-h").stdout.split("Commands:")[1]
    assert "Add remote NAME at URL\n" in out
    assert "..." not in out


def test_summary_rule_takes_the_first_sentence_then_the_first_clause() -> None:
    @click.command()
    def long() -> None:
        """Make the workspace hold versions: all artifacts, NAME, or NAME:SPEC. More text."""

    @click.command()
    def short() -> None:
        """Delete versions NAME:vN (or NAME:ALIAS). A version with aliases is refused."""

    assert help_.summary(long) == "Make the workspace hold versions"
    assert help_.summary(short) == "Delete versions NAME:vN (or NAME:ALIAS)"


def test_a_plain_verb_loads_no_other_verb_module(repo: GitRepo) -> None:
    code = (
        "import sys\n"
        "from gitartifacts.cli.main import main\n"
        "try:\n"
        "    main(['-q', 'status'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('gitartifacts.cli.')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True
    )
    loaded = set(ast.literal_eval(proc.stdout.splitlines()[-1]))
    shared = {"main", "context", "options", "help", "completion"}
    assert loaded - {f"gitartifacts.cli.{m}" for m in shared} == {"gitartifacts.cli.show"}


def test_help_verb_prints_a_verbs_help_when_piped(repo: GitRepo) -> None:
    out = repo.ga("help", "push").stdout
    assert out.startswith("Usage: git-artifacts push [OPTIONS]")
    assert out == repo.ga("push", "-h").stdout
    assert repo.ga("help", "remote", "add").stdout == repo.ga("remote", "add", "-h").stdout
    assert "Share:" in repo.ga("help").stdout


def test_help_verb_says_did_you_mean_for_an_unknown_verb(repo: GitRepo) -> None:
    proc = repo.ga("help", "psh", rc=2)
    assert stderr_error_line(proc) == "error: unknown verb 'psh' (did you mean push?)"
    assert proc.stdout == ""
    proc = repo.ga("help", "zzzzz", rc=2)
    assert "git artifacts -h lists the verbs" in proc.stderr
    proc = repo.ga("help", "remote", "ad", rc=2)
    assert "did you mean add?" in proc.stderr
    repo.ga("help", "textconv", rc=2)  # internal verbs have no help page


def test_man_page_names() -> None:
    assert help_.man_page([]) == "git-artifacts"
    assert help_.man_page(["remote", "add"]) == "git-artifacts-remote-add"
