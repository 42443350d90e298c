"""Progress bars on a terminal only; silent when piped or with -q."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

# Work smaller than this finishes before a bar would be worth drawing.
_MIN_BYTES = 64 << 20


class Progress:
    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty() and os.environ.get("GITARTIFACTS_QUIET") != "1"
        self.enabled = enabled
        self._bar: Any = None
        self._lock = threading.Lock()

    def start(self, total: int, desc: str) -> None:
        if not self.enabled or total < _MIN_BYTES:
            return
        from tqdm import tqdm

        self._bar = tqdm(
            total=total, desc=desc, unit="B", unit_scale=True, leave=False, file=sys.stderr
        )

    def update(self, n: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
