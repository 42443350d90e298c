"""Untrusted text made safe for where it is shown: a terminal, Markdown, Mermaid, DOT.

Names, paths, descriptions, metadata and run records arrive through git or a remote. On a
terminal, a control character in them (ESC, CSI, OSC, BEL, CR) would drive the terminal and a
bidi override or line separator would disguise what is shown; in a pull-request comment,
Markdown, HTML or an @-mention in them would speak for the tool. Each renderer here turns
such characters into visible escapes (`\\x1b`, `\\u202e`) and neutralises its own syntax.
Counts in words (`count(1, "file")`) are here too: every message goes through this module.
"""

from __future__ import annotations

import functools
import re

# C0 (but tab and newline), DEL, C1 (with NEL), the bidi marks, embeddings, overrides and
# isolates, and the Unicode line and paragraph separators.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
_UNSAFE_LINE_RE = re.compile(f"[{_UNSAFE}\t\n]")
# Plain: letters, digits, a few harmless marks, and any character past ASCII (line() has
# already made the dangerous ones visible); a dot after `www` starts an autolink.
_MD_MARK = r"[^A-Za-z0-9 /.,%+=\-\u00a0-\U0010ffff]|(?<=[Ww]{3})\."
_MERMAID_SAFE = r"[^A-Za-z0-9 _.,:/@+=()-]"


@functools.cache
def _pattern(source: str) -> re.Pattern[str]:
    """Compiled on first use: the Markdown class spans all of Unicode and costs milliseconds
    at every start of the command line, which mostly never writes Markdown."""
    return re.compile(source)


def _visible(match: re.Match[str]) -> str:
    c = match.group()
    code = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """Text for a terminal: every control, bidi or separator character shown as an escape;
    tabs and newlines stay (the tool's own output is made of lines)."""
    return _UNSAFE_RE.sub(_visible, text)


def line(text: str) -> str:
    """One line for a terminal: like `terminal`, and tabs and newlines escaped too."""
    return _UNSAFE_LINE_RE.sub(_visible, text)


def count(n: int, word: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`, `0 files`: a number and its noun in the right number."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    """The one way human-readable output reaches stdout or stderr (never JSON output)."""
    import click  # the Python API uses the escapes without the CLI

    click.echo(terminal(message), err=err, nl=nl)


def md_code(text: str) -> str:
    """Inline code in Markdown or HTML that no content can leave or mark up."""
    return f"<code>{_entities(text)}</code>"


def md_text(text: str) -> str:
    """Plain text in Markdown or in an HTML block: like `md_code`, and an @-mention broken by a
    zero-width space (GitHub links mentions in text, never in code)."""
    return _entities(text).replace("&#64;", "@&#8203;")


def _entities(text: str) -> str:
    """Control characters (newlines too) visible, then every ASCII mark that Markdown, HTML or
    a table row could read (`|` `<` `*` `_` `[` a backtick, `:` and `www.` of autolinks) as a
    numeric character reference, which both render as the character itself."""
    return _pattern(_MD_MARK).sub(lambda m: f"&#{ord(m.group())};", line(text))


def mermaid_label(text: str) -> str:
    """The inside of a quoted Mermaid label: anything but plain characters as a `#NNN;`
    entity, which Mermaid renders as the character and cannot end the label or the line."""
    return _pattern(_MERMAID_SAFE).sub(lambda m: f"#{ord(m.group())};", line(text))


def dot_string(text: str) -> str:
    """The inside of a double-quoted DOT string: backslashes and quotes escaped, so neither a
    quote nor a DOT escape (`\\n`, `\\l`) comes from the text."""
    return line(text).replace("\\", "\\\\").replace('"', '\\"')
