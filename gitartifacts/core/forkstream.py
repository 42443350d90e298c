"""A stream of batches shared with a fork of this process, the results in order.

An add of 100,000 small files spends half its time reading, hashing and packing them, one
file at a time in Python; the other half walks the folders, builds the listing and writes
the stat cache, which must stay in one process (the SQLite connection, the listing's
order). So the command's process keeps all of that and hands batches of files to one fork
(see `forked` for why processes, not threads). It keeps the fork holding `AHEAD` batches,
and does a batch itself only when it has nothing to pass on (see `_Stream`): whichever
process is faster does more, and neither waits for the other for long.

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
# Batches read and not yet passed on, at most (the memory of the stream).
HELD = 24

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
    leaves this process. In the fork, `setup` runs first (to let go of what only the
    parent may use) and `finish` after its last batch (to seal what it wrote): the stream
    ends only after that, and raises its failure, or a fork's death, here. A failure or an
    early stop here kills the fork first."""
    if fork is None:
        fork = forked.ALLOWED and forked.CAN_FORK
    stream = _Stream(fn, iter(batches), setup, finish, fork)
    try:
        yield from stream.run()
    finally:
        stream.stop()


class _Stream:
    """The batches in order, [kept, result, the fork's?] each, from read to passed on.

    Before each result is passed on, the fork's hands are filled: the caller's work on a
    result (a listing, the state) takes long enough that a fork fed only between results
    ran dry (it was idle a sixth of an add). This process does a batch itself only when it
    has nothing to pass on and the fork's hands are full."""

    def __init__(
        self,
        fn: Callable[[Any], Any],
        batches: Iterator[tuple[Any, Any]],
        setup: Callable[[], None],
        finish: Callable[[], None],
        fork: bool,
    ) -> None:
        self.fn, self.batches, self.setup, self.finish = fn, batches, setup, finish
        self.fork = fork
        self.queue: deque[list[Any]] = deque()
        self.child: _Feed | None = None
        self.costly = 0
        self.more = True  # batches left to read

    def run(self) -> Iterator[tuple[Any, Any]]:
        queue = self.queue
        while True:
            self._feed()
            if queue and self._ready(queue[0]):
                kept, result, _ = queue.popleft()
                yield kept, result
            elif self.more and len(queue) < HELD:
                self._next()
            elif queue:
                assert self.child is not None
                self.child.has_result(wait=True)
            else:
                break
        if self.child is not None:
            self.child.end()
            self.child = None

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def _feed(self) -> None:
        """Send the fork batches while it holds fewer than `AHEAD`."""
        child = self.child
        while child is not None and child.in_hand < AHEAD and len(self.queue) < HELD:
            if (batch := self._read()) is None:
                return
            self._place(*batch)

    def _next(self) -> None:
        """The next batch: to the fork if it has room (made now, if it is time), else here."""
        if (batch := self._read()) is None:
            return
        kept, work = batch
        if self.fork and work:
            self.costly += 1
            if self.child is None and self.costly > START_AFTER:
                try:
                    self.child = _Feed.start(self.fn, self.setup, self.finish)
                except OSError:  # no process to be had (a limit): all of it here
                    self.fork = False
        self._place(kept, work)

    def _place(self, kept: Any, work: Any) -> None:
        child = self.child
        if work and child is not None and child.in_hand < AHEAD:
            child.send(work)
            self.queue.append([kept, None, True])
        else:
            self.queue.append([kept, self.fn(work), False])

    def _read(self) -> tuple[Any, Any] | None:
        if self.more:
            batch = next(self.batches, None)
            if batch is not None:
                return batch
            self.more = False
        return None

    def _ready(self, front: list[Any]) -> bool:
        """Whether the front's result is in (taken from the fork when it is its)."""
        if not front[2]:
            return True
        assert self.child is not None
        if not self.child.has_result(wait=False):
            return False
        front[1], front[2] = self.child.take(), False
        return True


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
        forked.kill(self.pid)
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
