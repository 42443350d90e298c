"""Manual pages in roff from the click definitions: git-artifacts(1) and one per verb.

The build (setup.py) writes them to <prefix>/share/man/man1, where man finds them from the
venv's bin on PATH; `git help artifacts` and `git artifacts --help` then open them.
"""

from __future__ import annotations

import inspect

import click

from gitartifacts import __version__
from gitartifacts.cli import help as help_
from gitartifacts.cli.main import main

_FOOTER = f"gitartifacts {__version__}"


def render_all() -> dict[str, str]:
    """File name (`git-artifacts-push.1`) -> the roff text of each page."""
    root = click.Context(main, info_name="git artifacts", **main.context_settings)
    pages = {f"{help_.MAN_PREFIX}.1": _main_page(root)}
    for verb in main.list_commands(root):
        if verb in help_.INTERNAL:
            continue
        cmd = main.get_command(root, verb)
        if cmd is not None and not cmd.hidden:
            pages.update(_verb_pages(cmd, click.Context(cmd, info_name=verb, parent=root), [verb]))
    return pages


def _verb_pages(cmd: click.Command, ctx: click.Context, path: list[str]) -> dict[str, str]:
    """The page of `cmd` and, for a group, of each of its subcommands."""
    page = help_.man_page(path)
    lines = _head(page, cmd, ctx)
    subs = cmd.commands if isinstance(cmd, click.Group) else {}
    if subs:
        lines.append(".SH COMMANDS")
        for name, sub in subs.items():
            see = rf"See \fB{_text(help_.man_page([*path, name]))}\fR(1)."
            lines += [".TP", rf"\fB{_text(name)}\fR", f"{_text(help_.summary(sub))}. {see}"]
    lines += [".SH SEE ALSO", rf"\fB{_text(help_.MAN_PREFIX)}\fR(1)"]
    pages = {f"{page}.1": _join(lines)}
    for name, sub in subs.items():
        if not sub.hidden:
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            pages.update(_verb_pages(sub, sub_ctx, [*path, name]))
    return pages


def _main_page(ctx: click.Context) -> str:
    lines = _head(help_.MAN_PREFIX, main, ctx)
    see = []
    for title, verbs in help_.grouped(main.list_commands(ctx)):
        lines.append(f".SH {_text(title.upper())}")
        for verb in verbs:
            cmd = main.get_command(ctx, verb)
            if cmd is None or cmd.hidden:
                continue
            lines += [".TP", rf"\fB{_text(verb)}\fR", _text(help_.summary(cmd))]
            see.append(rf"\fB{_text(help_.man_page([verb]))}\fR(1)")
    lines += [
        ".SH SHELL COMPLETION",
        _text('eval "$(git artifacts completion bash)" in ~/.bashrc (or zsh in ~/.zshrc).'),
        ".SH SEE ALSO",
        ",\n".join(see),
    ]
    return _join(lines)


def _head(page: str, cmd: click.Command, ctx: click.Context) -> list[str]:
    """Title, NAME, SYNOPSIS, DESCRIPTION and OPTIONS of a page."""
    lines = [
        f'.TH "{page.upper()}" "1" "" "{_FOOTER}" "Git Artifacts Manual"',
        ".SH NAME",
        rf"{_text(page)} \- {_text(help_.summary(cmd))}",
        ".SH SYNOPSIS",
        rf".B {_text(ctx.command_path)}",
        _text(" ".join(cmd.collect_usage_pieces(ctx))),
    ]
    if cmd.help:
        lines.append(".SH DESCRIPTION")
        lines += _paragraphs(inspect.cleandoc(cmd.help))
    records = [p.get_help_record(ctx) for p in cmd.get_params(ctx) if isinstance(p, click.Option)]
    options = [r for r in records if r is not None]
    if options:
        lines.append(".SH OPTIONS")
        for names, text in options:
            lines += [".TP", rf"\fB{_text(names)}\fR", _text(" ".join(text.split()))]
    return lines


def _paragraphs(text: str) -> list[str]:
    """roff for click help text: paragraphs rewrapped, indented blocks kept as typed."""
    out: list[str] = []
    for block in text.strip().split("\n\n"):
        raw = block.split("\n")
        if raw[0].strip() == "\b" or any(line.startswith((" ", "\t")) for line in raw):
            kept = [line for line in raw if line.strip() != "\b"]
            out += [".PP", ".nf", *(_text(line) for line in kept), ".fi"]
        else:
            out += [".PP", _text(" ".join(block.split()))]
    return out


def _text(s: str) -> str:
    """`s` as roff text: backslashes and dashes escaped, no line read as a request."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(
        "\\&" + line if line.startswith((".", "'")) else line for line in s.split("\n")
    )


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"
