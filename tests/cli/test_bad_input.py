"""Bad input: one `error:` line naming the thing and the fix, a non-zero exit, nothing written.

Every case starts from a repository with `bikes` v0 committed, snapshots everything a command
could touch (index and work tree status, refs, .artifacts/, .gitignore, the cache), runs one
failing command and checks the snapshot again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import GitRepo, assert_unchanged, cache_objects, sha256_hex, stderr_error_line

Setup = Callable[[GitRepo], None]

ADD = ["add", "data/bikes", "--name", "bikes"]


def _new_data(repo: GitRepo) -> None:
    repo.write({"data/other/a.txt": "a", "models/m.pt": "m"})


def _outside(repo: GitRepo) -> None:
    (repo.root.parent / "outside.txt").write_text("outside")


def _self_loop(repo: GitRepo) -> None:
    repo.write({"data/loop/a.txt": "a"})
    os.symlink("self", repo.root / "data/loop/self")


def _dir_loop(repo: GitRepo) -> None:
    repo.write({"data/loop/sub/a.txt": "a"})
    os.symlink("..", repo.root / "data/loop/sub/up")


def _backslash_name(repo: GitRepo) -> None:
    repo.write({"data/odd/a.txt": "fresh a", "data/odd/b\\c.txt": "fresh b"})


def _tracked(repo: GitRepo) -> None:
    repo.write({"README.md": "hello"})
    repo.commit("readme", "README.md")


def _empty_dir(repo: GitRepo) -> None:
    (repo.root / "data/empty/sub").mkdir(parents=True)


def _edit_manifest(edit: Callable[[str], str]) -> Setup:
    def setup(repo: GitRepo) -> None:
        p = repo.root / ".artifacts/bikes.yaml"
        p.write_text(edit(p.read_text()))

    return setup


def _bad_yaml(text: str) -> str:
    return text.replace("type: dataset", "type: [dataset")


def _unknown_key(text: str) -> str:
    return text + "colour: red\n"


def _wrong_digest(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(
        "digest: sha256:" + "0" * 64 + "\n" if ln.startswith("digest:") else ln for ln in lines
    )


def new(*paths: str, name: str = "o", type_: str = "t") -> list[str]:
    """`add PATHS --name NAME --type TYPE` for a new artifact."""
    return ["add", *paths, "--name", name, "--type", type_]


CASES: list[tuple[str, Setup | None, list[str], list[str]]] = [
    # invalid names, types and aliases
    ("name-space", _new_data, new("data/other", name="bad name"), ["bad name"]),
    ("name-dot", _new_data, new("data/other", name="."), ["'.'"]),
    ("name-dotdot", _new_data, new("data/other", name=".."), ["'..'"]),
    ("name-colon", _new_data, new("data/other", name="x:v1"), ["x:v1"]),
    ("name-slash", _new_data, new("data/other", name="a/b"), ["a/b"]),
    ("name-long", _new_data, new("data/other", name="x" * 129), ["longer than 128", "x" * 128]),
    ("name-newline", _new_data, new("data/other", name="x\n"), ["name"]),
    ("type-newline", _new_data, new("data/other", type_="data\nset"), ["invalid artifact type"]),
    ("type-reserved", _new_data, new("data/other", type_="wandb-history"), ["reserved"]),
    ("type-slash", _new_data, new("data/other", type_="a/b"), ["a/b"]),
    ("alias-v1", None, ["alias", "bikes:v0", "v1"], ["v1"]),
    ("alias-v01", None, ["alias", "bikes:v0", "v01"], ["v01"]),
    ("alias-slash", None, ["alias", "bikes:v0", "a/b"], ["a/b"]),
    ("alias-colon", None, ["alias", "bikes:v0", "a:b"], ["a:b"]),
    ("alias-newline", None, ["alias", "bikes:v0", "best\n"], ["best"]),
    ("add-alias-v2", None, [*ADD, "--alias", "v2"], ["v2"]),
    ("type-change", None, [*ADD, "--type", "model"], ["dataset", "model"]),
    ("new-without-type", _new_data, ["add", "data/other", "--name", "o"], ["--type"]),
    # bad options
    ("metadata-json", None, [*ADD, "-m", "{bad"], ["metadata"]),
    ("metadata-neither", None, [*ADD, "-m", "novalue"], ["novalue"]),
    ("metadata-101", None, [*ADD, "-m", json.dumps({f"k{i}": i for i in range(101)})], ["100"]),
    ("ttl", None, [*ADD, "--ttl", "30 days"], ["30 days"]),
    # paths
    ("outside", _outside, new("../outside.txt"), ["outside"]),
    ("inside-git", None, new(".git/config"), [".git"]),
    ("git-dir", None, new(".git"), [".git"]),
    ("missing", None, new("data/nope.txt"), ["data/nope.txt"]),
    ("one-missing", None, [*ADD[:2], "data/bikes/nope", *ADD[2:]], ["nope"]),
    ("two-folders", _new_data, new("data/other", "models/m.pt"), ["data"]),
    ("manifests", None, new(".artifacts/bikes.yaml"), [".artifacts"]),
    ("whole-repo", None, new("."), ["repository"]),
    ("tracked", _tracked, new("README.md"), ["README.md"]),
    ("overlap", None, new("data/bikes/labels"), ["bikes"]),
    ("empty-folder", _empty_dir, new("data/empty"), ["data/empty"]),
    ("backslash", _backslash_name, new("data/odd"), ["c.txt"]),
    ("self-loop", _self_loop, new("data/loop"), ["loop"]),
    ("dir-loop", _dir_loop, new("data/loop"), ["loop"]),
    # unknown specs
    ("show-version", None, ["show", "bikes:v7"], ["v7"]),
    ("show-alias", None, ["show", "bikes:nosuch"], ["nosuch"]),
    ("show-name", None, ["show", "nosuch:v0"], ["nosuch"]),
    ("show-bare-name", None, ["show", "nosuch"], ["nosuch"]),
    ("show-garbage", None, ["show", "::"], ["::"]),
    ("checkout-version", None, ["checkout", "bikes:v7"], ["v7"]),
    ("checkout-name", None, ["checkout", "nosuch"], ["nosuch"]),
    ("get-version", None, ["get", "bikes:v7"], ["v7"]),
    ("verify-version", None, ["verify", "bikes:v7"], ["v7"]),
    ("log-name", None, ["log", "nosuch"], ["nosuch"]),
    ("status-name", None, ["status", "nosuch"], ["nosuch"]),
    ("alias-version", None, ["alias", "bikes:v7", "best"], ["v7"]),
    ("alias-delete", None, ["alias", "--delete", "bikes", "nosuch"], ["nosuch"]),
]


def _replace(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new)


# How a manifest is broken by hand, what the error must name, the commands that must refuse it.
MANIFEST_CASES: dict[str, tuple[Callable[[str], str], str, list[list[str]]]] = {
    "bad-yaml": (
        _bad_yaml,
        "YAML",
        [["show", "bikes"], ["checkout", "bikes"], ["add", "--name", "bikes"]],
    ),
    "unknown-key": (_unknown_key, "colour", [["show", "bikes"], ["verify", "bikes"], ["ls"]]),
    "wrong-digest": (
        _wrong_digest,
        "digest",
        [["checkout", "bikes"], ["add", "--name", "bikes"], ["get", "bikes"]],
    ),
    "escaping-entry": (
        _replace("  bikes/img0.txt:", "  ../escape.txt:"),
        "../escape.txt",
        [["checkout", "bikes"]],
    ),
    "escaping-path": (
        _replace("path: data\n", "path: ../escape\n"),
        "../escape",
        [["checkout", "bikes"]],
    ),
    "git-path": (_replace("path: data\n", "path: .git\n"), ".git", [["checkout", "bikes"]]),
    "other-name": (_replace("name: bikes\n", "name: cars\n"), "cars", [["show", "bikes"]]),
}
for _what, (_edit, _key, _cmds) in MANIFEST_CASES.items():
    for _cmd in _cmds:
        _named = [".artifacts/bikes.yaml", _key]
        CASES.append((f"manifest-{_what}-{_cmd[0]}", _edit_manifest(_edit), _cmd, _named))


@pytest.mark.parametrize(("setup", "args", "named"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_fails_with_one_error_line_and_changes_nothing(
    bikes: GitRepo, setup: Setup | None, args: list[str], named: list[str]
) -> None:
    if setup is not None:
        setup(bikes)
    before = bikes.snapshot()
    proc = bikes.ga(*args, rc=None)
    line = stderr_error_line(proc)
    for thing in named:
        assert thing in line, f"{thing!r} not named in: {line}"
    assert line.endswith(")") and " (" in line, f"no fix given in: {line}"
    assert_unchanged(before, bikes.snapshot())


def test_a_bad_network_timeout_fails_only_the_steps_that_use_the_network(
    bikes: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bikes.ga("remote", "add", "r", str(tmp_path / "cache"), "--default", "--create")
    monkeypatch.setenv("GITARTIFACTS_NETWORK_TIMEOUT", "soon")
    bikes.ga("status")
    bikes.ga("log", "bikes")
    proc = bikes.ga("push", rc=None)
    line = stderr_error_line(proc)
    assert proc.returncode != 0 and "GITARTIFACTS_NETWORK_TIMEOUT" in line


def test_an_error_never_shows_a_traceback_but_debug_does(bikes: GitRepo) -> None:
    proc = bikes.ga("show", "bikes:v7", rc=None)
    assert "Traceback" not in proc.stderr
    proc = bikes.ga("--debug", "show", "bikes:v7", rc=None)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_a_failed_add_of_a_new_artifact_leaves_no_objects_in_the_cache(
    bikes: GitRepo, tmp_path: Path
) -> None:
    bikes.write({"data/new/a.txt": "fresh bytes", "data/new/b.txt": "more"})
    os.symlink("b.txt.missing", bikes.root / "data/new/broken")
    before = bikes.snapshot()
    line = stderr_error_line(bikes.ga("add", "data/new", "--name", "new", "--type", "t", rc=None))
    assert "data/new/broken" in line
    assert_unchanged(before, bikes.snapshot())


def test_a_folder_holding_a_git_folder_is_refused_cleanly_or_added_without_it(
    bikes: GitRepo,
) -> None:
    bikes.write({"data/nested/a.txt": "fresh a", "data/nested/.git/config": "[core] secret"})
    before = bikes.snapshot()
    proc = bikes.ga("add", "data/nested", "--name", "nested", "--type", "t", rc=None)
    if proc.returncode != 0:
        assert ".git" in stderr_error_line(proc)
        assert_unchanged(before, bikes.snapshot())
    else:
        entries = bikes.manifest("nested")["entries"]
        assert list(entries) == ["nested/a.txt"]
        assert sha256_hex(b"[core] secret") not in cache_objects(bikes.cache)
