"""`git artifacts du`: a header, human sizes and a total line; --json with raw bytes; bad
input is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo, lines, stderr_error_line

A = b"A" * 3000
B = b"B" * (3 << 20)
SAME = b"S" * 1024


@pytest.mark.slow
def test_du_prints_a_table_and_json(repo: GitRepo, tmp_path: Path) -> None:
    repo.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    for i, data in enumerate((A, B)):
        repo.write({"data/ds/a.bin": data, "data/ds/s.bin": SAME})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds v{i}", ".")
    repo.ga("push")
    out = lines(repo.ga("du", "--remote", "store").stdout)
    heads = ["ARTIFACT", "VERSION", "LOGICAL", "UNIQUE", "SHARED", "LOCAL", "ON", "store"]
    assert out[0].split() == heads
    # logical 4024 B, unique 3000 B (A), shared 1024 B (SAME), all local and on the remote
    assert " ".join(out[1].split()) == "ds v0 3.9 KiB 2.9 KiB 1.0 KiB 3.9 KiB 3.9 KiB"
    assert out[2].split()[:4] == ["ds", "v1", "3.0", "MiB"]
    assert out[3].split()[:2] == ["ds", "all"]
    assert out[4].split()[:3] == ["total", "3.0", "MiB"] and len(out) == 5
    data = repo.ga_json("du", "ds:v1")
    assert data["remote"] is None
    assert data["versions"] == [
        {
            "name": "ds",
            "version": 1,
            "logical": len(B) + len(SAME),
            "stored": len(B) + len(SAME),
            "unique": len(B),
            "shared": len(SAME),
            "local": len(B) + len(SAME),
            "remote": None,
        }
    ]
    assert data["total"]["logical"] == len(B) + len(SAME)
    proc = repo.ga("du", "--remote", "nope", rc=2)
    assert (
        stderr_error_line(proc) == "error: no remote named 'nope' (see git artifacts remote list)"
    )
    proc = repo.ga("du", "nope", rc=3)
    assert stderr_error_line(proc).startswith("error: no versions of 'nope' here")
    proc = repo.ga("du", "ds:v9", rc=3)
    assert stderr_error_line(proc).startswith("error: ")
