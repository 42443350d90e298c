"""The project verbs: project add/list/remove (other repositories whose artifacts we use)."""

from __future__ import annotations

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core.redaction import redact
from gitartifacts.core.textsafe import echo
from gitartifacts.ops import projects as project_ops


@click.group()
def project() -> None:
    """Other repositories whose artifacts specs name as NAME/artifact:spec."""


@project.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("-f", "--force", is_flag=True, help="Replace a project of the same name.")
@command
def project_add(ctx: Ctx, name: str, url: str, force: bool) -> None:
    """Add project NAME at git URL (a path, ssh or https; committed in .gitartifacts.yaml)."""
    p = project_ops.add(ctx.project(), name, url, force=force)
    ctx.say(redact(f"project {name} -> {p.url} in .gitartifacts.yaml (commit it)"))


@project.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@command
def project_list(ctx: Ctx, as_json: bool) -> None:
    """List the projects and whether each is mirrored here."""
    rows = [{**r._asdict(), "url": redact(r.url)} for r in project_ops.list_projects(ctx.project())]
    if as_json:
        print_json(rows)
        return
    if not rows:
        ctx.say("no projects (git artifacts project add NAME URL)")
    for row in rows:
        echo(f"{row['name']}\t{row['url']}\t{'mirrored' if row['mirrored'] else 'not fetched'}")


@project.command(name="remove")
@click.argument("name")
@command
def project_remove(ctx: Ctx, name: str) -> None:
    """Remove project NAME and its mirror."""
    project_ops.remove(ctx.project(), name)
    ctx.say(f"removed project {name}")


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"project": project}
