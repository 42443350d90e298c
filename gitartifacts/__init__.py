"""gitartifacts: versioned data and models whose history lives in Git.

import gitartifacts as ga
art = ga.Artifact("bikes", type="dataset")
art.add_dir("data/bikes")
art.save()
ga.Api().artifact("bikes:latest").download()
"""

from __future__ import annotations

from gitartifacts.artifact import (
    Api,
    Artifact,
    ArtifactEntry,
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
)
from gitartifacts.errors import (
    CacheError,
    ConflictError,
    GitArtifactsError,
    ManifestError,
    NotFoundError,
    UsageError,
)

__version__ = "0.1.0"
__all__ = [
    "Api",
    "Artifact",
    "ArtifactEntry",
    "ArtifactFinalizedError",
    "ArtifactNotLoggedError",
    "CacheError",
    "ConflictError",
    "GitArtifactsError",
    "ManifestError",
    "NotFoundError",
    "UsageError",
]
