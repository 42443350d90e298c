"""A deadline on every network step: say what is awaited, then give up.

Each request already has connect and read timeouts, but retries multiply them, and a server
that accepts connections and never answers held a push silent for minutes. A `Watch` follows
one remote: the transfer calls `beat()` whenever something moves (an object done, a part
sent). After `NOTICE_AFTER` seconds without a beat it says once, on stderr, what it is
waiting for; after the stall limit (`GITARTIFACTS_NETWORK_TIMEOUT` or
`git config artifacts.networkTimeout`, in seconds) the step fails with one line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator

from gitartifacts.errors import CacheError
from gitartifacts.settings import NETWORK_TIMEOUT_ENV

NOTICE_AFTER = 5.0
# Set by the CLI: a stalled step ends the process, since a thread blocked in a socket cannot
# be stopped from outside and would hold the exit until its own timeouts ran out.
EXIT_ON_STALL = False
_TICK = 0.2


class Stalled(CacheError):
    """A network step that made no progress within the stall limit."""


class Watch:
    """The stall watchdog of one remote, `where` naming it in messages."""

    def __init__(self, where: str, limit: float) -> None:
        self.where = where
        self.limit = limit
        self.cancelled = threading.Event()
        self._last = time.monotonic()
        self._depth = 0
        self._noticed = False
        self._what = ""

    def beat(self) -> None:
        self._last = time.monotonic()

    def check(self) -> None:
        """Raise in a worker once the step stalled, so queued work stops."""
        if self.cancelled.is_set():
            raise self.error()

    def error(self) -> Stalled:
        return Stalled(
            f"no answer from {self.where} for {self.limit:g} s while {self._what}",
            f"check the endpoint and the network, or raise {NETWORK_TIMEOUT_ENV} "
            "(git config artifacts.networkTimeout)",
        )

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Watch the code inside; nested steps belong to the outermost one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth, self._what = 1, what
        self.cancelled.clear()
        self.beat()
        stop = threading.Event()
        monitor = threading.Thread(target=self._monitor, args=(stop,), daemon=True)
        monitor.start()
        try:
            yield
        except Exception:
            if self.cancelled.is_set():
                raise self.error() from None
            raise
        finally:
            stop.set()
            monitor.join()
            self._depth = 0
        if self.cancelled.is_set():
            raise self.error()

    def _monitor(self, stop: threading.Event) -> None:
        notice = min(NOTICE_AFTER, self.limit / 2)
        while not stop.wait(_TICK):
            idle = time.monotonic() - self._last
            if idle >= notice and not self._noticed:
                self._noticed = True
                print(f"waiting for {self.where}: {self._what}…", file=sys.stderr, flush=True)
            if idle >= self.limit:
                self.cancelled.set()
                if EXIT_ON_STALL:
                    print(f"error: {self.error()}", file=sys.stderr, flush=True)
                    os._exit(self.error().exit_code)
                return
