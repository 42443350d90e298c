"""A stream of batches shared with a fork of this process, the results in order.

An add of 100,000 small files spends half its time reading, hashing and packing them, one
file at a time in Python; the other half walks the folders, builds the listing and writes
the stat cache, which must stay in one process (the SQLite connection, the listing's
order). So the command's process keeps all of that and hands batches of files to one fork
(see `forked` for why processes, not threads). It hands a batch over while the fork holds
fewer than `AHEAD`, and does the batch itself otherwise: whichever process is faster does
more, and neither waits for the other unless a result it must pass on next is not back.

The fork gets each batch through a pipe (marshal: batches and results are plain lists,
tuples, strings and numbers) and appends its results to an unlinked temporary file, saying
where each lies through a second pipe; it never blocks on the parent, so the parent's
writes to it end whenever the fork finishes a batch. It never touches the parent's SQLite
connection, progress bar or stdio, and ends with `os._exit`.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import pickle
import select
import signal
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from gitartifacts.core import forked

K = TypeVar("K")
W = TypeVar("W")
R = TypeVar("R")

# Batches the fork holds at once (one at work, the rest waiting in its pipe).
AHEAD = 8
# Batches with work done here before a fork is made: below that, it costs more than it saves.
START_AFTER = 4
# Results held here for the caller, at most, while the one to pass on next is the fork's.
HELD = 16

_LEN = struct.Struct("!I")
_NOTE = struct.Struct("!BQQ")  # kind, offset and length of a result in the file
_RESULT, _ERROR, _END = 0, 1, 2


def streamed(
    fn: Callable[[W], R],
    batches: Iterable[tuple[K, W]],
    *,
    setup: Callable[[], None],
    finish: Callable[[], None],
    fork: bool | None = None,
) -> Iterator[tuple[K, R]]:
    """(kept, `fn(work)`) for each (kept, work) of `batches`, read lazily, in their order.
    Work (marshal-able) is shared with a fork of this process where that is allowed and
    pays (`forked.ALLOWED`, `forked.CAN_FORK`); none (empty) runs here, and `kept` never
    leaves this process. In the fork, `setup` runs first
    (to let go of what only the parent may use) and `finish` after its last batch (to seal
    what it wrote): the stream ends only after that, and raises its failure, or a fork's
    death, here. A failure or an early stop here kills the fork first."""
    if fork is None:
        fork = forked.ALLOWED and forked.CAN_FORK
    queue: deque[list[Any]] = deque()  # [kept, result, the fork's?]
    child: _Feed | None = None
    costly = 0
    try:
        for kept, work in batches:
            here = True
            if fork and work:
                costly += 1
                if child is None and costly > START_AFTER:
                    try:
                        child = _Feed.start(fn, setup, finish)
                    except OSError:  # no process to be had (a limit): all of it here
                        fork = False
                here = child is None or child.in_hand >= AHEAD
            if here:
                queue.append([kept, fn(work), False])
            else:
                assert child is not None
                child.send(work)
                queue.append([kept, None, True])
            yield from _ready(queue, child, wait=len(queue) > HELD)
        yield from _ready(queue, child, wait=True)
        if child is not None:
            child.end()
            child = None
    finally:
        if child is not None:
            child.stop()


def _ready(queue: deque[list[Any]], child: _Feed | None, wait: bool) -> Iterator[tuple[Any, Any]]:
    """Pass on the results at the front of `queue` that are in; with `wait`, all of them."""
    while queue:
        front = queue[0]
        if front[2]:
            assert child is not None
            if not child.has_result(wait):
                return
            front[1] = child.take()
        queue.popleft()
        yield front[0], front[1]


class _Feed:
    """The parent's side of a fork working through the batches sent to it."""

    def __init__(self, pid: int, to_child: int, notes: int, out: IO[bytes]) -> None:
        self.pid, self.to_child, self.notes, self.out = pid, to_child, notes, out
        self.in_hand = 0  # batches sent whose results have not been taken
        self.buffer = b""

    @classmethod
    def start(
        cls, fn: Callable[[W], R], setup: Callable[[], None], finish: Callable[[], None]
    ) -> _Feed:
        out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by end() or stop())
        pipes = [*os.pipe(), *os.pipe()]  # batches to the child; notes from it
        with contextlib.suppress(OSError, AttributeError):  # larger pipes: fewer waits
            fcntl.fcntl(pipes[1], fcntl.F_SETPIPE_SZ, 1 << 20)
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            for fd in pipes:
                os.close(fd)
            out.close()
            raise
        if pid == 0:  # the child: never returns
            os.close(pipes[1])
            os.close(pipes[2])
            _serve(fn, setup, finish, pipes[0], pipes[3], out, parent)
        os.close(pipes[0])
        os.close(pipes[3])
        return cls(pid, pipes[1], pipes[2], out)

    def send(self, batch: Any) -> None:
        data = marshal.dumps(batch)
        _write_all(self.to_child, _LEN.pack(len(data)) + data)
        self.in_hand += 1

    def has_result(self, wait: bool) -> bool:
        """Whether a note of the fork's is in (read at least one, waiting for it if `wait`)."""
        if len(self.buffer) >= _NOTE.size:
            return True
        if not wait and not select.select([self.notes], [], [], 0)[0]:
            return False
        while len(self.buffer) < _NOTE.size:
            chunk = os.read(self.notes, 1 << 16)
            if not chunk:
                self._died()
            self.buffer += chunk
        return True

    def take(self) -> Any:
        """The next result (after `has_result`); the fork's failure raised."""
        kind, offset, length = _NOTE.unpack_from(self.buffer)
        self.buffer = self.buffer[_NOTE.size :]
        value = marshal.loads(os.pread(self.out.fileno(), length, offset))
        if kind == _ERROR:
            self.stop()
            raise pickle.loads(value)
        self.in_hand -= 1
        return value

    def end(self) -> None:
        """No more batches: wait for the fork's `finish` and its exit."""
        os.close(self.to_child)
        self.to_child = -1
        self.has_result(wait=True)
        if _NOTE.unpack_from(self.buffer)[0] != _END:
            self.take()  # a failure in `finish`: raised
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        self._close()
        if status != 0:
            raise forked.unfinished(status)

    def stop(self) -> None:
        """Kill the fork if it runs, and let go of its files."""
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self.pid = 0
        self._close()

    def _died(self) -> None:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        self._close()
        raise forked.unfinished(status)

    def _close(self) -> None:
        for fd in (self.to_child, self.notes):
            if fd >= 0:
                os.close(fd)
        self.to_child = self.notes = -1
        self.out.close()


def _serve(
    fn: Callable[[Any], Any],
    setup: Callable[[], None],
    finish: Callable[[], None],
    batches: int,
    notes: int,
    out: IO[bytes],
    parent: int,
) -> None:
    """The fork's whole life: `setup`, the batches as they come, `finish` once the parent
    closes the pipe after a whole batch, then `os._exit`. A parent that died (its pipe ends
    inside a batch, a note cannot be written, or this process is an orphan at the end)
    ends it without `finish`."""
    code = 1
    offset = 0
    fd = out.fileno()

    def note(kind: int, value: Any) -> None:
        nonlocal offset
        data = marshal.dumps(value)
        os.pwrite(fd, data, offset)
        _write_all(notes, _NOTE.pack(kind, offset, len(data)))
        offset += len(data)

    try:
        setup()
        while (data := _read_message(batches)) is not None:
            note(_RESULT, fn(marshal.loads(data)))
        if os.getppid() != parent:
            raise EOFError("the command's process ended")
        finish()
        note(_END, None)
        code = 0
    except BaseException as exc:  # carried to the parent, which raises it
        with contextlib.suppress(BaseException):
            note(_ERROR, forked.pickled(exc))
    finally:
        os._exit(code)


def _read_message(fd: int) -> bytes | None:
    """One length-prefixed message; None at the end of the pipe between messages."""
    head = _read_exactly(fd, _LEN.size)
    if head is None:
        return None
    data = _read_exactly(fd, _LEN.unpack(head)[0])
    if data is None:
        raise EOFError("the command's process ended while sending a batch")
    return data


def _read_exactly(fd: int, n: int) -> bytes | None:
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            if got:
                raise EOFError("the command's process ended while sending a batch")
            return None
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
