"""`git artifacts validate` (the pre-commit entry) and its --data-not-committed and --pushed
checks, in real repositories."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from helpers import GitRepo, cache_objects, lines, stderr_error_line
from servers import free_port

from gitartifacts.core import listing
from gitartifacts.core import manifest as mf
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import staged
from gitartifacts.review import checks

BIKES = ".artifacts/bikes.yaml"


def edit(repo: GitRepo, old: str, new: str, name: str = "bikes") -> None:
    path = repo.root / mf.manifest_path(name)
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def line_of(repo: GitRepo, needle: str, name: str = "bikes") -> int:
    for i, line in enumerate(repo.manifest_text(name).splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the manifest")


# ---------------------------------------------------------------- manifests


@pytest.mark.slow
def test_valid_manifests_pass_silently(bikes: GitRepo) -> None:
    proc = bikes.ga("validate")
    assert proc.stdout == "" and proc.stderr == ""
    assert bikes.ga("validate", BIKES).stdout == ""


def test_every_broken_entry_and_key_is_reported_as_file_line_message(bikes: GitRepo) -> None:
    edit(bikes, "bikes/img1.txt:", "../../etc/passwd:")
    edit(bikes, "bikes/img2.txt: {digest: 'sha256:", "bikes/img2.txt: {digest: 'sha256:zz")
    (bikes.root / BIKES).write_text(bikes.manifest_text("bikes") + "owner: mallory\n")
    proc = bikes.ga("validate", BIKES, rc=1)
    got = lines(proc.stdout)
    assert got[0].startswith(f"{BIKES}:10: entry '../../etc/passwd': invalid entry path"), got
    assert got[1].startswith(f"{BIKES}:11: entry 'bikes/img2.txt': malformed digest"), got
    assert got[2].startswith(f"{BIKES}:13: unknown key 'owner'"), got
    assert len(got) == 3
    assert stderr_error_line(proc) == (
        "error: 3 problem(s): artifact manifests are invalid (fix the lines named above)"
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("digest: sha256:", "digest: sha1:", "digest: sha1:", "key 'digest': malformed digest"),
        ("size: 36", "size: 37", "size: 37", "key 'size' is not the sum"),
        ("type: dataset", "type: data/set", "type: data/set", "invalid artifact type"),
        ("path: data", "path: ../data", "path: ../data", "key 'path': invalid path"),
        ("bikes/img0.txt:", "bikes\\img0.txt:", "img0.txt:", "invalid entry path"),
        ("bikes/img0.txt:", "bikes/.git/hooks/x:", ".git/hooks", "invalid entry path"),
        ("bikes/img0.txt:", "bikes/img1.txt:", "bikes/img1.txt:", "duplicate entry key"),
        ("files: 4", "files: [4", "files: [4", "not valid YAML"),
        ("path: data", "ttl: forever\npath: data", "ttl: forever", "key 'ttl': invalid ttl"),
    ],
)
def test_each_schema_problem_points_at_its_line(
    bikes: GitRepo, old: str, new: str, needle: str, message: str
) -> None:
    edit(bikes, old, new)
    text = bikes.manifest_text("bikes")
    findings, m = checks.check_text(text, BIKES)
    assert m is None
    assert findings, "no finding"
    first = findings[0]
    assert message in first.message, first
    want = line_of(bikes, needle)
    # A duplicate key is reported at its second occurrence.
    if message == "duplicate entry key":
        want = [i for i, ln in enumerate(text.splitlines(), 1) if needle in ln][1]
    assert first.line in (want, want + 1) if message == "not valid YAML" else first.line == want
    assert str(first).startswith(f"{BIKES}:{first.line}: ")


def test_a_name_never_changes_type_checked_against_version_tags(bikes: GitRepo) -> None:
    assert bikes.tags() == ["artifacts/bikes/latest", "artifacts/bikes/v0"]
    edit(bikes, "type: dataset", "type: model")
    proc = bikes.ga("validate", rc=1)
    assert lines(proc.stdout) == [
        f"{BIKES}:3: artifact 'bikes' is of type 'dataset' (v0, HEAD), not 'model' "
        "(a name never changes type; choose another name for the new artifact)"
    ]


def test_a_manifest_must_be_named_after_its_artifact(bikes: GitRepo) -> None:
    (bikes.root / ".artifacts/cars.yaml").write_text(bikes.manifest_text("bikes"))
    (bikes.root / ".artifacts/nested").mkdir()
    (bikes.root / ".artifacts/nested/x.yaml").write_text(bikes.manifest_text("bikes"))
    proc = bikes.ga("validate", ".artifacts/cars.yaml", ".artifacts/nested/x.yaml", rc=1)
    got = lines(proc.stdout)
    assert got[0].startswith(".artifacts/cars.yaml:2: key 'name' is 'bikes', but the file is")
    assert got[1].startswith(".artifacts/nested/x.yaml: not a manifest location")


def test_names_differing_only_in_case_are_refused(bikes: GitRepo) -> None:
    text = bikes.manifest_text("bikes").replace("name: bikes", "name: Bikes")
    (bikes.root / ".artifacts/Bikes.yaml").write_text(text)
    proc = bikes.ga("validate", rc=1)
    assert lines(proc.stdout) == [
        ".artifacts/Bikes.yaml:2: artifact name 'Bikes' differs from 'bikes' only in case; they "
        "clash on case-insensitive file systems (choose another name)",
        ".artifacts/bikes.yaml:2: artifact name 'bikes' differs from 'Bikes' only in case; they "
        "clash on case-insensitive file systems (choose another name)",
    ]


@pytest.mark.slow
def test_listing_totals_are_checked_when_its_objects_are_in_the_local_cache(
    bikes: GitRepo,
) -> None:
    project = Project.open(bikes.root)
    try:
        m = project.read_manifest("bikes")
        assert m is not None
        listed, objects = listing.with_listing(m, limit=1)
        for hex_, data in objects.items():
            project.cache.add_bytes(data, "sha256:" + hex_)
    finally:
        project.close()
    text = mf.dumps(listed)
    assert "listing: sha256:" in text and "entries:" not in text
    path = bikes.root / BIKES
    path.write_text(text)
    assert bikes.ga("validate").stdout == ""
    path.write_text(text.replace(f"size: {m.size}", f"size: {m.size + 1}"))
    proc = bikes.ga("validate", rc=1)
    size_line = line_of(bikes, "size:")
    assert lines(proc.stdout) == [
        f"{BIKES}:{size_line}: key 'size' is not the sum of the entry sizes of the listing "
        "(the file was edited by hand; restore it with git checkout or re-run git artifacts add)"
    ]
    # Without the listing objects nothing can be compared, and nothing is downloaded.
    root = listed.listing
    assert root is not None
    cache_objects(bikes.cache)[root.removeprefix("sha256:")].unlink()
    assert bikes.ga("validate").stdout == ""


@pytest.mark.slow
def test_validate_never_touches_the_network(bikes: GitRepo) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    bikes.ga("remote", "add", "store", "s3://bucket/x", "--endpoint-url", down, "--default")
    started = time.monotonic()
    bikes.ga("validate")
    bikes.ga("validate", "--data-not-committed")
    assert time.monotonic() - started < 5  # an S3 client would retry for longer than this


# ---------------------------------------------------------------- data not committed


@pytest.mark.slow
def test_staged_files_of_an_artifact_or_over_the_size_limit_are_refused(bikes: GitRepo) -> None:
    bikes.write({"notes/readme.md": "small\n", "notes/big.bin": "x" * 2000})
    bikes.git("add", "notes")
    bikes.git("add", "-f", "data/bikes/img0.txt")
    proc = bikes.ga("validate", "--data-not-committed", "--max-size", "1k", rc=1)
    assert lines(proc.stdout) == [
        "data/bikes/img0.txt: belongs to artifact 'bikes' (data/bikes): its bytes go in the "
        "artifact cache, not in git (git rm --cached data/bikes/img0.txt, then git artifacts "
        "add --name bikes)",
        "notes/big.bin: 2.0 kB is over the 1.0 kB limit for files in git (git rm --cached "
        "notes/big.bin, then git artifacts add notes/big.bin --name NAME --type TYPE)",
    ]
    assert "staged files belong in the artifact cache" in stderr_error_line(proc)
    # The default limit (5 MB) lets the small files through; pre-commit passes names too.
    bikes.git("rm", "-q", "--cached", "data/bikes/img0.txt")
    assert bikes.ga("validate", "--data-not-committed").stdout == ""
    bikes.ga("validate", "--data-not-committed", "notes/readme.md", "--max-size", "100")


def test_files_beside_an_artifact_in_its_parent_folder_are_not_its_data(bikes: GitRepo) -> None:
    bikes.write({"data/README.md": "about the data\n", "data/bikes-notes.txt": "x\n"})
    bikes.git("add", "data/README.md", "data/bikes-notes.txt")
    assert bikes.ga("validate", "--data-not-committed").stdout == ""


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("123", 123),
        ("5MB", 5_000_000),
        ("500k", 500_000),
        ("1MiB", 1 << 20),
        ("1.5G", 1_500_000_000),
    ],
)
def test_sizes_parse_with_decimal_and_binary_units(text: str, size: int) -> None:
    assert staged.parse_size(text) == size


def test_a_bad_size_is_a_usage_error(bikes: GitRepo) -> None:
    proc = bikes.ga("validate", "--data-not-committed", "--max-size", "lots", rc=2)
    assert stderr_error_line(proc).startswith("error: invalid size 'lots'")


# ---------------------------------------------------------------- pushed


@pytest.mark.slow
def test_pushed_lists_what_the_remote_cache_lacks_until_git_artifacts_push(
    bikes: GitRepo, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    bikes.git("remote", "add", "origin", str(origin))
    proc = bikes.ga("validate", "--pushed", rc=1)
    assert lines(proc.stdout) == [
        f"{BIKES}: bikes:v0 sha256:{bikes.manifest('bikes')['digest'][7:19]}: 4 of 4 objects are "
        "not on remote cache origin: bikes/img0.txt, bikes/img1.txt, bikes/img2.txt, "
        "bikes/labels/train.csv"
    ]
    assert stderr_error_line(proc) == (
        "error: 1 problem(s): content of the commits being pushed is not on remote cache origin "
        "(run git artifacts push, then push again)"
    )
    bikes.ga("push")
    assert (
        "all 4 objects of 1 manifest are on remote cache origin"
        in bikes.ga("validate", "--pushed").stdout
    )
