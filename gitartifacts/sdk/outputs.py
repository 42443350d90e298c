"""What a run makes of what it is given to log: an Artifact from a path or URI, named as W&B
names it, or a version already logged."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project

USE_AS_DEPRECATED = (
    "`use_as` argument is deprecated and does not affect the behaviour of `run.use_artifact`"
)


def as_artifact(
    artifacts: type[Any], project: Project, run_id: str, obj: Any, name: str | None, type: str
) -> Any:
    """`obj` if it is an Artifact; else one made from a file, folder or URI and named as W&B
    does, `run-<run id>-<basename>` (characters a name may not hold become `_`)."""
    if isinstance(obj, artifacts):
        return obj
    text = os.fspath(obj)
    path = Path(text)
    default = _safe_name(f"run-{run_id}-{path.name or 'artifact'}")
    art = artifacts(name or default, type, project=project)
    if path.is_dir():
        art.add_dir(path)
    elif path.is_file():
        art.add_file(path)
    elif "://" in text:
        art.add_reference(text)
    else:
        raise UsageError(
            "path must be a file, directory or external reference like s3://bucket/path",
            f"{text!r} is none of these",
        )
    return art


def existing(artifacts: type[Any], obj: Any) -> Any:
    """`obj` if it is a logged version (what a recorded run may log), else W&B's error."""
    if not isinstance(obj, artifacts) or obj.is_draft():
        raise UsageError(
            "Only existing artifacts are accepted by this api. "
            "Manually create one with `wandb artifacts put`",
            "save the artifact first (artifact.save()), then log it to this run",
        )
    return obj


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip("._-") or "artifact"
    return cleaned[:128]
