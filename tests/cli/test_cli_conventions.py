"""Conventions as in git: -q/-v/--debug after any verb, exit codes, colour, the pager,
log -n/--oneline, "did you mean" for artifact names, plurals, ls with a header."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import click
import pytest
from helpers import GitRepo, lines, make_repo, stderr_error_line

from gitartifacts.cli.main import VERBS, main
from gitartifacts.core.textsafe import count
from gitartifacts.errors import (
    EXIT_CODES,
    CacheError,
    ConflictError,
    GitArtifactsError,
    GitError,
    ManifestError,
    NotFoundError,
    ResourceError,
    StateError,
    UsageError,
)

README = Path(__file__).parents[2] / "README.md"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colour codes the tool writes itself
# Run by git with their own arguments, never typed: they take no options of ours.
INTERNAL = {"hook", "textconv"}


def _leaf_commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(main)
    for verb in VERBS:
        cmd = main.get_command(ctx, verb)
        assert cmd is not None
        if isinstance(cmd, click.Group):
            for sub, subcmd in cmd.commands.items():
                yield f"{verb} {sub}", subcmd
            if not cmd.invoke_without_command:
                continue
        yield verb, cmd


def on_pty(repo: GitRepo, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """`git artifacts ARGS` with stdout on a pseudo-terminal: exit code, stdout, stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        ["git", "artifacts", *args],
        cwd=repo.root,
        stdout=slave,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), out.decode().replace("\r\n", "\n"), err


def _two_versions(bikes: GitRepo) -> GitRepo:
    bikes.write({"data/bikes/img0.txt": "changed\n"})
    bikes.ga("add", "--name", "bikes")
    bikes.commit("bikes v1")
    return bikes


# ---------------------------------------------------------------- -q, -v, --debug


def test_every_verb_takes_quiet_verbose_debug_and_no_color_after_its_name() -> None:
    checked = 0
    for name, cmd in _leaf_commands():
        # help and completion print text about the tool itself and touch no repository,
        # as `git help` takes no -q either.
        if name in INTERNAL or name in ("help", "completion"):
            continue
        opts = {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts}
        assert {"-q", "--quiet", "-v", "--verbose", "--debug", "--no-color"} <= opts, name
        checked += 1
    assert checked >= 35  # the verbs and the subcommands of remote, project and runs


def test_quiet_and_verbose_work_before_and_after_the_verb(bikes: GitRepo) -> None:
    assert bikes.ga("status", "-q").stdout == ""
    assert bikes.ga("-q", "status").stdout == ""
    assert "up to date" in bikes.ga("status").stdout
    proc = bikes.ga("-v", "status", "-v")
    assert re.search(r"^status: done in \d+\.\d\d s$", proc.stderr, re.M), proc.stderr
    assert "done in" not in bikes.ga("status").stderr
    assert bikes.ga("status", "-v", "-q").stderr == ""  # -q wins, as in git


@pytest.mark.slow
def test_push_q_prints_nothing_and_push_v_names_the_remote(bikes: GitRepo, tmp_path: Path) -> None:
    store = tmp_path / "store"
    bikes.ga("remote", "add", "store", str(store), "--default", "--create")
    proc = bikes.ga("push", "-q", "--no-tags")
    assert (proc.stdout, proc.stderr) == ("", "")
    assert any(store.rglob("*"))
    proc = bikes.ga("push", "-v", "--no-tags")
    assert f"remote store: {store}" in proc.stderr and "push: done in" in proc.stderr
    assert "0 objects uploaded" in proc.stdout and "(1 manifest)" in proc.stdout


def test_debug_keeps_the_traceback_also_after_a_verb_level_quiet(bikes: GitRepo) -> None:
    plain = bikes.ga("show", "nosuch", "-q", rc=3)
    assert "Traceback" not in plain.stderr
    for args in (("show", "nosuch", "-q", "--debug"), ("--debug", "show", "nosuch", "-q")):
        proc = bikes.ga(*args, rc=3)
        assert "Traceback (most recent call last)" in proc.stderr
        assert proc.stderr.rstrip().splitlines()[-1].startswith("error: no artifact nosuch")


# ---------------------------------------------------------------- exit codes


def test_each_error_class_has_its_documented_exit_code() -> None:
    documented = dict(EXIT_CODES)
    expected = {
        UsageError: 2,
        NotFoundError: 3,
        ConflictError: 4,
        CacheError: 5,
        ManifestError: 5,
        GitError: 6,
        ResourceError: 7,
        StateError: 7,
        GitArtifactsError: 8,
    }
    for cls, code in expected.items():
        assert cls("x").exit_code == code, cls
        assert code in documented
    assert documented[1].startswith("differences found") and documented[2].startswith("usage")


def test_readme_and_help_list_the_exit_codes() -> None:
    readme = README.read_text(encoding="utf-8")
    table = re.findall(r"^\| (\d+) \| (.+) \|$", readme, re.M)
    assert [(int(c), what) for c, what in table] == list(EXIT_CODES)
    proc = subprocess.run(["git-artifacts", "-h"], capture_output=True, text=True, check=True)
    for code, what in EXIT_CODES:
        assert re.search(rf"^\s+{code}\s+{re.escape(what)}$", proc.stdout, re.M), what


@pytest.mark.slow
def test_exit_codes_by_outcome(bikes: GitRepo) -> None:
    assert bikes.ga("status", "--exit-code").returncode == 0
    assert bikes.ga("verify", "bikes:v0").returncode == 0
    assert "No such option" in bikes.ga("ls", "--bogus", rc=2).stderr  # click's usage error
    stderr_error_line(bikes.ga("add", "data/bikes", "--name", "a/b", "--type", "x", rc=2))
    stderr_error_line(bikes.ga("show", "bikes:v9", rc=3))
    bikes.write({"data/bikes/img1.txt": "edited\n"})
    assert bikes.ga("status", "--check", rc=1).stdout
    assert bikes.ga("diff", "--exit-code").returncode == 0  # the manifest did not change
    bikes.ga("add", "--name", "bikes")
    assert bikes.ga("diff", "--exit-code", rc=1).stdout
    assert bikes.ga("diff", "HEAD", "HEAD", "--exit-code").returncode == 0
    for p in bikes.cache.rglob("*"):  # the cached content goes bad
        if p.is_file():
            p.chmod(0o644)
            p.write_bytes(b"garbage")
    stderr_error_line(bikes.ga("get", "bikes:v0", "-o", str(bikes.root / "out"), rc=5))


# ---------------------------------------------------------------- colour


def test_colour_on_a_terminal_only_and_never_with_no_color(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img1.txt": "edited\n"})
    rc, out, _ = on_pty(bikes, "status")
    assert rc == 0 and "\x1b[33mmodified: data/bikes/img1.txt\x1b[0m" in out
    assert "\x1b[" not in bikes.ga("status").stdout  # piped
    for env, args in (({"NO_COLOR": ""}, ()), ({}, ("--no-color",))):
        rc, out, _ = on_pty(bikes, "status", *args, env=env)
        assert rc == 0 and "modified: data/bikes/img1.txt" in out and "\x1b[" not in out
    rc, out, _ = on_pty(bikes, "--no-color", "status")
    assert "\x1b[" not in out


def test_git_color_ui_never_and_always_are_honoured(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img1.txt": "edited\n"})
    bikes.git("config", "color.ui", "never")
    assert "\x1b[" not in on_pty(bikes, "status")[1]
    bikes.git("config", "color.ui", "always")
    piped = bikes.ga("status").stdout
    assert "\x1b[33mmodified: data/bikes/img1.txt\x1b[0m" in piped
    assert "\x1b[" not in bikes.ga("status", "--no-color").stdout  # the flag beats the config


def test_colour_never_lets_a_hostile_name_drive_the_terminal(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/evil\x1b]0;pwned\x07.txt": "x\n"})
    bikes.git("config", "color.ui", "always")
    out = bikes.ga("status").stdout
    assert "evil\\x1b]0;pwned\\x07.txt" in out
    assert "\x1b" not in SGR.sub("", out) and "\x07" not in out


@pytest.mark.slow
def test_log_and_diff_are_coloured(bikes: GitRepo) -> None:
    _two_versions(bikes)
    bikes.git("config", "color.ui", "always")
    log = bikes.ga("log", "bikes").stdout
    assert "\x1b[33mv1\x1b[0m (\x1b[32m\x1b[1mlatest\x1b[0m)" in log
    diff = bikes.ga("diff", "bikes:v0", "bikes:v1").stdout
    assert "\x1b[33m  ~ bikes/img0.txt" in diff


# ---------------------------------------------------------------- pager


def _no_pager_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_PAGER", "PAGER", "LESS")}
    return {**env, **extra}


def test_log_goes_through_the_pager_on_a_terminal(bikes: GitRepo, tmp_path: Path) -> None:
    paged = tmp_path / "paged"
    less = tmp_path / "less"
    env = _no_pager_env(tmp_path, GIT_PAGER=f'echo "$LESS" >{less}; cat >{paged}')
    rc, out, _ = on_pty(bikes, "log", "bikes", env=env)
    assert rc == 0 and "v0" not in out
    assert SGR.sub("", paged.read_text()).startswith("v0 (latest)")
    assert less.read_text().strip() == "FRX"
    paged.unlink()
    rc, out, _ = on_pty(bikes, "--no-pager", "log", "bikes", env=env)
    assert rc == 0 and "v0" in out and not paged.exists()
    assert bikes.ga("log", "bikes").stdout.startswith("v0")  # piped: no pager
    assert not paged.exists()


def test_pager_from_core_pager_and_cat_means_none(bikes: GitRepo, tmp_path: Path) -> None:
    paged = tmp_path / "paged"
    bikes.git("config", "core.pager", f"cat >{paged}")
    env = _no_pager_env(tmp_path)
    on_pty(bikes, "show", "bikes", env=env)
    assert "name:        bikes" in paged.read_text()
    paged.unlink()
    rc, out, _ = on_pty(bikes, "show", "bikes", env={**env, "GIT_PAGER": "cat"})
    assert rc == 0 and "name:        bikes" in out and not paged.exists()


# ---------------------------------------------------------------- log, ls


@pytest.mark.slow
def test_log_max_count_and_oneline(bikes: GitRepo) -> None:
    _two_versions(bikes)
    one = lines(bikes.ga("log", "bikes", "--oneline").stdout)
    assert len(one) == 2 and one[0].startswith("v1 (latest) sha256:")
    assert one[1].startswith("v0 sha256:") and one[1].endswith("4 files, 36 B")
    assert lines(bikes.ga("log", "bikes", "-n", "1", "--oneline").stdout) == one[:1]
    assert [r["version"] for r in bikes.ga_json("log", "bikes", "--max-count", "1")] == ["v1"]
    full = bikes.ga("log", "bikes", "-n", "1").stdout
    assert full.startswith("v1 (latest)\n    digest sha256:") and "v0" not in full


def test_ls_has_a_header_and_aligned_columns(bikes: GitRepo) -> None:
    bikes.write({"models/m.pt": "weights"})
    bikes.ga("add", "models/m.pt", "--name", "model-with-a-long-name", "--type", "model")
    rows = bikes.ga("ls").stdout.splitlines()
    assert rows[0].split() == ["NAME", "TYPE", "VERSION", "LATEST", "FILES", "SIZE", "PATH"]
    starts = [rows[0].index(h) for h in ("TYPE", "VERSION", "LATEST")]
    for row in rows[1:]:
        assert all(row[s - 2 : s] == "  " and row[s] != " " for s in starts), row
    assert rows[1].split()[:5] == ["bikes", "dataset", "v0", "v0", "4"]
    assert rows[2].split()[:5] == ["model-with-a-long-name", "model", "uncommitted", "-", "1"]
    assert rows[0].index("FILES") + len("FILES") == rows[1].index(" 4 ") + 2  # right-aligned
    assert {r["name"] for r in bikes.ga_json("ls")} == {"bikes", "model-with-a-long-name"}


def test_remote_list_json(bikes: GitRepo, tmp_path: Path) -> None:
    bikes.ga("remote", "add", "store", str(tmp_path / "s"), "--default", "--create")
    rows = bikes.ga_json("remote", "list")
    assert [(r["name"], r["url"], r["default"]) for r in rows] == [
        ("store", str(tmp_path / "s"), True)
    ]


# ---------------------------------------------------------------- did you mean, plurals


@pytest.mark.parametrize(
    "args",
    [("show", "bikez"), ("show", "bikez:v0"), ("log", "bikez"), ("status", "bikez")],
)
def test_an_unknown_artifact_name_suggests_the_nearest(bikes: GitRepo, args: list[str]) -> None:
    line = stderr_error_line(bikes.ga(*args, rc=3))
    assert line == "error: no artifact bikez (did you mean bikes?)"


def test_a_name_far_from_any_says_where_to_look(bikes: GitRepo) -> None:
    line = stderr_error_line(bikes.ga("log", "zzzzzz", rc=3))
    assert line.startswith("error: no artifact zzzzzz (see git artifacts ls")


def test_counts_are_in_the_right_number() -> None:
    assert [count(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert count(1, "entry", "entries") == "1 entry" and count(3, "entry", "entries").endswith(
        "entries"
    )


def test_one_file_is_one_file(repo: GitRepo) -> None:
    repo.write({"models/m.pt": "weights"})
    out = repo.ga("add", "models/m.pt", "--name", "m", "--type", "model").stdout
    assert "(1 file, 7 B," in out
    repo.commit("m v0")
    assert "in 1 file" in repo.ga("show", "m").stdout
    assert "1 file, 7 B" in repo.ga("log", "m").stdout
    assert "1 files" not in repo.ga("verify", "m:v0").stdout


def test_a_reader_that_stops_early_ends_the_listing_quietly(tmp_path: Path) -> None:
    """`git artifacts status -a | head -1`: no error line, the code of a SIGPIPE, as git."""
    repo = make_repo(tmp_path / "r")
    data = repo.root / "d"
    data.mkdir()
    for i in range(6000):  # deleted lines well past a pipe's 64 KiB buffer
        (data / f"file-with-a-long-name-{i:05}.txt").write_text(str(i))
    repo.ga("add", "d", "--name", "ds", "--type", "dataset")
    for f in data.iterdir():
        f.unlink()
    proc = subprocess.Popen(
        ["git", "artifacts", "status", "--all-files"],
        cwd=repo.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"ds ")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""
