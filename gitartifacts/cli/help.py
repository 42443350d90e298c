"""Help the git way: verbs grouped by workflow in -h, one-sentence summaries, the help verb."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import NoReturn

import click

# The verbs of -h by workflow; a verb named here but not in the table is skipped.
GROUPS = (
    ("Save and inspect", ("init", "add", "status", "ls", "log", "show", "diff", "ui")),
    ("Share", ("remote", "push", "fetch", "pull")),
    ("Use versions", ("checkout", "get", "verify")),
    ("Runs and lineage", ("run", "runs", "lineage", "link")),
    ("Lifecycle", ("alias", "edit", "delete", "gc", "du")),
    ("Projects", ("project", "import", "update")),
    ("Review and hooks", ("review", "validate", "install-hooks", "uninstall-hooks")),
    ("Help", ("help", "completion")),
)
# Summaries for -h and the manual pages where the help's first sentence is too long to read
# at a glance.
SHORT = {
    "ls": "List the artifacts of this repository",
    "ui": "Browse the repository in a local web view",
    "push": "Upload content, then publish version tags",
    "gc": "Remove the objects no version, ref or work tree names",
    "project": "Other repositories, named in specs as NAME/artifact:spec",
    "validate": "Check manifests for pre-commit (no network)",
    "uninstall-hooks": "Remove the hooks of install-hooks",
}
# Run by git itself (diff driver, merge driver, hook scripts): never listed or completed.
INTERNAL = frozenset({"textconv", "merge-driver", "hook"})
OTHER = "Other commands"
MAN_PREFIX = "git-artifacts"
# A summary longer than this is cut at its first clause boundary, never mid-clause.
SUMMARY_WIDTH = 56
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z`])")
_CLAUSE_END = re.compile(r": | \(|; ")


def grouped(verbs: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(title, verbs) in the order of -h: the workflow groups, then any verb none of them names."""
    public = [v for v in verbs if v not in INTERNAL]
    placed = {v for _, members in GROUPS for v in members}
    out = [(title, [v for v in members if v in public]) for title, members in GROUPS]
    out.append((OTHER, sorted(v for v in public if v not in placed)))
    return [(title, members) for title, members in out if members]


def summary(cmd: click.Command) -> str:
    """The command's one-line summary: its short_help (or SHORT), else the first sentence of
    its help, cut at the first clause boundary when long (click's cut stops mid-sentence)."""
    if cmd.short_help:
        return cmd.short_help
    if cmd.name in SHORT:
        return SHORT[cmd.name]
    first = " ".join((cmd.help or "").split("\n\n")[0].split())
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0].rstrip(".")
    if len(sentence) > SUMMARY_WIDTH:
        sentence = _CLAUSE_END.split(sentence, maxsplit=1)[0]
    return sentence


def with_summaries(cmd: click.Command) -> click.Command:
    """`cmd`, its subcommands (`remote add`, ...) given whole summaries for its own -h."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            sub.short_help = summary(sub)
    return cmd


def format_commands(group: click.Group, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    """Write the verb sections of -h, one per workflow group, each verb with its summary."""
    sections = []
    for title, members in grouped(group.list_commands(ctx)):
        rows = []
        for name in members:
            cmd = group.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, summary(cmd)))
        sections.append((title, rows))
    # One first column for all sections, so the summaries line up down the page.
    width = max(len(name) for _, rows in sections for name, _ in rows)
    for title, rows in sections:
        if rows:
            with formatter.section(title):
                formatter.write_dl([(name.ljust(width), text) for name, text in rows])


def suggest(name: str, choices: Iterable[str]) -> str:
    """The fix for an unknown verb: the closest verbs, else where the list is."""
    import difflib  # here: every verb loads this module, few need a suggestion

    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if close:
        return f"did you mean {' or '.join(close)}?"
    return "git artifacts -h lists the verbs"


def man_page(path: list[str]) -> str:
    """The manual page of a verb path: `git-artifacts`, `git-artifacts-push`, ..."""
    return "-".join([MAN_PREFIX, *path])


def _verbs_of_root(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """`help <TAB>`: the public verbs."""
    root = ctx.find_root()
    if not isinstance(root.command, click.Group):
        return []
    verbs = root.command.list_commands(root)
    return [v for v in verbs if v.startswith(incomplete) and v not in INTERNAL]


@click.command(name="help")
@click.argument("verbs", nargs=-1, metavar="[VERB [SUBVERB]]", shell_complete=_verbs_of_root)
@click.pass_context
def help_(ctx: click.Context, verbs: tuple[str, ...]) -> None:
    """Show the help of git artifacts or of VERB: its manual page on a terminal, else text.

    Like `git help`, a terminal gets the installed manual page (`man git-artifacts-push`);
    a pipe, or a machine without the pages, gets the text of `git artifacts VERB -h`.
    """
    root = ctx.find_root()
    target, target_ctx = root.command, root
    for word in verbs:
        sub = target.get_command(target_ctx, word) if isinstance(target, click.Group) else None
        if sub is None or word in INTERNAL:
            _unknown(word, target, target_ctx)
        target, target_ctx = sub, click.Context(sub, info_name=word, parent=target_ctx)
    if sys.stdout.isatty() and _open_man(man_page(list(verbs))):
        return
    click.echo(target.get_help(target_ctx))


def _unknown(word: str, parent: click.Command, ctx: click.Context) -> NoReturn:
    """One error line for a verb `parent` does not have, with the closest ones it has."""
    if isinstance(parent, click.Group):
        fix = suggest(word, [v for v in parent.list_commands(ctx) if v not in INTERNAL])
    else:
        fix = f"{ctx.command_path} has no sub-verbs"
    click.echo(f"error: unknown verb {word!r} ({fix})", err=True)
    sys.exit(2)


def _open_man(page: str) -> bool:
    """Show `page` with man if it is installed; False when man or the page is missing."""
    import shutil
    import subprocess

    man = shutil.which("man")
    if man is None:
        return False
    found = subprocess.run([man, "-w", page], capture_output=True, check=False)
    if found.returncode != 0:
        return False
    return subprocess.run([man, page], check=False).returncode == 0


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"help": help_}
