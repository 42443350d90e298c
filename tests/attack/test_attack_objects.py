"""Hostile digests, listings and YAML, and a local cache that lies: refused or caught by hash.

Listings, manifests and cache objects are untrusted: a digest becomes a path only when it is
`sha256:` and 64 hex digits, listing objects are checked against their name and bounded,
YAML may not expand, and every cache object copied out or pushed is hashed on the way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    assert_cache_sound,
    cache_objects,
    expected_digest,
    ga_run,
    sha,
    sha256_hex,
    stderr_error_line,
    tree_state,
)

LISTING_HEADER = "gitartifacts-listing 1\n"
SECRET = b"aws_secret_access_key = not-for-you\n"


def put_object(cache: Path, data: bytes) -> str:
    """Store `data` in a cache folder as a content object; its hex name."""
    hex_ = sha256_hex(data)
    path = cache / "sha256" / hex_[:2] / hex_[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hex_


def listing(*lines: str) -> bytes:
    return (LISTING_HEADER + "".join(line + "\n" for line in lines)).encode()


def commit_manifest(
    repo: GitRepo, name: str, root_hex: str, entries: dict[str, str], files: int, size: int = 0
) -> None:
    """A listing-form manifest for `entries` (path -> digest) whose listing is `root_hex`."""
    text = (
        f"gitartifacts: 1\nname: {name}\ntype: dataset\npath: data/{name}\n"
        f"digest: {expected_digest(entries)}\nsize: {size}\nfiles: {files}\n"
        f"listing: sha256:{root_hex}\n"
    )
    (repo.root / ".artifacts").mkdir(exist_ok=True)
    (repo.root / ".artifacts" / f"{name}.yaml").write_text(text)
    repo.commit(f"{name}", f".artifacts/{name}.yaml")


# ---------------------------------------------------------------- digests that are paths

ESCAPE = "sha256:../../../../../secret.txt"
HOSTILE_DIGESTS = [
    ESCAPE,
    "sha256:/etc/passwd",
    "sha256:" + "0" * 64 + "/../../../../../secret.txt",
    "sha256:" + "A" * 64,
    "sha256:" + "0" * 63,
]


@pytest.mark.parametrize("digest", HOSTILE_DIGESTS)
@pytest.mark.parametrize("verb", ["checkout", "get"])
def test_a_listing_digest_that_is_not_a_sha256_never_becomes_a_path(
    repo: GitRepo, tmp_path: Path, digest: str, verb: str
) -> None:
    # Where the escaping digest would lead from the cache's objects folder.
    h = ESCAPE.removeprefix("sha256:")
    secret = Path(os.path.normpath(f"{repo.cache}/sha256/{h[:2]}/{h[2:]}"))
    secret.write_bytes(SECRET)
    root = put_object(repo.cache, listing(f"f\tcreds.txt\t{digest}\t{len(SECRET)}"))
    commit_manifest(repo, "evil", root, {"creds.txt": digest}, 1, len(SECRET))
    out = tmp_path / "out"
    args = ["checkout", "evil"] if verb == "checkout" else ["get", "evil", "-o", str(out)]
    line = stderr_error_line(repo.ga(*args, rc=None))
    assert "corrupt listing" in line or "malformed" in line
    for where in (repo.root / "data", out):
        assert not where.exists() or SECRET not in {
            p.read_bytes() for p in where.rglob("*") if p.is_file()
        }


@pytest.mark.parametrize("child", ["../../../../x", "0" * 63 + "/", "A" * 64])
def test_a_listing_subfolder_name_that_is_not_hex_is_refused(repo: GitRepo, child: str) -> None:
    root = put_object(repo.cache, listing(f"t\tsub\t{child}\t1\t1"))
    commit_manifest(repo, "evil", root, {"sub/x": sha(b"x")}, 1, 1)
    line = stderr_error_line(repo.ga("checkout", "evil", rc=None))
    assert "corrupt listing" in line
    assert not (repo.root / "data").exists()


# ---------------------------------------------------------------- listings checked when read


def _big_artifact(repo: GitRepo, names: list[str]) -> None:
    files = {f"data/big/f{i:04d}.txt": f"file {i}\n" for i in range(1101 - len(names))}
    files.update({f"data/big/{n}": f"odd {n!r}\n" for n in names})
    repo.write(files)
    repo.ga("add", "data/big", "--name", "big", "--type", "dataset")
    repo.commit("big", ".artifacts/big.yaml", ".gitignore")


@pytest.mark.slow
def test_a_byte_flipped_root_listing_is_a_one_line_corrupt_listing_error(repo: GitRepo) -> None:
    _big_artifact(repo, [])
    root = repo.manifest("big")["listing"].removeprefix("sha256:")
    victim = cache_objects(repo.cache)[root]
    data = bytearray(victim.read_bytes())
    data[len(LISTING_HEADER) + 3] ^= 0xC0  # no longer UTF-8 there
    os.chmod(victim, 0o644)
    victim.write_bytes(bytes(data))
    line = stderr_error_line(repo.ga("show", "big", rc=None))
    assert "corrupt listing" in line and f"sha256:{root}" in line
    assert not victim.exists()  # moved aside: the next fetch brings a good copy
    assert [p.name.split("-")[0] for p in (repo.cache / "corrupt").iterdir()] == [root]
    line = stderr_error_line(repo.ga("checkout", "big", "--force", rc=None))
    assert "not in the local cache" in line


@pytest.mark.slow
def test_names_with_unicode_line_separators_round_trip_through_a_listing(
    repo: GitRepo,
) -> None:
    odd = ["a\u2028b.txt", "c\u0085d.txt", "e\u2029f.txt"]
    _big_artifact(repo, odd)
    assert "listing" in repo.manifest("big")
    before = tree_state(repo.root / "data")
    for n in odd:
        (repo.root / "data" / "big" / n).unlink()
    repo.ga("checkout", "big")
    assert tree_state(repo.root / "data") == before
    repo.ga("verify", "big")


def _dag_bomb(cache: Path, levels: int) -> str:
    """A listing whose every folder names the next one twice: 2^levels files."""
    node = put_object(cache, listing(f"f\tx\t{sha(b'x')}\t1"))
    for _ in range(levels):
        node = put_object(cache, listing(f"t\ta\t{node}\t0\t1", f"t\tb\t{node}\t0\t1"))
    return node


@pytest.mark.parametrize("declared", [2, 1 << 40])
@pytest.mark.parametrize("verb", [["show", "bomb"], ["checkout", "bomb"], ["review"]])
@pytest.mark.slow
def test_a_listing_graph_that_expands_exponentially_is_refused_in_time(
    repo: GitRepo, declared: int, verb: list[str]
) -> None:
    root = _dag_bomb(repo.cache, 40)
    commit_manifest(repo, "bomb", root, {"a/x": sha(b"x")}, declared, 1)
    if verb == ["review"]:
        verb = ["review", "HEAD~1", "HEAD"]
    proc = ga_run(repo, *verb)
    assert proc.returncode != 0 or "corrupt listing" in proc.stdout + proc.stderr
    assert "corrupt listing" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (repo.root / "data").exists()


@pytest.mark.slow
def test_identical_subfolders_may_share_listing_objects(repo: GitRepo) -> None:
    files = {f"data/dup/d{d}/f{i:03d}.txt": f"same {i}\n" for d in range(11) for i in range(100)}
    repo.write(files)
    repo.ga("add", "data/dup", "--name", "dup", "--type", "dataset")
    repo.commit("dup", ".artifacts/dup.yaml", ".gitignore")
    assert "listing" in repo.manifest("dup")
    before = tree_state(repo.root / "data")
    for d in range(11):
        (repo.root / "data" / "dup" / f"d{d}" / "f000.txt").unlink()
    repo.ga("checkout", "dup")
    assert tree_state(repo.root / "data") == before


# ---------------------------------------------------------------- YAML that expands

BOMB = "  lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7)
)
DEEP = "  deep: " + "[" * 40 + "1" + "]" * 40 + "\n"


@pytest.mark.parametrize("block", [BOMB, DEEP], ids=["billion-laughs", "deep"])
@pytest.mark.parametrize("verb", [["status"], ["ls"], ["show", "bikes"], ["validate"]])
def test_yaml_that_expands_or_nests_too_far_is_refused_by_every_reader(
    bikes: GitRepo, block: str, verb: list[str]
) -> None:
    path = bikes.root / ".artifacts" / "bikes.yaml"
    text = path.read_text()
    head, sep, rest = text.partition("path: ")
    path.write_text(f"{head}metadata:\n{block}{sep}{rest}")
    bikes.git("add", ".artifacts/bikes.yaml")
    args = [*verb, ".artifacts/bikes.yaml"] if verb == ["validate"] else verb
    proc = ga_run(bikes, *args, timeout=60)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "aliases expand too far" in out or "nested more than" in out


# ---------------------------------------------------------------- a cache that lies


def _spoil(obj: Path, how: str, tmp_path: Path) -> None:
    os.chmod(obj, 0o644)
    if how == "flipped":
        data = bytearray(obj.read_bytes())
        data[0] ^= 1
        obj.write_bytes(bytes(data))
    elif how == "truncated":
        obj.write_bytes(obj.read_bytes()[:-1])
    else:
        (tmp_path / "elsewhere").write_bytes(SECRET)
        obj.unlink()
        obj.symlink_to(tmp_path / "elsewhere")


SPOILS = ["flipped", "truncated", "symlink"]


@pytest.mark.parametrize("how", SPOILS)
@pytest.mark.slow
def test_checkout_of_a_corrupt_cache_object_writes_nothing_and_moves_it_aside(
    bikes: GitRepo, tmp_path: Path, how: str
) -> None:
    target = bikes.root / "data" / "bikes" / "img0.txt"
    hex_ = sha256_hex(target.read_bytes())
    target.unlink()
    _spoil(cache_objects(bikes.cache).get(hex_) or bikes.cache / "x", how, tmp_path)
    line = stderr_error_line(bikes.ga("checkout", "bikes", rc=None))
    assert f"sha256:{hex_}" in line and "corrupt" in line
    assert not target.exists()
    assert [p.name.split("-")[0] for p in (bikes.cache / "corrupt").iterdir()] == [hex_]
    out = tmp_path / "out"
    stderr_error_line(bikes.ga("get", "bikes", "-o", str(out), rc=None))  # gone: no copy
    assert not (out / "bikes" / "img0.txt").exists()


@pytest.mark.parametrize("how", SPOILS)
@pytest.mark.slow
def test_get_and_verify_catch_a_corrupt_cache_object(
    bikes: GitRepo, tmp_path: Path, how: str
) -> None:
    hex_ = sha256_hex(b"bike 1\n")
    _spoil(cache_objects(bikes.cache)[hex_], how, tmp_path)
    out = tmp_path / "out"
    line = stderr_error_line(bikes.ga("get", "bikes", "-o", str(out), rc=None))
    assert f"sha256:{hex_}" in line
    assert not (out / "bikes" / "img1.txt").exists()
    assert not any(
        p.read_bytes() in (SECRET, b"bike 1", b"cike 1\n") for p in out.rglob("*") if p.is_file()
    )
    _spoil(cache_objects(bikes.cache)[sha256_hex(b"bike 2\n")], how, tmp_path)
    proc = bikes.ga("verify", "bikes", rc=None)
    assert proc.returncode != 0
    assert sha256_hex(b"bike 2\n") not in cache_objects(bikes.cache)
    status = bikes.ga_json("status")
    assert status[0]["not_in_cache"] >= 1


@pytest.mark.parametrize("how", SPOILS)
@pytest.mark.slow
def test_push_never_uploads_a_corrupt_cache_object(
    bikes: GitRepo, tmp_path: Path, how: str
) -> None:
    hex_ = sha256_hex(b"bike 0\n")
    _spoil(cache_objects(bikes.cache)[hex_], how, tmp_path)
    store = tmp_path / "store"
    bikes.ga("remote", "add", "store", str(store), "--default")
    line = stderr_error_line(bikes.ga("push", rc=None))
    assert f"sha256:{hex_}" in line and "corrupt" in line
    assert_cache_sound(store)  # whatever got there hashes to its name
    assert hex_ not in cache_objects(store)
    assert not any(p.read_bytes() == SECRET for p in store.rglob("*") if p.is_file())
