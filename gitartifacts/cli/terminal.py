"""How output meets a terminal, as git does it: colour (`NO_COLOR`, `--no-color`, `color.ui`)
and the pager (`GIT_PAGER`, `core.pager`, `PAGER`, `less` with `LESS=FRX`)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import NamedTuple

import click

from gitartifacts.core import textsafe

Config = Callable[[str], "str | None"]  # a git config key -> its value, or None when unset


class Paint(NamedTuple):
    """A part of a line to show in colour when colour is on."""

    text: str
    fg: str
    bold: bool = False


def render(parts: tuple[str | Paint, ...], colour: bool) -> str:
    """One line from parts: every part made safe for a terminal, painted ones styled when
    `colour` (escaping first: an ESC of ours must survive, one from the data must not)."""
    out = []
    for part in parts:
        if isinstance(part, Paint):
            safe = textsafe.terminal(part.text)
            out.append(click.style(safe, fg=part.fg, bold=part.bold or None) if colour else safe)
        else:
            out.append(textsafe.terminal(part))
    return "".join(out)


def colour_wanted(no_color: bool, config: Config, is_tty: bool) -> bool:
    """Colour or not: `--no-color` and `NO_COLOR` (any value) turn it off; then git's
    `color.ui`: `always` on even when piped, `never`/`false` off, `auto`/`true`/unset on a
    terminal only (not a dumb one)."""
    if no_color or "NO_COLOR" in os.environ:
        return False
    value = (config("color.ui") or "auto").strip().lower()
    if value == "always":
        return True
    if value in ("never", "false", "no", "off", "0"):
        return False
    return is_tty and os.environ.get("TERM") != "dumb"


def pager_command(config: Config) -> str | None:
    """The pager git would run (`GIT_PAGER`, then `core.pager`, then `PAGER`, then `less`);
    None for an empty one or `cat`, which git takes as no pager."""
    for value in (os.environ.get("GIT_PAGER"), config("core.pager"), os.environ.get("PAGER")):
        if value is not None:
            cmd = value.strip()
            return None if cmd in ("", "cat") else cmd
    return "less"


@contextlib.contextmanager
def paged(cmd: str) -> Iterator[None]:
    """Send what the block writes to stdout through the pager `cmd` (run by the shell, as git
    does), and wait for the pager to end; quitting it early ends the output quietly."""
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # quit when it fits one screen, keep colours, no clear
    env.setdefault("LV", "-c")
    proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    stream = io.TextIOWrapper(proc.stdin, encoding="utf-8", errors="replace")
    saved = sys.stdout
    sys.stdout = stream
    try:
        yield
    except BrokenPipeError:
        pass  # the pager was quit before the end
    finally:
        sys.stdout = saved
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            stream.close()
        proc.wait()
