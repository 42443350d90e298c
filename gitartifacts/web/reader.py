"""The repository of the web view, opened and read by one thread of its own: its state
database belongs to the thread that opened it, and one git reader serves one caller at a
time, while the server answers static files on many threads."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project

T = TypeVar("T")
PAGE_SECONDS = 120  # a page that takes longer fails alone; the next one waits for it


class Reader:
    """Runs functions of the project on the one thread that opened it."""

    def __init__(self, start: str | os.PathLike[str] | None = None) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gitartifacts-ui")
        self._closed = False
        try:
            self.project = self._pool.submit(_open, start).result()
        except BaseException:
            self._pool.shutdown()
            raise

    def run(self, fn: Callable[[Project], T]) -> T:
        """FN(project) on the reader's thread; refs are read anew, so a version made since
        the last page shows."""

        def call(project: Project) -> T:
            project.repo.refs_moved()
            return fn(project)

        try:
            return self._pool.submit(call, self.project).result(timeout=PAGE_SECONDS)
        except FutureTimeout:
            raise GitArtifactsError(
                f"the page took over {PAGE_SECONDS} s", "try again when it is done"
            ) from None

    def close(self) -> None:
        """Close the project on its thread; again is a no-op."""
        if not self._closed:
            self._closed = True
            self._pool.submit(self.project.close).result()
            self._pool.shutdown()


def _open(start: str | os.PathLike[str] | None) -> Project:
    project = Project.open(start)
    publish.sync(project)
    return project
