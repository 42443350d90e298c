"""The web view's server over HTTP (urllib): pages, 404s, escaping, headers, loopback only."""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import UI
from helpers import GitRepo, copy_repo

from gitartifacts.web.html import json_block, safe_json
from gitartifacts.web.server import Server
from gitartifacts.web.tree import render

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def get(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def text(ui: UI, path: str, status: int = 200) -> str:
    code, headers, body = get(ui.url + path)
    assert code == status, (path, code, body[:500])
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["X-Content-Type-Options"] == "nosniff"
    return body.decode()


def test_json_for_a_script_element_cannot_close_it() -> None:
    block = json_block("data", {"name": "</script><script>alert(1)</script>\u2028&"})
    assert block.count("</script>") == 1 and block.endswith("</script>")
    assert "\u2028" not in block and "&" not in safe_json("&")


def test_file_tree_escapes_names_and_nests_folders() -> None:
    out = render({"a/<b>.txt": {"size": 3}, "a/c/d": {"size": 1}, HOSTILE: {"size": 0}})
    assert "<b>" not in out and "&lt;b&gt;.txt" in out and ESCAPED in out
    assert out.count("class=folder") == 2  # a/ and a/c/


slow = pytest.mark.slow  # the tests below share a pipeline built in ~4 s


def test_a_port_in_use_is_one_line(repo: GitRepo) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = repo.ga("ui", "--port", str(port), rc=2)
    assert proc.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (pick another --port)\n"
    )


@slow
def test_every_page_answers_with_its_security_headers(ui: UI) -> None:
    train = ui.runs[HOSTILE]
    pages = {
        "/": "raw-data",
        "/artifacts/raw-data": "v1",
        "/artifacts/raw-data/v0": "tables/a.csv",
        "/artifacts/raw-data/latest": "raw-data:v1",
        "/artifacts/raw-data/diff?a=v0&b=v1": "modified",
        "/lineage/model/v0": 'id="graph"',
        "/runs": train,
        f"/runs/{train}": 'id="history"',
        "/registry": "classifier",
    }
    for path, expected in pages.items():
        assert expected in text(ui, path), path


@slow
def test_unknown_things_are_404_pages(ui: UI) -> None:
    for path in (
        "/artifacts/nope",
        "/artifacts/raw-data/v9",
        "/artifacts/raw-data/..",
        "/lineage/nope/v0",
        "/runs/nope",
        "/runs/nope/files/x.png",
        f"/runs/{ui.runs[HOSTILE]}/files/../../HEAD",
        "/static/server.py",
        "/static/../server.py",
        "/nothing/here",
    ):
        body = text(ui, path, 404)
        assert "<title>Not found" in body and "Traceback" not in body, path
    assert ui.stderr.read_text() == ""  # a 404 is no failure


def test_a_browser_that_leaves_mid_answer_is_let_go_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gitartifacts.web.server import _Handler

    class Gone:
        def write(self, data: bytes) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            pass

    handler = _Handler.__new__(_Handler)  # no socket: only the answer's writing
    handler.wfile = Gone()  # type: ignore[assignment]
    handler.request_version, handler.requestline, handler.command = "HTTP/1.1", "GET /", "GET"
    handler.close_connection = False
    handler._send(200, "<p>a page", head=False)
    assert handler.close_connection  # the connection is given up, nothing raised
    assert capsys.readouterr().err == ""


@slow
def test_a_bad_name_is_one_line_not_a_traceback(ui: UI) -> None:
    assert "must not contain" in text(ui, "/lineage/other%2Fproject/v0", 400)
    body = text(ui, "/artifacts/%3Cscript%3E", 400)
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert body.count("class=error") == 1


@slow
def test_hostile_names_descriptions_and_metadata_are_text(ui: UI) -> None:
    train = ui.runs[HOSTILE]
    for path in (
        "/",
        "/artifacts/raw-data",
        "/artifacts/raw-data/v1",
        "/artifacts/model/v0",
        "/runs",
        f"/runs/{train}",
        "/lineage/model/v0",
    ):
        body = text(ui, path)
        assert HOSTILE not in body and "<script>alert" not in body, path
    assert ESCAPED in text(ui, "/artifacts/raw-data/v1")  # the description
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text(ui, "/artifacts/raw-data")
    assert ESCAPED in text(ui, f"/runs/{train}")  # the run's name
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in text(ui, "/lineage/model/v0")


@slow
def test_a_logged_image_in_the_summary_is_a_thumbnail_served_as_png(ui: UI) -> None:
    body = text(ui, f"/runs/{ui.runs[HOSTILE]}")
    (src,) = re.findall(r'<img class=thumb src="([^"]+)"', body)
    code, headers, data = get(ui.url + src)
    assert code == 200 and headers["Content-Type"] == "image/png"
    assert data.startswith(b"\x89PNG")


@slow
def test_only_get_and_head(ui: UI) -> None:
    code, headers, body = get(ui.url + "/", "HEAD")
    assert code == 200 and body == b"" and int(headers["Content-Length"]) > 0
    for method in ("POST", "PUT", "DELETE"):
        code, headers, _ = get(ui.url + "/", method)
        assert code == 405 and headers["Allow"] == "GET, HEAD"


@slow
def test_a_page_for_another_host_name_is_refused(ui: UI) -> None:
    code, _, _ = get(ui.url + "/", headers={"Host": "attacker.example"})
    assert code == 400


@slow
def test_static_files_and_the_favicon(ui: UI) -> None:
    for path, ctype in (
        ("/favicon.ico", "image/svg+xml"),
        ("/static/vendor/cytoscape.min.js", "text/javascript; charset=utf-8"),
        ("/static/style.css", "text/css; charset=utf-8"),
    ):
        code, headers, body = get(ui.url + path)
        assert (code, headers["Content-Type"]) == (200, ctype) and body


@slow
def test_the_server_binds_to_loopback_only(pipeline: GitRepo) -> None:
    server = Server(pipeline.root)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and server.url == f"http://127.0.0.1:{port}/"
        other = _outside_address()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()
    finally:
        server.server_close()


@slow
def test_lineage_as_one_self_contained_html_file(pipeline: GitRepo, tmp_path: Path) -> None:
    out = tmp_path / "lineage.html"
    pipeline.ga("lineage", "model:v0", "--format", "html", "-o", str(out))
    page = out.read_text()
    assert "<script src=" not in page and "cytoscape" in page and "dagre" in page
    assert HOSTILE not in page and "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    (data,) = re.findall(r'<script type="application/json" id="graph">(.*?)</script>', page)
    nodes = json.loads(data)["exploded"]["nodes"]
    assert len(nodes) == 11 and all("href" not in n["data"] for n in nodes)  # no server
    proc = pipeline.ga("lineage", "model:v0", "--format", "html", rc=2)
    assert proc.stderr.startswith("error: --format html needs -o FILE")


@slow
def test_a_copy_without_the_objects_still_shows_its_runs(pipeline: GitRepo, tmp_path: Path) -> None:
    copy = copy_repo(pipeline.root, tmp_path / "copy")
    shutil.rmtree(copy.cache)
    train = next(r["id"] for r in copy.ga_json("runs") if r["name"] == HOSTILE)
    with serving(copy.root) as url:
        code, _, body = get(f"{url}runs/{train}")
        assert code == 200 and "history of run" in body.decode()
        assert "not in the local cache (git artifacts pull)" in body.decode()
        thumb = re.findall(r'<img class=thumb src="([^"]+)"', body.decode())[0]
        assert get(url + thumb.lstrip("/"))[0] == 404


FORGED = {
    "run": "forged1",
    "t": 1,
    "ev": "start",
    "name": "<b>forged</b>",
    "job_type": "<i>x</i>",
    "start": 1e300,
    "config": {"<b>k</b>": [1, {"a": "<script>"}]},
    "summary": {"img": {"_type": "image-file", "path": "../../../etc/passwd"}, "n": 1e308},
    "history": "sha256:zz",
    "files": [{"path": "../x", "digest": "sha256:00"}],
    "state": "finished",
}


@slow
def test_a_forged_run_record_shows_as_text(pipeline: GitRepo, tmp_path: Path) -> None:
    copy = copy_repo(pipeline.root, tmp_path / "copy")
    copy.git("notes", "--ref=refs/notes/artifacts", "append", "-m", json.dumps(FORGED), "HEAD")
    with serving(copy.root) as url:
        for path in ("runs", "runs/forged1"):
            code, _, body = get(url + path)
            page = body.decode()
            assert code == 200 and "<b>" not in page and "<i>x" not in page, path
            assert "&lt;b&gt;forged&lt;/b&gt;" in page and "/files/.." not in page
        assert "bad object for the history" in get(url + "runs/forged1")[2].decode()
        assert get(url + "runs/forged1/files/..%2Fx")[0] == 400


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """An in-process server on ROOT, answering on a thread, and its address."""
    server = Server(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if str(addr).startswith("127.") else str(addr)
