"""Help the git way: -h grouped by workflow with whole summaries, the help verb, man pages."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
from helpers import VENV_BIN, GitRepo, make_repo, stderr_error_line

import gitartifacts
from gitartifacts.cli import help as help_
from gitartifacts.cli import manpages
from gitartifacts.cli.main import VERBS, main


def _help_sections(text: str) -> dict[str, list[str]]:
    """Section title -> the verbs listed under it, from the text of -h."""
    sections: dict[str, list[str]] = {}
    title = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            title = line[:-1]
            sections[title] = []
        elif title and re.match(r"  \S", line) and not line.endswith(":"):
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
    verb_modules = {f"gitartifacts.cli.{m}" for m in VERBS.values()}
    # help and completion: every verb gets whole summaries and artifact-name completion.
    used = {"show", "help", "completion"}
    assert loaded & verb_modules == {f"gitartifacts.cli.{m}" for m in used}


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
    proc = repo.ga("help", "push", "now", rc=2)
    assert (
        stderr_error_line(proc) == "error: unknown verb 'now' (git-artifacts push has no sub-verbs)"
    )


def test_man_page_names() -> None:
    assert help_.man_page([]) == "git-artifacts"
    assert help_.man_page(["remote", "add"]) == "git-artifacts-remote-add"


# The build resolves its requirements with pip's cache, which lives under the real HOME
# (the git_env fixture points HOME at a temporary folder).
_PIP_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pip"
WORKTREE = Path(__file__).resolve().parents[2]


def test_the_manual_pages_render_every_public_verb() -> None:
    pages = manpages.render_all()
    assert "git-artifacts.1" in pages
    for verb in set(VERBS) - help_.INTERNAL:
        assert f"git-artifacts-{verb}.1" in pages, verb
    assert "git-artifacts-remote-add.1" in pages
    assert "git-artifacts-textconv.1" not in pages
    push = pages["git-artifacts-push.1"]
    assert push.startswith('.TH "GIT-ARTIFACTS-PUSH" "1"')
    assert r"\fB\-r\fR, \fB\-\-remote\fR" in push or r"\fB\-r, \-\-remote TEXT\fR" in push
    top = pages["git-artifacts.1"]
    assert ".SH SHARE" in top and r"\fBgit\-artifacts\-push\fR(1)" in top
    for text in pages.values():  # no line of help text is read as a roff request
        for line in text.splitlines():
            assert not line.startswith("'"), line
            assert not line.startswith(".") or line.split()[0] in _REQUESTS, line


_REQUESTS = {".TH", ".SH", ".TP", ".PP", ".B", ".nf", ".fi"}


@pytest.mark.slow
def test_an_editable_install_puts_the_pages_where_man_finds_them(tmp_path: Path) -> None:
    man = shutil.which("man")
    if man is None:
        pytest.skip("man is not installed")
    venv = _venv(tmp_path)
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", "-e", str(WORKTREE))
    env = _man_env(venv)
    where = subprocess.run(
        [man, "-w", "git-artifacts-push"], env=env, capture_output=True, text=True
    )
    assert where.stdout.strip() == str(venv / "share" / "man" / "man1" / "git-artifacts-push.1")
    repo = make_repo(tmp_path / "repo", init_artifacts=False)
    for argv in (["git", "help", "artifacts"], ["git", "artifacts", "--help"]):
        proc = subprocess.run(argv, cwd=repo.root, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "git-artifacts - Versioned data and models in Git" in proc.stdout
        assert "git-artifacts-push(1)" in proc.stdout
    # On a terminal the help verb opens the page, as `git help` does (this venv's own command,
    # since the fresh one has no dependencies installed).
    script = shutil.which("script")
    if script is not None:
        env.update(PATH=f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", MANPATH=str(venv / "share/man"))
        tty = subprocess.run(
            [script, "-qec", "git-artifacts help push", os.devnull],
            cwd=repo.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "GIT-ARTIFACTS-PUSH(1)" in tty.stdout, tty.stdout + tty.stderr


@pytest.mark.slow
def test_a_wheel_installs_the_pages_where_man_finds_them(tmp_path: Path) -> None:
    _pip("wheel", "--no-deps", "-w", str(tmp_path), str(WORKTREE))
    (wheel,) = tmp_path.glob("gitartifacts-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    data = f"gitartifacts-{gitartifacts.__version__}.data/data/share/man/man1/"
    assert {f"{data}git-artifacts.1", f"{data}git-artifacts-remote-add.1"} <= names
    man = shutil.which("man")
    if man is None:
        pytest.skip("man is not installed")
    venv = _venv(tmp_path)
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel))
    where = subprocess.run(
        [man, "-w", "git-artifacts-remote-add"], env=_man_env(venv), capture_output=True, text=True
    )
    assert where.stdout.strip() == str(venv / "share/man/man1/git-artifacts-remote-add.1")


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv


def _man_env(venv: Path) -> dict[str, str]:
    """This venv's bin first on PATH and no MANPATH, so man looks in its share/man."""
    env = {k: v for k, v in os.environ.items() if k != "MANPATH"}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin", MANPAGER="cat", PAGER="cat")
    return env


def _pip(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "-q", *args],
        env={**os.environ, "PIP_CACHE_DIR": str(_PIP_CACHE)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
