"""Projects end to end: `project add`, the mirror, `NAME/artifact:spec` everywhere a spec is
taken, content from the project's own remote, and bad input."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import MODEL_V0, MODEL_V1, World, build_world
from helpers import assert_unchanged, ga_run, run_py, stderr_error_line


def add_vision(world: World) -> None:
    world.b.ga("project", "add", "vision", str(world.vision.origin))


def test_project_add_commits_the_url_and_fetches_a_shallow_mirror(world: World) -> None:
    add_vision(world)
    doc = yaml.safe_load((world.b.root / ".gitartifacts.yaml").read_text())
    assert doc["projects"] == {"vision": {"url": str(world.vision.origin)}}
    assert ".gitartifacts.yaml" in world.b.staged()
    mirror = world.b.root / ".git" / "artifacts" / "projects" / "vision"
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)"], cwd=mirror, capture_output=True, text=True
    ).stdout.split()
    assert "refs/tags/artifacts/bike-model/v1" in refs and "refs/notes/artifacts" in refs
    assert not [r for r in refs if r.startswith("refs/heads/")]  # our namespaces only
    assert (mirror / "shallow").is_file()  # each tag's commit, no history
    listed = world.b.ga_json("project", "list")
    assert listed == [{"name": "vision", "url": str(world.vision.origin), "mirrored": True}]


def test_a_project_version_downloads_from_the_remote_the_project_names(
    world: World, tmp_path: Path
) -> None:
    add_vision(world)
    world.b.ga("get", "vision/bike-model:v0", "-o", str(tmp_path / "v0"))
    world.b.ga("get", "vision/bike-model:latest", "-o", str(tmp_path / "latest"))
    assert (tmp_path / "v0" / "bike.bin").read_bytes() == MODEL_V0
    assert (tmp_path / "latest" / "bike.bin").read_bytes() == MODEL_V1
    # The entity form (a path has no owner: the entity is not checked) and the URL form.
    url_spec = f"{world.vision.origin}#bike-model:v1"
    noted = world.b.ga("get", "me/vision/bike-model:v0", "-o", str(tmp_path / "entity")).stderr
    assert noted.count("note: me/ is ignored: project vision is a path") == 1
    world.b.ga("get", url_spec, "-o", str(tmp_path / "url"))
    assert (tmp_path / "entity" / "bike.bin").read_bytes() == MODEL_V0
    assert (tmp_path / "url" / "bike.bin").read_bytes() == MODEL_V1


def test_api_artifact_and_use_artifact_take_project_specs(world: World) -> None:
    add_vision(world)
    code = (
        "import gitartifacts as ga\n"
        "a = ga.Api().artifact('vision/bike-model:v0')\n"
        "print(a.name, a.version, a.type)\n"
        "with ga.init(job_type='eval') as run:\n"
        "    m = run.use_artifact('vision/bike-model:latest')\n"
        "    print(open(m.download() + '/bike.bin').read().strip())\n"
        "    print(open(run.use_model('vision/bike-model:v0')).read().strip())\n"
    )
    out = run_py(world.b.root, code)
    assert out.splitlines() == [
        "vision/bike-model:v0 v0 model",
        "weights one, better",
        "weights zero",
    ]


@pytest.mark.slow
def test_a_second_use_is_offline_and_fetch_projects_needs_the_network(tmp_path: Path) -> None:
    w = build_world(tmp_path / "w")
    add_vision(w)
    w.b.ga("get", "vision/bike-model:v1", "-o", str(tmp_path / "first"))
    shutil.move(w.vision.origin, tmp_path / "gone.git")
    shutil.move(w.vision.store, tmp_path / "gone-store")
    w.b.ga("get", "vision/bike-model:v1", "-o", str(tmp_path / "again"))
    assert (tmp_path / "again" / "bike.bin").read_bytes() == MODEL_V1
    line = stderr_error_line(w.b.ga("fetch", "--projects", rc=None))
    assert "cannot reach project vision" in line


@pytest.mark.slow
def test_a_version_published_later_is_found_by_fetching_the_mirror_again(
    tmp_path: Path,
) -> None:
    w = build_world(tmp_path / "w")
    add_vision(w)
    w.vision.a.write({"model/bike.bin": b"v2\n"})
    w.vision.a.ga("add", "model", "--name", "bike-model")
    w.vision.a.commit("v2", ".")
    w.vision.a.git("push", "-q", "origin", "main")
    w.vision.a.ga("push")
    # latest is what the mirror says until it is fetched again ...
    w.b.ga("get", "vision/bike-model:latest", "-o", str(tmp_path / "cached"))
    assert (tmp_path / "cached" / "bike.bin").read_bytes() == MODEL_V1
    # ... and a version the mirror lacks makes it fetch once more.
    w.b.ga("get", "vision/bike-model:v2", "-o", str(tmp_path / "v2"))
    assert (tmp_path / "v2" / "bike.bin").read_bytes() == b"v2\n"


# ---------------------------------------------------------------- bad input


def test_an_unknown_project_is_one_line_and_writes_nothing(world: World) -> None:
    before = world.b.snapshot()
    line = stderr_error_line(world.b.ga("get", "nope/bike-model:v0", rc=None))
    assert "no project named 'nope'" in line and "project add" in line
    assert_unchanged(before, world.b.snapshot())


def test_an_unreachable_url_writes_nothing(world: World, tmp_path: Path) -> None:
    before = world.b.snapshot()
    line = stderr_error_line(
        world.b.ga("project", "add", "vision", str(tmp_path / "nowhere.git"), rc=None)
    )
    assert "cannot reach project vision" in line
    assert_unchanged(before, world.b.snapshot())
    assert not (world.b.root / ".git" / "artifacts" / "projects" / "vision").exists()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://bob:hunter2@example.com/x.git", "password"),
        ("ext::sh -c touch% /tmp/pwned", "git helper"),
        ("--upload-pack=touch /tmp/pwned", "not a URL"),
        ("ftp://example.com/x.git", "ftp://"),
    ],
)
def test_project_add_refuses_credentials_and_commands_in_urls(
    world: World, url: str, said: str
) -> None:
    before = world.b.snapshot()
    line = stderr_error_line(world.b.ga("project", "add", "--", "x", url, rc=None))
    assert said in line and "hunter2" not in line
    assert_unchanged(before, world.b.snapshot())


def test_project_names_that_other_specs_claim_are_refused(world: World) -> None:
    origin_line = stderr_error_line(
        world.b.ga("project", "add", "origin", str(world.vision.origin), rc=None)
    )
    registry_line = stderr_error_line(
        world.b.ga("project", "add", "registry", str(world.vision.origin), rc=None)
    )
    assert "git remote" in origin_line and "registry" in registry_line


def test_a_spec_that_names_nothing_in_the_project_says_so(world: World) -> None:
    add_vision(world)
    line = stderr_error_line(world.b.ga("get", "vision/nothing:v0", rc=None))
    assert "in project vision" in line and "nothing" in line
    line = stderr_error_line(world.b.ga("get", "vision/bike-model:v9", rc=None))
    assert "in project vision" in line and "v0, v1" in line


@pytest.mark.slow
def test_a_project_with_no_remote_cache_is_one_line(tmp_path: Path) -> None:
    w = build_world(tmp_path / "w")
    a = w.vision.a
    (a.root / ".gitartifacts.yaml").write_text("remotes: {}\n")
    a.write({"model/bike.bin": b"v2\n"})
    a.ga("add", "model", "--name", "bike-model")
    a.commit("v2 with no remote", ".")
    a.ga("status")  # tags the committed version
    a.git("push", "-q", "origin", "main", "refs/tags/artifacts/bike-model/v2")
    add_vision(w)
    before = w.b.snapshot()
    line = stderr_error_line(w.b.ga("get", "vision/bike-model:v2", rc=None))
    assert "names no remote cache" in line
    assert_unchanged(before, w.b.snapshot())


@pytest.mark.slow
def test_a_project_whose_config_holds_a_credential_is_refused(tmp_path: Path) -> None:
    w = build_world(tmp_path / "w")
    a = w.vision.a
    (a.root / ".gitartifacts.yaml").write_text(
        "remotes:\n  s:\n    url: s3://AKIAABCDEFGHIJKLMNOP:secret@bucket/x\ndefault_remote: s\n"
    )
    a.write({"model/bike.bin": b"v2\n"})
    a.ga("add", "model", "--name", "bike-model")
    a.commit("v2", ".")
    a.ga("status", rc=None)  # tags the committed version
    a.git("push", "-q", "origin", "main", "refs/tags/artifacts/bike-model/v2")
    add_vision(w)
    line = stderr_error_line(w.b.ga("get", "vision/bike-model:v2", "-o", "x", rc=None))
    assert "credential" in line and "secret" not in line
    assert not (w.b.root / "x").exists()


@pytest.mark.slow
def test_a_hostile_manifest_in_a_project_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    w = build_world(tmp_path / "w")
    a = w.vision.a
    text = (a.root / ".artifacts" / "bike-model.yaml").read_text()
    (a.root / ".artifacts" / "evil.yaml").write_text(
        text.replace("name: bike-model", "name: evil").replace("bike.bin", "../../escape.bin")
    )
    a.git("add", ".artifacts/evil.yaml")
    evil = a.commit("evil")
    a.git("push", "-q", "origin", f"{evil}:refs/tags/artifacts/evil/v0")
    add_vision(w)
    before = w.b.snapshot()
    out = tmp_path / "out" / "deep"
    line = stderr_error_line(w.b.ga("get", "vision/evil:v0", "-o", str(out), rc=None))
    assert "evil" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.bin").exists()
    assert_unchanged(before, w.b.snapshot())


def test_checkout_of_a_project_version_says_to_import_it(world: World) -> None:
    add_vision(world)
    before = world.b.snapshot()
    line = stderr_error_line(world.b.ga("checkout", "vision/bike-model:v0", rc=None))
    assert "another project's version" in line and "git artifacts import" in line
    assert_unchanged(before, world.b.snapshot())


def test_a_fetch_run_from_a_hook_goes_into_the_mirror_not_this_repository(world: World) -> None:
    add_vision(world)
    before = world.b.git("for-each-ref")
    hook_env = {"GIT_DIR": str(world.b.root / ".git")}  # as git sets it for a hook
    assert ga_run(world.b, "fetch", "--projects", env=hook_env).returncode == 0
    assert world.b.git("for-each-ref") == before


def test_a_project_that_never_answers_is_stopped_at_the_network_deadline(world: World) -> None:
    with socket.socket() as server:  # listens, never answers: git waits on it
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/vision.git"
        started = time.monotonic()
        proc = ga_run(
            world.b, "project", "add", "vision", url, env={"GITARTIFACTS_NETWORK_TIMEOUT": "2"}
        )
        elapsed = time.monotonic() - started
    line = stderr_error_line(proc)
    assert "made no progress for 2 s" in line and "networkTimeout" in line, line
    assert elapsed < 30
    assert "projects" not in (world.b.root / ".gitartifacts.yaml").read_text()
