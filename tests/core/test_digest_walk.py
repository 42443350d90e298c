"""The folder-by-folder digest walk: every file's digest, from the stat cache once known."""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers import age_files, write_files

from gitartifacts.core.state import State
from gitartifacts.core.workspace.digest_walk import DigestWalk
from gitartifacts.core.workspace.scan import FolderWalk


def _walk(base: Path, state: State) -> tuple[dict[str, str], DigestWalk]:
    walk = DigestWalk(FolderWalk(str(base), ["a", "b-c", "b"]), state, "data", str(base))
    out = {}
    for folder, files in walk:
        for name, digest, _ in files:
            out[f"{folder}/{name}" if folder else name] = digest
    return out, walk


def test_every_file_in_folder_order_hashed_once_then_from_the_stat_cache(tmp_path: Path) -> None:
    # 700 files in one folder: cut into several batches, put back together in order.
    files = {f"data/a/f{i:04}": f"x{i}" for i in range(700)}
    files |= {"data/b/y": "y", "data/b-c": "z", "data/b/sub/deep": "d"}
    write_files(tmp_path, files)
    age_files(tmp_path)
    state = State(tmp_path / "state.db")
    want = {
        p[len("data/") :]: "sha256:" + hashlib.sha256(v.encode()).hexdigest()
        for p, v in files.items()
    }
    got, walk = _walk(tmp_path / "data", state)
    assert got == want
    assert list(got) == sorted(got, key=lambda p: (p.rpartition("/")[0] + "/").encode())
    assert walk.trusted
    cached = state.lookup_paths([f"data/{p}" for p in want])
    assert {p[len("data/") :]: d for p, (_, d) in cached.items()} == want
    (tmp_path / "data/a/f0001").write_text("changed")
    again, _ = _walk(tmp_path / "data", state)
    assert again["a/f0001"] == "sha256:" + hashlib.sha256(b"changed").hexdigest()
