"""The web view's fixtures: one repository built from a small pipeline (tests/web/pipeline.py)
and one `git artifacts ui` serving it, both per test session (and worker)."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import GitRepo, Template, make_repo

PIPELINE = Path(__file__).parent / "pipeline.py"
START_SECONDS = 30


@dataclass
class UI:
    """A running `git artifacts ui`: its address, its repository and the runs in it."""

    url: str  # without the trailing slash
    repo: GitRepo
    runs: dict[str, str]  # run name -> id (the train run's name is hostile HTML)
    stderr: Path


def build_pipeline(root: Path) -> GitRepo:
    repo = make_repo(root)
    subprocess.run(
        [sys.executable, str(PIPELINE), str(root.parent / "work")],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return repo


@pytest.fixture(scope="session")
def pipeline(template: Template) -> GitRepo:
    """The pipeline's repository; tests only read it."""
    return GitRepo(template("web-pipeline", build_pipeline))


@pytest.fixture(scope="session")
def ui(pipeline: GitRepo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    stderr = tmp_path_factory.mktemp("ui") / "stderr"
    with open(stderr, "w") as err:
        proc = subprocess.Popen(
            ["git", "artifacts", "ui"], cwd=pipeline.root, stdout=subprocess.PIPE, stderr=err
        )
    try:
        url = _first_line(proc, START_SECONDS).rstrip("/")
        runs = {r["name"]: r["id"] for r in pipeline.ga_json("runs")}
        yield UI(url, pipeline, runs, stderr)
    finally:
        proc.terminate()
        proc.wait(10)


def _first_line(proc: subprocess.Popen[bytes], seconds: float) -> str:
    """The address `ui` prints, or a failure when it prints none in time."""
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while time.monotonic() < deadline:
        if sel.select(timeout=0.2):
            line = proc.stdout.readline().decode()
            assert line.startswith("http://127.0.0.1:"), line
            return line.strip()
        if proc.poll() is not None:
            break
    raise AssertionError(f"git artifacts ui printed no address (exit {proc.poll()})")
