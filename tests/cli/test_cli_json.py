"""`--json` of every reading verb spells versions one way: `"vN"` (or null)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import GitRepo

VERSION = re.compile(r"^v\d+$")


def version_fields(doc: Any, where: str = "") -> list[tuple[str, Any]]:
    """(where, value) of every field named `version`, `*_version` or `latest`, at any depth."""
    out: list[tuple[str, Any]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "version" or k.endswith("_version") or k == "latest":
                out.append((f"{where}.{k}", v))
            out += version_fields(v, f"{where}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += version_fields(v, f"{where}[{i}]")
    return out


@pytest.mark.slow
def test_every_reading_verb_spells_versions_vN_in_json(bikes: GitRepo, tmp_path: Path) -> None:
    bikes.write({"data/bikes/img9.txt": "bike 9\n"})
    bikes.ga("add", "--name", "bikes")
    bikes.commit("bikes v1")
    bikes.ga("alias", "bikes:v0", "production")
    make = "import os; os.makedirs('out', exist_ok=True); open('out/m.bin', 'w').write('m')"
    bikes.ga("run", "-i", "bikes:v0", "-o", "model=out:model", "--", sys.executable, "-c", make)
    bikes.ga("link", "bikes:v1", "bike-collection")
    bikes.ga("remote", "add", "cache", (tmp_path / "cache").as_uri(), "--default")
    outputs = {
        "status": bikes.ga_json("status"),
        "ls": bikes.ga_json("ls"),
        "log": bikes.ga_json("log", "bikes"),
        "show": bikes.ga_json("show", "bikes:production"),
        "diff": bikes.ga_json("diff", "bikes:v0", "bikes:v1"),
        "runs": bikes.ga_json("runs"),
        "lineage": bikes.ga_json("lineage", "bikes:v0"),
        "link": bikes.ga_json("link", "--list", "bike-collection"),
        "remote": bikes.ga_json("remote", "list"),
        "verify": bikes.ga_json("verify", "bikes"),
        "get": bikes.ga_json("get", "bikes:v1", "-o", str(tmp_path / "out")),
        "validate": bikes.ga_json("validate"),
    }
    seen = {verb: version_fields(doc) for verb, doc in outputs.items()}
    bad = [
        (verb, where, v)
        for verb, fields in seen.items()
        for where, v in fields
        if v is not None and not (isinstance(v, str) and VERSION.match(v))
    ]
    assert bad == []
    assert {verb for verb, fields in seen.items() if fields} >= {
        "status",
        "ls",
        "log",
        "show",
        "runs",
        "link",
    }
    assert [r["version"] for r in outputs["log"]] == ["v1", "v0"]
    # The run checked bikes:v0 out into the work tree; v1 stays the newest.
    assert (outputs["ls"][0]["version"], outputs["ls"][0]["latest"]) == ("v0", "v1")
    assert outputs["link"][0]["version"] == "v0"
    assert outputs["link"][0]["source_version"] == "v1"
