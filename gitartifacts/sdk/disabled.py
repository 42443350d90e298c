"""The run `ga.init(mode="disabled")` returns: every call works and does nothing, and nothing
is written to git or the cache (W&B's disabled mode)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from gitartifacts.sdk.config import Recorded
from gitartifacts.sdk.init_args import InitArgs

RUNNING, FINISHED = "running", "finished"


class Nothing:
    """What a disabled run's other methods return: any attribute, call or item is another
    `Nothing`, so code written for a live run goes on."""

    def __getattr__(self, name: str) -> Nothing:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Nothing:
        return self

    def __getitem__(self, key: Any) -> Nothing:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "<Nothing: run disabled>"


class DisabledRun:
    """A run that records nothing: `log`, `log_artifact`, `use_artifact`, `config` and
    `summary` work as on a live run; other methods return `Nothing`."""

    def __init__(self, args: InitArgs) -> None:
        self.id: str = args.id or "disabled-" + secrets.token_hex(4)
        self.name: str = args.name or self.id
        self.notes, self.tags = args.notes, list(args.tags)
        self.group, self.job_type = args.group, args.job_type
        self.project: str = args.project or "disabled"
        self.entity: str = args.entity or "disabled"
        self.config = Recorded(args.config)
        self.summary = Recorded()
        self.state, self.mode = RUNNING, "disabled"
        self.url, self.sweep_id, self.resumed = None, None, False
        self.dir: str = args.dir or tempfile.gettempdir()
        self.step = 0

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish()

    def finish(self, exit_code: int | None = None, state: str | None = None) -> None:
        self.state = FINISHED

    def log(
        self, data: dict[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        if step is not None:
            self.step = max(self.step, step)
        if commit is not False:
            self.step += 1

    def log_artifact(self, artifact_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        return artifact_or_path

    def use_artifact(self, artifact_or_name: Any, *args: Any, **kwargs: Any) -> Any:
        return artifact_or_name if not isinstance(artifact_or_name, str) else Nothing()

    def save(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def __getattr__(self, name: str) -> Nothing:
        if name.startswith("_"):
            raise AttributeError(name)
        return Nothing()

    def __repr__(self) -> str:
        return f"<Run {self.id} disabled>"
