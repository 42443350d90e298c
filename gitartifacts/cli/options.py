"""Click options shared by several verbs."""

from __future__ import annotations

import click

from gitartifacts.remote import transfer

ALLOW_CHANGED = click.option(
    "--allow-changed-references",
    is_flag=True,
    help="Accept reference sources whose etag, version or size changed.",
)
LINK = click.option(
    "--link",
    type=click.Choice(["copy", "reflink", "hardlink", "symlink"]),
    help="How files come out of the cache (default: git config artifacts.link, else copy; "
    "reflink falls back to copy).",
)

REMOTE = click.option(
    "-r", "--remote", "remote_name", help="Remote cache (default: the default remote)."
)
JOBS = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=transfer.JOBS,
    show_default=True,
    help="Parallel transfers.",
)
