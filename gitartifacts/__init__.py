"""gitartifacts: versioned data and models whose history lives in Git.

import gitartifacts as ga
art = ga.Artifact("bikes", type="dataset")
art.add_dir("data/bikes")
art.save()
ga.Api().artifact("bikes:latest").download()

with ga.init(job_type="train", config={"lr": 0.1}):
    ga.log({"loss": 0.5})  # ga.config, ga.summary: the active run's
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.2.0"

# Imported on first use, so that `git artifacts status` does not pay for the Python API.
_LAZY = {
    "Api": "gitartifacts.sdk.api",
    "Artifact": "gitartifacts.sdk.artifact",
    "ArtifactEntry": "gitartifacts.sdk.records",
    "ArtifactFinalizedError": "gitartifacts.sdk.records",
    "ArtifactNotLoggedError": "gitartifacts.sdk.records",
    "CacheError": "gitartifacts.errors",
    "ConflictError": "gitartifacts.errors",
    "GitArtifactsError": "gitartifacts.errors",
    "ManifestError": "gitartifacts.errors",
    "NotFoundError": "gitartifacts.errors",
    "UsageError": "gitartifacts.errors",
    "init": "gitartifacts.sdk.session",
    "finish": "gitartifacts.sdk.session",
    "log": "gitartifacts.sdk.session",
    "save": "gitartifacts.sdk.session",
    "define_metric": "gitartifacts.sdk.session",
    "log_artifact": "gitartifacts.sdk.session",
    "use_artifact": "gitartifacts.sdk.session",
    "Run": "gitartifacts.sdk.run",
    "Table": "gitartifacts.sdk.tables",
    "Image": "gitartifacts.sdk.media",
    "Settings": "gitartifacts.sdk.init_args",
}
__all__ = [
    "Api",
    "Artifact",
    "ArtifactEntry",
    "ArtifactFinalizedError",
    "ArtifactNotLoggedError",
    "CacheError",
    "ConflictError",
    "GitArtifactsError",
    "Image",
    "ManifestError",
    "NotFoundError",
    "Run",
    "Settings",
    "Table",
    "UsageError",
    "config",
    "data_types",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "run",
    "save",
    "summary",
    "use_artifact",
]

if TYPE_CHECKING:
    from typing import Any

    from gitartifacts.errors import (
        CacheError,
        ConflictError,
        GitArtifactsError,
        ManifestError,
        NotFoundError,
        UsageError,
    )
    from gitartifacts.sdk import data_types
    from gitartifacts.sdk.api import Api
    from gitartifacts.sdk.artifact import Artifact
    from gitartifacts.sdk.disabled import DisabledRun
    from gitartifacts.sdk.init_args import Settings
    from gitartifacts.sdk.media import Image
    from gitartifacts.sdk.records import (
        ArtifactEntry,
        ArtifactFinalizedError,
        ArtifactNotLoggedError,
    )
    from gitartifacts.sdk.run import Run
    from gitartifacts.sdk.session import (
        define_metric,
        finish,
        init,
        log,
        log_artifact,
        save,
        use_artifact,
    )
    from gitartifacts.sdk.tables import Table

    run: Run | DisabledRun | None
    config: Any  # the active run's config (a mapping), else a placeholder
    summary: Any


def __getattr__(name: str) -> Any:
    if name == "run":  # the active run of this process, or None
        return importlib.import_module("gitartifacts.sdk.session").active()
    if name in ("config", "summary"):  # looked up on each use: they follow the active run
        return importlib.import_module("gitartifacts.sdk.session").current(name)
    if name == "data_types":  # a module, as W&B's `wandb.data_types`
        return importlib.import_module("gitartifacts.sdk.data_types")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gitartifacts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    """The public names, for `dir(ga)` and completion in a notebook (`ga.<Tab>`)."""
    return sorted({*__all__, "__version__"})
