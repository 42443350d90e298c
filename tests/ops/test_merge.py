"""The manifest merge driver, driven by real `git merge`: installed by init, clean merges of
one-sided changes (inline and listing form), conflicts as one block that status explains and
validate refuses, and a hand-broken side that leaves the file as it was."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import GitRepo, expected_digest, lines, make_repo, sha

MANIFEST = ".artifacts/ds.yaml"


def set_data(repo: GitRepo, files: dict[str, str]) -> None:
    """Make data/ds hold exactly `files` (the data folder is not in git: no checkout moves it)."""
    shutil.rmtree(repo.root / "data" / "ds", ignore_errors=True)
    repo.write({f"data/ds/{p}": t for p, t in files.items()})


def add_commit(repo: GitRepo, files: dict[str, str], *args: str, msg: str = "ds") -> None:
    set_data(repo, files)
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset", *args)
    repo.commit(msg, ".artifacts", ".gitignore")


def short_names(entries: dict[str, object]) -> dict[str, object]:
    """Entries by the path below the folder added, whatever layout `add` gives them."""
    return {p.split("ds/", 1)[-1]: e for p, e in entries.items()}


def merge(repo: GitRepo, branch: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "merge", "--no-edit", branch], cwd=repo.root, capture_output=True, text=True
    )


def branches(
    repo: GitRepo,
    base: dict[str, str],
    ours: dict[str, str],
    theirs: dict[str, str],
    ours_args: tuple[str, ...] = (),
    theirs_args: tuple[str, ...] = (),
) -> None:
    """`main` and `feat` from one base version of ds, each with its own new version."""
    add_commit(repo, base, msg="base")
    repo.git("checkout", "-q", "-b", "feat")
    add_commit(repo, theirs, *theirs_args, msg="theirs")
    repo.git("checkout", "-q", "main")
    add_commit(repo, ours, *ours_args, msg="ours")


BASE = {"f1.txt": "one\n", "f2.txt": "two\n", "f3.txt": "three\n"}


# ---------------------------------------------------------------- installation


def test_init_installs_the_driver_once_and_leaves_gitattributes_to_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", init_artifacts=False)
    (repo.root / ".gitattributes").write_text("*.bin binary")  # no final newline
    out = repo.ga("init").stdout
    assert "commit it" in out
    attrs = (repo.root / ".gitattributes").read_text().splitlines()
    assert attrs[:2] == ["*.bin binary", ".artifacts/*.yaml merge=artifacts"]
    driver = repo.git("config", "merge.artifacts.driver").strip()
    assert driver.endswith(" merge-driver %O %A %B %P %L")
    assert Path(driver.split()[0]).is_file()  # this installation's path, not PATH's
    before = (repo.root / ".gitattributes").read_bytes(), repo.git("config", "--list")
    repo.ga("init")
    assert ((repo.root / ".gitattributes").read_bytes(), repo.git("config", "--list")) == before
    assert attrs.count(".artifacts/*.yaml merge=artifacts") == 1


def test_install_hooks_in_a_fresh_clone_sets_up_the_driver_config(
    repo: GitRepo, tmp_path: Path
) -> None:
    c = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.root), str(c.root)], check=True)
    assert c.git("config", "merge.artifacts.driver", check=False) == ""
    out = c.ga("install-hooks").stdout
    assert "merge driver installed" in out
    assert "merge-driver" in c.git("config", "merge.artifacts.driver")
    assert c.git("status", "--porcelain") == ""  # .gitattributes came with the clone


# ---------------------------------------------------------------- clean merges


@pytest.mark.slow
def test_different_files_and_metadata_keys_on_two_branches_merge_cleanly(repo: GitRepo) -> None:
    branches(
        repo,
        BASE,
        ours={**BASE, "ours.txt": "o\n", "f1.txt": "one, ours\n"},
        theirs={"f1.txt": "one\n", "f2.txt": "two\n", "theirs.txt": "t\n"},  # f3 removed
        ours_args=("-m", "lr=0.1", "-d", "ours describes"),
        theirs_args=("-m", "epochs=3"),
    )
    proc = merge(repo, "feat")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = repo.manifest("ds")
    got = short_names(m["entries"])
    want = {"f1.txt": "one, ours\n", "f2.txt": "two\n", "ours.txt": "o\n", "theirs.txt": "t\n"}
    assert sorted(got) == sorted(want)
    assert m["digest"] == expected_digest(
        {p: sha(want[p.split("ds/", 1)[-1]].encode()) for p in m["entries"]}
    )
    assert m["files"] == 4 and m["size"] == sum(len(t) for t in want.values())
    assert m["metadata"] == {"epochs": 3, "lr": 0.1}
    assert m["description"] == "ours describes"
    assert repo.git("status", "--porcelain") == ""
    repo.ga("validate")
    set_data(repo, want)  # the merged folder, added again: the same manifest
    repo.ga("add", "data/ds", "--name", "ds")
    assert repo.manifest("ds") == m


@pytest.mark.slow
def test_the_same_artifact_added_on_two_branches_merges_without_a_base(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feat")
    add_commit(repo, {"t.txt": "t\n", "same.txt": "s\n"}, "-m", "who=theirs", msg="theirs")
    repo.git("checkout", "-q", "main")
    add_commit(repo, {"o.txt": "o\n", "same.txt": "s\n"}, msg="ours")
    proc = merge(repo, "feat")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = repo.manifest("ds")
    assert sorted(short_names(m["entries"])) == ["o.txt", "same.txt", "t.txt"]
    assert m["metadata"] == {"who": "theirs"} and m["files"] == 3


# ---------------------------------------------------------------- conflicts


@pytest.mark.slow
def test_one_entry_changed_on_both_sides_is_one_block_status_explains(repo: GitRepo) -> None:
    ours = {**BASE, "f1.txt": "ours\n", "o.txt": "o\n"}
    theirs = {**BASE, "f1.txt": "theirs!\n", "t.txt": "t\n"}
    branches(repo, BASE, ours, theirs)
    proc = merge(repo, "feat")
    assert proc.returncode != 0
    assert "conflict in .artifacts/ds.yaml" in proc.stdout + proc.stderr
    assert [ln.split("\t")[1] for ln in lines(repo.git("ls-files", "-u"))] == [MANIFEST] * 3
    text = (repo.root / MANIFEST).read_text()
    short = {"o": sha(b"ours\n")[:19], "t": sha(b"theirs!\n")[:19]}
    assert text.count("<<<<<<< ours (main)") == 1 and text.count(">>>>>>> theirs (feat)") == 1
    assert f"ours {short['o']} (5 B), theirs {short['t']} (8 B)" in text
    # status names the artifact, the entry with both digests, and how to settle it.
    out = repo.ga("status").stdout
    assert "ds (dataset): unmerged" in out
    assert f"conflict: {_below(out, 'f1.txt')}" in out and short["o"] in out and short["t"] in out
    assert "git checkout --ours/--theirs .artifacts/ds.yaml" in out and "git add" in out
    (row,) = repo.ga_json("status")
    assert row["manifest"] == "unmerged" and len(row["conflict"]) == 1
    bad = repo.ga("validate", rc=1)
    assert "holds merge conflict markers" in bad.stdout
    # Settle it by keeping theirs: a valid manifest with both sides' one-sided files.
    kept = text.split("=======\n")[1].split(">>>>>>>")[0]
    (repo.root / MANIFEST).write_text(kept)
    repo.ga("validate")
    repo.git("add", MANIFEST)
    repo.git("commit", "-q", "--no-edit")
    assert sorted(short_names(repo.manifest("ds")["entries"])) == [
        "f1.txt",
        "f2.txt",
        "f3.txt",
        "o.txt",
        "t.txt",
    ]


@pytest.mark.slow
def test_a_metadata_key_changed_on_both_sides_is_a_conflict(repo: GitRepo) -> None:
    branches(repo, BASE, BASE, BASE, ("-m", "lr=0.1"), ("-m", "lr=0.2"))
    assert merge(repo, "feat").returncode != 0
    text = (repo.root / MANIFEST).read_text()
    assert "#   metadata.lr: ours 0.1, theirs 0.2" in text


@pytest.mark.slow
def test_a_hand_broken_side_fails_in_one_line_and_leaves_ours_as_it_was(repo: GitRepo) -> None:
    add_commit(repo, BASE, msg="base")
    repo.git("checkout", "-q", "-b", "feat")
    path = repo.root / MANIFEST
    path.write_text(path.read_text().replace("size: ", "size: 9", 1))  # digest still fine
    repo.commit("broken", MANIFEST)
    repo.git("checkout", "-q", "main")
    add_commit(repo, {**BASE, "o.txt": "o\n"}, msg="ours")
    ours = path.read_bytes()
    proc = merge(repo, "feat")
    assert proc.returncode != 0
    errors = [ln for ln in lines(proc.stderr) if ln.startswith("error:")]
    assert len(errors) == 1 and "(theirs)" in errors[0] and "size" in errors[0]
    assert path.read_bytes() == ours  # nothing written
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- listing form


@pytest.mark.slow
def test_two_branches_add_files_to_a_5000_file_listing_and_merge_cleanly(repo: GitRepo) -> None:
    base = {f"d{i % 50}/f{i}.txt": f"file {i}\n" for i in range(5000)}
    ours = {**base, **{f"ours/n{i}.txt": f"ours {i}\n" for i in range(10)}}
    theirs = {**base, **{f"theirs/n{i}.txt": f"theirs {i}\n" for i in range(10)}}
    branches(repo, base, ours, theirs)
    assert "listing" in repo.manifest("ds")
    theirs_m = yaml.safe_load(repo.git("show", f"feat:{MANIFEST}"))
    # Without theirs' listing in the cache the driver says to fetch it, writing nothing.
    obj = repo.cache / "sha256" / theirs_m["listing"][7:9] / theirs_m["listing"][9:]
    saved = obj.read_bytes()
    obj.unlink()
    ours_text = (repo.root / MANIFEST).read_text()
    proc = merge(repo, "feat")
    assert proc.returncode != 0
    (err,) = [ln for ln in lines(proc.stderr) if ln.startswith("error:")]
    assert "not in the local cache" in err and "git artifacts fetch feat:ds" in err
    assert (repo.root / MANIFEST).read_text() == ours_text
    repo.git("merge", "--abort")
    obj.write_bytes(saved)
    proc = merge(repo, "feat")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = repo.manifest("ds")
    assert "listing" in m and m["files"] == 5020
    union = {**ours, **theirs}
    set_data(repo, union)
    repo.ga("add", "data/ds", "--name", "ds")  # add of the merged folder: the same digest
    assert repo.manifest("ds")["digest"] == m["digest"]
    assert repo.git("status", "--porcelain", "--", ".artifacts") == ""
    shutil.rmtree(repo.root / "data")
    repo.ga("checkout", "ds")
    back = {p: (repo.root / "data" / "ds" / p).read_text() for p in union}
    assert back == union


# ---------------------------------------------------------------- helpers


def _below(out: str, name: str) -> str:
    """The entry path status shows for `name`, whatever layout add gave the entries."""
    for line in out.splitlines():
        if "conflict:" in line and name in line:
            return line.split("conflict: ", 1)[1].split(":", 1)[0] + ":"
    raise AssertionError(f"no conflict line for {name}:\n{out}")
