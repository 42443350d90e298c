"""Screenshots of the web view's main pages for the README: `docs/img/*.png`.

    .venv/bin/python docs/screenshots.py [REPOSITORY]

Without REPOSITORY it builds the test pipeline (tests/web/pipeline.py) in a temporary
folder. It starts `git artifacts ui` there and drives Debian's Chromium with Playwright
(never `playwright install`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def build(root: Path) -> Path:
    """A repository with the test pipeline's artifacts and runs."""
    repo = root / "repo"
    repo.mkdir()
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "commit", "-q", "--allow-empty", "-m", "start"],
        [str(BIN / "git-artifacts"), "init"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "git artifacts init"],
        [sys.executable, str(ROOT / "tests" / "web" / "pipeline.py"), str(root / "work")],
    ):
        subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    return repo


def shoot(repo: Path, out: Path) -> None:
    ui = subprocess.Popen(
        [str(BIN / "git-artifacts"), "ui"], cwd=repo, stdout=subprocess.PIPE, text=True
    )
    try:
        assert ui.stdout is not None
        base = ui.stdout.readline().strip().rstrip("/")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            run = _train_run(repo)
            for name, path, ready in (
                ("artifacts", "/", "table"),
                ("versions", "/artifacts/raw-data", "table"),
                ("version", "/artifacts/raw-data/v1", "#files"),
                ("lineage", "/lineage/clean-data/v0", "#cy[data-nodes]"),
                ("runs", "/runs", "#runs"),
                ("run", f"/runs/{run}", ".chart canvas"),
            ):
                page.goto(base + path)
                page.wait_for_selector(ready)
                page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")
            browser.close()
    finally:
        ui.terminate()
        ui.wait(10)


def _train_run(repo: Path) -> str:
    import json

    found = subprocess.run(
        [str(BIN / "git-artifacts"), "runs", "--job-type", "train", "--json"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return str(json.loads(found.stdout)[0]["id"])


if __name__ == "__main__":
    out = HERE / "img"
    out.mkdir(exist_ok=True)
    if len(sys.argv) > 1:
        shoot(Path(sys.argv[1]), out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            shoot(build(Path(tmp)), out)
