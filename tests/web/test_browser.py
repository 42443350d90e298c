"""The web view in a real browser: Debian's Chromium driven by Playwright (never
`playwright install`), against one `git artifacts ui` on the pipeline's repository."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import UI
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

pytestmark = pytest.mark.slow  # a browser and the pipeline: seconds, not milliseconds

HOSTILE = "<img src=x onerror=alert(1)>"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


class Watched:
    """A page and everything it complained about: console errors, page errors, dialogs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("dialog", self._dialog)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"console {msg.type}: {msg.text}")

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def open(self, url: str, ready: str = "main") -> Page:
        self.page.goto(url)
        self.page.wait_for_selector(ready)
        return self.page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "install Debian's chromium (.ci/run does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context()
    w = Watched(context.new_page())
    yield w
    context.close()
    assert w.problems == []


def test_every_page_loads_without_a_console_error(ui: UI, watched: Watched) -> None:
    train = ui.runs[HOSTILE]
    for path, ready in (
        ("/", "table"),
        ("/artifacts/raw-data", "table"),
        ("/artifacts/raw-data/v1", "#files"),
        ("/artifacts/raw-data/diff?a=v0&b=v1", "table.changes"),
        ("/lineage/model/v0", "#cy[data-nodes]"),
        ("/runs", "#runs"),
        (f"/runs/{train}", ".chart[data-points] canvas"),
        ("/registry", "table"),
        ("/artifacts/nope", "main"),
    ):
        watched.open(ui.url + path, ready)
    watched.problems = [p for p in watched.problems if "404 (Not Found)" not in p]


def test_the_lineage_graph_folds_groups_and_explodes(ui: UI, watched: Watched) -> None:
    page = watched.open(ui.url + "/lineage/clean-data/v0", "#cy[data-nodes]")
    assert _labels(page) == sorted(
        [
            HOSTILE,  # the train run, by its name: text in a canvas, never markup
            "5 evaluate runs",
            "clean-data:v0",
            "load-1",
            "model:v0",
            "preprocess",
            "raw-data:v1",
        ]
    )
    page.click("#explode")
    page.wait_for_selector("#cy[data-nodes='11']")
    assert [x for x in _labels(page) if x.startswith("eval-")] == [f"eval-{n}" for n in range(5)]
    page.click("#explode")
    page.wait_for_selector("#cy[data-nodes='7']")


def test_the_lineage_file_draws_the_same_graph_with_no_server(
    ui: UI, watched: Watched, tmp_path: Path
) -> None:
    out = tmp_path / "lineage.html"
    ui.repo.ga("lineage", "clean-data:v0", "--format", "html", "-o", str(out))
    page = watched.open(out.as_uri(), "#cy[data-nodes='7']")
    assert "5 evaluate runs" in _labels(page)
    page.click("#explode")
    page.wait_for_selector("#cy[data-nodes='11']")


def test_a_click_on_a_node_opens_its_version_or_run(ui: UI, watched: Watched) -> None:
    page = watched.open(ui.url + "/lineage/clean-data/v0", "#cy[data-nodes]")
    _click_node(page, "model:v0")
    page.wait_for_url("**/artifacts/model/v0")
    assert page.locator("h1").inner_text() == "model:v0"
    page = watched.open(ui.url + "/lineage/clean-data/v0", "#cy[data-nodes]")
    _click_node(page, "preprocess")
    page.wait_for_url(f"**/runs/{ui.runs['preprocess']}")
    assert page.locator("h1").inner_text() == "Run preprocess"


def _click_node(page: Page, label: str) -> None:
    x, y = page.evaluate(
        """(label) => {
            const p = window.lineageGraph.nodes(`[label = "${label}"]`).renderedPosition();
            const box = document.getElementById('cy').getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        label,
    )
    page.mouse.click(x, y)


def test_the_run_page_plots_every_logged_point(ui: UI, watched: Watched) -> None:
    page = watched.open(ui.url + f"/runs/{ui.runs[HOSTILE]}", ".chart[data-points] canvas")
    points = {
        c.get_attribute("data-metric"): c.get_attribute("data-points")
        for c in page.locator(".chart").all()
    }
    assert points == {"loss": "10", "accuracy": "10"}
    assert page.locator("h1").inner_text() == f"Run {HOSTILE}"  # shown as text, not run
    assert page.locator("img.thumb").evaluate("img => img.naturalWidth") == 8


def test_the_file_filter_and_the_sortable_runs_table(ui: UI, watched: Watched) -> None:
    page = watched.open(ui.url + "/artifacts/raw-data/v1", "#files")
    assert page.locator("li.file:visible").count() == 3
    page.fill("#filter", "b.csv")
    assert page.locator("#shown").inner_text() == "1"
    assert [li.get_attribute("data-path") for li in page.locator("li.file:visible").all()] == [
        "tables/b.csv"
    ]
    page = watched.open(ui.url + "/runs", "#runs")
    page.click("th:text('summary.score')")
    page.click("th:text('summary.score')")  # descending
    first = page.locator("#runs tbody tr").first.locator("td").first.inner_text()
    assert first == "eval-4"


def test_two_versions_picked_in_the_form_show_their_diff(ui: UI, watched: Watched) -> None:
    page = watched.open(ui.url + "/artifacts/raw-data", "form.diff")
    page.select_option("select[name=a]", "v1")
    page.select_option("select[name=b]", "v0")
    page.click("form.diff button")
    page.wait_for_selector("table.changes")
    assert "v1 (3 files" in page.locator("main p").first.inner_text()
    assert page.locator("table.changes td:has-text('tables/a.csv')").count() == 1


def _labels(page: Page) -> list[Any]:
    found = page.get_attribute("#cy", "data-labels")
    assert found is not None
    return list(json.loads(found))
